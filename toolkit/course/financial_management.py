"""Module 4, IT financial management: the notebook's batch, tables, paragraphs and checks.

The notebook ``notebooks/modules/04_financial_management.ipynb`` follows the money of one
plan through a finance year on a batch: funding pools by service budget and criticality (4.1),
the liability forecast over seeds (4.2), cost charged to business units (4.3), the cap as a
percentage of personnel cost (4.4), vendor gain-share (4.5) and the quarterly accrual
reconciliation against a general ledger (4.6). This module holds what keeps the notebook free of
logic: the batch it runs, a table per topic computed from the batch's ledgers, a paragraph per
result written from its numbers, and a checker per exercise.

The module's plan is run with a shortened performance window (``window_years``, one year by
default) so that on a short scenario cohorts vest, pools and caps are applied and cash is paid
inside the horizon; with the library's three-year windows a two-year scenario would only ever
accrue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.course.exercises import Check, failed, passed
from toolkit.course.wording import listing, money, share
from toolkit.experiments.derived import as_plan, run_variants, variant
from toolkit.finance import (
    accrual_schedule,
    personnel_cost,
    reconcile,
    roll_forward,
    summarise_roll_forward,
    team_pools,
)
from toolkit.finance.forecast import LedgerRun, forecast_summary, vesting_paths
from toolkit.finance.rollforward import ACCOUNTS
from toolkit.finance.transparency import cost_statement, run_costs
from toolkit.plans.loading import PERIODS_PER_YEAR
from toolkit.report.data import Batch, load_batch
from toolkit.report.finance import ledger_runs

POOL_COVER = (1.0, 2.0)  # 4.1: a team's pool funds its award at target, and at most twice it
CAP_HEADROOM = 0.01  # 4.4: a cap at most one point of personnel cost above the largest year
BUDGET_SLACK = 1.25  # 4.2: a budget of at least the P90, at most a quarter above it


# -- the batch -------------------------------------------------------------------------------
def module_plan(plan: str | Path | Plan, window_years: int) -> Plan:
    """Return the module's plan: ``plan`` with its performance window set to ``window_years``.

    Parameters
    ----------
    plan : str, Path or Plan
        A library plan's name, a plan file or a plan.
    window_years : int
        Years a grant's performance is measured over (1 lets cohorts vest on a short horizon).

    Returns
    -------
    Plan
        The variant, named ``<plan>_<window_years>y``.
    """
    base = as_plan(plan)
    return variant(
        base,
        f"{base.name}_{window_years}y",
        f"{base.name} with a {window_years}-year performance window.",
        performance_period_years=window_years,
    )


def module_batch(
    scenario: str | Path,
    plan: Plan,
    seeds: int,
    directory: str | Path,
    workers: int = 1,
    progress: bool = False,
) -> Batch:
    """Run the module's plan on the scenario and load the batch for the notebook.

    Parameters
    ----------
    scenario : str or Path
        The scenario file.
    plan : Plan
        The module's plan (:func:`module_plan`).
    seeds : int
        Seeds 0..seeds-1.
    directory : str or Path
        The notebook's output directory: the batch goes to ``batch/``, the plan file to
        ``plans/`` (kept, so that the batch can be reread and rerun).
    workers : int
        Processes running the simulations.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Batch
        The loaded batch (:func:`toolkit.report.data.load_batch`).
    """
    root = Path(directory)
    result = run_variants(
        [plan],
        [str(scenario)],
        seeds,
        root / "batch",
        plans_dir=root / "plans",
        workers=workers,
        progress=progress,
    )
    return load_batch(result.directory, reference=plan.name)


def batch_models(batch: Batch, plan: str) -> tuple[Scenario, Plan, str]:
    """Return the scenario and plan models of a batch as it ran them, and the scenario's name.

    Parameters
    ----------
    batch : Batch
        The batch (its first scenario is the one the module reads).
    plan : str
        One of its plans.

    Returns
    -------
    tuple
        The :class:`Scenario`, the :class:`Plan` and the scenario's name.

    Raises
    ------
    ValueError
        When the plan or scenario file is gone or has changed since the batch ran.
    """
    scenario = batch.scenarios[0]
    model = batch.plan_model(plan)
    world = batch.scenario_model(scenario)
    if model is None or world is None:
        raise ValueError(f"{batch.directory}: cannot read the plan {plan!r} or scenario as run")
    return world, model, scenario


def plan_runs(batch: Batch, plan: str) -> list[LedgerRun]:
    """Return the plan's runs with their ledger tables and models, in seed order."""
    return [run for run in ledger_runs(batch) if run.plan == plan]


def run_of(batch: Batch, plan: str, seed: int) -> LedgerRun:
    """Return the run of ``plan`` with ``seed``.

    Raises
    ------
    ValueError
        If the batch has no such run (naming the batch, plan and seed).
    """
    for run in plan_runs(batch, plan):
        if run.seed == seed:
            return run
    raise ValueError(f"{batch.directory}: no run of plan {plan!r} with seed {seed}")


def vesting_by_year(batch: Batch, plan: str) -> pd.DataFrame:
    """Return what vested per run, plan year and team, before and after pools and the cap.

    Parameters
    ----------
    batch : Batch
        The batch.
    plan : str
        One of its plans.

    Returns
    -------
    DataFrame
        ``seed``, ``year``, ``team_id``, ``before_pool`` (what the scores earned at vesting),
        ``pool_scaling`` and ``cap_scaling`` (amounts cut), ``vested``; one row per team in
        every run and calendar year with vesting.
    """
    flows = pd.concat(
        [run.tables.cashflows.assign(seed=run.seed) for run in plan_runs(batch, plan)],
        ignore_index=True,
    )
    columns = ["seed", "year", "team_id", "before_pool", "pool_scaling", "cap_scaling", "vested"]
    kinds = ("vest", "pool_scaling", "cap_scaling")
    flows = flows[flows["kind"].isin(kinds)]
    if flows.empty:
        return pd.DataFrame(columns=columns)
    flows = flows.assign(year=flows["period"].str[:4])
    table = flows.pivot_table(
        index=["seed", "year", "team_id"],
        columns="kind",
        values="amount",
        aggfunc="sum",
        fill_value=0.0,
    ).reindex(columns=list(kinds), fill_value=0.0)
    table = table.reset_index().rename(columns={"vest": "vested"})
    table["before_pool"] = table["vested"] + table["pool_scaling"] + table["cap_scaling"]
    return table[columns]


def introduction(batch: Batch, plan: str) -> str:
    """Say what the module's batch is: scenario, plan, window, seeds, personnel cost."""
    world, model, scenario = batch_models(batch, plan)
    seeds = len(batch.seeds)
    return (
        f"Every table below follows the money of plan **{model.name}** on scenario "
        f"**{scenario}** ({len(world.organisation.teams)} teams, "
        f"{sum(len(t.people) for t in world.organisation.teams)} people, personnel cost "
        f"{money(personnel_cost(world), world.currency)} a year) over {seeds} seed"
        f"{'s' if seeds != 1 else ''}: grants every {model.grant_every_years} year(s) with a "
        f"{model.performance_period_years}-year performance window, "
        f"{share(model.vesting.deferral_share, 0)} of each vesting deferred for "
        f"{model.vesting.deferral_years} year(s)."
    )


# -- 4.1 funding pools -----------------------------------------------------------------------
def target_awards(plan: Plan, scenario: Scenario) -> pd.Series:
    """Return each team's award at target per plan year (grants at 100 % ÷ years between grants).

    A grant is worth ``base_salary × target_award_pct`` at a 100 % score over its window; with
    a grant every ``grant_every_years`` years, that much vests per such period in steady state.
    """
    values = {
        team.id: sum(
            person.base_salary
            * plan.target_award_pct.get(person.grade, plan.default_target_award_pct)
            / 100
            for person in team.people
        )
        / plan.grant_every_years
        for team in scenario.organisation.teams
    }
    return pd.Series(values, name="target_award", dtype=float)


def pool_table(batch: Batch, plan: str) -> pd.DataFrame:
    """Return each team's funding pool beside what it earned and what the pool cut.

    Parameters
    ----------
    batch : Batch
        The module's batch.
    plan : str
        Its plan.

    Returns
    -------
    DataFrame
        Per team: ``headcount``, ``owned_budget``, ``pool`` (per plan year, the plan's basis),
        ``pool_if_by_headcount`` (the same total shared per head), ``target_award`` (per plan
        year), ``cover`` (pool ÷ target), ``earned`` (mean vesting before the pool, per run and
        year with vesting), ``cut_by_pool`` (mean) and ``binds`` (share of those run-years in
        which the pool cut something).
    """
    world, model, _ = batch_models(batch, plan)
    pools = team_pools(model, world).set_index("team_id")
    total = pools["pool"].sum()
    pools["pool_if_by_headcount"] = total * pools["headcount"] / pools["headcount"].sum()
    pools["target_award"] = target_awards(model, world)
    pools["cover"] = pools["pool"] / pools["target_award"]
    vesting = vesting_by_year(batch, plan)
    grouped = vesting.groupby("team_id")
    pools["earned"] = grouped["before_pool"].mean()
    pools["cut_by_pool"] = grouped["pool_scaling"].mean()
    pools["binds"] = grouped["pool_scaling"].agg(lambda cut: float((cut > 0.005).mean()))
    return pools.fillna({"earned": 0.0, "cut_by_pool": 0.0, "binds": 0.0}).reset_index()


def interpret_pools(table: pd.DataFrame, currency: str = "EUR") -> str:
    """Write who the pools fund and where they bind, from :func:`pool_table`."""
    if not np.isfinite(table["pool"]).all():
        return (
            "The plan has no funding rule, so no pool limits what a team earns: the cap (4.4) is "
            "the only limit on the year's cost."
        )
    richest = table.loc[(table["pool"] / table["headcount"]).idxmax()]
    under = table[table["cover"] < 1]
    binding = table[table["binds"] > 0]
    gains = table["pool"] - table["pool_if_by_headcount"]
    moved = gains.clip(lower=0).sum()
    text = (
        f"The pools total {money(table['pool'].sum(), currency)} a year. Funded by the budget and "
        f"criticality of the services they own rather than by headcount, "
        f"{money(moved, currency)} moves between teams; {richest['team_id']} gets the most per "
        f"head ({money(richest['pool'] / richest['headcount'], currency)}). "
    )
    if under.empty:
        text += "Every team's pool covers its award at target. "
    else:
        text += (
            f"The pool of {listing(list(under['team_id']))} is below its award at target "
            f"({listing([share(c, 0) for c in under['cover']])} of it), so a good year there "
            "is cut. "
        )
    if binding.empty:
        text += "In the batch no pool cut anything."
    else:
        text += (
            f"In the batch the pool cut the awards of {listing(list(binding['team_id']))} by "
            f"{listing([money(v, currency) for v in binding['cut_by_pool']])} on average "
            f"(in {listing([share(b, 0) for b in binding['binds']])} of the run-years)."
        )
    return text


def check_funding(funding: Mapping[str, Any], plan: Plan, scenario: Scenario) -> Check:
    """Check a funding rule: every team's pool funds its award at target, and at most twice it.

    Parameters
    ----------
    funding : mapping
        The learner's ``funding`` section, as in a plan file.
    plan : Plan
        The module's plan (its targets).
    scenario : Scenario
        Teams, people and services.

    Returns
    -------
    Check
        Met when ``1 <= pool / target <= 2`` for every team.
    """
    try:
        model = variant(plan, f"{plan.name}_funded", "the learner's funding", funding=dict(funding))
    except ValueError as error:
        return failed("4.1", f"That is not a valid funding rule: {error}", "See the plan grammar.")
    pools = team_pools(model, scenario).set_index("team_id")["pool"]
    cover = pools / target_awards(model, scenario)
    low, high = POOL_COVER
    short = cover[cover < low]
    rich = cover[cover > high]
    shown = ", ".join(f"{team} {share(c, 0)}" for team, c in cover.items())
    if not short.empty:
        return failed(
            "4.1",
            f"Pools as a share of the award at target: {shown}; {listing(list(short.index))} "
            "cannot pay a year on target.",
            "Look at the criticality tiers of the services that team owns.",
        )
    if not rich.empty:
        return failed(
            "4.1",
            f"Pools as a share of the award at target: {shown}; {listing(list(rich.index))} "
            "gets more than twice what it can earn.",
            "A high multiplier on one tier funds the owner of those services far beyond need.",
        )
    return passed("4.1", f"Pools as a share of the award at target: {shown}; all within 1 to 2.")


# -- 4.2 liability forecast ------------------------------------------------------------------
def forecast(batch: Batch, plan: str) -> pd.DataFrame:
    """Return the plan's payments and budget per year over seeds, against the cap.

    Parameters
    ----------
    batch : Batch
        The module's batch.
    plan : str
        Its plan.

    Returns
    -------
    DataFrame
        :func:`toolkit.finance.forecast.forecast_summary` of the plan's runs: per payment
        year ``paid_p10``, ``paid_p50``, ``paid_p90``, ``budget_p90`` (vesting before the cap),
        ``cap``, ``headroom_p90``, ``p_cap_binds``, ``projected`` (after the horizon), ``seeds``.
    """
    summary = forecast_summary(plan_runs(batch, plan))
    return summary.drop(columns=["scenario", "plan"])


def interpret_forecast(table: pd.DataFrame, currency: str = "EUR") -> str:
    """Write when the money is paid and how uncertain it is, from :func:`forecast`."""
    paying = table[table["paid_p50"] > 0]
    if paying.empty:
        return "Nothing is paid in any run: the plan has not vested yet, so there is no cash."
    peak = paying.loc[paying["paid_p90"].idxmax()]
    spread = peak["paid_p90"] - peak["paid_p10"]
    after = table[table["projected"]]
    owed = (
        f" After the horizon {money(float(after['paid_p50'].sum()), currency)} (median) is "
        f"still to be paid, in {listing([str(int(y)) for y in after['year']])}."
        if not after.empty
        else ""
    )
    binds = float(table["p_cap_binds"].max())
    cap = (
        f"the cap ({money(float(peak['cap']), currency)} of vesting a year) binds in "
        f"{share(binds, 0)} of the seeds in its worst year"
        if math.isfinite(peak["cap"])
        else "the plan has no cap"
    )
    return (
        f"The largest payments fall in {int(peak['year'])}: median "
        f"{money(float(peak['paid_p50']), currency)}, P90 "
        f"{money(float(peak['paid_p90']), currency)}; between P10 and P90 lie "
        f"{money(float(spread), currency)} over {int(peak['seeds'])} seeds, the uncertainty a "
        f"budget must hold; {cap}.{owed}"
    )


def check_budget(amount: float | None, table: pd.DataFrame, year: int) -> Check:
    """Check a year's cash budget: at least the year's P90 of payments, and not padded beyond it.

    Parameters
    ----------
    amount : float or None
        The learner's budget for ``year``.
    table : DataFrame
        From :func:`forecast`.
    year : int
        The payment year budgeted.

    Returns
    -------
    Check
        Met when ``P90 <= amount <= 1.25 × P90``: the budget is exceeded in at most one year
        in ten, as the seeds estimate it, and holds back no more than a quarter on top.
    """
    rows = table[table["year"] == year]
    if rows.empty:
        return failed("4.2", f"The forecast has no year {year}.", "Use a year of the table.")
    p90 = float(rows["paid_p90"].iloc[0])
    if amount is None or not isinstance(amount, int | float) or not math.isfinite(amount):
        return failed("4.2", "No budget given yet.", "Read that year's row of the table.")
    if amount < p90 - 0.005:
        return failed(
            "4.2",
            f"A budget of {money(amount)} for {year} is below the year's P90 of payments, "
            f"{money(p90)}: it is exceeded in more than one year in ten.",
            "Budget for a bad year, not the median one.",
        )
    if amount > BUDGET_SLACK * p90:
        return failed(
            "4.2",
            f"{money(amount)} is {share(amount / p90 - 1, 0)} above the year's P90 of "
            f"{money(p90)}: money held back that the plan will not need.",
            "Keep the budget within a quarter above the P90.",
        )
    return passed(
        "4.2",
        f"{money(amount)} for {year} is at least its P90 ({money(p90)}) and within a quarter "
        "above it.",
    )


# -- 4.3 cost transparency -------------------------------------------------------------------
def business_unit_costs(batch: Batch, plan: str, by: Sequence[str] = ("business_unit",)):
    """Return the plan's cost charged to business units (or services), against their budgets.

    Parameters
    ----------
    batch : Batch
        The module's batch.
    plan : str
        Its plan.
    by : sequence of str
        ``("business_unit",)`` or ``("business_unit", "service_id")``.

    Returns
    -------
    DataFrame
        :func:`toolkit.finance.transparency.cost_statement` (``earned``, ``paid``,
        ``liability``, means over seeds) with ``service_budget`` (annual budget of the unit's
        or service's services) and ``cost_per_budget`` (earned ÷ that budget).
    """
    world, _, _ = batch_models(batch, plan)
    statement = cost_statement(run_costs(plan_runs(batch, plan)), by)
    statement = statement.drop(columns=["scenario", "plan"])
    services = pd.DataFrame(
        {
            "business_unit": [s.business_unit for s in world.organisation.services],
            "service_id": [s.id for s in world.organisation.services],
            "service_budget": [float(s.annual_budget) for s in world.organisation.services],
        }
    )
    keys = list(by)
    budgets = services.groupby(keys, as_index=False)["service_budget"].sum()
    table = statement.merge(budgets, on=keys, how="left").fillna({"service_budget": 0.0})
    budget = table["service_budget"].where(table["service_budget"] > 0)
    table["cost_per_budget"] = table["earned"] / budget
    return table


def interpret_costs(table: pd.DataFrame, currency: str = "EUR") -> str:
    """Write which business units carry the incentive cost, from :func:`business_unit_costs`."""
    total = float(table["earned"].sum())
    if total <= 0:
        return "The plan cost nothing in the batch, so no business unit is charged."
    biggest = table.loc[table["earned"].idxmax()]
    dearest = table.loc[table["cost_per_budget"].idxmax()]
    return (
        f"The plan's awards cost {money(total, currency)} (earned, mean over seeds), of which "
        f"{money(float(table['paid'].sum()), currency)} is paid and "
        f"{money(float(table['liability'].sum()), currency)} still owed; "
        f"{biggest['business_unit']} carries the most, {share(biggest['earned'] / total, 0)} of "
        f"it. Per unit of service budget {dearest['business_unit']} pays the most, "
        f"{share(dearest['cost_per_budget'], 2)} of its services' budget, against "
        f"{share(total / table['service_budget'].sum(), 2)} across units: a team's cost follows "
        "the budgets of the services it owns, so a unit pays for the teams that run its services."
    )


def check_unit(answer: str | None, table: pd.DataFrame) -> Check:
    """Check the learner's answer to which unit pays most per unit of its service budget."""
    right = str(table.loc[table["cost_per_budget"].idxmax(), "business_unit"])
    units = list(table["business_unit"])
    if answer is None:
        return failed("4.3", "No unit named yet.", "Compare cost_per_budget, not the totals.")
    if answer not in units:
        return failed("4.3", f"{answer!r} is not a unit charged ({listing(units)}).", "Check ids.")
    if answer != right:
        mine = float(table.loc[table["business_unit"] == answer, "cost_per_budget"].iloc[0])
        return failed(
            "4.3",
            f"{answer} pays {share(mine, 2)} of its service budget; another unit pays more.",
            "The largest total is not the largest share of the budget.",
        )
    best = float(table["cost_per_budget"].max())
    return passed("4.3", f"{right} pays {share(best, 2)} of its service budget, the most.")


# -- 4.4 cap as % of personnel cost ----------------------------------------------------------
def cap_table(batch: Batch, plan: str) -> pd.DataFrame:
    """Return each run's plan-year vesting against personnel cost and the plan's cap.

    Returns
    -------
    DataFrame
        :func:`toolkit.finance.forecast.vesting_paths` of the plan's runs (per seed and year:
        ``budget``, vesting before the cap; ``vested``; ``cap``; ``cap_binds``;
        ``projected``) with ``personnel_cost`` and ``share_of_personnel`` (budget ÷ personnel
        cost).
    """
    world, _, _ = batch_models(batch, plan)
    table = vesting_paths(plan_runs(batch, plan)).drop(columns=["scenario", "plan"])
    table["personnel_cost"] = personnel_cost(world)
    table["share_of_personnel"] = table["budget"].astype(float) / table["personnel_cost"]
    return table.reset_index(drop=True)


def interpret_cap(table: pd.DataFrame, plan: Plan, currency: str = "EUR") -> str:
    """Write how close the plan years came to the cap, from :func:`cap_table`."""
    if table.empty:
        return "Nothing vested in the batch, so the cap was never tested."
    largest = float(table["share_of_personnel"].max())
    binds = table[table["cap_binds"].astype(bool)]
    rule = (
        f"The cap is {plan.cap.pct_of_personnel_cost:g} % of personnel cost "
        f"({money(float(table['cap'].iloc[0]), currency)} a year)"
        if plan.cap is not None
        else "The plan has no cap"
    )
    verdict = (
        f"it bound in {len(binds)} of {len(table)} run-years, cutting every award pro rata"
        if not binds.empty
        else "no run-year reached it: it cut nothing and bounds the worst case"
    )
    return (
        f"{rule}; the largest plan year vested {share(largest)} of personnel cost "
        f"(median {share(float(table['share_of_personnel'].median()))}); {verdict}. A cap "
        "well above every plausible year protects the budget without changing anyone's "
        "incentive; one inside the range makes every team's award depend on the others'."
    )


def check_cap(pct: float | None, table: pd.DataFrame) -> Check:
    """Check a cap: never binding in the batch, at most one point above its largest year."""
    if table.empty:
        return failed("4.4", "Nothing vested in the batch to test a cap on.", "Use more years.")
    largest = float(table["share_of_personnel"].max())
    if pct is None or not isinstance(pct, int | float) or pct <= 0:
        return failed("4.4", "No cap given yet.", "Give a percentage of personnel cost.")
    if pct / 100 < largest:
        cut = int((table["share_of_personnel"] > pct / 100).sum())
        return failed(
            "4.4",
            f"A cap of {pct:g} % binds in {cut} of {len(table)} run-years (the largest is "
            f"{share(largest)}).",
            "Read the largest share of personnel cost in the table.",
        )
    if pct / 100 > largest + CAP_HEADROOM:
        return failed(
            "4.4",
            f"A cap of {pct:g} % is {100 * (pct / 100 - largest):.1f} points above the largest "
            "year: it promises a budget far beyond what the plan spends.",
            "Tighten it to within one point above the largest year.",
        )
    return passed("4.4", f"{pct:g} % never binds here and sits within a point of {share(largest)}.")


# -- 4.6 quarterly accrual reconciliation ----------------------------------------------------
def quarterly_roll_forward(
    batch: Batch, plan: str, seed: int, method: str, forfeiture_rate: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return one run's accrual schedule and its roll-forward per quarter, cohort, team and unit.

    Parameters
    ----------
    batch : Batch
        The batch.
    plan : str
        Its plan.
    seed : int
        The run.
    method : {"straight_line", "graded"}
        Attribution of tranches.
    forfeiture_rate : float
        Expected annual leaver rate.

    Returns
    -------
    tuple of DataFrame
        :func:`toolkit.finance.accrual_schedule` and :func:`toolkit.finance.roll_forward`.

    Raises
    ------
    ValueError
        If the batch has no such run, or cannot read its plan or scenario as run.
    """
    world, model, _ = batch_models(batch, plan)
    per_year = PERIODS_PER_YEAR[world.horizon.period]
    schedule = accrual_schedule(
        run_of(batch, plan, seed).tables,
        model,
        per_year,
        method=method,
        forfeiture_rate=forfeiture_rate,
    )
    return schedule, roll_forward(schedule, world, per_year)


def quarter_summary(rollforward: pd.DataFrame) -> pd.DataFrame:
    """Return the roll-forward per quarter with a check that each quarter closes to the cent."""
    summary = summarise_roll_forward(rollforward, ["quarter"])
    computed = (
        summary["opening"]
        + summary["service_cost"]
        + summary["change_in_estimate"]
        - summary["forfeitures"]
        - summary["malus"]
        - summary["payments"]
    )
    summary["closes"] = (computed - summary["closing"]).abs() < 0.005
    return summary


def planted_gl(journal: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, dict[str, str]]:
    """Return a GL export of the journal with two planted errors, and what they are.

    One entry was never posted (both its lines are missing); another was posted at nine tenths
    of its amount on both accounts. Which ones is drawn by ``seed``.

    Returns
    -------
    postings : DataFrame
        The GL export (columns of :data:`toolkit.finance.rollforward.GL_COLUMNS`).
    planted : dict
        ``{reference: cause}`` of the two errors.
    """
    references = list(dict.fromkeys(journal["reference"]))
    if len(references) < 2:
        raise ValueError("the journal has fewer than two entries to plant errors in")
    rng = np.random.default_rng(seed)
    missing, short = (references[i] for i in rng.choice(len(references), 2, replace=False))
    postings = journal[journal["reference"] != missing][
        ["period", "account", "business_unit", "cohort", "amount", "reference"]
    ].copy()
    wrong = postings["reference"] == short
    postings.loc[wrong, "amount"] = (postings.loc[wrong, "amount"] * 0.9).round(2)
    return postings.reset_index(drop=True), {missing: "missing posting", short: "amount differs"}


def interpret_reconciliation(
    summary: pd.DataFrame,
    differences: pd.DataFrame,
    liability_account: str = ACCOUNTS["liability"],
    currency: str = "EUR",
) -> str:
    """Write whether the quarters close and what the GL reconciliation found.

    Parameters
    ----------
    summary : DataFrame
        From :func:`quarter_summary`.
    differences : DataFrame
        From :func:`toolkit.finance.reconcile`.
    liability_account : str
        The liability account's name in the journal.
    currency : str
        For the amounts.

    Returns
    -------
    str
        One paragraph.
    """
    closes = int(summary["closes"].sum())
    last = summary.iloc[-1]
    found = differences.groupby("cause")["reference"].nunique()
    text = (
        f"{closes} of {len(summary)} quarters close to the cent (opening + service cost + change "
        f"in estimate − forfeitures − malus − payments = closing); the liability stands at "
        f"{money(float(last['closing']), currency)} after {last['quarter']}. "
    )
    if differences.empty:
        return text + "The general ledger books exactly the journal."
    liability = differences.loc[differences["account"] == liability_account, "difference"]
    return text + (
        f"Against the general ledger {len(differences)} line(s) differ: "
        + listing([f"{n} entr{'y' if n == 1 else 'ies'} with {c}" for c, n in found.items()])
        + f"; the GL's liability account is off by {float(liability.sum()):,.2f} (GL − journal)."
        " Each line names the journal reference to correct."
    )


def check_corrections(
    corrections: Sequence[tuple[str, str, float]], journal: pd.DataFrame, postings: pd.DataFrame
) -> Check:
    """Check correcting postings: balanced, and with them the GL reconciles to the journal.

    Parameters
    ----------
    corrections : sequence of (reference, account, amount)
        Postings the learner adds to the GL, each in its entry's quarter (signed: debit +).
    journal : DataFrame
        The journal.
    postings : DataFrame
        The GL export with its errors.

    Returns
    -------
    Check
        Met when the corrections sum to zero and leave no difference.
    """
    known = journal.drop_duplicates("reference").set_index("reference")
    rows = []
    for item in corrections:
        reference, account, amount = item
        if reference not in known.index:
            return failed(
                "4.6", f"{reference!r} is no journal reference.", "Copy it from the table."
            )
        entry = known.loc[reference]
        rows.append(
            {
                "period": entry["period"],
                "account": account,
                "business_unit": entry["business_unit"],
                "cohort": entry["cohort"],
                "amount": float(amount),
                "reference": reference,
            }
        )
    total = sum(r["amount"] for r in rows)
    if abs(total) >= 0.005:
        return failed(
            "4.6",
            f"The corrections do not balance: debits exceed credits by {total:,.2f}.",
            "Every entry posts the same amount to two accounts, once + and once −.",
        )
    left = reconcile(journal, pd.concat([postings, pd.DataFrame(rows)], ignore_index=True))
    if not left.empty:
        return failed(
            "4.6",
            f"{len(left)} difference(s) remain: "
            + listing(sorted({f"{r.reference} ({r.cause})" for r in left.itertuples()})),
            "Post, for each line, the difference the table shows with its sign reversed.",
        )
    return passed("4.6", f"{len(rows)} balanced correcting postings; the GL now reconciles.")
