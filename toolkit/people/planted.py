"""HR roster and payroll exports of a scenario's people, with a known list of planted mismatches.

The course (topic 7.4) and the tests need exports whose every difference from the scenario and
the ledger is known. :func:`planted_exports` writes a clean roster and payroll (HR matches the
scenario; payroll pays salary / 12 a month and the ledger's LTI payments in the last month of
each payment period) and then plants one mismatch of each kind, each on a different person,
drawn by the seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.ingest.people import DATE_FORMAT, PAYROLL_REQUIRED, ROSTER_COLUMNS
from toolkit.people.reconcile import run_periods, scenario_people
from toolkit.plans.loading import PERIODS_PER_YEAR

ROSTER_FILE = "roster.csv"
PAYROLL_FILE = "payroll.csv"
PLANTED_COLUMNS = ("kind", "person_id", "detail")
RAISE = 1.05  # the planted salary difference: HR has the scenario's salary plus 5 %
PAYMENT_ERROR = 123.45  # payroll pays this much more than the ledger
BASE_ERROR = 250.0  # one month's base pay off by this much
JOINER_PAYMENT = 1000.0  # an LTI payment to the joiner, whom the ledger does not know


def _date(value: pd.Timestamp | None) -> str:
    return "" if value is None or pd.isna(value) else value.strftime(DATE_FORMAT)


def _clean_roster(scenario: Scenario, rng: np.random.Generator) -> list[dict]:
    start = pd.Timestamp(scenario.horizon.start)
    rows = []
    for _, person in scenario_people(scenario).iterrows():
        hired = (
            start - pd.DateOffset(years=int(rng.integers(1, 12)), months=int(rng.integers(0, 12)))
        ).replace(day=1)
        rows.append(
            {
                "person_id": person["person_id"],
                "name": f"Employee {person['person_id']}",
                "team_id": person["team_id"],
                "grade": person["grade"],
                "country": person["country"],
                "gender": person["gender"],
                "base_salary": float(person["base_salary"]),
                "currency": scenario.currency,
                "effective_date": hired,
                "start_date": hired,
                "end_date": None,
                "leaver_reason": None,
            }
        )
    return rows


def _paid_periods(cashflows: pd.DataFrame | None) -> pd.DataFrame:
    if cashflows is None:
        return pd.DataFrame(columns=["person_id", "period", "amount"])
    pay = cashflows[cashflows["kind"] == "pay"]
    return pay.groupby(["person_id", "period"], as_index=False)["amount"].sum()


def _history(roster: list[dict], person_id: str) -> list[dict]:
    return sorted(
        (r for r in roster if r["person_id"] == person_id), key=lambda r: r["effective_date"]
    )


def _payroll(roster: list[dict], months: pd.PeriodIndex, payments: pd.DataFrame, freq) -> list:
    rows = []
    for person_id in sorted({r["person_id"] for r in roster}):
        history = _history(roster, person_id)
        first, last = history[0]["start_date"], history[-1]["end_date"]
        for month in months:
            if first > month.end_time or (last is not None and last < month.start_time):
                continue
            state = [r for r in history if r["effective_date"] <= month.start_time] or history
            rows.append(
                {
                    "person_id": person_id,
                    "pay_period": str(month),
                    "pay_item": "base",
                    "amount": round(state[-1]["base_salary"] / 12, 2),
                }
            )
        leave = None if last is None else pd.Period(last, freq=freq)
        for _, pay in payments[payments["person_id"] == person_id].iterrows():
            period = pd.Period(pay["period"], freq=freq)
            if leave is not None and period > leave:
                continue  # left before the payment: payroll no longer pays them
            rows.append(
                {
                    "person_id": person_id,
                    "pay_period": str(period.asfreq("M", "end")),
                    "pay_item": "lti_payment",
                    "amount": round(float(pay["amount"]), 2),
                }
            )
    return rows


def planted_exports(
    scenario: Scenario,
    directory: str | Path,
    seed: int,
    *,
    plan: Plan | None = None,
    awards: pd.DataFrame | None = None,
    cashflows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Write ``roster.csv`` and ``payroll.csv`` with planted mismatches; return what was planted.

    Parameters
    ----------
    scenario : Scenario
        Whose people the exports describe (at least ten people: each plant takes its own).
    directory : str or Path
        Where the two files go (created if missing).
    seed : int
        Draws who gets which mismatch and the dates; same seed, same files.
    plan : Plan, optional
        The run's plan, to tell which leavers leave an award unvested.
    awards, cashflows : DataFrame, optional
        The run's ledger tables; without cashflows payroll pays no LTI and the payment
        mismatches are not planted, without awards no leaver is expected to forfeit.

    Returns
    -------
    DataFrame
        ``kind, person_id, detail``: every mismatch :func:`toolkit.people.reconcile_people`
        should find, and nothing else.

    Raises
    ------
    ValueError
        If the scenario has fewer than ten people.
    """
    rng = np.random.default_rng(seed)
    periods = run_periods(scenario)
    freq = periods.freq
    months = pd.period_range(periods[0].start_time, periods[-1].end_time, freq="M")
    roster = _clean_roster(scenario, rng)
    people = scenario_people(scenario)
    if len(people) < 10:
        raise ValueError(f"planting needs at least ten people; {scenario.name} has {len(people)}")
    payments = _paid_periods(cashflows)
    with_payments = set(payments["person_id"])
    paid = [p for p in rng.permutation(people["person_id"].to_numpy()) if p in with_payments]
    others = [p for p in rng.permutation(people["person_id"].to_numpy()) if p not in paid[:2]]
    chosen = dict(zip(["payment_amount", "payment_missing"], paid[:2], strict=False))
    for name, person_id in zip(
        [
            "missing_in_hr",
            "salary",
            "grade",
            "transfer",
            "good_leaver",
            "bad_leaver",
            "missing_in_payroll",
            "base",
        ],
        others,
        strict=False,
    ):
        chosen[name] = person_id
    planted: list[dict] = []
    by_id = {r["person_id"]: r for r in roster}
    middle = months[len(months) // 2]
    teams = sorted(people["team_id"].unique())
    grades = sorted(people["grade"].unique())

    # a joiner the scenario does not know
    joiner = {**roster[0], "person_id": "joiner01", "name": "Employee joiner01"}
    joiner["team_id"] = teams[int(rng.integers(len(teams)))]
    joined = months[int(rng.integers(1, max(2, len(months) // 2)))].start_time
    joiner.update(
        start_date=joined,
        effective_date=joined,
        base_salary=float(people["base_salary"].iloc[int(rng.integers(len(people)))]),
    )
    roster.append(joiner)
    planted.append(
        {
            "kind": "missing_in_scenario",
            "person_id": "joiner01",
            "detail": f"joined {_date(joined)}",
        }
    )

    person = by_id[chosen["salary"]]
    person["base_salary"] = round(person["base_salary"] * RAISE, 2)
    planted.append(
        {
            "kind": "salary_differs",
            "person_id": chosen["salary"],
            "detail": f"HR salary {person['base_salary']:.2f}",
        }
    )

    for key, column, kind in (
        ("grade", "grade", "grade_differs"),
        ("transfer", "team_id", "team_differs"),
    ):
        person = by_id[chosen[key]]
        choices = grades if column == "grade" else teams
        new = [c for c in choices if c != person[column]][int(rng.integers(len(choices) - 1))]
        roster.append({**person, column: new, "effective_date": middle.start_time})
        planted.append(
            {
                "kind": kind,
                "person_id": chosen[key],
                "detail": f"{column} {new} from {_date(middle.start_time)}",
            }
        )

    window = (
        plan.performance_period_years * PERIODS_PER_YEAR[scenario.horizon.period]
        if plan is not None
        else 0
    )
    for key, reason in (("good_leaver", "retirement"), ("bad_leaver", "resignation")):
        month = months[int(rng.integers(len(months) // 3, len(months) - 3))]
        left = month.end_time.normalize()
        person = by_id[chosen[key]]
        person.update(end_date=left, leaver_reason=reason)
        if awards is not None and plan is not None:
            leave = pd.Period(left, freq=freq)
            mine = awards[(awards["person_id"] == chosen[key]) & (awards["earned"] > 0)]
            ends = [pd.Period(c, freq=freq) + window - 1 for c in mine["cohort"]]
            if any(end > leave for end in ends):
                planted.append(
                    {
                        "kind": "leaver_with_unvested_award",
                        "person_id": chosen[key],
                        "detail": f"{reason} on {_date(left)}",
                    }
                )

    missing = chosen["missing_in_hr"]
    roster_rows = [r for r in roster if r["person_id"] != missing]
    payroll = _payroll(roster, months, payments, freq)  # payroll still pays the missing person
    planted += [
        {"kind": "missing_in_hr", "person_id": missing, "detail": "no roster row"},
        {"kind": "payroll_without_hr", "person_id": missing, "detail": "paid, not in HR"},
    ]
    payroll = [p for p in payroll if p["person_id"] != chosen["missing_in_payroll"]]
    planted.append(
        {
            "kind": "missing_in_payroll",
            "person_id": chosen["missing_in_payroll"],
            "detail": "no payroll row",
        }
    )
    base_rows = [
        i
        for i, p in enumerate(payroll)
        if p["person_id"] == chosen["base"] and p["pay_item"] == "base"
    ]
    bumped = base_rows[int(rng.integers(1, len(base_rows) - 1))]
    payroll[bumped]["amount"] = round(payroll[bumped]["amount"] + BASE_ERROR, 2)
    planted.append(
        {
            "kind": "payroll_base_differs",
            "person_id": chosen["base"],
            "detail": f"{payroll[bumped]['pay_period']} base +{BASE_ERROR:.2f}",
        }
    )
    # payroll pays the joiner an LTI payment no award of the ledger stands for
    payroll.append(
        {
            "person_id": "joiner01",
            "pay_period": str(months[-1]),
            "pay_item": "lti_payment",
            "amount": JOINER_PAYMENT,
        }
    )
    planted.append(
        {
            "kind": "payment_not_in_ledger",
            "person_id": "joiner01",
            "detail": f"{months[-1]} lti_payment {JOINER_PAYMENT:.2f}",
        }
    )
    for key, kind in (
        ("payment_amount", "payment_amount_differs"),
        ("payment_missing", "payment_missing_in_payroll"),
    ):
        if key not in chosen:
            continue
        rows = [
            i
            for i, p in enumerate(payroll)
            if p["person_id"] == chosen[key] and p["pay_item"] == "lti_payment"
        ]
        if kind == "payment_amount_differs":
            payroll[rows[0]]["amount"] = round(payroll[rows[0]]["amount"] + PAYMENT_ERROR, 2)
        else:
            del payroll[rows[0]]
        planted.append({"kind": kind, "person_id": chosen[key], "detail": "first LTI payment"})

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(roster_rows)
    for column in ("effective_date", "start_date", "end_date"):
        table[column] = table[column].map(_date)
    table = table[list(ROSTER_COLUMNS)]
    table = table.sort_values(["person_id", "effective_date"], kind="stable")
    table.to_csv(directory / ROSTER_FILE, index=False)
    pay = pd.DataFrame(payroll)
    pay["currency"] = scenario.currency
    pay = pay[list(PAYROLL_REQUIRED)].sort_values(["person_id", "pay_period", "pay_item"])
    pay.to_csv(directory / PAYROLL_FILE, index=False, float_format="%.2f")
    result = pd.DataFrame(planted, columns=list(PLANTED_COLUMNS))
    return result.sort_values(["kind", "person_id"]).reset_index(drop=True)
