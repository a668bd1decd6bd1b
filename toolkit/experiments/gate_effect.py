"""What teams stop doing under a gate: a plan run with and without one, lever by lever.

A gate disqualifies: a team whose count of, say, unauthorized changes over the plan year reaches
the gate's level earns nothing for the year. Whether that deters the behaviour, or only costs
the teams that trip it by bad luck, is what :func:`gate_effect` measures: the plan without the
gate and with it, on the same scenarios and seeds (so that each seed's pair faces the same
exogenous events), and per lever, operational and gaming, the mean level under each and the
paired difference with its interval; next to it, how often the gate fired and the awards it
removed.

The levers are read from the batch's own run directories: every run of a batch keeps its
behaviour table (``behaviour.parquet``, one row per team and period with every lever, the
scores and the findings, a fired gate among them as ``gate_breach``), so nothing is run twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.behaviour.levers import ALL_LEVERS, OPERATIONAL_LEVERS
from toolkit.config.plan import Gate, Plan
from toolkit.experiments.analysis import paired_differences
from toolkit.experiments.batch import BatchResult
from toolkit.experiments.derived import (
    as_plan,
    interval_of,
    plan_labels,
    run_variants,
    unknown_kpi,
    variant,
)
from toolkit.plans.loading import kpi_by_name

GATE_BREACH = "gate_breach"
LEVER_COLUMNS = (
    "scenario",
    "lever",
    "kind",
    "seeds",
    "mean_without",
    "mean_with",
    "difference",
    "ci_low",
    "ci_high",
)
GATE_COLUMNS = (
    "scenario",
    "gate_kpi",
    "at_least",
    "seeds",
    "gated_team_periods",
    "gated_share",
    "runs_fired",
    "awards_without",
    "awards_with",
    "awards_removed",
    "awards_removed_ci_low",
    "awards_removed_ci_high",
)


def gate_plans(plan: str | Path | Plan, gate: Gate | Mapping) -> tuple[Plan, Plan]:
    """Return the plan without any gate on the gate's KPI, and with the gate.

    Parameters
    ----------
    plan : str, Path or Plan
        The plan; a gate it already has on the same KPI is left out of both variants.
    gate : Gate or mapping
        The gate, e.g. ``{"kpi": "unauthorized_count", "at_least": 3}``.

    Returns
    -------
    tuple of Plan
        ``<plan>_without_<kpi>_gate`` and ``<plan>_with_<kpi>_gate_<at_least>``.

    Raises
    ------
    ValueError
        If the gate is not a valid gate, its KPI is unknown, or a plan with it is not valid
        (a gate needs a count KPI).

    Examples
    --------
    >>> without, gated = gate_plans("balanced", {"kpi": "unauthorized_count", "at_least": 2})
    >>> without.gates, [g.at_least for g in gated.gates]
    ([], [2.0])
    """
    try:
        gate = gate if isinstance(gate, Gate) else Gate.model_validate(dict(gate))
    except (TypeError, ValueError) as error:
        raise ValueError(f"not a gate (give kpi and at_least > 0): {error}") from error
    if gate.kpi not in kpi_by_name():
        raise ValueError(unknown_kpi(gate.kpi, kpi_by_name()))
    base = as_plan(plan)
    others = [g.model_dump(mode="python") for g in base.gates if g.kpi != gate.kpi]
    without = variant(
        base,
        f"{base.name}_without_{gate.kpi}_gate",
        f"{base.name} with no gate on {gate.kpi}.",
        gates=others,
    )
    gated = variant(
        base,
        f"{base.name}_with_{gate.kpi}_gate_{gate.at_least:g}",
        f"{base.name} with the award zeroed for a plan year in which {gate.kpi} reaches "
        f"{gate.at_least:g}.",
        gates=[*others, gate.model_dump(mode="python")],
    )
    return without, gated


def gate_effect(
    plan: str | Path | Plan,
    gate: Gate | Mapping,
    scenarios: Sequence[str | Path],
    seeds: int | Iterable[int],
    out: str | Path,
    alpha: float = 0.05,
    plans_dir: str | Path | None = None,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, BatchResult]:
    """Run a plan without and with a gate, paired by seed, and say what the gate changes.

    Both variants run as one batch, the plan without the gate as its reference; the levers
    come from each run's ``behaviour.parquet`` in the batch directory (the mean over teams and
    plan periods, per run), compared seed by seed.

    Parameters
    ----------
    plan : str, Path or Plan
        The plan (:func:`gate_plans` builds the two variants).
    gate : Gate or mapping
        The gate, e.g. ``{"kpi": "unauthorized_count", "at_least": 3}``.
    scenarios : sequence of path
        Scenario files.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds; two or more give the differences intervals.
    out : path
        The batch directory; finished runs found there are reused.
    alpha : float
        One minus the confidence level of the intervals (t over the paired seeds).
    plans_dir : path, optional
        Where the variants' files are written; by default a temporary directory removed
        afterwards (:func:`~toolkit.experiments.derived.run_variants`).
    workers, executor, scheduler, progress
        As for :func:`~toolkit.experiments.batch.run_batch`.

    Returns
    -------
    DataFrame
        Per scenario, one row per lever of :data:`~toolkit.behaviour.levers.ALL_LEVERS`:
        ``kind`` (``operational`` or ``gaming``), ``seeds`` paired, ``mean_without`` and
        ``mean_with`` (means over seeds of the run's mean over teams and plan periods),
        ``difference`` (with minus without, paired by seed) and its interval ``ci_low``,
        ``ci_high`` (NaN with fewer than two pairs). A negative difference in a gaming lever
        is what teams stop doing under the gate.
    DataFrame
        Per scenario, the gate: ``gated_team_periods`` (team plan-periods with the award
        zeroed by the gate, mean over seeds), ``gated_share`` (their share of team plan
        periods), ``runs_fired`` (runs in which it fired at least once), the mean
        ``awards_without`` and ``awards_with``, and ``awards_removed`` (without minus with,
        paired by seed, everything the gate changed included: the zeroed years and the
        behaviour it brought) with its interval.
    BatchResult
        The batch.

    Raises
    ------
    ValueError
        Before anything runs: an invalid gate (see :func:`gate_plans`) or ``alpha`` outside
        (0, 1).
    BatchError, ConfigError, OutputError
        As for :func:`~toolkit.experiments.batch.run_batch`.

    Examples
    --------
    >>> levers, fired, batch = gate_effect(  # doctest: +SKIP
    ...     "balanced", {"kpi": "unauthorized_count", "at_least": 2},
    ...     ["scenarios/small.yaml"], 4, "runs/gate",
    ... )
    >>> levers[["lever", "difference", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha is one minus a confidence level, in (0, 1), not {alpha!r}")
    without, gated = gate_plans(plan, gate)
    result = run_variants(
        [without, gated],
        scenarios,
        seeds,
        out,
        reference=without.name,
        plans_dir=plans_dir,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        progress=progress,
    )
    runs = result.runs
    if not len(runs):
        return (
            pd.DataFrame(columns=list(LEVER_COLUMNS)),
            pd.DataFrame(columns=list(GATE_COLUMNS)),
            result,
        )
    starts = {without.name: without.start_after_periods, gated.name: gated.start_after_periods}
    per_run = pd.DataFrame(
        [
            {**row, **run_levers(result.directory / row["directory"], starts[row["plan"]])}
            for row in runs[["scenario", "plan", "seed", "directory", "total_awards"]].to_dict(
                "records"
            )
        ]
    )
    compared = paired_differences(per_run, without.name, (*ALL_LEVERS, "total_awards"), alpha)
    levers, fired = [], []
    for scenario, mine in per_run.groupby("scenario", sort=True):
        plain, with_gate = mine[mine["plan"] == without.name], mine[mine["plan"] == gated.name]
        for lever in ALL_LEVERS:
            paired = interval_of(compared, scenario, gated.name, lever)
            levers.append(
                {
                    "scenario": scenario,
                    "lever": lever,
                    "kind": "operational" if lever in OPERATIONAL_LEVERS else "gaming",
                    "seeds": paired["pairs"],
                    "mean_without": float(plain[lever].mean()),
                    "mean_with": float(with_gate[lever].mean()),
                    "difference": paired["mean_difference"],
                    "ci_low": paired["ci_low"],
                    "ci_high": paired["ci_high"],
                }
            )
        awards = interval_of(compared, scenario, gated.name, "total_awards")
        fired.append(
            {
                "scenario": scenario,
                "gate_kpi": gated.gates[-1].kpi,
                "at_least": gated.gates[-1].at_least,
                "seeds": awards["pairs"],
                "gated_team_periods": float(with_gate["gated_team_periods"].mean()),
                "gated_share": float(with_gate["gated_share"].mean()),
                "runs_fired": int((with_gate["gated_team_periods"] > 0).sum()),
                "awards_without": float(plain["total_awards"].mean()),
                "awards_with": float(with_gate["total_awards"].mean()),
                "awards_removed": -awards["mean_difference"],
                "awards_removed_ci_low": -awards["ci_high"],
                "awards_removed_ci_high": -awards["ci_low"],
            }
        )
    return (
        pd.DataFrame(levers, columns=list(LEVER_COLUMNS)),
        pd.DataFrame(fired, columns=list(GATE_COLUMNS)),
        result,
    )


def run_levers(directory: Path, start_after: int) -> dict[str, float]:
    """Return a run's mean lever levels over teams and plan periods, and its gated periods.

    Parameters
    ----------
    directory : Path
        The run's directory (holding ``behaviour.parquet``).
    start_after : int
        The plan's ``start_after_periods``.

    Returns
    -------
    dict
        Every lever's mean, ``gated_team_periods`` (team plan-periods whose findings hold
        ``gate_breach``) and ``gated_share`` (their share of the team plan-periods); NaN
        means where the run has no plan periods.
    """
    behaviour = pd.read_parquet(directory / "behaviour.parquet")
    plan_periods, _ = plan_labels(behaviour["period"], start_after)
    active = behaviour[behaviour["period"].isin(plan_periods)]
    gated = active["findings"].fillna("").str.split(",").map(lambda found: GATE_BREACH in found)
    return {
        **{lever: float(active[lever].mean()) for lever in ALL_LEVERS},
        "gated_team_periods": int(gated.sum()),
        "gated_share": float(gated.mean()) if len(active) else np.nan,
    }
