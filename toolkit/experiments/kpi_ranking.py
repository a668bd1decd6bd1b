"""Each KPI rewarded alone, ranked by how much of it is gamed and what it is worth.

Which ITSM KPIs suit a long-term incentive? One way to find out is to pay for each alone and
look: a plan per KPI, built from one template so that nothing but the KPI differs, run on the
same scenarios and seeds as a reference plan (fixed pay), through the ordinary batch (its
executors, its cache). Two numbers rank a KPI:

* its **gaming gap**: how much better the record looks than the truth. In the KPI's own unit
  (reported minus true, and the same signed so that a positive gap flatters the team) and in
  score points (the batch's ``gaming_index``: the plan's score on the record minus its score
  on the truth);
* its **net value** against the reference (loss avoided + value added − extra awards), with
  the paired 95 % interval over seeds.

A KPI that validates but cannot sensibly be paid alone on a scenario (a share that is the same
in every period, a KPI the scenario never measures) is refused with the reason and not run; one
whose pre-plan level is already the best possible (nothing to improve on) is run but flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config import load_scenario
from toolkit.config.plan import Audit, Plan
from toolkit.experiments.analysis import paired_differences
from toolkit.experiments.batch import BatchResult, summarise_batch
from toolkit.experiments.derived import as_plan, kpi_levels, run_variants, unknown_kpi
from toolkit.plans.loading import check_plan, check_plan_against_scenario, kpi_by_name

TEMPLATE = "mttr_only"
REFERENCE = "no_incentive"
COLUMNS = (
    "scenario",
    "kpi",
    "plan",
    "unit",
    "direction",
    "indicator",
    "status",
    "reason",
    "seeds",
    "true_mean",
    "reported_mean",
    "reported_minus_true",
    "gaming_gap",
    "gaming_index",
    "net_value",
    "net_value_ci_low",
    "net_value_ci_high",
    "rank_gaming",
    "rank_net_value",
)


def plan_name(kpi: str) -> str:
    """Return the name of the plan that rewards ``kpi`` alone: ``only_<kpi>``."""
    return f"only_{kpi}"


def single_kpi_plan(kpi: str, template: str | Path | Plan = TEMPLATE) -> Plan:
    """Build the plan that rewards ``kpi`` alone, shaped like the template's first metric.

    The plan keeps the template's money (target awards, vesting, funding, cap, timing) and its
    first metric's basis, baseline, curve and normalisation, with ``kpi`` in its place, weight
    1, and no counter-metric, gate, audit, malus or clawback: the KPI alone, unguarded.
    Because the basis is an improvement in the KPI's better direction (from the catalogue),
    one curve fits a KPI that should fall and one that should rise.

    Parameters
    ----------
    kpi : str
        A name from the KPI catalogue (or a per-priority variant).
    template : str, Path or Plan
        A library plan name, a plan file or a loaded plan; by default ``mttr_only``
        (improvement on a fixed pre-plan baseline, a linear curve).

    Returns
    -------
    Plan
        Named ``only_<kpi>``, validated by the plan model.

    Raises
    ------
    ValueError
        If ``kpi`` is not in the catalogue (naming it and the closest name), if the template
        has no metric or does not reward an improvement, or if the plan fails the plan's own
        cross-checks (naming the KPI).

    Examples
    --------
    >>> plan = single_kpi_plan("change_throughput")
    >>> plan.name, plan.metrics[0].kpi, plan.metrics[0].basis
    ('only_change_throughput', 'change_throughput', 'improvement')
    """
    known = kpi_by_name()
    if kpi not in known:
        raise ValueError(unknown_kpi(kpi, known))
    base = as_plan(template)
    if not base.metrics:
        raise ValueError(f"template plan {base.name!r} rewards no metric, so it has no shape")
    metric = base.metrics[0]
    if metric.basis != "improvement":
        raise ValueError(
            f"template plan {base.name!r} scores the level of {metric.kpi}; only a curve on "
            "improvement (basis 'improvement') fits every KPI"
        )
    entry = known[kpi]
    data = base.model_dump(mode="python")
    data.update(
        name=plan_name(kpi),
        description=(
            f"Rewards one KPI, {kpi} ({entry.unit}, {entry.direction} is better), for improving "
            f"on the team's pre-plan level, shaped like {base.name!r}'s first metric, with no "
            "counter-metric, gate or audit: the KPI rewarded alone."
        ),
        extends=None,
        metrics=[{**metric.model_dump(mode="python"), "kpi": kpi, "weight": 1.0}],
        counter_metrics=[],
        gates=[],
        audit=Audit().model_dump(mode="python"),
        malus=None,
        clawback=None,
    )
    plan = Plan.model_validate(data)
    problems = check_plan(plan)
    if problems:
        reasons = "; ".join(f"{p.path}: {p.reason}" for p in problems)
        raise ValueError(f"cannot reward {kpi} alone with template {base.name!r}: {reasons}")
    return plan


def _refusal(plan: Plan, scenarios: Sequence) -> str | None:
    """Say why ``plan`` cannot sensibly run on one of ``scenarios``, if so."""
    for scenario in scenarios:
        problems = check_plan_against_scenario(plan, scenario)
        if problems:
            return f"on scenario {scenario.name!r}: " + "; ".join(p.reason for p in problems)
    return None


def _flag(kpi: str, unit: str, direction: str, levels: pd.DataFrame) -> str | None:
    """Say why a KPI that ran still cannot pay for a real improvement, if so."""
    if (levels["spread"] == 0).all():
        return f"{kpi} took the same value in every period and team of every run"
    if direction == "lower" and (levels["pre_max"] == 0).all():
        return f"{kpi} was already 0 before the plan for every team: there is nothing to improve"
    if direction == "higher" and unit == "share" and (levels["pre_min"] == 1).all():
        return f"{kpi} was already 1 before the plan for every team: there is nothing to improve"
    return None


def rank_kpis(
    kpis: Sequence[str],
    scenarios: Sequence[str | Path],
    seeds: int | Iterable[int],
    out: str | Path,
    template: str | Path | Plan = TEMPLATE,
    reference: str | Path = REFERENCE,
    plans_dir: str | Path | None = None,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, BatchResult | None]:
    """Reward each KPI alone, run the plans against the reference, and rank the KPIs.

    Parameters
    ----------
    kpis : sequence of str
        KPI names from the catalogue (``lti kpis --list``).
    scenarios : sequence of path
        Scenario files.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds; two or more give the net value an interval.
    out : path
        The batch directory; finished runs found there are reused.
    template : str, Path or Plan
        The plan whose shape each single-KPI plan takes (:func:`single_kpi_plan`).
    reference : str or path
        The plan every single-KPI plan is compared with, seed by seed (default fixed pay).
    plans_dir : path, optional
        Where the single-KPI plan files are written for the batch to read (and for anyone to
        rerun); by default a temporary directory removed afterwards, so that nothing is
        written outside ``out``. Runs are cached by plan content, so a rerun reuses them
        either way.
    workers, executor, scheduler, progress
        As for :func:`~toolkit.experiments.batch.run_batch`.

    Returns
    -------
    DataFrame
        One row per scenario and KPI: ``status`` (``ranked``, ``flagged`` or ``refused``) with
        its ``reason``; the KPI's plan-period means over teams, periods and seeds on the truth
        and the record, ``reported_minus_true`` in its unit and ``gaming_gap`` the same signed
        so that positive means the record flatters; ``gaming_index`` in score points and
        ``net_value`` with its paired interval (the batch's summary and comparisons); and the
        ranks within the scenario, ``rank_gaming`` (1 = least gamed, by ``gaming_index``) and
        ``rank_net_value`` (1 = most valuable). RefusedError KPIs have no numbers and no ranks.
        Sorted by scenario and ``rank_gaming``.
    BatchResult or None
        The batch, or None if every KPI was refused.

    Raises
    ------
    ValueError
        Before anything runs: no KPI, a KPI listed twice, an unknown KPI (naming it), or a
        KPI the template's curve cannot reward (naming it).
    BatchError, ConfigError, OutputError
        As for :func:`~toolkit.experiments.batch.run_batch`.

    Examples
    --------
    >>> table, batch = rank_kpis(  # doctest: +SKIP
    ...     ["mttr_mean_hours", "change_throughput"], ["scenarios/small.yaml"], 4, "runs/kpis"
    ... )
    >>> table[["kpi", "gaming_index", "net_value", "rank_gaming"]]  # doctest: +SKIP
    """
    kpis = list(kpis)
    if not kpis:
        raise ValueError("give at least one KPI to rank")
    repeated = sorted({k for k in kpis if kpis.count(k) > 1})
    if repeated:
        raise ValueError(f"KPIs listed more than once: {repeated}")
    plans = {kpi: single_kpi_plan(kpi, template) for kpi in kpis}
    models = [load_scenario(s) for s in scenarios]
    refused = {kpi: why for kpi, plan in plans.items() if (why := _refusal(plan, models))}
    runnable = [kpi for kpi in kpis if kpi not in refused]
    result = None
    if runnable:
        result = run_variants(
            [plans[kpi] for kpi in runnable],
            scenarios,
            seeds,
            out,
            given=[str(reference)],
            reference=str(reference),
            plans_dir=plans_dir,
            workers=workers,
            progress=progress,
            executor=executor,
            scheduler=scheduler,
        )
    rows = [
        row for scenario in models for row in _rows(scenario.name, kpis, plans, refused, result)
    ]
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return _ranked(table), result


def _rows(
    scenario: str,
    kpis: list[str],
    plans: dict[str, Plan],
    refused: dict[str, str],
    result: BatchResult | None,
) -> Iterable[dict]:
    """Yield one row per KPI of one scenario."""
    known = kpi_by_name()
    if result is not None and len(result.runs):
        runs = result.runs
        summary = summarise_batch(runs, result.reference).set_index(["scenario", "plan"])
        compared = paired_differences(runs, result.reference, ("net_value",))
        compared = compared.set_index(["scenario", "plan"]) if len(compared) else compared
    for kpi in kpis:
        entry, plan = known[kpi], plans[kpi]
        row = {
            "scenario": scenario,
            "kpi": kpi,
            "plan": plan.name,
            "unit": entry.unit,
            "direction": entry.direction,
            "indicator": entry.indicator,
            "status": "refused" if kpi in refused else "ranked",
            "reason": refused.get(kpi),
        }
        mine = None if result is None else result.runs
        if kpi in refused or mine is None or not len(mine):
            yield row
            continue
        mine = mine[(mine["scenario"] == scenario) & (mine["plan"] == plan.name)]
        if not len(mine):
            yield {**row, "status": "refused", "reason": "no run of the plan finished"}
            continue
        levels = pd.DataFrame(
            [
                kpi_levels(result.directory, d, kpi, plan.start_after_periods)
                for d in mine["directory"]
            ]
        )
        gap = float(levels["reported_minus_true"].mean())
        flag = _flag(kpi, entry.unit, entry.direction, levels)
        ours = summary.loc[(scenario, plan.name)]
        interval = (
            compared.loc[(scenario, plan.name)]
            if len(compared) and (scenario, plan.name) in compared.index
            else None
        )
        enough = interval is not None and interval["pairs"] >= 2
        yield {
            **row,
            "status": "flagged" if flag else "ranked",
            "reason": flag,
            "seeds": int(ours["seeds"]),
            "true_mean": float(levels["true_mean"].mean()),
            "reported_mean": float(levels["reported_mean"].mean()),
            "reported_minus_true": gap,
            "gaming_gap": gap if entry.direction == "higher" else -gap,
            "gaming_index": float(ours["gaming_index"]),
            "net_value": float(ours["net_value"]),
            "net_value_ci_low": float(interval["ci_low"]) if enough else np.nan,
            "net_value_ci_high": float(interval["ci_high"]) if enough else np.nan,
        }


def _ranked(table: pd.DataFrame) -> pd.DataFrame:
    """Rank the KPIs that ran within each scenario; refused KPIs stay unranked, last."""
    ran = table["status"] != "refused"
    grouped = table[ran].groupby("scenario")
    table.loc[ran, "rank_gaming"] = grouped["gaming_index"].rank(method="min")
    table.loc[ran, "rank_net_value"] = grouped["net_value"].rank(method="min", ascending=False)
    table = table.astype({"rank_gaming": "Int64", "rank_net_value": "Int64", "seeds": "Int64"})
    return table.sort_values(
        ["scenario", "rank_gaming", "kpi"], na_position="last", kind="stable", ignore_index=True
    )
