"""Module 4's materials: accrual and reconciliation workbook, liability forecast, cost statement.

Blank, each is the form a finance team fills in. Filled from a batch, the workbook holds one
run's accrual schedule and quarterly roll-forward (:mod:`toolkit.finance.accruals`,
:mod:`toolkit.finance.rollforward`) with the sheet's formulas recomputing them; the forecast
holds P10/P50/P90 of payments per year against the cap (:mod:`toolkit.finance.forecast`); the
cost statement holds the awards charged to business units and services
(:mod:`toolkit.finance.transparency`).

Workbook layout (``accrual_reconciliation.xlsx``)
-------------------------------------------------
Sheet ``Accrual schedule``, one row per cohort, team and quarter end, sorted so that a
cohort's quarters follow each other: cohort (A), team (B), quarter (C), quarters of service
rendered (D), quarters of the service period (E), expected payout (F), vested to date net of
clawback (G) are entered; ``service share`` (H) ``=MIN(1, D/E)``, ``cumulative accrual`` (I)
``=MAX(G, F*H)`` (straight-line attribution; what has vested cannot stay a prepaid asset) and
``expense`` (J, the movement of I since the row above when it is the same cohort and team)
are formulas.

Sheet ``Roll-forward``, one row per quarter: opening (B, the previous row's closing; the
first entered), service cost (C), change in estimate (D), gross payments (E), forfeitures
(F), malus (G) and clawback recovered (H) are entered; ``net payments`` (I) ``=E-H``,
``closing`` (J) ``=B+C+D-I-F-G-H``, ``expense`` (K) ``=C+D-F-G-H``, ``liability per schedule``
(L: the schedule's cumulative accrual at the quarter less net payments to date) are formulas;
``GL balance`` (M) is entered, and ``check`` (N) says ``OK`` only when the closing agrees with
the schedule and, if given, with the GL, within the tolerance in ``B1``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule

from toolkit.course.documents import BLANK, Document, MaterialsError
from toolkit.course.financial_management import quarterly_roll_forward, run_of
from toolkit.course.workbooks import ALARM, BOLD, INPUT, _header, _notes, _widths, new_workbook
from toolkit.finance import summarise_roll_forward
from toolkit.finance.forecast import forecast_summary
from toolkit.finance.transparency import cost_statement, run_costs
from toolkit.report.data import Batch
from toolkit.report.finance import cost_display, forecast_display, ledger_runs

SCHEDULE_SHEET = "Accrual schedule"
ROLL_SHEET = "Roll-forward"
SCHEDULE_HEADERS = [
    "cohort",
    "team",
    "quarter",
    "quarters rendered",
    "service quarters",
    "expected payout",
    "vested to date (net)",
    "service share",
    "cumulative accrual",
    "expense",
]
ROLL_HEADERS = [
    "quarter",
    "opening",
    "service cost",
    "change in estimate",
    "payments (gross)",
    "forfeitures",
    "malus",
    "clawback recovered",
    "net payments",
    "closing",
    "expense",
    "liability per schedule",
    "GL balance",
    "check",
]
ROLL_HEADER_ROW = 3  # B1 holds the tolerance, row 3 the headers
TOLERANCE = 0.05  # currency units: the roll-forward rounds each business unit's charge to the cent
BLANK_SCHEDULE_ROWS = 16
BLANK_QUARTERS = 8
FORFEITURE_RATE = 0.05  # the filled workbook's stated leaver rate (a notebook parameter)


# -- the accrual and reconciliation workbook -------------------------------------------------
def reconciliation_inputs(
    batch: Batch, plan: str, seed: int, forfeiture_rate: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return one run's schedule rows at quarter ends and its roll-forward per quarter.

    Parameters
    ----------
    batch : Batch
        The batch.
    plan : str
        One of its plans.
    seed : int
        The run.
    forfeiture_rate : float
        The accrual's annual leaver rate.

    Returns
    -------
    schedule : DataFrame
        ``cohort``, ``team_id``, ``quarter``, ``rendered``, ``service_quarters``,
        ``expected_payout``, ``vested`` (net, to date), sorted by cohort, team and quarter.
    quarters : DataFrame
        :func:`toolkit.finance.summarise_roll_forward` by quarter (straight-line accruals).

    Raises
    ------
    MaterialsError
        If the batch has no such run or cannot read the plan or scenario as run.
    """
    try:
        run = run_of(batch, plan, seed)
        schedule, quarters = quarterly_roll_forward(
            batch, plan, seed, "straight_line", forfeiture_rate
        )
    except ValueError as error:
        raise MaterialsError(str(error)) from None
    ends = set(quarters["quarter"])
    rows = schedule[schedule["period"].isin(ends)].copy()
    window = run.plan_model.performance_period_years * 4
    rows["quarter"] = rows["period"]
    rows["service_quarters"] = window
    rows["rendered"] = np.rint(rows["service_share"] * window).astype(int)
    # vested net of clawback = paid to date (net) + what is deferred (vested, not yet paid)
    deferred = run.tables.liability.set_index(["period", "cohort", "team_id"])["deferred"]
    held = deferred.reindex(pd.MultiIndex.from_frame(rows[["period", "cohort", "team_id"]]))
    rows["vested"] = rows["paid_to_date"].to_numpy() + held.fillna(0.0).to_numpy()
    columns = [
        "cohort",
        "team_id",
        "quarter",
        "rendered",
        "service_quarters",
        "expected_payout",
        "vested",
    ]
    schedule_rows = rows.sort_values(["cohort", "team_id", "period_index"])[columns]
    return schedule_rows.reset_index(drop=True), summarise_roll_forward(quarters, ["quarter"])


def reconciliation_workbook(
    schedule: pd.DataFrame | None = None,
    quarters: pd.DataFrame | None = None,
    title: str = "",
) -> Workbook:
    """Return the accrual schedule and quarterly reconciliation workbook (layout: module doc).

    Parameters
    ----------
    schedule : DataFrame, optional
        Schedule rows (:func:`reconciliation_inputs`); None leaves the rows blank.
    quarters : DataFrame, optional
        The roll-forward per quarter; None leaves the rows blank.
    title : str
        What the numbers are (plan, seed), for the notes.

    Returns
    -------
    Workbook
        Sheets ``Accrual schedule``, ``Roll-forward`` and ``How to use``.
    """
    book = new_workbook()
    ws = book.create_sheet(SCHEDULE_SHEET)
    _header(ws, 1, SCHEDULE_HEADERS)
    rows = len(schedule) if schedule is not None else BLANK_SCHEDULE_ROWS
    last = rows + 1
    for r in range(2, last + 1):
        if schedule is not None:
            item = schedule.iloc[r - 2]
            values = [
                item["cohort"],
                item["team_id"],
                item["quarter"],
                int(item["rendered"]),
                int(item["service_quarters"]),
                round(float(item["expected_payout"]), 2),
                round(float(item["vested"]), 2),
            ]
            for c, value in enumerate(values, start=1):
                ws.cell(row=r, column=c, value=value)
        for c in range(1, 8):
            ws.cell(row=r, column=c).fill = INPUT
        ws.cell(row=r, column=8, value=f'=IF(ISNUMBER(E{r}),MIN(1,D{r}/E{r}),"")')
        ws.cell(row=r, column=9, value=f'=IF(ISNUMBER(H{r}),MAX(G{r},F{r}*H{r}),"")')
        previous = f"IF(AND(A{r}=A{r - 1},B{r}=B{r - 1}),I{r - 1},0)" if r > 2 else "0"
        ws.cell(row=r, column=10, value=f'=IF(ISNUMBER(I{r}),I{r}-{previous},"")')
    _widths(ws, {"A": 10, "B": 14, "C": 10, "D": 18, "E": 16, "F": 16, "G": 20, "H": 14})
    _widths(ws, {"I": 18, "J": 12})
    roll = book.create_sheet(ROLL_SHEET)
    roll.cell(row=1, column=1, value="tolerance").font = BOLD
    roll.cell(row=1, column=2, value=TOLERANCE).fill = INPUT
    _header(roll, ROLL_HEADER_ROW, ROLL_HEADERS)
    first = ROLL_HEADER_ROW + 1
    count = len(quarters) if quarters is not None else BLANK_QUARTERS
    keys = f"'{SCHEDULE_SHEET}'!$C$2:$C${last}"
    accrued = f"'{SCHEDULE_SHEET}'!$I$2:$I${last}"
    for i in range(count):
        r = first + i
        if quarters is not None:
            item = quarters.iloc[i]
            roll.cell(row=r, column=1, value=str(item["quarter"]))
            if i == 0:
                roll.cell(row=r, column=2, value=float(item["opening"]))
            names = ("service_cost", "change_in_estimate", "payments", "forfeitures", "malus")
            for c, name in enumerate((*names, "clawback"), start=3):
                roll.cell(row=r, column=c, value=float(item[name]))
        elif i == 0:
            roll.cell(row=r, column=2, value=0.0)
        if i > 0:
            roll.cell(row=r, column=2, value=f"=J{r - 1}")
        for c in (1, 3, 4, 5, 6, 7, 8, 13):
            roll.cell(row=r, column=c).fill = INPUT
        if i == 0:
            roll.cell(row=r, column=2).fill = INPUT
        roll.cell(row=r, column=9, value=f"=E{r}-H{r}")
        roll.cell(row=r, column=10, value=f"=B{r}+C{r}+D{r}-I{r}-F{r}-G{r}-H{r}")
        roll.cell(row=r, column=11, value=f"=C{r}+D{r}-F{r}-G{r}-H{r}")
        roll.cell(row=r, column=12, value=f"=SUMIF({keys},A{r},{accrued})-SUM($I${first}:I{r})")
        roll.cell(
            row=r,
            column=14,
            value=(
                f'=IF(A{r}="","",IF(ABS(J{r}-L{r})>$B$1,"closing differs from the schedule by "'
                f'&TEXT(J{r}-L{r},"0.00"),IF(ISNUMBER(M{r}),IF(ABS(J{r}-M{r})<=$B$1,"OK",'
                f'"GL differs by "&TEXT(M{r}-J{r},"0.00")),"OK")))'
            ),
        )
    end = first + count - 1
    roll.conditional_formatting.add(
        f"N{first}:N{end}",
        FormulaRule(formula=[f'AND(N{first}<>"OK",N{first}<>"")'], fill=ALARM),
    )
    _widths(roll, {"A": 10, "N": 44})
    for letter in "BCDEFGHIJKLM":
        _widths(roll, {letter: 15})
    _notes(
        book,
        [
            "Accrual schedule and quarterly reconciliation (course topics 4.2 and 4.6).",
            f"Numbers: {title}." if title else "Blank: enter your plan's cohorts and quarters.",
            "A cash LTI paid on service KPIs is an other long-term employee benefit (IAS 19) or a "
            "deferred-compensation accrual (ASC 710), not a share-based award: the liability is "
            "the expected payout times the share of the service period rendered, re-estimated "
            "every quarter.",
            "Sheet 'Accrual schedule': per cohort, team and quarter end, enter the quarters of "
            "service rendered, the length of the service period, the expected payout (after "
            "your forfeiture assumption) and what has vested (net of clawback). The sheet "
            "computes the service share, the cumulative accrual (straight-line, never below "
            "what has vested) and the quarter's expense. Keep a cohort's rows together.",
            "Sheet 'Roll-forward': per quarter, enter the movements. The sheet computes net "
            "payments, closing = opening + service cost + change in estimate - net payments - "
            "forfeitures - malus - clawback, the expense, and the liability per the schedule "
            "(cumulative accrual less net payments to date).",
            "Enter the GL balance of the liability account; 'check' says OK only when the "
            "closing agrees with the schedule and with the GL within the tolerance in B1 "
            "(the roll-forward rounds each business unit's charge to the cent).",
            "lti finance RUN writes the same schedule, roll-forward and journal for any run, and "
            "lists every GL difference with its cause with --gl.",
        ],
    )
    return book


# -- the liability forecast ------------------------------------------------------------------
FORECAST_COLUMNS = [
    "Plan",
    "Year",
    "Paid P10",
    "Paid P50",
    "Paid P90",
    "Budget P90 (vesting before the cap)",
    "Cap per year",
    "P(cap binds) (%)",
]


def _amounts(table: pd.DataFrame) -> pd.DataFrame:
    shown = table.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")
    return shown


def forecast_document(batch: Batch | None) -> Document:
    """Return the liability forecast: payments per year P10/P50/P90 against the cap, sign-off.

    Parameters
    ----------
    batch : Batch or None
        A batch to fill it from; None for the blank form.

    Returns
    -------
    Document
        The forecast.
    """
    doc = Document("Long-term incentive liability forecast (course topic 4.2)")
    doc.paragraph(
        "What the plan will pay, and when, for the annual financial plan. Each seed of a batch "
        "is one possible year of the organisation; inside the horizon the payments are the "
        "ledger's cash (less clawback), after it the run-off of what is owed on the plan's "
        "vesting and deferral schedule. The budget a year needs is what vests in it before "
        "the cap; the cap binds when that exceeds the cap. Budget at least the P90."
    )
    doc.heading("Assumptions")
    doc.blanks(
        ["Plans and cohorts covered", "Scenario(s) and seeds", "Currency", "Forfeiture rate"]
    )
    doc.heading("Payments by year against the cap")
    if batch is None:
        doc.table(pd.DataFrame([[BLANK] * len(FORECAST_COLUMNS)] * 4, columns=FORECAST_COLUMNS))
    else:
        currency = batch.currency(batch.scenarios[0])
        summary = forecast_summary(ledger_runs(batch))
        if summary.empty:
            doc.paragraph("No plan of the batch pays anything: there is nothing to forecast.")
        else:
            shown = forecast_display(summary, currency)
            if len(batch.scenarios) == 1:
                shown = shown.drop(columns="Scenario")
            doc.table(_amounts(shown))
    doc.heading("Budget decided")
    doc.blanks(["Year", "Cash budget", "Vesting budget (before the cap)", "Reason"])
    doc.heading("Sign-off")
    doc.blanks(["Prepared by (HR reward)", "Reviewed by (FP&A)", "Approved by (CFO)", "Date"])
    return doc


# -- the business-unit cost statement --------------------------------------------------------
COST_COLUMNS = ["Plan", "Business unit", "Service", "Earned awards", "Paid", "Owed"]


def cost_statement_document(batch: Batch | None) -> Document:
    """Return the business-unit cost statement: incentive cost per unit and service, review.

    Parameters
    ----------
    batch : Batch or None
        A batch to fill it from; None for the blank form.

    Returns
    -------
    Document
        The statement.
    """
    doc = Document("Incentive cost statement for business units (course topic 4.3)")
    doc.paragraph(
        "Incentive awards are part of the cost of the services a business unit consumes. A "
        "team's awards are charged to the services it owns in proportion to their annual "
        "budgets, and through them to the units those services serve; a team that owns no "
        "service is shown as unallocated, so the statement adds up to the awards."
    )
    doc.heading("Period and scope")
    doc.blanks(["Business unit", "Period", "Plans", "Allocation basis"])
    doc.heading("Cost by business unit")
    if batch is None:
        columns = [c for c in COST_COLUMNS if c != "Service"]
        doc.table(pd.DataFrame([[BLANK] * len(columns)] * 3, columns=columns))
        doc.heading("Cost by service")
        doc.table(pd.DataFrame([[BLANK] * len(COST_COLUMNS)] * 4, columns=COST_COLUMNS))
    else:
        currency = batch.currency(batch.scenarios[0])
        costs = run_costs(ledger_runs(batch))
        for by, heading in ((("business_unit",), None), (("business_unit", "service_id"), "")):
            if heading is not None:
                doc.heading("Cost by service")
            shown = cost_display(cost_statement(costs, by), currency)
            if len(batch.scenarios) == 1:
                shown = shown.drop(columns="Scenario")
            doc.table(_amounts(shown))
    doc.heading("Review with the business unit")
    doc.blanks(
        [
            "Incentive cost as % of the unit's service budget",
            "Change against last period and why",
            "Questions raised by the unit",
            "Agreed by (unit finance)",
            "Date",
        ]
    )
    return doc


def filled_title(batch: Batch, plan: str, seed: int, forfeiture_rate: float) -> str:
    """Say which run the workbook holds and on which assumptions."""
    return (
        f"plan {plan}, scenario {batch.scenarios[0]}, seed {seed}; straight-line attribution, "
        f"forfeiture rate {forfeiture_rate:g} a year"
    )
