"""Quarterly roll-forward of the LTI liability, journal entries and general-ledger reconciliation.

Roll-forward
------------
From an accrual schedule (:func:`toolkit.finance.accruals.accrual_schedule`), per quarter,
cohort, team and business unit (a team's amounts are charged to units by
:func:`toolkit.finance.transparency.business_unit_shares`)::

    closing = opening + service_cost + change_in_estimate − forfeitures − malus − payments

``clawback`` is shown beside it: a recovery reduces the expense and brings cash back, so it
leaves the liability unchanged (``expense = service_cost + change_in_estimate − forfeitures
− malus − clawback``). Amounts are in cents: cumulative amounts are rounded to the cent and
movements are their differences, so every row closes to the cent and sums of rows do too. A
quarter is ``periods_per_year / 4`` run periods (a run coarser than quarters reports per run
period), labelled by its last period.

Journal (CSV, one line per account of an entry; every entry balances)
---------------------------------------------------------------------
``entry_id, period, kind, account, business_unit, cohort, debit, credit, amount, reference``
with ``amount = debit − credit`` and ``entry_id = reference = KIND:PERIOD:COHORT:UNIT``. Kinds:

* ``accrual``: service cost; Dr expense, Cr liability;
* ``true_up``: change in estimate less forfeitures and malus; Dr expense, Cr liability
  (the reverse when negative);
* ``payment``: gross payments; Dr liability, Cr cash;
* ``recovery``: clawback; Dr cash, Cr expense.

Accounts are parameters (defaults :data:`ACCOUNTS`).

General-ledger export (CSV of postings)
---------------------------------------
``period, account, business_unit, cohort, amount, reference``: ``period`` is the quarter's
label as in the journal, ``amount`` signed (debit positive, credit negative), ``reference``
the journal's ``reference`` of the entry the posting books. Extra columns are ignored.

Reconciliation compares the GL postings with the journal by ``(reference, account)`` and
lists every difference with its cause: ``missing posting`` (in the journal, not in the GL),
``posting without accrual`` (in the GL, not in the journal), ``wrong period`` (same entry,
booked in another quarter, or split over several; its amount difference is shown beside it)
and ``amount differs`` (by one cent or more).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config.scenario import Scenario
from toolkit.finance.transparency import business_unit_shares

ACCOUNTS = {"expense": "lti_expense", "liability": "lti_liability", "cash": "payroll_clearing"}
FLOWS = ("service_cost", "forfeitures", "malus", "clawback", "payments")
KEYS = ["quarter", "cohort", "team_id", "business_unit"]
JOURNAL_COLUMNS = [
    "entry_id",
    "period",
    "kind",
    "account",
    "business_unit",
    "cohort",
    "debit",
    "credit",
    "amount",
    "reference",
]
GL_COLUMNS = ("period", "account", "business_unit", "cohort", "amount", "reference")


class LedgerExportError(ValueError):
    """A general-ledger export is malformed; the message names the file, row and field."""


def roll_forward(schedule: pd.DataFrame, scenario: Scenario, periods_per_year: int) -> pd.DataFrame:
    """Return the quarterly roll-forward per quarter, cohort, team and business unit.

    Parameters
    ----------
    schedule : DataFrame
        An accrual schedule of one run.
    scenario : Scenario
        The services, owning teams and business units to charge teams' amounts to.
    periods_per_year : int
        As in the run.

    Returns
    -------
    DataFrame
        ``quarter``, ``cohort``, ``team_id``, ``business_unit``, ``opening``,
        ``service_cost``, ``change_in_estimate``, ``forfeitures``, ``malus``, ``payments``,
        ``closing``, ``clawback`` and ``expense``, in currency units rounded to the cent.
    """
    per_quarter = periods_per_year // 4 if periods_per_year % 4 == 0 else 1
    data = schedule.sort_values("period_index").copy()
    data["group"] = data["period_index"] // per_quarter
    last = data.groupby("group")["period"].last()
    data["quarter"] = data["group"].map(last)
    ids = ["cohort", "team_id"]
    cumulative = data[[*ids, "group", "quarter"]].copy()
    for name in FLOWS:
        cumulative[name] = data.groupby(ids)[name].cumsum()
    cumulative["accrual"] = data["cumulative_accrual"]
    cumulative = cumulative.groupby([*ids, "group", "quarter"], as_index=False, sort=False).last()
    charged = cumulative.merge(business_unit_shares(scenario), on="team_id")
    cents = {}
    for name in (*FLOWS, "accrual"):
        cents[name] = np.rint(charged[name].to_numpy() * charged["share"].to_numpy() * 100)
    cents = pd.DataFrame(cents, dtype="int64")
    cents["closing"] = cents["accrual"] - cents["payments"] + cents["clawback"]
    frame = pd.concat([charged[[*ids, "business_unit", "group", "quarter"]], cents], axis=1)
    frame = frame.sort_values([*ids, "business_unit", "group"], ignore_index=True)
    by_row = frame.groupby([*ids, "business_unit"])
    moved = {
        name: frame[name] - by_row[name].shift(fill_value=0)
        for name in (*FLOWS, "accrual", "closing")
    }
    frame["opening"] = by_row["closing"].shift(fill_value=0)
    for name in FLOWS:
        frame[name] = moved[name]
    frame["expense"] = moved["accrual"]
    frame["change_in_estimate"] = (
        frame["expense"]
        - frame["service_cost"]
        + frame["forfeitures"]
        + frame["malus"]
        + frame["clawback"]
    )
    columns = list(ROLL_COLUMNS)
    frame = frame.sort_values(["group", *ids, "business_unit"], ignore_index=True)
    result = frame[KEYS].copy()
    for name in columns:
        result[name] = frame[name].to_numpy() / 100
    return result


def journal_entries(
    rollforward: pd.DataFrame, accounts: dict[str, str] | None = None
) -> pd.DataFrame:
    """Return the double-entry journal of a roll-forward, per quarter, cohort and unit.

    Parameters
    ----------
    rollforward : DataFrame
        From :func:`roll_forward`; teams are summed within a business unit.
    accounts : dict, optional
        ``expense``, ``liability`` and ``cash`` account names (defaults :data:`ACCOUNTS`).

    Returns
    -------
    DataFrame
        The columns of :data:`JOURNAL_COLUMNS` (layout in the module docstring); zero
        entries are left out.
    """
    names = {**ACCOUNTS, **(accounts or {})}
    keys = ["quarter", "cohort", "business_unit"]
    totals = rollforward.groupby(keys, as_index=False, sort=False)[
        ["service_cost", "change_in_estimate", "forfeitures", "malus", "payments", "clawback"]
    ].sum()
    cents = lambda column: np.rint(totals[column].to_numpy() * 100).astype("int64")  # noqa: E731
    entries = {
        "accrual": (cents("service_cost"), "expense", "liability"),
        "true_up": (
            cents("change_in_estimate") - cents("forfeitures") - cents("malus"),
            "expense",
            "liability",
        ),
        "payment": (cents("payments"), "liability", "cash"),
        "recovery": (cents("clawback"), "cash", "expense"),
    }
    lines = []
    for kind, (amount, debit, credit) in entries.items():
        for row, value in zip(totals.itertuples(index=False), amount, strict=True):
            if value == 0:
                continue
            reference = f"{kind}:{row.quarter}:{row.cohort}:{row.business_unit}"
            first, second = (debit, credit) if value > 0 else (credit, debit)
            for account, sign in ((first, 1), (second, -1)):
                money = abs(int(value)) / 100
                lines.append(
                    {
                        "entry_id": reference,
                        "period": row.quarter,
                        "kind": kind,
                        "account": names[account],
                        "business_unit": row.business_unit,
                        "cohort": row.cohort,
                        "debit": money if sign > 0 else 0.0,
                        "credit": money if sign < 0 else 0.0,
                        "amount": sign * money,
                        "reference": reference,
                    }
                )
    return pd.DataFrame(lines, columns=JOURNAL_COLUMNS)


def read_gl_export(path: str | Path) -> pd.DataFrame:
    """Read a general-ledger export (layout in the module docstring).

    Raises
    ------
    LedgerExportError
        If the file is missing, a column is missing, or an amount is not a number
        (naming the file, the row and the field).
    """
    path = Path(path)
    if not path.is_file():
        raise LedgerExportError(f"{path}: no such file")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [column for column in GL_COLUMNS if column not in table.columns]
    if missing:
        raise LedgerExportError(f"{path}: missing columns {missing}; expected {list(GL_COLUMNS)}")
    amounts = pd.to_numeric(table["amount"], errors="coerce")
    bad = np.flatnonzero(amounts.isna() | ~np.isfinite(amounts))
    if len(bad):
        row = int(bad[0])
        raise LedgerExportError(
            f"{path}: row {row + 2}, field 'amount': {table['amount'].iloc[row]!r} is not a number"
        )
    table = table[list(GL_COLUMNS)].copy()
    table["amount"] = amounts
    return table


def reconcile(journal: pd.DataFrame, postings: pd.DataFrame) -> pd.DataFrame:
    """List every difference between the journal and the GL postings, with its cause.

    Parameters
    ----------
    journal : DataFrame
        From :func:`journal_entries`.
    postings : DataFrame
        GL postings (:func:`read_gl_export`); several postings of one entry and account are
        summed.

    Returns
    -------
    DataFrame
        ``reference``, ``account``, ``business_unit``, ``cohort``, ``expected_period``,
        ``gl_period``, ``expected_amount``, ``gl_amount``, ``difference`` (GL − journal) and
        ``cause``; empty when the GL books exactly the journal.
    """
    keys = ["reference", "account"]
    expected = journal.groupby(keys, as_index=False).agg(
        business_unit=("business_unit", "first"),
        cohort=("cohort", "first"),
        expected_period=("period", "first"),
        expected_amount=("amount", "sum"),
    )
    booked = postings.groupby(keys, as_index=False).agg(
        gl_business_unit=("business_unit", "first"),
        gl_cohort=("cohort", "first"),
        gl_period=("period", lambda periods: ",".join(sorted(set(periods)))),
        gl_amount=("amount", "sum"),
    )
    both = expected.merge(booked, on=keys, how="outer", indicator=True)
    both["business_unit"] = both["business_unit"].fillna(both["gl_business_unit"])
    both["cohort"] = both["cohort"].fillna(both["gl_cohort"])
    both["difference"] = both["gl_amount"].fillna(0.0) - both["expected_amount"].fillna(0.0)
    cause = np.select(
        [
            both["_merge"] == "left_only",
            both["_merge"] == "right_only",
            both["gl_period"] != both["expected_period"],
            both["difference"].abs().round(2) >= 0.01,
        ],
        ["missing posting", "posting without accrual", "wrong period", "amount differs"],
        default="",
    )
    both["cause"] = cause
    columns = [
        "reference",
        "account",
        "business_unit",
        "cohort",
        "expected_period",
        "gl_period",
        "expected_amount",
        "gl_amount",
        "difference",
        "cause",
    ]
    return both.loc[both["cause"] != "", columns].reset_index(drop=True)


ROLL_COLUMNS = (
    "opening",
    "service_cost",
    "change_in_estimate",
    "forfeitures",
    "malus",
    "payments",
    "closing",
    "clawback",
    "expense",
)


def summarise_roll_forward(rollforward: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Sum a roll-forward over the rows sharing ``by`` (e.g. quarter and business unit).

    Openings, movements and closings are all sums, so the summary closes as the rows do.
    """
    keys = list(by)
    if "quarter" not in keys:
        raise ValueError("a roll-forward summary keeps the quarter: add 'quarter' to by")
    order = {quarter: i for i, quarter in enumerate(dict.fromkeys(rollforward["quarter"]))}
    summary = rollforward.groupby(keys, as_index=False, sort=False)[list(ROLL_COLUMNS)].sum()
    summary["_order"] = summary["quarter"].map(order)
    summary = summary.sort_values(["_order", *[k for k in keys if k != "quarter"]])
    return summary.drop(columns="_order").round(2).reset_index(drop=True)


def roll_forward_markdown(rollforward: pd.DataFrame, title: str = "LTI liability") -> str:
    """Render the roll-forward per quarter and business unit as a Markdown report.

    One table per business unit with a row per quarter, then the total; amounts to the cent.
    """
    lines = [f"# {title}: quarterly roll-forward", ""]
    lines.append(
        "closing = opening + service cost + change in estimate − forfeitures − malus − "
        "payments; a clawback lowers the expense and returns cash, leaving the liability as is."
    )
    by_unit = summarise_roll_forward(rollforward, ["quarter", "business_unit"])
    total = summarise_roll_forward(rollforward, ["quarter"]).assign(business_unit="all units")
    header = ["quarter", *ROLL_COLUMNS]
    for unit, rows in [*by_unit.groupby("business_unit", sort=True), ("all units", total)]:
        lines += ["", f"## {unit}", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        for row in rows.itertuples(index=False):
            cells = [str(row.quarter)] + [f"{getattr(row, c):,.2f}" for c in ROLL_COLUMNS]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
