"""Decisions into money and into the record: adjusted cash flows, the decision log, the agenda.

An approved adjustment or override changes what a team is paid for a period; the cash flow that
carries the change names the decision (``adjustment:7``) and who approved it, so a payment can
be traced to the governance record. A proposed or rejected one changes nothing. The decision log
lists every item decided, the steering committee's agenda every item still open (topic 3.6).
"""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text

from toolkit.governance.audit import append
from toolkit.governance.errors import GovernanceError
from toolkit.governance.workflows import Governance

CASHFLOW_COLUMNS = ("period", "person_id", "team_id", "cohort", "kind", "amount")
DECISION_COLUMNS = ("item", "team_id", "period", "amount", "status", "decided_at", "by", "detail")
AGENDA_COLUMNS = ("item", "team_id", "period", "amount", "waiting_for", "since", "detail")


def _approved(gov: Governance) -> pd.DataFrame:
    """Approved adjustments and overrides: item, team, period, amount, signatories."""
    with gov.engine.connect() as connection:
        adjustments = connection.execute(
            text(
                "SELECT a.adjustment_id AS n, a.team_id, a.period, a.amount, a.beneficiary, "
                "p.person_id FROM adjustments a JOIN approvals p "
                "ON p.adjustment_id = a.adjustment_id WHERE a.status = 'approved' "
                "ORDER BY a.adjustment_id, p.person_id"
            )
        ).all()
        overrides = connection.execute(
            text(
                "SELECT o.override_id AS n, o.team_id, o.period, o.amount, v.person_id "
                "FROM overrides o JOIN override_votes v ON v.override_id = o.override_id "
                "WHERE o.status = 'approved' AND v.vote = 'approve' "
                "ORDER BY o.override_id, v.person_id"
            )
        ).all()
    rows: dict[str, dict] = {}
    for n, team, period, amount, beneficiary, signer in adjustments:
        row = rows.setdefault(
            f"adjustment:{n}",
            {"team_id": team, "period": period, "amount": amount, "beneficiary": beneficiary},
        )
        row.setdefault("by", []).append(signer)
    for n, team, period, amount, signer in overrides:
        row = rows.setdefault(
            f"override:{n}",
            {"team_id": team, "period": period, "amount": amount, "beneficiary": None},
        )
        row.setdefault("by", []).append(signer)
    return pd.DataFrame(
        [{"item": item, **row} for item, row in rows.items()],
        columns=["item", "team_id", "period", "amount", "beneficiary", "by"],
    )


def apply_decisions(cashflows: pd.DataFrame, gov: Governance) -> pd.DataFrame:
    """Return a run's cash flows with every approved adjustment and override paid in.

    A team's change is shared among the people paid in that period in proportion to what each
    was paid (equally when nobody was), or goes to the one person it names; each share is a
    ``kind`` ``adjustment`` or ``override`` row whose signed ``amount`` is the change and whose
    ``decision`` names the item and its signatories. Rows already there keep an empty
    ``decision``.

    Parameters
    ----------
    cashflows : DataFrame
        A run's ``cashflows.parquet`` (``period, person_id, team_id, cohort, kind, amount``).
    gov : Governance
        The governance ledger holding the decisions.

    Returns
    -------
    DataFrame
        The cash flows and a ``decision`` column, the decisions' rows last.

    Raises
    ------
    ValueError
        When a decision names a team and period the run never paid anyone in and the team has
        nobody in the cash flows to share it among.
    """
    missing = set(CASHFLOW_COLUMNS) - set(cashflows.columns)
    if missing:
        raise ValueError(f"cash flows lack the columns {sorted(missing)}")
    base = cashflows.assign(decision="")
    extra = []
    for decision in _approved(gov).itertuples():
        label = f"{decision.item} approved by {', '.join(decision.by)}"
        kind = decision.item.split(":")[0]
        team = base[base["team_id"] == decision.team_id]
        if isinstance(decision.beneficiary, str) and decision.beneficiary:
            shares = pd.Series([1.0], index=[decision.beneficiary])
        else:
            paid = team[(team["kind"] == "pay") & (team["period"] == decision.period)]
            weights = paid.groupby("person_id")["amount"].sum()
            if weights.sum() <= 0:
                people = team["person_id"].unique()
                if not len(people):
                    raise ValueError(
                        f"{decision.item}: team {decision.team_id!r} has nobody in the cash flows"
                    )
                weights = pd.Series(np.ones(len(people)), index=people)
            shares = weights / weights.sum()
        for person, share in shares.items():
            extra.append(
                {
                    "period": decision.period,
                    "person_id": person,
                    "team_id": decision.team_id,
                    "cohort": decision.period,
                    "kind": kind,
                    "amount": float(decision.amount) * float(share),
                    "decision": label,
                }
            )
    return pd.concat([base, pd.DataFrame(extra, columns=base.columns)], ignore_index=True)


def settle_run(gov: Governance, actor: str, run: str | Path) -> pd.DataFrame:
    """Settle a run's cash flows and record what the calculation used and what it changed.

    The run's manifest (its inputs' fingerprints) is recorded as an input entry first, then the
    settlement itself: the decisions paid in and the money they moved.

    Parameters
    ----------
    gov : Governance
        The ledger.
    actor : str
        Who settles.
    run : str or Path
        A run directory (``cashflows.parquet`` and ``manifest.json``).

    Returns
    -------
    DataFrame
        :func:`apply_decisions` of the run's cash flows.

    Raises
    ------
    GovernanceError
        When the run's cash flows or manifest cannot be read, or a decision cannot be paid.
    """
    from toolkit.governance.inputs import record_inputs

    source = Path(run) / "cashflows.parquet"
    try:
        cashflows = pd.read_parquet(source)
    except (OSError, ValueError) as exc:
        raise GovernanceError(f"{source}: no readable cash flows ({exc})") from None
    try:
        settled = apply_decisions(cashflows, gov)
    except ValueError as exc:
        raise GovernanceError(str(exc)) from None
    used = record_inputs(gov.engine, actor, run)
    moved = settled[settled["decision"] != ""]
    payload = {
        "input_entry": used.seq,
        "decisions": sorted(set(moved["decision"])),
        "rows_added": len(moved),
        "money_moved": float(moved["amount"].sum()),
    }
    append(gov.engine, actor, "settlement.computed", f"run:{Path(run).name}", payload)
    return settled


def _contests(gov: Governance, actor: str) -> pd.DataFrame:
    """Return the contests the actor may see, with their statement's period and amount."""
    contests = gov.view(actor, "contests")
    if contests.empty:
        return contests
    statements = gov.view(actor, "statements").drop(columns=["team_id", "vendor_id"])
    return contests.merge(statements, on="statement_id", how="left")


def _disputes(gov: Governance, actor: str) -> pd.DataFrame:
    """Return the disputes the actor may see (none for someone who may not view them)."""
    return (
        gov.view(actor, "disputes")
        if gov.may_view(actor, "disputes")
        else pd.DataFrame(columns=["dispute_id", "kind", "status"])
    )


def decision_log(gov: Governance, actor: str) -> pd.DataFrame:
    """Return every decided item as the actor may see it: adjustments, contests, overrides.

    Parameters
    ----------
    gov : Governance
        The ledger.
    actor : str
        Who asks (the views' scoping and pseudonyms apply).

    Returns
    -------
    DataFrame
        :data:`DECISION_COLUMNS`, oldest decision first: adjustments, contests, overrides and
        disputes that were decided or settled.
    """
    rows = []
    adjustments = gov.view(actor, "adjustments")
    for row in adjustments[adjustments["status"] != "proposed"].itertuples():
        rows.append(
            (
                f"adjustment:{row.adjustment_id}",
                row.team_id,
                row.period,
                row.amount,
                row.status,
                row.decided_at,
                row.proposed_by,
                f"{row.reason_code}: {row.evidence}",
            )
        )
    contests = _contests(gov, actor)
    if len(contests):
        for row in contests[contests["status"] != "open"].itertuples():
            rows.append(
                (
                    f"contest:{row.contest_id}",
                    row.team_id,
                    row.period,
                    row.amount,
                    row.status,
                    row.decided_on,
                    row.decided_by,
                    f"{row.grounds} -> {row.decision}",
                )
            )
    overrides = gov.view(actor, "overrides")
    for row in overrides[overrides["status"] != "proposed"].itertuples():
        rows.append(
            (
                f"override:{row.override_id}",
                row.team_id,
                row.period,
                row.amount,
                row.status,
                row.decided_at,
                row.proposed_by,
                f"{row.circumstance}: {row.description}",
            )
        )
    disputes = _disputes(gov, actor)
    for row in disputes[disputes["status"].isin(["settled", "decided"])].itertuples():
        rows.append(
            (
                f"dispute:{row.dispute_id}",
                row.team_id,
                row.period,
                row.at_stake,
                row.status,
                row.decided_at,
                row.decided_by if isinstance(row.decided_by, str) else "the parties",
                f"{row.grounds} -> {row.outcome}",
            )
        )
    log = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    return log.sort_values("decided_at", kind="stable").reset_index(drop=True)


def agenda(gov: Governance, actor: str, on: date | None = None) -> pd.DataFrame:
    """Return what the steering committee must still settle, largest sums first.

    Parameters
    ----------
    gov : Governance
        The ledger.
    actor : str
        Who prepares it (views' scoping applies).
    on : date, optional
        The meeting's date, for the days left in contest windows (default today).

    Returns
    -------
    DataFrame
        :data:`AGENDA_COLUMNS`: proposed adjustments with the role groups still to sign, open
        contests, overrides awaiting votes, disputes awaiting positions or a decision.
    """
    meeting = on or datetime.now(UTC).date()
    rows = []
    adjustments = gov.view(actor, "adjustments")
    with gov.engine.connect() as connection:  # which role groups have signed (no identities)
        signed_roles = connection.execute(text("SELECT adjustment_id, role FROM approvals")).all()
    for row in adjustments[adjustments["status"] == "proposed"].itertuples():
        signed = {role for number, role in signed_roles if number == row.adjustment_id}
        groups = [g for g in json.loads(row.groups) if not set(g) & signed]
        rows.append(
            (
                f"adjustment:{row.adjustment_id}",
                row.team_id,
                row.period,
                row.amount,
                " and ".join("/".join(g) for g in groups),
                row.proposed_at[:10],
                f"{row.reason_code}: {row.evidence}",
            )
        )
    contests = _contests(gov, actor)
    if len(contests):
        for row in contests[contests["status"] == "open"].itertuples():
            rows.append(
                (
                    f"contest:{row.contest_id}",
                    row.team_id,
                    row.period,
                    row.amount,
                    "review_board decision",
                    row.filed_on,
                    row.grounds,
                )
            )
    overrides = gov.view(actor, "overrides")
    for row in overrides[overrides["status"] == "proposed"].itertuples():
        rows.append(
            (
                f"override:{row.override_id}",
                row.team_id,
                row.period,
                row.amount,
                f"{row.quorum} review_board votes",
                row.proposed_at[:10],
                f"{row.circumstance}: {row.description}",
            )
        )
    waiting = {
        "open": "the parties' positions",
        "escalated": "review_board decision",
        "joint_review": "the other side of the joint review",
    }
    disputes = _disputes(gov, actor)
    for row in disputes[disputes["status"].isin(list(waiting))].itertuples():
        if row.kind == "vendor" and row.status == "escalated":
            needed = "hr and vendor_rep joint review"
        else:
            needed = waiting[row.status]
        rows.append(
            (f"dispute:{row.dispute_id}", row.team_id, row.period, row.at_stake, needed,
             row.filed_at[:10], row.grounds)
        )  # fmt: skip
    table = pd.DataFrame(rows, columns=AGENDA_COLUMNS)
    table["days_open"] = [
        (meeting - date.fromisoformat(since)).days if since else None for since in table["since"]
    ]
    order = table["amount"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order].reset_index(drop=True)


def as_markdown(table: pd.DataFrame, title: str) -> str:
    """Return a table as a Markdown document with its title (pipes in cells escaped)."""
    header = "| " + " | ".join(table.columns) + " |"
    rule = "| " + " | ".join("---" for _ in table.columns) + " |"
    lines = [
        "| " + " | ".join(str(value).replace("|", "\\|") for value in row) + " |"
        for row in table.itertuples(index=False)
    ]
    empty = ["", "Nothing to list."] if not len(table) else []
    return "\n".join([f"# {title}", "", header, rule, *lines, *empty]) + "\n"


def as_html(table: pd.DataFrame, title: str) -> str:
    """Return a table as a self-contained HTML page, every text escaped."""
    body = table.to_html(index=False, escape=True, border=0)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>table{{border-collapse:collapse}}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font:13px sans-serif}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )
