"""How much weight on reliability, how much on delivery: a plan's weights swept, its frontier.

A scorecard weighs reliability against the pace of change. Moving weight from one to the other
changes what teams work on, what they game and what they earn; whether the business is better
off, only the truth says. :func:`sweep_weights` builds variants of a plan that differ only in how
the combined weight of two of its metrics is split (a reliability KPI such as
``mttr_mean_hours`` and a delivery KPI such as ``change_throughput``; the plan's total weight is
kept, so the other metrics keep their share), runs them on the same seeds as a reference plan,
and returns per weight the true reliability, the true delivery, the award cost, the net value
with its paired interval and the gaming index, flagging the weights no other weight beats on
reliability, delivery value and cost at once (the frontier).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan
from toolkit.experiments.analysis import paired_differences
from toolkit.experiments.batch import BatchResult, summarise_batch
from toolkit.experiments.derived import (
    as_plan,
    interval_of,
    kpi_levels,
    run_variants,
    unknown_kpi,
    variant,
)
from toolkit.plans.loading import kpi_by_name

PLAN = "balanced"
REFERENCE = "no_incentive"
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
COLUMNS = (
    "scenario",
    "share_a",
    "plan",
    "kpi_a",
    "weight_a",
    "kpi_b",
    "weight_b",
    "total_weight",
    "seeds",
    "reliability_true",
    "reliability_reported",
    "true_change_throughput",
    "delivery_value",
    "total_awards",
    "gaming_index",
    "net_value",
    "net_value_ci_low",
    "net_value_ci_high",
    "frontier",
)


def weight_plan(base: Plan, kpi_a: str, kpi_b: str, share_a: float) -> Plan:
    """Return ``base`` with the combined weight of ``kpi_a`` and ``kpi_b`` split ``share_a`` to a.

    The two metrics keep their curves, bases and baselines; only their weights change, so the
    plan's total weight (and every other metric's share of it) stays as it was. A metric whose
    share is 0 is dropped (a weight must be above 0), with any counter-metric that would zero
    it.

    Parameters
    ----------
    base : Plan
        A plan that rewards both KPIs, each once.
    kpi_a, kpi_b : str
        The two rewarded KPIs.
    share_a : float
        Share of the pair's combined weight given to ``kpi_a``, in 0..1.

    Returns
    -------
    Plan
        Named ``<plan>_<kpi_a>_<share_a>``.

    Raises
    ------
    ValueError
        If a KPI is unknown or not rewarded once by the plan, the two are the same, or
        ``share_a`` lies outside 0..1.

    Examples
    --------
    >>> plan = weight_plan(as_plan("balanced"), "mttr_mean_hours", "change_throughput", 0.75)
    >>> {m.kpi: round(m.weight, 3) for m in plan.metrics}["mttr_mean_hours"]
    0.3
    """
    _check_pair(base, kpi_a, kpi_b)
    _check_share(share_a)
    metrics = [m for m in base.metrics if m.kpi in (kpi_a, kpi_b)]
    total = sum(m.weight for m in metrics)
    split = {kpi_a: share_a * total, kpi_b: (1 - share_a) * total}
    kept = [
        m.model_copy(update={"weight": split[m.kpi]}) if m.kpi in split else m
        for m in base.metrics
        if m.kpi not in split or split[m.kpi] > 0
    ]
    dropped = {kpi for kpi, weight in split.items() if weight == 0}
    guards = [c for c in base.counter_metrics if c.metric not in dropped]
    return variant(
        base,
        f"{base.name}_{kpi_a}_{share_a:g}",
        f"{base.name} with {share_a:.0%} of the weight of {kpi_a} and {kpi_b} on {kpi_a}.",
        metrics=[m.model_dump(mode="python") for m in kept],
        counter_metrics=[c.model_dump(mode="python") for c in guards],
    )


def _check_pair(base: Plan, kpi_a: str, kpi_b: str) -> None:
    """Refuse KPIs that are unknown, equal, or not rewarded exactly once by the plan."""
    known = kpi_by_name()
    for kpi in (kpi_a, kpi_b):
        if kpi not in known:
            raise ValueError(unknown_kpi(kpi, known))
    if kpi_a == kpi_b:
        raise ValueError(f"the weight moves between two different KPIs, not {kpi_a!r} and itself")
    rewarded = [m.kpi for m in base.metrics]
    for kpi in (kpi_a, kpi_b):
        if rewarded.count(kpi) != 1:
            how = "does not reward" if kpi not in rewarded else "rewards more than once"
            raise ValueError(
                f"plan {base.name!r} {how} {kpi!r}, so there is no one weight of it to move; "
                f"it rewards {rewarded}"
            )


def _check_share(share: float) -> None:
    """Refuse a share that is not a number in 0..1."""
    if isinstance(share, bool) or not isinstance(share, int | float) or not math.isfinite(share):
        raise ValueError(f"a weight share must be a number in 0..1, not {share!r}")
    if not 0 <= share <= 1:
        raise ValueError(
            f"weight share {share!r} lies outside 0..1: it is the share of the two KPIs' "
            "combined weight given to the first"
        )


def sweep_weights(
    plan: str | Path | Plan = PLAN,
    kpi_a: str = "mttr_mean_hours",
    kpi_b: str = "change_throughput",
    weights: Sequence[float] = WEIGHTS,
    *,
    scenarios: Sequence[str | Path],
    seeds: int | Iterable[int],
    out: str | Path,
    reference: str | Path = REFERENCE,
    plans_dir: str | Path | None = None,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, BatchResult]:
    """Run a plan with its weight moved step by step between two KPIs, against a reference.

    Parameters
    ----------
    plan : str, Path or Plan
        The plan whose weights are moved (default ``balanced``); it must reward both KPIs.
    kpi_a : str
        The reliability KPI (default ``mttr_mean_hours``; ``incident_volume`` is another).
    kpi_b : str
        The delivery KPI (default ``change_throughput``).
    weights : sequence of float
        Shares of the two KPIs' combined weight given to ``kpi_a``, each in 0..1.
    scenarios : sequence of path
        Scenario files (keyword only, as are the arguments after it).
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds; two or more give the net value an interval.
    out : path
        The batch directory; finished runs found there are reused.
    reference : str or path
        The plan every variant is compared with, seed by seed (default fixed pay).
    plans_dir : path, optional
        Where the variants' files are written; by default a temporary directory removed
        afterwards (:func:`~toolkit.experiments.derived.run_variants`).
    workers, executor, scheduler, progress
        As for :func:`~toolkit.experiments.batch.run_batch`.

    Returns
    -------
    DataFrame
        One row per scenario and weight share, sorted by them: ``share_a``, the variant's
        ``plan`` name, both KPIs with their weights and the plan's ``total_weight``; means over
        seeds of ``reliability_true`` and ``reliability_reported`` (``kpi_a`` over teams and
        plan periods on the truth and on the record, from the runs' KPI tables), and of the
        batch summary's ``true_change_throughput``, ``delivery_value``, ``total_awards``,
        ``gaming_index`` and ``net_value``, with the paired 95 % interval of the net value
        (the batch's comparisons); ``frontier`` is True where no other share of the scenario
        is at least as good on true reliability (in ``kpi_a``'s better direction), delivery
        value and award cost, and better on one.
    BatchResult
        The batch (reference and variants).

    Raises
    ------
    ValueError
        Before anything runs: no weight or one listed twice, a weight outside 0..1, an
        unknown KPI, the same KPI twice, or a KPI the plan does not reward once.
    BatchError, ConfigError, OutputError
        As for :func:`~toolkit.experiments.batch.run_batch`.

    Examples
    --------
    >>> table, batch = sweep_weights(  # doctest: +SKIP
    ...     weights=[0.2, 0.5, 0.8], scenarios=["scenarios/small.yaml"], seeds=3, out="runs/w"
    ... )
    >>> table[["share_a", "reliability_true", "net_value", "frontier"]]  # doctest: +SKIP
    """
    weights = list(weights)
    if not weights:
        raise ValueError("give at least one weight share to sweep")
    for share in weights:
        _check_share(share)
    if len(set(weights)) < len(weights):
        raise ValueError(f"weight shares listed more than once: {weights}")
    base = as_plan(plan)
    variants = {share: weight_plan(base, kpi_a, kpi_b, share) for share in weights}
    result = run_variants(
        list(variants.values()),
        scenarios,
        seeds,
        out,
        given=[str(reference)],
        reference=str(reference),
        plans_dir=plans_dir,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        progress=progress,
    )
    table = pd.DataFrame(_rows(result, variants, kpi_a, kpi_b), columns=list(COLUMNS))
    table = table.sort_values(["scenario", "share_a"], ignore_index=True)
    better = kpi_by_name()[kpi_a].direction
    objectives = {"reliability_true": better, "delivery_value": "higher", "total_awards": "lower"}
    table["frontier"] = False
    for _, group in table.groupby("scenario"):
        table.loc[group.index, "frontier"] = non_dominated(group, objectives)
    return table, result


def _rows(result: BatchResult, variants: dict[float, Plan], kpi_a: str, kpi_b: str):
    """Yield one row per scenario and weight share that ran."""
    runs = result.runs
    if not len(runs):
        return
    summary = summarise_batch(runs, result.reference).set_index(["scenario", "plan"])
    compared = paired_differences(runs, result.reference, ("net_value",))
    for scenario in runs["scenario"].unique():
        for share, plan in variants.items():
            mine = runs[(runs["scenario"] == scenario) & (runs["plan"] == plan.name)]
            if not len(mine):
                continue
            levels = pd.DataFrame(
                [
                    kpi_levels(result.directory, d, kpi_a, plan.start_after_periods)
                    for d in mine["directory"]
                ]
            )
            weight = {m.kpi: m.weight for m in plan.metrics}
            ours = summary.loc[(scenario, plan.name)]
            net = interval_of(compared, scenario, plan.name, "net_value")
            yield {
                "scenario": scenario,
                "share_a": float(share),
                "plan": plan.name,
                "kpi_a": kpi_a,
                "weight_a": weight.get(kpi_a, 0.0),
                "kpi_b": kpi_b,
                "weight_b": weight.get(kpi_b, 0.0),
                "total_weight": float(sum(m.weight for m in plan.metrics)),
                "seeds": int(ours["seeds"]),
                "reliability_true": float(levels["true_mean"].mean()),
                "reliability_reported": float(levels["reported_mean"].mean()),
                **{
                    name: float(ours[name])
                    for name in (
                        "true_change_throughput",
                        "delivery_value",
                        "total_awards",
                        "gaming_index",
                        "net_value",
                    )
                },
                "net_value_ci_low": net["ci_low"],
                "net_value_ci_high": net["ci_high"],
            }


def non_dominated(table: pd.DataFrame, objectives: dict[str, str]) -> pd.Series:
    """Flag the rows no other row dominates on every objective.

    A row is dominated when another is at least as good on every objective and better on one.
    A row with a missing objective is never on the frontier (and dominates nothing).

    Parameters
    ----------
    table : DataFrame
        One row per candidate.
    objectives : dict
        Column → ``"higher"`` or ``"lower"``, the better direction.

    Returns
    -------
    Series of bool
        Aligned with ``table``.

    Examples
    --------
    >>> frame = pd.DataFrame({"value": [1, 2, 2], "cost": [1, 1, 3]})
    >>> non_dominated(frame, {"value": "higher", "cost": "lower"}).tolist()
    [False, True, False]
    """
    signs = np.array([1.0 if objectives[c] == "higher" else -1.0 for c in objectives])
    scores = table[list(objectives)].to_numpy(dtype=float) * signs
    complete = ~np.isnan(scores).any(axis=1)
    flags = []
    for i, row in enumerate(scores):
        others = scores[complete & (np.arange(len(scores)) != i)]
        beaten = ((others >= row).all(axis=1) & (others > row).any(axis=1)).any()
        flags.append(bool(complete[i] and not beaten))
    return pd.Series(flags, index=table.index, name="frontier")
