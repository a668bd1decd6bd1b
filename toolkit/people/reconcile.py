"""Reconcile an HR roster and a payroll export with a run's scenario people and award ledger.

Every mismatch is one row with its ``kind`` and ``amount``, the money it affects (always ≥ 0,
in the scenario currency). The kinds, in the order the table lists them:

=============================  ==============================================================
kind                           found when · money affected
=============================  ==============================================================
``missing_in_hr``              a scenario person has no roster row during the horizon · the
                               award value the ledger credits them (``earned``)
``missing_in_scenario``        a roster person employed during the horizon is not in the
                               scenario · the grants they were due: for each cohort whose
                               grant period starts while they are employed, base salary ×
                               target award % of their grade on that day
``team_differs``               HR's team (row in effect at the horizon's end, or the last one
                               of a leaver) is not the scenario's · the award value scored on
                               the other team's results (``accrued``)
``grade_differs``              HR's grade is not the scenario's · ``|Σ accrued × (g_hr / g −
                               1)|`` with ``g`` the grant at the scenario's grade and salary
                               and ``g_hr`` at HR's grade
``salary_differs``             HR's base salary is not the scenario's (by 0.01 or more) · the
                               same with ``g_hr`` at HR's salary
``currency_differs``           HR keeps the salary, or payroll pays, in another currency · 0
                               (not converted; those salaries and payroll rows are not
                               compared)
``leaver_with_unvested_award`` HR says the person left while an award was unvested · what
                               the plan's leaver rules forfeit (:mod:`toolkit.plans.leavers`)
``payroll_without_hr``         payroll pays a person the roster does not know, or pays a
                               known one (other than LTI) in months HR has them not employed ·
                               what those rows paid
``missing_in_payroll``         a roster person employed in the payroll window has no payroll
                               row · expected base pay (salary / 12 per month employed) and the
                               ledger's payments to them in the window
``payroll_base_differs``       monthly base pay is not HR's salary / 12 (whole months only:
                               the joining and leaving months are prorated by local rules) ·
                               Σ ``|paid − salary / 12|`` over the months that differ
``payment_missing_in_payroll`` the ledger pays an award in a period, payroll has no
                               ``lti_payment`` for it · the ledger's payment
``payment_amount_differs``     both pay, amounts differ by 0.01 or more · the difference
``payment_not_in_ledger``      payroll pays an ``lti_payment`` the ledger does not · the payment
=============================  ==============================================================

Payments are compared per person and run period (payroll months summed into the run's
quarters or years), in the periods the payroll window touches. A ledger payment after the
person left is compared only if payroll paid them in that period (a good leaver paid at
vesting); payroll not paying it is no mismatch, since the leaver row reports it
(``paid_after_leaving``) with what the rules forfeit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.ingest.people import roster_as_of
from toolkit.plans.leavers import apply_leaver_rules, classify_leavers
from toolkit.plans.loading import PERIODS_PER_YEAR

KINDS = (
    "missing_in_hr",
    "missing_in_scenario",
    "team_differs",
    "grade_differs",
    "salary_differs",
    "currency_differs",
    "leaver_with_unvested_award",
    "payroll_without_hr",
    "missing_in_payroll",
    "payroll_base_differs",
    "payment_missing_in_payroll",
    "payment_amount_differs",
    "payment_not_in_ledger",
)
COLUMNS = (
    "kind",
    "person_id",
    "team_id",
    "cohort",
    "period",
    "expected",
    "found",
    "amount",
    "detail",
)
FREQ = {"month": "M", "quarter": "Q", "year": "Y"}
CENT = 0.005  # differences below half a cent are rounding, not mismatches
LTI_ITEM = "lti_payment"
LTI_ITEMS = (LTI_ITEM, "lti_recovery")


@dataclass
class Reconciliation:
    """The reconciliation of one roster and payroll against one run.

    Parameters
    ----------
    table : DataFrame
        One row per mismatch (columns :data:`COLUMNS`), ordered by kind (:data:`KINDS`),
        person, cohort and period.
    summary : DataFrame
        Per kind: ``kind, mismatches, people, amount``, every kind listed (0 when none).
    forfeitures : DataFrame
        The leaver rules per award of a leaver (:func:`toolkit.plans.leavers.apply_leaver_rules`).
    adjusted_awards : DataFrame
        The ledger's awards after the leaver rules.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    forfeitures: pd.DataFrame
    adjusted_awards: pd.DataFrame


def run_periods(scenario: Scenario) -> pd.PeriodIndex:
    """Return the run's periods (the labels the ledger uses: ``2025Q1``, ``2025-01``, ``2025``)."""
    horizon = scenario.horizon
    count = horizon.years * PERIODS_PER_YEAR[horizon.period]
    return pd.period_range(pd.Timestamp(horizon.start), periods=count, freq=FREQ[horizon.period])


def scenario_people(scenario: Scenario) -> pd.DataFrame:
    """Return the scenario's people with their team, one row each."""
    return pd.DataFrame(
        [
            {
                "person_id": person.id,
                "team_id": team.id,
                "grade": person.grade,
                "country": person.country,
                "gender": person.gender,
                "base_salary": float(person.base_salary),
            }
            for team in scenario.organisation.teams
            for person in team.people
        ],
        columns=["person_id", "team_id", "grade", "country", "gender", "base_salary"],
    )


def _grant(plan: Plan, salary: float, grade: str) -> float:
    return salary * plan.target_award_pct.get(grade, plan.default_target_award_pct) / 100


def _employed(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Whether each roster row's employment overlaps ``start .. end`` (both days included)."""
    return (frame["start_date"] <= end) & (frame["end_date"].isna() | (frame["end_date"] >= start))


def _spans(roster: pd.DataFrame) -> pd.DataFrame:
    """Return per person the first day (earliest start) and the last (the last row's end date).

    Only the last row by effective date says whether the person left: an earlier row of a
    leaver has no end date, and a rehired person's last row has none either.
    """
    rows = roster.sort_values(["person_id", "effective_date"], kind="stable")
    grouped = rows.groupby("person_id")
    return pd.DataFrame(
        {
            "start_date": grouped["start_date"].min(),
            "end_date": grouped["end_date"].last(skipna=False),
        }
    )


def _row(kind: str, person: str, team: str, amount: float, detail: str, **extra) -> dict:
    return {
        "kind": kind,
        "person_id": person,
        "team_id": team,
        "cohort": extra.get("cohort", ""),
        "period": extra.get("period", ""),
        "expected": extra.get("expected", ""),
        "found": extra.get("found", ""),
        "amount": float(abs(amount)),
        "detail": detail,
    }


def _money(value: float) -> str:
    return f"{value:,.2f}"


class _Context:
    """The inputs, indexed once."""

    def __init__(self, roster, payroll, scenario, plan, awards, cashflows):
        self.scenario, self.plan = scenario, plan
        self.periods = run_periods(scenario)
        self.start = self.periods[0].start_time.normalize()
        self.end = self.periods[-1].end_time.normalize()
        self.people = scenario_people(scenario).set_index("person_id")
        self.roster = roster
        spans = _spans(roster)
        self.hr_ids = set(spans.index[_employed(spans, self.start, self.end)])
        self.state = roster_as_of(roster[roster["person_id"].isin(self.hr_ids)], self.end)
        self.state = self.state.set_index("person_id")
        self.payroll = payroll
        self.awards = awards
        self.cashflows = cashflows
        by_person = awards.groupby("person_id")
        self.accrued = by_person["accrued"].sum()
        self.earned = by_person["earned"].sum()


def _identity_rows(ctx: _Context) -> list[dict]:
    """Missing people, and team, grade, salary and currency differences."""
    rows = []
    plan, currency = ctx.plan, ctx.scenario.currency
    for person_id, person in ctx.people.iterrows():
        if person_id not in ctx.hr_ids:
            rows.append(
                _row(
                    "missing_in_hr",
                    person_id,
                    person["team_id"],
                    ctx.earned.get(person_id, 0.0),
                    "in the scenario and the ledger, no roster row during the horizon",
                )
            )
            continue
        hr = ctx.state.loc[person_id]
        since = f"HR since {hr['effective_date']:%Y-%m-%d}"
        accrued = float(ctx.accrued.get(person_id, 0.0))
        if hr["team_id"] != person["team_id"]:
            rows.append(
                _row(
                    "team_differs",
                    person_id,
                    person["team_id"],
                    accrued,
                    f"{since}: scored with {person['team_id']}, works in {hr['team_id']}",
                    expected=person["team_id"],
                    found=hr["team_id"],
                )
            )
        if hr["currency"] != currency:
            rows.append(
                _row(
                    "currency_differs",
                    person_id,
                    person["team_id"],
                    0.0,
                    f"{since}: salary in {hr['currency']}, scenario in {currency}; not compared",
                    expected=currency,
                    found=hr["currency"],
                )
            )
            continue
        grant = _grant(plan, person["base_salary"], person["grade"])
        share = accrued / grant if grant > 0 else _cohort_share(ctx)
        if hr["grade"] != person["grade"]:
            other = _grant(plan, person["base_salary"], hr["grade"])
            rows.append(
                _row(
                    "grade_differs",
                    person_id,
                    person["team_id"],
                    share * (other - grant),
                    f"{since}: grant {_money(grant)} at {person['grade']}, {_money(other)} at "
                    f"{hr['grade']}",
                    expected=person["grade"],
                    found=hr["grade"],
                )
            )
        if abs(hr["base_salary"] - person["base_salary"]) >= 2 * CENT:
            other = _grant(plan, hr["base_salary"], person["grade"])
            rows.append(
                _row(
                    "salary_differs",
                    person_id,
                    person["team_id"],
                    share * (other - grant),
                    f"{since}: base salary {_money(person['base_salary'])} in the scenario, "
                    f"{_money(hr['base_salary'])} in HR",
                    expected=_money(person["base_salary"]),
                    found=_money(hr["base_salary"]),
                )
            )
    return rows


def _cohort_share(ctx: _Context) -> float:
    """Return the share of grants accrued over all awards: the score a missing grant would get."""
    granted = ctx.awards.groupby("cohort")["granted"].sum()
    accrued = ctx.awards.groupby("cohort")["accrued"].sum()
    return float((accrued / granted.where(granted > 0)).fillna(0.0).sum())


def _joiner_rows(ctx: _Context) -> list[dict]:
    """Roster people employed in the horizon whom the scenario does not know."""
    rows = []
    cohorts = sorted(set(ctx.awards["cohort"]))
    for person_id in sorted(ctx.hr_ids - set(ctx.people.index)):
        history = ctx.roster[ctx.roster["person_id"] == person_id]
        due, names = 0.0, []
        for cohort in cohorts:
            day = pd.Period(cohort).start_time.normalize()
            state = roster_as_of(history, day)
            if len(state) and bool(_employed(state, day, day).iloc[0]):
                due += _grant(ctx.plan, state["base_salary"].iloc[0], state["grade"].iloc[0])
                names.append(cohort)
        last = ctx.state.loc[person_id]
        rows.append(
            _row(
                "missing_in_scenario",
                person_id,
                last["team_id"],
                due,
                f"joined {last['start_date']:%Y-%m-%d}; grants due for cohorts "
                f"{', '.join(names) or 'none'}",
                found=last["team_id"],
            )
        )
    return rows


def _leaver_rows(ctx: _Context, forfeitures: pd.DataFrame) -> list[dict]:
    rows = []
    for _, award in forfeitures.iterrows():
        if award["unvested_at_leaving"] < CENT and award["forfeited"] < CENT:
            continue
        rows.append(
            _row(
                "leaver_with_unvested_award",
                award["person_id"],
                award["team_id"],
                award["forfeited"],
                f"{award['leaver_class']} leaver ({award['leaver_reason']}) on "
                f"{award['end_date']:%Y-%m-%d}: {award['treatment']}, keeps "
                f"{_money(award['kept_unvested'])} of {_money(award['unvested_at_leaving'])} "
                f"unvested; ledger paid {_money(award['paid_after_leaving'])} after leaving",
                cohort=award["cohort"],
                period=award["leave_period"],
                expected=_money(award["kept_unvested"]),
                found=_money(award["unvested_at_leaving"]),
            )
        )
    return rows


def _expected_base(roster: pd.DataFrame, months: pd.PeriodIndex) -> pd.DataFrame:
    """Return per person and month employed the HR salary / 12 due and whether it is whole.

    The salary is the roster row in effect on the month's first day (the person's first row
    for the month they join mid-way); a month is whole when employment covers every day of it.
    """
    span = _spans(roster).rename(columns={"start_date": "first", "end_date": "last"})
    grid = pd.DataFrame(
        {
            "person_id": pd.Series(np.repeat(span.index.to_numpy(), len(months)), dtype="str"),
            "pay_period": np.tile(np.asarray(months), len(span)),
        }
    )
    grid["month_start"] = [m.start_time for m in grid["pay_period"]]
    grid["month_end"] = [m.end_time.normalize() for m in grid["pay_period"]]
    grid = grid.join(span, on="person_id")
    stays = grid["last"].isna()
    grid = grid[
        (grid["first"] <= grid["month_end"]) & (stays | (grid["last"] >= grid["month_start"]))
    ]
    grid["whole"] = (grid["first"] <= grid["month_start"]) & (
        grid["last"].isna() | (grid["last"] >= grid["month_end"])
    )
    rows = roster.sort_values("effective_date")[["person_id", "effective_date", "base_salary"]]
    rows = rows.astype({"person_id": "str"})
    grid = pd.merge_asof(
        grid.sort_values("month_start"),
        rows,
        left_on="month_start",
        right_on="effective_date",
        by="person_id",
        direction="backward",
    )
    first = rows.groupby("person_id")["base_salary"].first()
    salary = grid["base_salary"].fillna(grid["person_id"].map(first))
    grid["expected"] = salary / 12
    return grid.sort_values(["person_id", "pay_period"]).reset_index(drop=True)


def _payroll_rows(ctx: _Context) -> list[dict]:
    """Payroll people against the roster, and base pay against HR salaries."""
    rows, payroll = [], ctx.payroll
    if not len(payroll):
        return rows
    months = pd.period_range(payroll["pay_period"].min(), payroll["pay_period"].max(), freq="M")
    paid_people = set(payroll["person_id"])
    spans = _spans(ctx.roster)
    known = payroll["person_id"].isin(spans.index)
    first = payroll["person_id"].map(spans["start_date"])
    last = payroll["person_id"].map(spans["end_date"])
    month_start = pd.DatetimeIndex([m.start_time for m in payroll["pay_period"]])
    month_end = pd.DatetimeIndex([m.end_time.normalize() for m in payroll["pay_period"]])
    outside = (month_end < first.to_numpy()) | (last.notna() & (month_start > last)).to_numpy()
    lti = payroll["pay_item"].isin(LTI_ITEMS)  # compared with the ledger instead
    unbacked = payroll[~known | (outside & ~lti)]
    for person_id, paid in unbacked.groupby("person_id", sort=True):
        team = ctx.people["team_id"].get(person_id, "")
        why = (
            "no roster row"
            if person_id not in spans.index
            else "months HR has them not employed: "
            + ", ".join(sorted({str(m) for m in paid["pay_period"]}))
        )
        rows.append(
            _row(
                "payroll_without_hr",
                person_id,
                team,
                paid["amount"].abs().sum(),
                f"{len(paid)} payroll row(s), {why}",
                found=_money(paid["amount"].sum()),
            )
        )
    expected = _expected_base(ctx.roster, months)
    teams = ctx.roster.sort_values("effective_date").groupby("person_id")["team_id"].last()
    ledger = _ledger_payments(ctx)
    ledger = ledger[ledger["period"].isin(_touched(ctx, months))]
    for person_id, due in expected[~expected["person_id"].isin(paid_people)].groupby("person_id"):
        base = float(due["expected"].sum())
        lti = float(ledger.loc[ledger["person_id"] == person_id, "ledger"].sum())
        rows.append(
            _row(
                "missing_in_payroll",
                person_id,
                teams[person_id],
                base + lti,
                f"employed {len(due)} month(s) of the payroll window, no payroll row; "
                f"base {_money(base)}, ledger LTI {_money(lti)}",
                expected=_money(base + lti),
            )
        )
    base = payroll[payroll["pay_item"] == "base"]
    paid = base.groupby(["person_id", "pay_period"])["amount"].sum().rename("paid")
    whole = expected[expected["whole"] & expected["person_id"].isin(paid_people)]
    whole = whole.join(paid, on=["person_id", "pay_period"])
    whole["paid"] = whole["paid"].fillna(0.0)
    whole["off"] = (whole["paid"] - whole["expected"]).abs()
    for person_id, off in whole[whole["off"] >= 2 * CENT].groupby("person_id"):
        months_off = [str(m) for m in off["pay_period"]]
        rows.append(
            _row(
                "payroll_base_differs",
                person_id,
                teams[person_id],
                float(off["off"].sum()),
                f"base pay differs from HR salary / 12 in {', '.join(months_off)}",
                period=",".join(months_off),
            )
        )
    return rows


def _touched(ctx: _Context, months: pd.PeriodIndex) -> set[str]:
    """Return the run periods (labels) the payroll months fall in."""
    return {str(m.asfreq(ctx.periods.freq)) for m in months}


def _ledger_payments(ctx: _Context) -> pd.DataFrame:
    pay = ctx.cashflows[ctx.cashflows["kind"] == "pay"]
    table = pay.groupby(["person_id", "period"], as_index=False)["amount"].sum()
    return table.rename(columns={"amount": "ledger"})


def _payment_rows(ctx: _Context, leavers: pd.DataFrame) -> list[dict]:
    """LTI payments of the ledger against payroll's ``lti_payment`` rows."""
    payroll = ctx.payroll
    if not len(payroll):
        return []
    months = pd.period_range(payroll["pay_period"].min(), payroll["pay_period"].max(), freq="M")
    touched = _touched(ctx, months)
    ledger = _ledger_payments(ctx)
    ledger = ledger[ledger["period"].isin(touched)]
    paid_people = set(payroll["person_id"])
    ledger = ledger[ledger["person_id"].isin(paid_people)].copy()
    leave = ledger["person_id"].map(leavers.set_index("person_id")["end_date"])
    leave = pd.PeriodIndex(pd.DatetimeIndex(leave), freq=ctx.periods.freq)
    period = pd.PeriodIndex(ledger["period"], freq=ctx.periods.freq)
    ledger["after_leaving"] = np.asarray(~leave.isna() & (period > leave), dtype=bool)
    lti = payroll[payroll["pay_item"] == LTI_ITEM].copy()
    lti["period"] = [str(m.asfreq(ctx.periods.freq)) for m in lti["pay_period"]]
    booked = lti.groupby(["person_id", "period"], as_index=False)["amount"].sum()
    both = ledger.merge(booked, on=["person_id", "period"], how="outer", indicator=True)
    rows = []
    teams = ctx.people["team_id"]
    for _, pair in both.sort_values(["person_id", "period"]).iterrows():
        team = teams.get(pair["person_id"], "")
        if pair["_merge"] == "left_only" and pair["after_leaving"]:
            continue  # paid by the ledger after the person left: the leaver row reports it
        if pair["_merge"] == "left_only":
            rows.append(
                _row(
                    "payment_missing_in_payroll",
                    pair["person_id"],
                    team,
                    pair["ledger"],
                    "the ledger pays an award, payroll has no lti_payment",
                    period=pair["period"],
                    expected=_money(pair["ledger"]),
                )
            )
        elif pair["_merge"] == "right_only":
            rows.append(
                _row(
                    "payment_not_in_ledger",
                    pair["person_id"],
                    team,
                    pair["amount"],
                    "payroll pays an lti_payment the ledger does not",
                    period=pair["period"],
                    found=_money(pair["amount"]),
                )
            )
        elif abs(pair["amount"] - pair["ledger"]) >= CENT * 2:
            rows.append(
                _row(
                    "payment_amount_differs",
                    pair["person_id"],
                    team,
                    pair["amount"] - pair["ledger"],
                    f"payroll pays {_money(pair['amount'] - pair['ledger'])} more than the ledger"
                    if pair["amount"] > pair["ledger"]
                    else f"payroll pays {_money(pair['ledger'] - pair['amount'])} less "
                    "than the ledger",
                    period=pair["period"],
                    expected=_money(pair["ledger"]),
                    found=_money(pair["amount"]),
                )
            )
    return rows


def reconcile_people(
    roster: pd.DataFrame,
    payroll: pd.DataFrame,
    scenario: Scenario,
    plan: Plan,
    awards: pd.DataFrame,
    cashflows: pd.DataFrame,
) -> Reconciliation:
    """List every mismatch between HR, payroll, the scenario's people and a run's ledger.

    Parameters
    ----------
    roster, payroll : DataFrame
        The accepted rows of :func:`toolkit.ingest.people.read_roster` and
        :func:`~toolkit.ingest.people.read_payroll`.
    scenario : Scenario
        The run's scenario: its people, currency and horizon.
    plan : Plan
        The run's plan: target awards by grade, window, deferral and leaver rules.
    awards, cashflows : DataFrame
        The run's ``awards.parquet`` and ``cashflows.parquet``.

    Returns
    -------
    Reconciliation
        The mismatches (kinds and money in the module docstring), a summary per kind, and the
        leaver rules applied.
    """
    foreign = payroll["currency"] != scenario.currency
    currency_rows = [
        _row(
            "currency_differs",
            person_id,
            "",
            0.0,
            f"{len(rows)} payroll row(s) in {', '.join(sorted(set(rows['currency'])))}, "
            f"scenario in {scenario.currency}; not compared",
            expected=scenario.currency,
            found=",".join(sorted(set(rows["currency"]))),
        )
        for person_id, rows in payroll[foreign].groupby("person_id", sort=True)
    ]
    ctx = _Context(roster, payroll[~foreign], scenario, plan, awards, cashflows)
    leavers = classify_leavers(
        roster[roster["person_id"].isin(ctx.people.index)], plan.leaver_rules
    )
    leavers = leavers[leavers["person_id"].isin(ctx.hr_ids)]  # left during the horizon
    adjusted, forfeitures = apply_leaver_rules(
        awards, cashflows, leavers, plan, PERIODS_PER_YEAR[scenario.horizon.period]
    )
    rows = (
        _identity_rows(ctx)
        + currency_rows
        + _joiner_rows(ctx)
        + _leaver_rows(ctx, forfeitures)
        + _payroll_rows(ctx)
        + _payment_rows(ctx, leavers)
    )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["amount"] = table["amount"].astype(float).round(2)
    order = {kind: i for i, kind in enumerate(KINDS)}
    table = table.sort_values(
        ["kind", "person_id", "cohort", "period"],
        key=lambda c: c.map(order) if c.name == "kind" else c,
        kind="stable",
    ).reset_index(drop=True)
    table = table.astype({c: "str" for c in COLUMNS if c != "amount"})
    summary = summarise(table)
    return Reconciliation(table, summary, forfeitures, adjusted)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Return per kind the mismatches, the people they concern and the money affected."""
    grouped = table.groupby("kind")
    summary = pd.DataFrame(
        {
            "kind": list(KINDS),
            "mismatches": [int(grouped.size().get(k, 0)) for k in KINDS],
            "people": [int(grouped["person_id"].nunique().get(k, 0)) for k in KINDS],
            "amount": [float(grouped["amount"].sum().get(k, 0.0)) for k in KINDS],
        }
    )
    return summary


def reconciliation_markdown(result: Reconciliation, title: str) -> str:
    """Render the summary and the mismatches as a Markdown report."""
    lines = [f"# HRIS–payroll reconciliation: {title}", "", "## Summary", ""]
    lines += ["| kind | mismatches | people | money affected |", "| --- | ---: | ---: | ---: |"]
    for _, row in result.summary.iterrows():
        lines.append(
            f"| {row['kind']} | {row['mismatches']} | {row['people']} | {_money(row['amount'])} |"
        )
    total = result.summary["amount"].sum()
    lines += [
        f"| **all** | {result.summary['mismatches'].sum()} | "
        f"{result.table['person_id'].nunique()} | **{_money(total)}** |",
        "",
    ]
    lines += ["## Mismatches", ""]
    if not len(result.table):
        lines.append("None: HR, payroll, the scenario and the ledger agree.")
    else:
        lines += [
            "| kind | person | team | cohort | period | money | detail |",
            "| --- | --- | --- | --- | --- | ---: | --- |",
        ]
        for _, row in result.table.iterrows():
            lines.append(
                f"| {row['kind']} | {row['person_id']} | {row['team_id']} | {row['cohort']} | "
                f"{row['period']} | {_money(row['amount'])} | {row['detail']} |"
            )
    return "\n".join(lines) + "\n"
