"""Bonus cycles against the service lifecycle: one plan under different horizons.

Reliability work pays off only after a lag, while a faster change pace and gaming pay at
once. A team values a move over the periods its grants still ride on, so a short performance
period, a cliff about to vest or no deferral should tilt effort from the lagged lever to the
immediate ones. :func:`horizon_comparison` runs the same plan with only its horizons changed
(performance period, grant cadence, vesting schedule, deferral), on the same scenarios and
seeds as the plan itself (its reference, so that each seed's pair faces the same exogenous
events), and measures that tilt, and when in the window it happens, from every run's
behaviour table (``behaviour.parquet``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.behaviour.levers import GAMING_LEVERS
from toolkit.config import load_scenario
from toolkit.config.plan import Plan
from toolkit.experiments.analysis import paired_differences
from toolkit.experiments.batch import BatchResult
from toolkit.experiments.derived import as_plan, interval_of, plan_labels, run_variants, variant
from toolkit.finance.runoff import periods_per_year, tranche_ends

HORIZON_FIELDS = ("performance_period_years", "grant_every_years", "vesting")
VARIANTS: dict[str, dict[str, Any]] = {
    "one_year_cliff": {"performance_period_years": 1, "vesting": {"schedule": "cliff"}},
    "three_year_cliff": {"performance_period_years": 3, "vesting": {"schedule": "cliff"}},
    "three_year_graded": {"performance_period_years": 3, "vesting": {"schedule": "graded"}},
    "three_year_cliff_deferred": {
        "performance_period_years": 3,
        "vesting": {"schedule": "cliff", "deferral_share": 0.5, "deferral_years": 2},
    },
}
MEASURES = (
    "reliability_shift",
    "change_rate_shift",
    "gaming_levers",
    "short_termism",
    "vesting_periods",
    "vesting_short_termism",
    "vesting_gaming",
)
COLUMNS = (
    "scenario",
    "variant",
    "plan",
    "performance_period_years",
    "grant_every_years",
    "vesting_schedule",
    "deferral_share",
    "deferral_years",
    "seeds",
    "net_value",
    "net_value_ci_low",
    "net_value_ci_high",
    "total_awards",
    "gaming_index",
    *MEASURES,
)


def horizon_plans(
    plan: str | Path | Plan, variants: Mapping[str, Mapping[str, Any]] = VARIANTS
) -> dict[str, Plan]:
    """Return the plan as it is and one variant per entry of ``variants``, horizons changed only.

    Parameters
    ----------
    plan : str, Path or Plan
        The plan.
    variants : mapping
        Variant label → changes to :data:`HORIZON_FIELDS`; a ``vesting`` mapping is laid over
        the plan's own vesting (``{"schedule": "graded"}`` keeps its deferral).

    Returns
    -------
    dict
        ``{"as_is": the plan, label: <plan>_<label>, ...}``, each validated like a plan file.

    Raises
    ------
    ValueError
        No variant, a label ``as_is``, a field that is not a horizon, or a variant that is not a
        valid plan (the message names the variant and the field).

    Examples
    --------
    >>> plans = horizon_plans("balanced", {"short": {"performance_period_years": 1}})
    >>> {label: p.performance_period_years for label, p in plans.items()}
    {'as_is': 3, 'short': 1}
    """
    if not variants:
        raise ValueError(
            "give at least one variant, e.g. {'short': {'performance_period_years': 1}}"
        )
    base = as_plan(plan)
    plans = {"as_is": variant(base, base.name, base.description)}
    for label, changes in variants.items():
        if label in plans:
            raise ValueError(f"variant label {label!r} is taken by the plan as it is")
        other = sorted(set(changes) - set(HORIZON_FIELDS))
        if other:
            raise ValueError(
                f"variant {label!r} changes {other}, not a horizon; change only "
                f"{list(HORIZON_FIELDS)}"
            )
        changes = dict(changes)
        if isinstance(changes.get("vesting"), Mapping):
            changes["vesting"] = {**base.vesting.model_dump(), **changes["vesting"]}
        described = ", ".join(f"{key}={value}" for key, value in changes.items())
        plans[label] = variant(
            base, f"{base.name}_{label}", f"{base.name} with {described}.", **changes
        )
    return plans


def vesting_labels(plan: Plan, labels: Sequence[str]) -> set[str]:
    """Return the period labels at whose end one of the plan's tranches vests, in the horizon.

    Parameters
    ----------
    plan : Plan
        The plan: start, grant cadence, performance period and vesting schedule.
    labels : sequence of str
        The run's period labels, in time order.

    Returns
    -------
    set of str
        The last period of every cliff window and of every graded window year.

    Examples
    --------
    >>> one = variant(as_plan("balanced"), "b1", "one year", performance_period_years=1)
    >>> sorted(vesting_labels(one, [f"{y}Q{q}" for y in (2025, 2026) for q in range(1, 5)]))
    ['2026Q4']
    """
    per_year = periods_per_year(labels[0])
    step = plan.grant_every_years * per_year
    cohorts = labels[plan.start_after_periods :: step]
    inside = set(labels)
    return {
        str(end)
        for cohort in cohorts
        for end in tranche_ends(plan, cohort, per_year)
        if str(end) in inside
    }


def run_horizon(directory: Path, plan: Plan, natural_effort: float) -> dict[str, float]:
    """Return a run's short-termism and its timing against the vesting dates.

    Per team and plan period, ``short_termism = (change_rate − 1) + Σ gaming levers −
    (reliability_effort − natural_effort)``: effort moved to the immediate levers (a faster
    change pace, whose natural value is 1, and gaming, naturally 0) minus effort moved to the
    lagged one.

    Parameters
    ----------
    directory : Path
        The run's directory (holding ``behaviour.parquet``).
    plan : Plan
        The plan the run used.
    natural_effort : float
        The scenario's ``baseline_reliability_effort``.

    Returns
    -------
    dict
        Means over team plan periods of ``reliability_shift`` (reliability_effort − natural),
        ``change_rate_shift`` (change_rate − 1), ``gaming_levers`` (Σ gaming levers) and
        ``short_termism``; ``vesting_periods`` (plan periods at whose end a tranche vests) and
        ``vesting_short_termism`` and ``vesting_gaming``: the mean short-termism and gaming in
        those periods minus in the other plan periods (NaN when none vests in the horizon).
    """
    behaviour = pd.read_parquet(directory / "behaviour.parquet")
    labels = sorted(behaviour["period"].unique())
    plan_periods, _ = plan_labels(labels, plan.start_after_periods)
    active = behaviour[behaviour["period"].isin(plan_periods)]
    reliability = active["reliability_effort"] - natural_effort
    change = active["change_rate"] - 1.0
    gaming = active[list(GAMING_LEVERS)].sum(axis=1)
    short = change + gaming - reliability
    vesting = active["period"].isin(vesting_labels(plan, labels))
    timed = bool(vesting.any() and (~vesting).any())
    return {
        "reliability_shift": float(reliability.mean()),
        "change_rate_shift": float(change.mean()),
        "gaming_levers": float(gaming.mean()),
        "short_termism": float(short.mean()),
        "vesting_periods": int(active.loc[vesting, "period"].nunique()),
        "vesting_short_termism": float(short[vesting].mean() - short[~vesting].mean())
        if timed
        else np.nan,
        "vesting_gaming": float(gaming[vesting].mean() - gaming[~vesting].mean())
        if timed
        else np.nan,
    }


def horizon_comparison(
    plan: str | Path | Plan,
    scenarios: Sequence[str | Path],
    seeds: int | Iterable[int],
    out: str | Path,
    variants: Mapping[str, Mapping[str, Any]] = VARIANTS,
    alpha: float = 0.05,
    plans_dir: str | Path | None = None,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, BatchResult]:
    """Run a plan as it is and under other horizons, paired by seed, and measure short-termism.

    The plan as it is is the batch's reference; every variant differs from it in
    :data:`HORIZON_FIELDS` only (:func:`horizon_plans`). The measures come from each run's
    ``behaviour.parquet`` (:func:`run_horizon`), averaged over seeds.

    Parameters
    ----------
    plan : str, Path or Plan
        The plan.
    scenarios : sequence of path
        Scenario files; give a horizon longer than the longest performance period, or its
        cohorts never vest.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds; two or more give the net value an interval.
    out : path
        The batch directory; finished runs found there are reused.
    variants : mapping
        Variant label → horizon changes (see :func:`horizon_plans`); :data:`VARIANTS` by
        default: 1 against 3 years, cliff against graded, with and without deferral.
    alpha : float
        One minus the confidence level of the intervals.
    plans_dir : path, optional
        Where the variants' files are written; by default a temporary directory removed
        afterwards (:func:`~toolkit.experiments.derived.run_variants`).
    workers, executor, scheduler, progress
        As for :func:`~toolkit.experiments.batch.run_batch`.

    Returns
    -------
    DataFrame
        One row per scenario and variant (``as_is`` first): its horizons, ``seeds``,
        ``net_value`` (what the business gains by running the variant instead of the plan as
        it is, paired by seed; 0 for ``as_is``) with its interval, the means over seeds of
        ``total_awards`` and ``gaming_index``, and of :func:`run_horizon`'s measures. A
        positive ``short_termism`` is effort moved from the lagged lever to the immediate ones;
        a positive ``vesting_short_termism`` means that tilt peaks as tranches vest.
    BatchResult
        The batch.

    Raises
    ------
    ValueError
        Before anything runs: an invalid variant (see :func:`horizon_plans`) or ``alpha``
        outside (0, 1).
    BatchError, ConfigError, OutputError
        As for :func:`~toolkit.experiments.batch.run_batch`.

    Examples
    --------
    >>> table, batch = horizon_comparison(  # doctest: +SKIP
    ...     "balanced", ["scenarios/default.yaml"], 4, "runs/horizons"
    ... )
    >>> table[["variant", "net_value", "short_termism", "vesting_short_termism"]]  # doctest: +SKIP
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha is one minus a confidence level, in (0, 1), not {alpha!r}")
    plans = horizon_plans(plan, variants)
    reference = plans["as_is"].name
    natural = {
        s.name: s.environment.behaviour.levers.baseline_reliability_effort
        for s in (load_scenario(path) for path in scenarios)
    }
    result = run_variants(
        list(plans.values()),
        scenarios,
        seeds,
        out,
        reference=reference,
        plans_dir=plans_dir,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        progress=progress,
    )
    if not len(result.runs):
        return pd.DataFrame(columns=list(COLUMNS)), result
    by_name = {p.name: p for p in plans.values()}
    per_run = pd.DataFrame(
        [
            {
                **row,
                **run_horizon(
                    result.directory / row["directory"],
                    by_name[row["plan"]],
                    natural[row["scenario"]],
                ),
            }
            for row in result.runs[
                [
                    "scenario",
                    "plan",
                    "seed",
                    "directory",
                    "net_value",
                    "total_awards",
                    "gaming_index",
                ]
            ].to_dict("records")
        ]
    )
    compared = paired_differences(per_run, reference, ("net_value",), alpha)
    rows = []
    for scenario, mine in per_run.groupby("scenario", sort=True):
        for label, one in plans.items():
            runs = mine[mine["plan"] == one.name]
            if not len(runs):
                continue
            paired = (
                {"mean_difference": 0.0, "ci_low": 0.0, "ci_high": 0.0}
                if one.name == reference
                else interval_of(compared, scenario, one.name, "net_value")
            )
            rows.append(
                {
                    "scenario": scenario,
                    "variant": label,
                    "plan": one.name,
                    "performance_period_years": one.performance_period_years,
                    "grant_every_years": one.grant_every_years,
                    "vesting_schedule": one.vesting.schedule,
                    "deferral_share": one.vesting.deferral_share,
                    "deferral_years": one.vesting.deferral_years,
                    "seeds": int(runs["seed"].nunique()),
                    "net_value": paired["mean_difference"],
                    "net_value_ci_low": paired["ci_low"],
                    "net_value_ci_high": paired["ci_high"],
                    "total_awards": float(runs["total_awards"].mean()),
                    "gaming_index": float(runs["gaming_index"].mean()),
                    **{name: float(runs[name].mean()) for name in MEASURES},
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS)), result
