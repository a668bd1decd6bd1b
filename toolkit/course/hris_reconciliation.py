"""Topic 7.4, HRIS / payroll / IT reconciliation: the example, its paragraph, check and worksheet.

The example takes one run of a batch (its scenario's people, its plan and its award ledger),
writes an HR roster and a payroll export of those people with a known list of planted
mismatches (:func:`toolkit.people.planted_exports`), reads them back as a client's exports would
be read and reconciles them (:func:`toolkit.people.reconcile_people`). The notebook shows the
table of mismatches with the money each affects, a paragraph computed from it, and asks which
people's awards must be recalculated before the payroll cut-off; :func:`check_recalculations`
marks the answer against the planted list, never against the table it shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.course.documents import MaterialsError, require_batch
from toolkit.course.exercises import Check, failed, passed
from toolkit.course.wording import listing, money, share
from toolkit.course.workbooks import BOLD, INPUT, _header, _notes, _widths, new_workbook
from toolkit.ingest.people import read_payroll, read_roster
from toolkit.people import Reconciliation, planted_exports, reconcile_people
from toolkit.people.planted import PAYROLL_FILE, ROSTER_FILE
from toolkit.people.reconcile import run_periods, scenario_people
from toolkit.plans.loading import PERIODS_PER_YEAR
from toolkit.report.data import run_directory

TOPIC = "7.4"
# Mismatches that change what an award is worth or what is paid for it: the awards of these
# people must be recalculated before payroll. The others are payroll's own errors.
AWARD_KINDS = (
    "missing_in_hr",
    "missing_in_scenario",
    "team_differs",
    "grade_differs",
    "salary_differs",
    "leaver_with_unvested_award",
    "payment_missing_in_payroll",
    "payment_amount_differs",
    "payment_not_in_ledger",
)
BLANK_ROWS = 12  # people rows of a blank worksheet
RECONCILIATION_SHEET = "Reconciliation"
LEAVERS_SHEET = "Leavers"
RECONCILIATION_HEADERS = [
    "person",
    "team (HR)",
    "team (scenario)",
    "grade (HR)",
    "grade (scenario)",
    "base salary (HR)",
    "base salary (scenario)",
    "target award % (HR grade)",
    "target award % (scenario grade)",
    "share of grant accrued",
    "grant (scenario)",
    "grant (HR)",
    "award value at stake",
    "LTI paid by payroll",
    "LTI paid by the ledger",
    "payment difference",
    "mismatches",
]
LEAVER_HEADERS = [
    "person",
    "leaver reason",
    "class (good/bad)",
    "cohort start (period no.)",
    "leaving period (period no.)",
    "window (periods)",
    "unvested at leaving",
    "service share",
    "kept",
    "forfeited",
]


@dataclass(frozen=True)
class Example:
    """The worked reconciliation of topic 7.4.

    Attributes
    ----------
    result : Reconciliation
        ``table`` (one row per mismatch: ``kind, person_id, team_id, cohort, period,
        expected, found, amount, detail``), ``summary`` (per kind: ``mismatches, people,
        amount``), ``forfeitures`` and ``adjusted_awards``.
    planted : DataFrame
        The answer key: ``kind, person_id, detail`` of every planted mismatch.
    roster, payroll : Path
        The exports written.
    scenario : Scenario
        The run's scenario.
    plan : Plan
        The run's plan.
    run : Path
        The run directory whose ledger was reconciled.
    """

    result: Reconciliation
    planted: pd.DataFrame
    roster: Path
    payroll: Path
    scenario: Scenario
    plan: Plan
    run: Path

    @property
    def table(self) -> pd.DataFrame:
        """Return the mismatches."""
        return self.result.table

    @property
    def currency(self) -> str:
        """Return the scenario's currency."""
        return self.scenario.currency


def example(
    results_dir: str | Path, directory: str | Path, seed: int = 0, plan: str | None = None
) -> Example:
    """Plant mismatches in exports of a batch run's people and reconcile them.

    Parameters
    ----------
    results_dir : str or Path
        A batch directory (``lti batch --out``).
    directory : str or Path
        Where ``roster.csv`` and ``payroll.csv`` are written (the notebook's output folder).
    seed : int
        Draws who gets which mismatch.
    plan : str, optional
        The batch plan whose run is used (its lowest seed); by default the first plan other
        than the batch's reference, which pays nothing.

    Returns
    -------
    Example

    Raises
    ------
    MaterialsError
        If ``results_dir`` is not a batch, the plan is not in it, or the batch's scenario or
        plan file is gone or has changed since it ran.
    """
    batch = require_batch(results_dir)
    plans = batch.plans()
    if plan is None:
        plan = next((name for name in plans if name != batch.reference), plans[0])
    elif plan not in plans:
        raise MaterialsError(f"plan {plan!r}: not in the batch (plans: {', '.join(plans)})")
    runs = batch.runs[batch.runs["plan"] == plan].sort_values(["scenario", "seed"])
    row = runs.iloc[0]
    scenario, model = batch.scenario_model(row["scenario"]), batch.plan_model(plan)
    if scenario is None or model is None:
        raise MaterialsError(
            f"{batch.directory}: the scenario or plan file of {row['scenario']}/{plan} is gone "
            "or changed since the batch ran"
        )
    run = run_directory(batch.directory, row["directory"])
    awards = pd.read_parquet(run / "awards.parquet")
    cashflows = pd.read_parquet(run / "cashflows.parquet")
    folder = Path(directory)
    planted = planted_exports(
        scenario, folder, seed, plan=model, awards=awards, cashflows=cashflows
    )
    roster, payroll = read_roster(folder / ROSTER_FILE), read_payroll(folder / PAYROLL_FILE)
    result = reconcile_people(roster.table, payroll.table, scenario, model, awards, cashflows)
    return Example(
        result, planted, folder / ROSTER_FILE, folder / PAYROLL_FILE, scenario, model, run
    )


def reconciliation_table(example: Example) -> pd.DataFrame:
    """Return the mismatches as the notebook shows them: kind, person, team, money, detail."""
    return example.table[["kind", "person_id", "team_id", "cohort", "period", "amount", "detail"]]


def interpret_reconciliation(table: pd.DataFrame, currency: str = "EUR") -> str:
    """Write what the reconciliation found, from its table of mismatches.

    Parameters
    ----------
    table : DataFrame
        :attr:`Reconciliation.table` (``kind``, ``person_id``, ``amount`` at least).
    currency : str
        The scenario's currency.

    Returns
    -------
    str
        A paragraph: how many mismatches on how many people, the money they affect, the kind
        that weighs most, what the award-affecting ones put at stake and what leavers forfeit.
    """
    if table.empty:
        return (
            "HR, payroll, the scenario and the ledger agree: no person is missing, every team, "
            "grade and salary matches, and payroll pays exactly what the ledger vested."
        )
    total = float(table["amount"].sum())
    by_kind = table.groupby("kind")["amount"].sum().sort_values(ascending=False)
    top, top_amount = by_kind.index[0], float(by_kind.iloc[0])
    award = table[table["kind"].isin(AWARD_KINDS)]
    leavers = table[table["kind"] == "leaver_with_unvested_award"]
    text = (
        f"The reconciliation lists {len(table)} mismatches of {table['kind'].nunique()} kinds on "
        f"{table['person_id'].nunique()} people, affecting {money(total, currency)} in all. "
        f"The largest kind is {top.replace('_', ' ')} ({money(top_amount, currency)}, "
        f"{share(top_amount / total if total else float('nan'), 0)} of the money)."
    )
    if len(award):
        people = sorted(award["person_id"].unique())
        text += (
            f" {len(people)} people's awards must be recalculated before payroll "
            f"({money(float(award['amount'].sum()), currency)} of award value or payments: "
            f"{listing(people)})"
        )
        forfeited = money(float(leavers["amount"].sum()), currency)
        text += (
            f", of which the leaver rules forfeit {forfeited} from "
            f"{leavers['person_id'].nunique()} leaver(s)."
            if len(leavers)
            else "."
        )
    payroll_only = table[~table["kind"].isin(AWARD_KINDS)]
    if len(payroll_only):
        text += (
            f" The other {len(payroll_only)} are payroll's own errors "
            f"({listing(sorted(payroll_only['kind'].str.replace('_', ' ').unique()))}), "
            "to correct in payroll, not in the awards."
        )
    return text


def check_recalculations(example: Example, answer: Iterable[str]) -> Check:
    """Check the people whose awards the learner would recalculate before the payroll cut-off.

    Parameters
    ----------
    example : Example
        The worked example (its planted answer key).
    answer : iterable of str
        Person ids.

    Returns
    -------
    Check
        Met when the answer is exactly the people with a planted mismatch that changes an
        award's value or its payment (:data:`AWARD_KINDS`).
    """
    wanted = set(example.planted.loc[example.planted["kind"].isin(AWARD_KINDS), "person_id"])
    given = {str(person) for person in answer}
    missing, extra = wanted - given, given - wanted
    if not missing and not extra:
        return passed(
            TOPIC,
            f"All {len(wanted)} people whose award value or payment is wrong are on the list, "
            "and nobody whose difference is payroll's alone.",
        )
    why = (
        f"The list has {len(given & wanted)} of the {len(wanted)} people whose award must be "
        f"recalculated, misses {len(missing)} and holds {len(extra)} who need no recalculation."
    )
    hint = (
        "Every kind that changes a grant (people, team, grade, salary), forfeits an award "
        "(leavers) or pays an award wrongly counts; base-pay errors and people payroll pays "
        "but HR does not know are payroll's to fix."
    )
    return failed(TOPIC, why, hint)


def _people_rows(example: Example | None) -> list[list]:
    """Return the worksheet's input cells per person (HR against the scenario), or blanks."""
    if example is None:
        return [[None] * 10 + [None, None] for _ in range(BLANK_ROWS)]
    plan, scenario = example.plan, example.scenario
    roster = read_roster(example.roster).table
    last = roster.sort_values("effective_date").groupby("person_id").tail(1).set_index("person_id")
    awards = example.result.adjusted_awards.groupby("person_id")[["accrued", "granted"]].sum()
    cash = pd.read_parquet(example.run / "cashflows.parquet")
    ledger = cash[cash["kind"] == "pay"].groupby("person_id")["amount"].sum()
    payroll = read_payroll(example.payroll).table
    paid = payroll[payroll["pay_item"] == "lti_payment"].groupby("person_id")["amount"].sum()
    people = scenario_people(scenario).set_index("person_id")
    rows = []
    for person_id in sorted(set(people.index) | set(last.index)):
        ours = people.loc[person_id] if person_id in people.index else None
        hr = last.loc[person_id] if person_id in last.index else None
        grant = (
            ours["base_salary"]
            * plan.target_award_pct.get(ours["grade"], plan.default_target_award_pct)
            / 100
            if ours is not None
            else 0.0
        )
        accrued = float(awards["accrued"].get(person_id, 0.0))
        rows.append([
            person_id,
            None if hr is None else hr["team_id"],
            None if ours is None else ours["team_id"],
            None if hr is None else hr["grade"],
            None if ours is None else ours["grade"],
            None if hr is None else float(hr["base_salary"]),
            None if ours is None else float(ours["base_salary"]),
            None if hr is None else plan.target_award_pct.get(hr["grade"],
                                                              plan.default_target_award_pct),
            None if ours is None else plan.target_award_pct.get(ours["grade"],
                                                                plan.default_target_award_pct),
            round(accrued / grant, 6) if grant else 0.0,
            round(float(paid.get(person_id, 0.0)), 2),
            round(float(ledger.get(person_id, 0.0)), 2),
        ])  # fmt: skip
    return rows


def worksheet(example: Example | None = None) -> Workbook:
    """Return the HRIS–payroll reconciliation worksheet, blank or filled from the example.

    Sheet *Reconciliation*: per person the HR and scenario team, grade and salary, the target
    award % of each grade, the share of the grant accrued and the LTI paid by payroll and by
    the ledger are inputs (yellow); the grants, the award value at stake
    ``|share × (grant_HR − grant_scenario)|``, the payment difference and the list of
    mismatches are live formulas, with totals. Sheet *Leavers*: the good/bad-leaver rule with
    pro-rata service share ``MIN(1, MAX(0, (leaving − start + 1) / window))`` as formulas.
    """
    book = new_workbook()
    ws = book.create_sheet(RECONCILIATION_SHEET)
    _header(ws, 1, RECONCILIATION_HEADERS)
    rows = _people_rows(example)
    for r, values in enumerate(rows, start=2):
        inputs = values[:10] + [None, None, None] + values[10:12]
        for c, value in enumerate(inputs, start=1):
            if c in (11, 12, 13):
                continue
            cell = ws.cell(row=r, column=c, value=value)
            cell.fill = INPUT
        ws.cell(row=r, column=11, value=f'=IF(G{r}="","",G{r}*I{r}/100)')
        ws.cell(row=r, column=12, value=f'=IF(F{r}="","",F{r}*H{r}/100)')
        ws.cell(row=r, column=13, value=f'=IF(OR(K{r}="",L{r}=""),0,ABS(J{r}*(L{r}-K{r})))')
        ws.cell(row=r, column=16, value=f"=N{r}-O{r}")
        ws.cell(
            row=r,
            column=17,
            value=f'=IF(A{r}="","",IF(B{r}="","missing in HR ","")&IF(C{r}="",'
            f'"missing in scenario ","")&IF(AND(B{r}<>"",C{r}<>"",B{r}<>C{r}),"team ","")'
            f'&IF(AND(D{r}<>"",E{r}<>"",D{r}<>E{r}),"grade ","")&IF(AND(F{r}<>"",G{r}<>"",'
            f'ABS(F{r}-G{r})>=0.01),"salary ","")&IF(ABS(P{r})>=0.01,"payment",""))',
        )
    total = len(rows) + 2
    ws.cell(row=total, column=1, value="total").font = BOLD
    for column in ("M", "N", "O", "P"):
        ws[f"{column}{total}"] = f"=SUM({column}2:{column}{total - 1})"
        ws[f"{column}{total}"].font = BOLD
    _widths(ws, {"A": 12, "Q": 40})
    leavers = book.create_sheet(LEAVERS_SHEET)
    _header(leavers, 1, LEAVER_HEADERS)
    forfeits = _leaver_rows(example)
    for r, values in enumerate(forfeits, start=2):
        for c, value in enumerate(values, start=1):
            leavers.cell(row=r, column=c, value=value).fill = INPUT
        leavers.cell(row=r, column=8, value=f'=IF(C{r}="good",MIN(1,MAX(0,(E{r}-D{r}+1)/F{r})),0)')
        leavers.cell(row=r, column=9, value=f"=G{r}*H{r}")
        leavers.cell(row=r, column=10, value=f"=G{r}-I{r}")
    end = len(forfeits) + 2
    leavers.cell(row=end, column=1, value="total").font = BOLD
    for column in ("G", "I", "J"):
        leavers[f"{column}{end}"] = f"=SUM({column}2:{column}{end - 1})"
    _widths(leavers, {"A": 12, "B": 22})
    _notes(
        book,
        [
            "HRIS–payroll reconciliation worksheet (course topic 7.4).",
            "Sheet 'Reconciliation': one row per person of HR or the scenario. Yellow cells "
            "are inputs: the HR row in effect at the horizon's end against the scenario, the "
            "target award % of each grade, the share of the grant accrued so far (accrued / "
            "grant, from the ledger) and the LTI each side paid. The grants, the award value "
            "at stake, the payment difference and the mismatch list are formulas.",
            "Sheet 'Leavers': a good leaver keeps the share of the cohort's window served "
            "(pro rata, the leaving period counted); a bad leaver forfeits every unvested "
            "award. Periods are numbered from the horizon's first (0).",
            "lti people reconcile ROSTER PAYROLL --run DIR does the same for every kind of "
            "mismatch, with the money each affects.",
        ],
    )
    return book


def _leaver_rows(example: Example | None) -> list[list]:
    """Return the Leavers sheet's inputs per award of a leaver, or blanks."""
    if example is None:
        return [[None] * 7 for _ in range(BLANK_ROWS // 2)]
    periods = run_periods(example.scenario)
    window = (
        example.plan.performance_period_years * PERIODS_PER_YEAR[example.scenario.horizon.period]
    )
    rows = []
    for award in example.result.forfeitures.itertuples():
        start = (pd.Period(award.cohort, freq=periods.freq) - periods[0]).n
        leave = (pd.Period(award.leave_period, freq=periods.freq) - periods[0]).n
        rows.append([award.person_id, award.leaver_reason, award.leaver_class, start, leave,
                     window, round(float(award.unvested_at_leaving), 2)])  # fmt: skip
    return rows
