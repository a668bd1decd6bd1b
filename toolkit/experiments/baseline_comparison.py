"""Fixed, rolling or ratchet baselines on ageing platforms: who pays for keeping old systems up.

A plan that pays for improvement needs a baseline to improve on, and the choice decides who wins.
A fixed baseline (the pre-plan level) holds every team to where it started while its platforms
age and incidents drift up, so the teams running the oldest systems may lose award for standing
still; a rolling baseline (the last periods) moves with the drift, and a ratchet (the best level
so far) only ever gets harder. :func:`baseline_comparison` runs the same plan with every
improvement metric's baseline set to each policy, on the same seeds, and reports per team the
award and the true score under each, the team's platform age and ageing, and across teams the
correlation of age with the award each policy gives or takes compared with the first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.config import Scenario, load_scenario
from toolkit.config.plan import Baseline, Plan
from toolkit.experiments.analysis import paired_differences
from toolkit.experiments.batch import BatchResult
from toolkit.experiments.derived import as_plan, interval_of, plan_labels, run_variants, variant
from toolkit.sim import World
from toolkit.sim.world import HOURS_PER_YEAR

POLICIES = ("fixed", "rolling", "ratchet")
AGE_MEASURES = ("platform_age_mean", "ageing_incidents_per_year")
TEAM_COLUMNS = (
    "scenario",
    "team_id",
    "policy",
    "plan",
    "seeds",
    "award",
    "true_score_mean",
    "reported_score_mean",
    "compared_with",
    "award_change",
    "award_change_ci_low",
    "award_change_ci_high",
    "services",
    "platform_age_mean",
    "platform_age_max",
    "ageing_incidents_per_year",
)
EFFECT_COLUMNS = (
    "scenario",
    "policy",
    "compared_with",
    "age_measure",
    "teams",
    "correlation",
    "p_value",
    "significant",
    "direction",
)


def baseline_plan(base: Plan, policy: str, window_periods: int | None = None) -> Plan:
    """Return ``base`` with every improvement metric's baseline set to ``policy``.

    Metrics scored on their level have no baseline and stay as they are, as do counter-metrics
    (their baselines only set when they fire).

    Parameters
    ----------
    base : Plan
        The plan; it must reward at least one improvement.
    policy : str
        ``fixed``, ``rolling`` or ``ratchet`` (:class:`~toolkit.config.plan.Baseline`).
    window_periods : int, optional
        The rolling window; by default each metric keeps its own.

    Returns
    -------
    Plan
        Named ``<plan>_<policy>_baseline``.

    Raises
    ------
    ValueError
        If the policy is unknown or the plan rewards no improvement.

    Examples
    --------
    >>> plan = baseline_plan(as_plan("balanced"), "ratchet")
    >>> sorted({m.baseline.policy for m in plan.metrics if m.basis == "improvement"})
    ['ratchet']
    """
    known = get_args(Baseline.model_fields["policy"].annotation)
    if policy not in known:
        raise ValueError(f"unknown baseline policy {policy!r}; choose from {list(known)}")
    if not any(m.basis == "improvement" for m in base.metrics):
        raise ValueError(
            f"plan {base.name!r} rewards no improvement (every metric is scored on its level), "
            "so no baseline policy changes anything"
        )
    update = {"policy": policy}
    if window_periods is not None:
        update["window_periods"] = window_periods
    metrics = [
        m.model_copy(update={"baseline": Baseline(**{**m.baseline.model_dump(), **update})})
        if m.basis == "improvement"
        else m
        for m in base.metrics
    ]
    return variant(
        base,
        f"{base.name}_{policy}_baseline",
        f"{base.name} with every improvement measured against a {policy} baseline.",
        metrics=[m.model_dump(mode="python") for m in metrics],
    )


def team_ages(scenario: Scenario) -> pd.DataFrame:
    """Return each team's platform age and how fast its platforms' incidents grow with age.

    Parameters
    ----------
    scenario : Scenario
        The scenario.

    Returns
    -------
    DataFrame
        One row per team: ``services`` owned, ``platform_age_mean`` and ``platform_age_max``
        (years at the horizon's start, over the services it owns) and
        ``ageing_incidents_per_year``: how many more incidents a year the team's services
        bring each year as they age, at the start (the world's incident rate of each owned
        service times the scenario's ``age_effect_per_year``, summed). Teams owning no
        service have no age (NaN).

    Examples
    --------
    >>> ages = team_ages(load_scenario("scenarios/small.yaml"))  # doctest: +SKIP
    """
    world = World(scenario, scenario.seed)
    effect = scenario.environment.incidents.age_effect_per_year
    rows = []
    for team in scenario.organisation.teams:
        owned = [s for s in scenario.organisation.services if s.owning_team == team.id]
        ages = [s.platform_age_years for s in owned]
        rates = [world.incident_rate_per_hour(s) * HOURS_PER_YEAR for s in owned]
        rows.append(
            {
                "scenario": scenario.name,
                "team_id": team.id,
                "services": len(owned),
                "platform_age_mean": float(np.mean(ages)) if ages else math.nan,
                "platform_age_max": float(max(ages)) if ages else math.nan,
                "ageing_incidents_per_year": float(effect * sum(rates)) if owned else math.nan,
            }
        )
    return pd.DataFrame(rows)


def baseline_comparison(
    plan: str | Path | Plan,
    scenarios: Sequence[str | Path],
    seeds: int | Iterable[int],
    out: str | Path,
    policies: Sequence[str] = POLICIES,
    window_periods: int | None = None,
    alpha: float = 0.05,
    plans_dir: str | Path | None = None,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, BatchResult]:
    """Run a plan under each baseline policy and tell who gains and who loses by it.

    Per team, the award is the sum of what its people earned over the run (``awards.parquet``
    of each run, the same numbers as the batch's ``total_awards`` summed over teams) and the
    scores are means over the plan periods of the run's ``behaviour.parquet``.

    Parameters
    ----------
    plan : str, Path or Plan
        The plan; it must reward at least one improvement.
    scenarios : sequence of path
        Scenario files; give a horizon of three years or more, so that a moving baseline has
        time to move.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds; two or more give the changes intervals.
    out : path
        The batch directory; finished runs found there are reused.
    policies : sequence of str
        Baseline policies to compare; each is compared with the first, seed by seed.
    window_periods : int, optional
        The window of rolling and ratchet baselines; by default each metric keeps its own.
    alpha : float
        One minus the confidence level of the intervals, and the significance level of the
        correlations.
    plans_dir : path, optional
        Where the variants' files are written; by default a temporary directory removed
        afterwards (:func:`~toolkit.experiments.derived.run_variants`).
    workers, executor, scheduler, progress
        As for :func:`~toolkit.experiments.batch.run_batch`.

    Returns
    -------
    DataFrame
        One row per scenario, team and policy: the variant's ``plan``, ``seeds``, means over
        seeds of ``award``, ``true_score_mean`` and ``reported_score_mean``; ``award_change``,
        the award under this policy minus under ``compared_with`` (the first policy), paired
        by seed, with its interval (0 for the first policy itself); and the team's
        :func:`team_ages`.
    DataFrame
        One row per scenario, policy other than the first and age measure
        (``platform_age_mean``, ``ageing_incidents_per_year``): the Pearson ``correlation``
        across teams of the measure with ``award_change``, its ``p_value``, whether it is
        ``significant`` at ``alpha``, and its ``direction`` in words (led by "not significant"
        when it is not). A positive correlation
        means the teams on older platforms earn more under the policy than under the first,
        i.e. the first penalises them. NaN with fewer than three teams or no spread.
    BatchResult
        The batch.

    Raises
    ------
    ValueError
        Before anything runs: no policy, one listed twice or unknown, a plan rewarding no
        improvement, or ``alpha`` outside (0, 1).
    BatchError, ConfigError, OutputError
        As for :func:`~toolkit.experiments.batch.run_batch`.

    Examples
    --------
    >>> teams, effect, batch = baseline_comparison(  # doctest: +SKIP
    ...     "balanced", ["scenarios/default.yaml"], 4, "runs/baselines"
    ... )
    >>> effect[["policy", "age_measure", "correlation", "p_value", "direction"]]  # doctest: +SKIP
    """
    policies = list(policies)
    if not policies:
        raise ValueError("give at least one baseline policy")
    if len(set(policies)) < len(policies):
        raise ValueError(f"baseline policies listed more than once: {policies}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha is one minus a confidence level, in (0, 1), not {alpha!r}")
    base = as_plan(plan)
    variants = {policy: baseline_plan(base, policy, window_periods) for policy in policies}
    ages = pd.concat([team_ages(load_scenario(s)) for s in scenarios], ignore_index=True)
    first = variants[policies[0]]
    result = run_variants(
        list(variants.values()),
        scenarios,
        seeds,
        out,
        reference=first.name,
        plans_dir=plans_dir,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        progress=progress,
    )
    if not len(result.runs):
        return (
            pd.DataFrame(columns=list(TEAM_COLUMNS)),
            pd.DataFrame(columns=list(EFFECT_COLUMNS)),
            result,
        )
    per_run = _per_team_runs(result, {p.name: p for p in variants.values()})
    teams = _team_table(per_run, variants, policies, ages, alpha)
    return teams, _age_effect(teams, policies, alpha), result


def team_outcomes(directory: Path, start_after: int) -> pd.DataFrame:
    """Return a run's award and mean scores per team.

    Parameters
    ----------
    directory : Path
        The run's directory (``awards.parquet``, ``behaviour.parquet``).
    start_after : int
        The plan's ``start_after_periods``.

    Returns
    -------
    DataFrame
        One row per team of the behaviour table: ``award`` (earned, summed over its people
        and cohorts; 0 for a team that earned nothing), ``true_score_mean`` and
        ``reported_score_mean`` over the plan periods.
    """
    behaviour = pd.read_parquet(directory / "behaviour.parquet")
    awards = pd.read_parquet(directory / "awards.parquet")
    plan_periods, _ = plan_labels(behaviour["period"], start_after)
    active = behaviour[behaviour["period"].isin(plan_periods)]
    scores = active.groupby("team_id")[["true_score_pct", "score_pct"]].mean()
    scores = scores.reindex(behaviour["team_id"].unique())
    earned = awards.groupby("team_id")["earned"].sum() if len(awards) else pd.Series(dtype=float)
    return pd.DataFrame(
        {
            "team_id": scores.index,
            "award": earned.reindex(scores.index).fillna(0.0).to_numpy(),
            "true_score_mean": scores["true_score_pct"].to_numpy(),
            "reported_score_mean": scores["score_pct"].to_numpy(),
        }
    )


def _per_team_runs(result: BatchResult, plans: dict[str, Plan]) -> pd.DataFrame:
    """Return one row per run and team: scenario, plan, seed and the team's outcomes."""
    frames = [
        team_outcomes(result.directory / run.directory, plans[run.plan].start_after_periods).assign(
            scenario=run.scenario, plan=run.plan, seed=run.seed
        )
        for run in result.runs.itertuples()
    ]
    return pd.concat(frames, ignore_index=True)


def _team_table(
    per_run: pd.DataFrame,
    variants: dict[str, Plan],
    policies: list[str],
    ages: pd.DataFrame,
    alpha: float,
) -> pd.DataFrame:
    """Average each team's outcomes over seeds and pair each policy's award with the first's."""
    first = variants[policies[0]].name
    rows = []
    for (scenario, team_id), mine in per_run.groupby(["scenario", "team_id"], sort=True):
        compared = paired_differences(mine, first, ("award",), alpha)
        for policy in policies:
            name = variants[policy].name
            runs = mine[mine["plan"] == name]
            if not len(runs):
                continue
            change = (
                {"mean_difference": 0.0, "ci_low": 0.0, "ci_high": 0.0}
                if name == first
                else interval_of(compared, scenario, name, "award")
            )
            rows.append(
                {
                    "scenario": scenario,
                    "team_id": team_id,
                    "policy": policy,
                    "plan": name,
                    "seeds": int(runs["seed"].nunique()),
                    "award": float(runs["award"].mean()),
                    "true_score_mean": float(runs["true_score_mean"].mean()),
                    "reported_score_mean": float(runs["reported_score_mean"].mean()),
                    "compared_with": policies[0],
                    "award_change": change["mean_difference"],
                    "award_change_ci_low": change["ci_low"],
                    "award_change_ci_high": change["ci_high"],
                }
            )
    table = pd.DataFrame(rows).merge(ages, on=["scenario", "team_id"], how="left")
    order = table["policy"].map({policy: i for i, policy in enumerate(policies)})
    table = table.assign(order=order).sort_values(["scenario", "order", "team_id"])
    return table[list(TEAM_COLUMNS)].reset_index(drop=True)


def _age_effect(teams: pd.DataFrame, policies: list[str], alpha: float) -> pd.DataFrame:
    """Correlate each age measure with each policy's award change across teams."""
    rows = []
    for scenario, mine in teams.groupby("scenario", sort=True):
        for policy in policies[1:]:
            one = mine[mine["policy"] == policy].dropna(subset=["award_change", *AGE_MEASURES])
            for measure in AGE_MEASURES:
                x, y = one[measure].to_numpy(float), one["award_change"].to_numpy(float)
                defined = len(one) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0
                r, p = stats.pearsonr(x, y) if defined else (math.nan, math.nan)
                rows.append(
                    {
                        "scenario": scenario,
                        "policy": policy,
                        "compared_with": policies[0],
                        "age_measure": measure,
                        "teams": len(one),
                        "correlation": float(r),
                        "p_value": float(p),
                        "significant": bool(defined and p < alpha),
                        "direction": _direction(
                            float(r), float(p), alpha, policy, policies[0], measure
                        ),
                    }
                )
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))


def _direction(r: float, p: float, alpha: float, policy: str, first: str, measure: str) -> str:
    """Say in words which policy the teams high on ``measure`` lose under, and how surely."""
    older = "older" if measure == "platform_age_mean" else "faster-ageing"
    if not math.isfinite(r):
        return "undefined: fewer than three teams, or no spread in age or award change"
    if r > 0:
        more, penalising = "more", first
    elif r < 0:
        more, penalising = "less", policy
    else:
        return f"no linear relation between {measure} and the award change"
    finding = (
        f"teams on {older} platforms earn {more} under {policy} than under {first}: "
        f"{penalising} penalises them"
    )
    if p < alpha:
        return finding
    return f"not significant (p = {p:.2f}); the sign alone says {finding}"
