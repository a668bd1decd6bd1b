"""Module 3's materials: review-board minutes, contest form, audit-trail extract, approval matrix.

Blank, each is the form a governance office fills in. Filled, it reads a governance database:
one given by the user, or the worked example (:func:`toolkit.governance.demo.build_demo`) played
on a batch, written to a temporary directory that is removed afterwards. The approval matrix is
a workbook whose routing thresholds are live: type an amount and it says who must sign.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from toolkit.course.documents import BLANK, Document, MaterialsError
from toolkit.course.workbooks import BOLD, _frame_sheet, _header, _notes, _widths, new_workbook
from toolkit.governance import Governance, GovernanceError, verify
from toolkit.governance.demo import build_demo
from toolkit.governance.migrations import PERMISSIONS, REASON_CODES, ROLES, ROUTING
from toolkit.governance.settlement import agenda, decision_log

READER = "audit-lu"  # the example's auditor, who may see everything
AUDIT_COLUMNS = ("seq", "recorded_at", "actor", "action", "subject", "hash")


def _money(value: float) -> str:
    return f"{value:,.0f}"


@contextmanager
def governance_ledger(results_dir: str | Path = "", db: str | Path = "") -> Iterator:
    """Yield the ledger the materials are filled from, or None for the blank forms.

    Parameters
    ----------
    results_dir : str or Path
        A batch directory: the worked example is played on it in a temporary database.
    db : str or Path
        A governance database (path or URL) to read instead; it is only read.

    Returns
    -------
    Iterator
        The :class:`Governance`, or None.
    """
    if str(db):
        try:
            yield Governance.open(db)
        except GovernanceError as error:
            raise MaterialsError(f"db: {error}") from None
        return
    if not str(results_dir):
        yield None
        return
    with tempfile.TemporaryDirectory() as scratch:
        try:
            gov, _ = build_demo(Path(scratch) / "example.db", results_dir)
        except GovernanceError as error:
            raise MaterialsError(f"results_dir: {error}") from None
        yield gov
        gov.engine.dispose()


def minutes_document(gov: Governance | None, meeting: date | None = None) -> Document:
    """Return the review board's minutes: attendance, quorum, agenda, decisions, sign-off."""
    doc = Document("Review board minutes (course topics 3.1 and 3.6)")
    doc.paragraph(
        "The minutes of a review-board meeting: who attended, whether the quorum was met, the "
        "items on the agenda with the signers still needed, the decisions taken with their "
        "reasons, and sign-off. Members of a team whose award is decided do not vote on it."
    )
    doc.heading("Meeting")
    doc.blanks(["Date", "Chair", "Members present", "Members absent", "Quorum (votes needed)"])
    doc.heading("Agenda")
    if gov is None:
        doc.table(
            pd.DataFrame(
                [[BLANK] * 5] * 4, columns=["item", "team", "amount", "waiting for", "days open"]
            )
        )
    else:
        items = agenda(gov, READER, meeting)
        shown = items.assign(amount=items["amount"].map(_money))
        doc.table(shown[["item", "team_id", "amount", "waiting_for", "days_open"]])
    doc.heading("Decisions")
    if gov is None:
        columns = ["item", "decision", "votes for / against", "reason", "circumstance documented"]
        doc.table(pd.DataFrame([[BLANK] * 5] * 4, columns=columns))
    else:
        log = decision_log(gov, READER)
        shown = log.assign(amount=log["amount"].map(_money), decided_at=log["decided_at"].str[:10])
        doc.table(shown[["item", "team_id", "amount", "status", "decided_at", "detail"]])
    doc.heading("Sign-off")
    doc.blanks(["Chair", "Secretary", "Date"])
    return doc


def contest_form_document(gov: Governance | None, statement: int | None = None) -> Document:
    """Return the contest form: the statement, its window, the grounds, and the decision."""
    doc = Document("Contest of a performance statement (course topic 3.4)")
    doc.paragraph(
        "A team may contest its statement until the window closes; a contest filed later is "
        "refused. Every contest ends decided, by someone outside the team, with the reason."
    )
    doc.heading("The statement")
    rows = None
    if gov is not None:
        statements = gov.view(READER, "statements")
        if statement is not None:
            statements = statements[statements["statement_id"] == statement]
        if statements.empty:
            raise MaterialsError(f"statement {statement}: not in the ledger")
        row = statements.iloc[0]
        closes = date.fromisoformat(row["issued_on"]) + timedelta(days=int(row["window_days"]))
        rows = [
            ("Statement", str(row["statement_id"])),
            ("Team", str(row["team_id"])),
            ("Period", str(row["period"])),
            ("Award stated", _money(row["amount"])),
            ("Issued on", str(row["issued_on"])),
            ("Window closes on", closes.isoformat()),
        ]
    if rows is None:
        doc.blanks(["Statement", "Team", "Period", "Award stated", "Issued on", "Window closes on"])
    else:
        doc.table(pd.DataFrame(rows, columns=["field", "value"]))
    doc.heading("The contest")
    doc.blanks(["Filed by (team lead)", "Filed on", "Grounds", "Evidence (tickets, records)"])
    doc.heading("Reason codes an adjustment may follow from")
    doc.table(pd.DataFrame(sorted(REASON_CODES.items()), columns=["code", "meaning"]))
    doc.heading("Decision")
    doc.blanks(["Upheld or dismissed", "Reason", "Decided by", "Decided on"])
    return doc


def audit_extract_document(gov: Governance | None, last: int = 40) -> Document:
    """Return an extract of the audit trail with its verification, or the blank layout."""
    doc = Document("Audit trail extract (course topic 3.2)")
    doc.paragraph(
        "Each entry's hash covers all its fields and the previous entry's hash, so an edit, "
        "deletion, insertion or reordering shows at the first entry it touches; a checkpoint "
        "kept elsewhere (count and head hash) shows a truncation. Attach the verification "
        "result and the checkpoint this extract was checked against."
    )
    doc.heading("Verification")
    if gov is None:
        doc.blanks(["Database", "Entries", "Head hash", "Checkpoint file and signer", "Result"])
        doc.heading("Entries")
        doc.table(pd.DataFrame([[BLANK] * len(AUDIT_COLUMNS)] * 5, columns=list(AUDIT_COLUMNS)))
        return doc
    from toolkit.course.approval_workflows import audit_table

    result = verify(gov.engine)
    doc.paragraph(str(result))
    log = audit_table(gov)
    doc.heading(f"Entries (the last {min(last, len(log))} of {len(log)})")
    doc.table(log.tail(last))
    return doc


def approval_workbook(permissions: dict = PERMISSIONS, routing: tuple | list = ROUTING) -> Workbook:
    """Return the approval matrix: roles × rights, and routing thresholds with a live lookup."""
    book = new_workbook()
    ws = book.create_sheet("Approval matrix")
    rights = sorted({p for granted in permissions.values() for p in granted})
    matrix = pd.DataFrame(
        [[role, ROLES.get(role, "")] + ["x" if p in permissions[role] else "" for p in rights]
         for role in permissions],
        columns=["role", "description", *rights],
    )  # fmt: skip
    _frame_sheet(ws, matrix)
    _widths(ws, {"A": 16, "B": 60})
    routing_sheet = book.create_sheet("Routing")
    _header(routing_sheet, 1, ["from amount", "must sign (each group one of its roles)"])
    for row, (amount, groups) in enumerate(routing, start=2):
        routing_sheet.cell(row=row, column=1, value=float(amount))
        routing_sheet.cell(row=row, column=2, value=" and ".join("/".join(g) for g in groups))
    last = len(routing) + 1
    ask = last + 2
    routing_sheet.cell(row=ask, column=1, value="amount at stake").font = BOLD
    routing_sheet.cell(row=ask, column=2, value=12_000)
    routing_sheet.cell(row=ask + 1, column=1, value="must sign").font = BOLD
    routing_sheet.cell(
        row=ask + 1,
        column=2,
        value=f"=LOOKUP(ABS(B{ask}),A2:A{last},B2:B{last})",
    )
    _widths(routing_sheet, {"A": 18, "B": 50})
    _notes(
        book,
        [
            "Approval matrix (course topics 3.3 and 3.5).",
            "Sheet 'Approval matrix': an x where a role holds a right. Separation of duties: "
            "no role should both propose and approve; the auditor changes nothing.",
            "Sheet 'Routing': from each amount up, the role groups that must each sign. Edit the "
            "amounts (rising, the first 0) and the groups; type an amount at stake below the "
            "table and 'must sign' shows who signs it (a live LOOKUP).",
            "Per item the toolkit also refuses: approving what you proposed, what pays "
            "yourself or your own team.",
        ],
    )
    return book
