"""Liability forecast: what a plan will pay, when, against its cap, over a batch's seeds.

Each run of a batch is one draw of the organisation's future (the seed draws incidents,
changes, outages and audits; the plan and the teams' responses do the rest). For every run the
payments are dated by calendar year of the payment:

* inside the horizon, the ledger's cash: ``pay`` events less ``clawback`` recoveries in the
  period they happen (net cash out of the plan);
* after it, the run-off of what is owed at the horizon's end (:mod:`toolkit.finance.runoff`):
  unvested amounts vest at the end of their tranche and are paid then or after their deferral,
  deferred amounts are released when their deferral ends. The run-off adds no new accruals and
  no pool or cap scaling, malus or clawback, so a cohort still accruing at the horizon's end
  is forecast at what it has earned so far, the same basis as the balance-sheet liability.

So, run by run, the forecast over all payment years adds up to the net payments of the horizon
plus the liability at its end (outstanding + deferred), to the cent.

That is the default (``expected_score=None``). A finance director budgeting cash also wants
what the open windows will still earn: with ``expected_score`` a score (% of target) or
``"to_date"`` (each cohort's mean score so far), :func:`future_service` adds each open tranche's
periods still to come at that score, vesting and paid on the plan's schedule, reported apart
as ``future_service``; the forecast then adds up to payments + liability + future service.
Either way it covers the cohorts granted inside the horizon: grants after it are not forecast.

Quantiles over seeds (P10, P50, P90) use numpy's default ``linear`` method (Hyndman and Fan's
type 7): for ``n`` sorted values ``x_1 .. x_n``, ``Q(p) = x_j + g (x_{j+1} − x_j)`` with
``h = (n − 1) p + 1``, ``j = ⌊h⌋`` and ``g = h − j``. A run that pays nothing to a cohort in a
year counts as a zero, not as a missing draw.

Budget and cap
--------------
The cap (:func:`toolkit.finance.caps.cap_amount`) limits what **vests** in a plan year, not
what is paid: deferral moves part of a year's vesting into later payment years. Every plan year
has one vesting date, its last period, and two plan years never end in the same calendar year,
so plan years are labelled by the calendar year of their vesting date. The budget a year needs
is what vests in it before the cap (after pool scaling): inside the horizon the ledger's
``vest`` plus its ``cap_scaling``; after it, the run-off's vesting. **The cap binds** in a year
of a run when the ledger scaled that year's vesting down to the cap (``cap_scaling`` > 0), or,
after the horizon, when the run-off's vesting exceeds the cap (the ledger would scale it).
``p_cap_binds`` is the share of seeds where it binds. Payments alone would mislead: a year may
pay more than the cap (releases of earlier deferrals) without the cap binding, or less while
it binds (a capped vesting mostly deferred). On the default basis the run-off holds only what was
earned by the horizon's end, so a late cohort's vesting, and the chance the cap binds on it, is
understated; an ``expected_score`` completes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.finance.accruals import LedgerTables
from toolkit.finance.caps import cap_amount
from toolkit.finance.runoff import periods_per_year, run_off_payments, tranche_ends

QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}
RUN_KEYS = ["scenario", "plan", "seed"]
ALL_SCENARIOS = "(all scenarios)"
FORECAST_KEYS = ["scenario", "plan", "cohort", "payment_year"]
CASH = ("paid", "run_off", "future_service")
CASH_MEANS = tuple(f"{column}_mean" for column in CASH[1:])
Score = float | Literal["to_date"] | None
SUMMARY_COLUMNS = [
    "scenario",
    "plan",
    "year",
    "paid_p10",
    "paid_p50",
    "paid_p90",
    "paid_mean",
    "run_off_mean",
    "future_service_mean",
    "budget_p10",
    "budget_p50",
    "budget_p90",
    "cap",
    "headroom_p90",
    "p_cap_binds",
    "projected",
    "seeds",
]


@dataclass(frozen=True)
class LedgerRun:
    """One run of a batch: who it is, its ledger tables and the models it ran with.

    Attributes
    ----------
    scenario, plan : str
        Names, as in ``runs.parquet``.
    seed : int
        The run's seed.
    tables : LedgerTables
        Its awards, cashflows and liability tables.
    plan_model : Plan
        The plan as the run used it (vesting, deferral, cap).
    scenario_model : Scenario
        The scenario as the run used it (people for the cap, services for cost transparency).
    """

    scenario: str
    plan: str
    seed: int
    tables: LedgerTables
    plan_model: Plan
    scenario_model: Scenario

    @property
    def periods_per_year(self) -> int:
        """Return the periods per year of the run's period labels (1 for a run without any).

        A run without liability rows granted nothing, so it has no run-off to date.
        """
        labels = self.tables.liability["period"]
        return periods_per_year(str(labels.iloc[0])) if len(labels) else 1

    def keys(self) -> dict[str, object]:
        """Return the run's ``scenario``, ``plan`` and ``seed``."""
        return {"scenario": self.scenario, "plan": self.plan, "seed": int(self.seed)}


def payment_paths(runs: Sequence[LedgerRun], expected_score: Score = None) -> pd.DataFrame:
    """Return every run's payments per cohort and calendar year, the run-off included.

    Parameters
    ----------
    runs : sequence of LedgerRun
        The runs of a batch (any scenarios, plans and seeds).
    expected_score : None, float or "to_date"
        None: after the horizon, only what is owed at its end (the balance-sheet basis). A
        score (% of target) or ``"to_date"`` also completes the windows still open at the
        horizon's end at that score (:func:`future_service`).

    Returns
    -------
    DataFrame
        ``scenario``, ``plan``, ``seed``, ``cohort``, ``payment_year`` (int), ``paid`` (net
        cash out in that year: payments less clawback, plus what is paid after the horizon),
        ``run_off`` (the part of ``paid`` paid after the horizon) and ``future_service`` (the
        part of ``run_off`` earned by service after the horizon; 0 when ``expected_score`` is
        None). One row per run, cohort and year with money.
    """
    parts = []
    for run in runs:
        flows = run.tables.cashflows
        cash = flows[flows["kind"].isin(["pay", "clawback"])]
        signed = np.where(cash["kind"] == "pay", 1.0, -1.0) * cash["amount"].to_numpy(float)
        recorded = pd.DataFrame(
            {
                "cohort": cash["cohort"].to_numpy(),
                "payment_year": _years(cash["period"]),
                "paid": signed,
                "run_off": 0.0,
                "future_service": 0.0,
            }
        )
        future = _after_horizon(run, expected_score)
        projected = pd.DataFrame(
            {
                "cohort": future["cohort"].to_numpy(),
                "payment_year": _years(future["period"]),
                "paid": future["paid"].to_numpy(float),
                "run_off": future["paid"].to_numpy(float),
                "future_service": future["future_service"].to_numpy(float),
            }
        )
        both = pd.concat([recorded, projected], ignore_index=True)
        by_year = both.groupby(["cohort", "payment_year"], as_index=False)[list(CASH)]
        parts.append(by_year.sum().assign(**run.keys()))
    columns = [*RUN_KEYS, "cohort", "payment_year", *CASH]
    if not parts:
        return _empty(columns)
    table = pd.concat(parts, ignore_index=True)[columns]
    table = table[(table["paid"] != 0) | (table["run_off"] != 0)]
    return table.sort_values([*RUN_KEYS, "cohort", "payment_year"], ignore_index=True)


def vesting_paths(runs: Sequence[LedgerRun], expected_score: Score = None) -> pd.DataFrame:
    """Return every run's vesting per year against the cap, and whether the cap binds.

    Parameters
    ----------
    runs : sequence of LedgerRun
        The runs of a batch.
    expected_score : None, float or "to_date"
        As in :func:`payment_paths`: with a score, what open windows are expected to earn
        after the horizon vests too, and counts against the cap.

    Returns
    -------
    DataFrame
        ``scenario``, ``plan``, ``seed``, ``year`` (calendar year of the plan year's vesting
        date), ``budget`` (vesting before the cap, after pool scaling), ``vested`` (after the
        cap), ``cap`` (``inf`` without one), ``cap_binds`` (bool, the definition in the module
        docstring) and ``projected`` (True for a year after the horizon). One row per run and
        year in which anything vests.
    """
    parts = []
    for run in runs:
        flows = run.tables.cashflows
        cap = cap_amount(run.plan_model, run.scenario_model)
        events = flows[flows["kind"].isin(["vest", "cap_scaling"])]
        recorded = (
            pd.DataFrame(
                {
                    "year": _years(events["period"]),
                    "vested": np.where(events["kind"] == "vest", events["amount"], 0.0),
                    "cut": np.where(events["kind"] == "cap_scaling", events["amount"], 0.0),
                }
            )
            .groupby("year", as_index=False)[["vested", "cut"]]
            .sum()
        )
        recorded["budget"] = recorded["vested"] + recorded["cut"]
        recorded["cap_binds"] = recorded["cut"] > 0  # the ledger leaves zero amounts out
        recorded["projected"] = False
        future = _after_horizon(run, expected_score)
        future = future[future["vesting"] > 0]
        projected = (
            pd.DataFrame(
                {"year": _years(future["period"]), "budget": future["vesting"].astype(float)}
            )
            .groupby("year", as_index=False)["budget"]
            .sum()
        )
        projected["vested"] = np.minimum(projected["budget"], cap)
        projected["cap_binds"] = projected["budget"] > cap
        projected["projected"] = True
        both = pd.concat([recorded.drop(columns="cut"), projected], ignore_index=True)
        both = both.groupby("year", as_index=False).agg(
            budget=("budget", "sum"),
            vested=("vested", "sum"),
            cap_binds=("cap_binds", "any"),
            projected=("projected", "any"),
        )
        parts.append(both.assign(cap=cap, **run.keys()))
    columns = [*RUN_KEYS, "year", "budget", "vested", "cap", "cap_binds", "projected"]
    if not parts:
        return _empty(columns)
    table = pd.concat(parts, ignore_index=True)[columns]
    return table.sort_values([*RUN_KEYS, "year"], ignore_index=True)


def liability_forecast(
    runs: Sequence[LedgerRun], pooled: bool = False, expected_score: Score = None
) -> pd.DataFrame:
    """Return P10, P50 and P90 over seeds of what each cohort is paid in each year.

    Parameters
    ----------
    runs : sequence of LedgerRun
        The runs of a batch.
    pooled : bool
        Treat every (scenario, seed) as one draw, scenario ``"(all scenarios)"``: the forecast
        over the scenarios as well as the seeds. Scenarios should share a currency.
    expected_score : None, float or "to_date"
        As in :func:`payment_paths` (None: what is owed at the horizon's end, no more).

    Returns
    -------
    DataFrame
        One row per ``scenario``, ``plan``, ``cohort`` and ``payment_year``: ``p10``, ``p50``,
        ``p90`` and ``mean`` of the amount paid over seeds (quantile convention in the module
        docstring; a seed paying nothing counts 0), ``run_off_mean`` (mean part paid after the
        horizon), ``future_service_mean`` (mean part of it earned after the horizon) and
        ``seeds`` (draws).
    """
    paths = _pool(payment_paths(runs, expected_score), pooled)
    if paths.empty:
        return _empty([*FORECAST_KEYS, *QUANTILES, "mean", *CASH_MEANS, "seeds"])
    draws = _draws(runs, pooled)
    cells = paths[["scenario", "plan", "cohort", "payment_year"]].drop_duplicates()
    grid = cells.merge(draws, on=["scenario", "plan"])
    keys = ["scenario", "plan", "draw", "cohort", "payment_year"]
    summed = paths.groupby(keys, as_index=False)[list(CASH)].sum()
    full = grid.merge(summed, on=keys, how="left").fillna(dict.fromkeys(CASH, 0.0))
    groups = FORECAST_KEYS
    table = _quantiles(full, groups, "paid")
    grouped = full.groupby(groups, sort=True)
    table["mean"] = grouped["paid"].mean().to_numpy()
    for column in CASH[1:]:
        table[f"{column}_mean"] = grouped[column].mean().to_numpy()
    table["seeds"] = grouped.size().to_numpy()
    return table


def forecast_summary(
    runs: Sequence[LedgerRun], pooled: bool = False, expected_score: Score = None
) -> pd.DataFrame:
    """Return, per plan and year, what is paid, the budget it needs, the cap and P(cap binds).

    Parameters
    ----------
    runs : sequence of LedgerRun
        The runs of a batch.
    pooled : bool
        As in :func:`liability_forecast`.
    expected_score : None, float or "to_date"
        As in :func:`payment_paths`.

    Returns
    -------
    DataFrame
        One row per ``scenario``, ``plan`` and ``year``: ``paid_p10``, ``paid_p50``,
        ``paid_p90`` and ``paid_mean`` (all cohorts' payments in the year over seeds),
        ``run_off_mean``, ``future_service_mean``, ``budget_p10``, ``budget_p50``,
        ``budget_p90`` (vesting before the cap, the budget the year needs), ``cap`` (``inf``
        without one; NaN when pooled scenarios have different caps), ``headroom_p90`` (cap −
        budget P90), ``p_cap_binds`` (share of seeds where the cap binds), ``projected`` (the
        year lies after the horizon in some seed) and ``seeds``. Years with payments but no
        vesting have a zero budget.
    """
    paid = _pool(payment_paths(runs, expected_score), pooled)
    vesting = _pool(vesting_paths(runs, expected_score), pooled)
    if paid.empty and vesting.empty:
        return _empty(SUMMARY_COLUMNS)
    draws = _draws(runs, pooled)
    years = pd.concat(
        [
            paid[["scenario", "plan", "payment_year"]].rename(columns={"payment_year": "year"}),
            vesting[["scenario", "plan", "year"]],
        ]
    ).drop_duplicates()
    grid = years.merge(draws, on=["scenario", "plan"])
    keys = ["scenario", "plan", "draw", "year"]
    cash = (
        paid.rename(columns={"payment_year": "year"})
        .groupby(keys, as_index=False)[list(CASH)]
        .sum()
    )
    vest = vesting.groupby(keys, as_index=False).agg(
        budget=("budget", "sum"),
        cap_binds=("cap_binds", "any"),
        projected=("projected", "any"),
    )
    full = grid.merge(cash, on=keys, how="left").merge(vest, on=keys, how="left")
    full = full.fillna({**dict.fromkeys(CASH, 0.0), "budget": 0.0})
    full["cap_binds"] = full["cap_binds"].astype("boolean").fillna(False).astype(bool)
    full["projected"] = full["projected"].astype("boolean").fillna(False).astype(bool)
    full["projected"] |= full["run_off"] > 0
    groups = ["scenario", "plan", "year"]
    table = _quantiles(full, groups, "paid", prefix="paid_")
    grouped = full.groupby(groups, sort=True)
    table["paid_mean"] = grouped["paid"].mean().to_numpy()
    for column in CASH[1:]:
        table[f"{column}_mean"] = grouped[column].mean().to_numpy()
    budget = _quantiles(full, groups, "budget", prefix="budget_")
    table = table.merge(budget, on=groups)
    caps = _caps(runs, pooled)
    table = table.merge(caps, on=["scenario", "plan"], how="left")
    table["headroom_p90"] = table["cap"] - table["budget_p90"]
    table["p_cap_binds"] = grouped["cap_binds"].mean().to_numpy()
    table["projected"] = grouped["projected"].any().to_numpy()
    table["seeds"] = grouped.size().to_numpy()
    return table[SUMMARY_COLUMNS]


def future_service(
    tables: LedgerTables, plan: Plan, per_year: int, expected_score: float | Literal["to_date"]
) -> pd.DataFrame:
    """Return what the windows still open at the horizon's end are expected to earn after it.

    A cohort's grant ``g`` (all its people) earns ``g / P`` per window period at a score of
    100 (:mod:`toolkit.plans.ledger`, rule 2). Each tranche ending after the horizon gets
    ``g / P × n × s / 100`` for its ``n`` periods still to come, vests at its end and is paid
    then, or after the deferral for the plan's deferral share. ``s`` is ``expected_score``, or
    for ``"to_date"`` the cohort's mean score so far (its ``accrued`` ÷ ``g / P`` ÷ periods
    scored × 100; 100 before any score), as :func:`toolkit.finance.accruals.accrual_schedule`
    estimates it. No pool or cap scaling, malus or leavers are assumed.

    Parameters
    ----------
    tables : LedgerTables
        The run's tables (``awards`` for grants and accruals, ``liability`` for the horizon).
    plan : Plan
        The plan of the run.
    per_year : int
        Periods per year.
    expected_score : float or "to_date"
        Score (% of target) of the periods to come.

    Returns
    -------
    DataFrame
        ``period``, ``cohort``, ``vesting`` and ``paid``, as
        :func:`toolkit.finance.runoff.run_off_payments`.
    """
    columns = ["period", "cohort", "vesting", "paid"]
    none = pd.DataFrame({name: pd.Series(dtype=float) for name in columns}).astype(
        {"period": str, "cohort": str}
    )
    if tables.liability.empty:
        return none
    end = max(pd.Period(label) for label in tables.liability["period"].unique())
    window = plan.performance_period_years * per_year
    count = plan.performance_period_years if plan.vesting.schedule == "graded" else 1
    length = window // count
    share, hold = plan.vesting.deferral_share, plan.vesting.deferral_years * per_year
    cohorts = tables.awards.groupby("cohort")[["granted", "accrued"]].sum()
    rows = []
    for cohort, money in cohorts.iterrows():
        rate = money["granted"] / window
        start = pd.Period(cohort)
        elapsed = min((end - start).n + 1, window)
        score = expected_score
        if score == "to_date":
            scored = rate > 0 and elapsed > 0
            score = money["accrued"] / (rate * elapsed) * 100 if scored else 100.0
        for j, vest in enumerate(tranche_ends(plan, cohort, per_year)):
            first = start + j * length
            to_come = min(length, max(0, (vest - max(end, first - 1)).n))
            amount = rate * to_come * float(score) / 100
            if amount <= 0:
                continue
            rows.append((vest, cohort, amount, (1 - share) * amount))
            if share > 0:
                rows.append((vest + hold, cohort, 0.0, share * amount))
    if not rows:
        return none
    table = pd.DataFrame(rows, columns=["when", "cohort", "vesting", "paid"])
    table = table.groupby(["when", "cohort"], as_index=False, sort=True)[["vesting", "paid"]].sum()
    table.insert(0, "period", [str(period) for period in table.pop("when")])
    return table[columns]


def _after_horizon(run: LedgerRun, expected_score: Score) -> pd.DataFrame:
    """Return the run-off of a run with, given a score, its open windows' future service."""
    tables = run.tables
    owed = run_off_payments(
        tables.liability, tables.cashflows, run.plan_model, run.periods_per_year
    ).assign(future_service=0.0)
    if expected_score is None:
        return owed
    future = future_service(tables, run.plan_model, run.periods_per_year, expected_score)
    future = future.assign(future_service=future["paid"].astype(float))
    return pd.concat([owed, future], ignore_index=True)


def _years(periods: pd.Series) -> np.ndarray:
    """Return the calendar year of each period label."""
    return np.array([pd.Period(label).year for label in periods], dtype="int64")


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})


def _pool(paths: pd.DataFrame, pooled: bool) -> pd.DataFrame:
    """Give each run a draw id; pooled, every scenario's seeds become draws of one set."""
    paths = paths.copy()
    paths["draw"] = list(zip(paths["scenario"], paths["seed"], strict=True))
    if pooled:
        paths["scenario"] = ALL_SCENARIOS
    return paths


def _draws(runs: Sequence[LedgerRun], pooled: bool) -> pd.DataFrame:
    """Return every draw of each scenario and plan, so that a draw paying nothing counts 0."""
    draws = pd.DataFrame(
        [
            {
                "scenario": ALL_SCENARIOS if pooled else run.scenario,
                "plan": run.plan,
                "draw": (run.scenario, int(run.seed)),
            }
            for run in runs
        ],
        columns=["scenario", "plan", "draw"],
    )
    return draws.drop_duplicates(["scenario", "plan", "draw"])


def _caps(runs: Sequence[LedgerRun], pooled: bool) -> pd.DataFrame:
    """Return the cap per scenario and plan (NaN when pooled scenarios disagree)."""
    caps = pd.DataFrame(
        [
            {
                "scenario": ALL_SCENARIOS if pooled else run.scenario,
                "plan": run.plan,
                "cap": cap_amount(run.plan_model, run.scenario_model),
            }
            for run in runs
        ],
        columns=["scenario", "plan", "cap"],
    ).drop_duplicates()
    agreed = caps.groupby(["scenario", "plan"])["cap"].agg(
        lambda values: values.iloc[0] if values.nunique() == 1 else np.nan
    )
    return agreed.reset_index()


def _quantiles(
    table: pd.DataFrame, groups: list[str], column: str, prefix: str = ""
) -> pd.DataFrame:
    """Return P10, P50 and P90 of ``column`` per group (numpy's linear method)."""
    grouped = table.groupby(groups, sort=True)[column]
    result = grouped.quantile(list(QUANTILES.values())).unstack()
    result.columns = [f"{prefix}{name}" for name in QUANTILES]
    return result.reset_index()
