"""Plans derived from another plan, run as one batch: the shape of every design experiment.

Asking what one feature of a plan does (a KPI rewarded alone, a weight moved, a gate added, a
baseline policy changed) means building variants that differ in that feature only, running them
on the same scenarios and seeds (common random numbers, so that they compare seed by seed), and
reading the runs back. This module holds the shared steps: build a variant and check it as a plan
file would be checked, write the variants where the batch can read them (a temporary directory by
default, so that nothing is written outside the batch directory), and read a KPI's plan-period
level from a run.
"""

from __future__ import annotations

import contextlib
import difflib
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from toolkit.config.plan import Plan
from toolkit.experiments.batch import BatchResult, run_batch
from toolkit.plans import load_plan
from toolkit.plans.loading import check_plan
from toolkit.run.outputs import path_id

ALL = "ALL"


def as_plan(plan: str | Path | Plan) -> Plan:
    """Return ``plan`` as a model, loading it from the library or a file when named.

    Parameters
    ----------
    plan : str, Path or Plan
        A library plan name, a plan file or a loaded plan.

    Returns
    -------
    Plan
        The validated plan, ``extends`` resolved.

    Examples
    --------
    >>> as_plan("balanced").name
    'balanced'
    """
    return plan if isinstance(plan, Plan) else load_plan(plan)


def unknown_kpi(kpi: str, known: Iterable[str]) -> str:
    """Say that ``kpi`` is not in the catalogue, suggesting the closest name.

    Parameters
    ----------
    kpi : str
        The name given.
    known : iterable of str
        The names that exist.

    Returns
    -------
    str
        The message, e.g. ``unknown KPI 'mttr'; did you mean 'mttr_mean_hours'? ...``.

    Examples
    --------
    >>> print(unknown_kpi("mttr_mean_hour", ["mttr_mean_hours"]))
    unknown KPI 'mttr_mean_hour'; did you mean 'mttr_mean_hours'? (see `lti kpis --list`)
    """
    close = difflib.get_close_matches(kpi, list(known), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown KPI {kpi!r}{hint} (see `lti kpis --list`)"


def variant(base: Plan, name: str, description: str, **changes: Any) -> Plan:
    """Return ``base`` with some fields changed, validated and cross-checked like a plan file.

    Parameters
    ----------
    base : Plan
        The plan varied.
    name : str
        The variant's name (its file is named after it).
    description : str
        What the variant is.
    **changes
        Fields to replace, as plain data or models (e.g. ``gates=[...]``).

    Returns
    -------
    Plan
        The variant, standing alone (``extends`` cleared: it holds every field itself).

    Raises
    ------
    ValueError
        If the variant is not a valid plan, naming the variant and each problem.

    Examples
    --------
    >>> plan = variant(as_plan("balanced"), "balanced_ungated", "no gates", gates=[])
    >>> plan.name, plan.gates
    ('balanced_ungated', [])
    """
    data = base.model_dump(mode="python")
    data.update(name=name, description=description, extends=None, **changes)
    try:
        plan = Plan.model_validate(data)
    except ValueError as error:
        raise ValueError(
            f"variant {name!r} of plan {base.name!r} is not a valid plan: {error}"
        ) from error
    problems = check_plan(plan)
    if problems:
        reasons = "; ".join(f"{p.path}: {p.reason}" for p in problems)
        raise ValueError(f"variant {name!r} of plan {base.name!r} is not a valid plan: {reasons}")
    return plan


def write_plan(plan: Plan, directory: Path) -> Path:
    """Write ``plan`` as YAML into ``directory``, as the batch reads plans from files.

    Parameters
    ----------
    plan : Plan
        The plan.
    directory : Path
        An existing directory.

    Returns
    -------
    Path
        ``directory / "<slug of the name>-<fingerprint>.yaml"``: a name may hold ``/`` or
        ``..`` (:func:`toolkit.run.outputs.path_id`), and two variants never share a file.
    """
    path = directory / f"{path_id(plan.name, plan.fingerprint())}.yaml"
    # Python mode keeps mapping keys as they are (a tier is the integer 1, not the text "1")
    content = plan.model_dump(mode="python", exclude_none=True)
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def run_variants(
    plans: Sequence[Plan],
    scenarios: Sequence[str | Path],
    seeds: int | Iterable[int],
    out: str | Path,
    given: Sequence[str | Path] = (),
    reference: str | None = None,
    plans_dir: str | Path | None = None,
    **batch: Any,
) -> BatchResult:
    """Run plans built in memory (and plans given by name or file) as one batch.

    Parameters
    ----------
    plans : sequence of Plan
        The variants; each is written to a YAML file for the batch to read.
    scenarios : sequence of path
        Scenario files.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds.
    out : path
        The batch directory; finished runs found there are reused.
    given : sequence of str or path
        Further plans, library names or files, run first (e.g. the reference).
    reference : str, optional
        The plan compared with, by name (a variant's or a given plan's).
    plans_dir : path, optional
        Where the variants' files are written (and kept, for anyone to rerun); by default a
        temporary directory removed afterwards, so that nothing is written outside ``out``.
        Runs are cached by plan content, so a rerun reuses them either way.
    **batch
        ``workers``, ``executor``, ``scheduler``, ``progress``: as for
        :func:`~toolkit.experiments.batch.run_batch`.

    Returns
    -------
    BatchResult
        The batch.

    Examples
    --------
    >>> plan = variant(as_plan("balanced"), "balanced_ungated", "no gates", gates=[])
    >>> result = run_variants(  # doctest: +SKIP
    ...     [plan], ["scenarios/small.yaml"], 3, "runs/ungated", given=["no_incentive"]
    ... )
    """
    with contextlib.ExitStack() as stack:
        if plans_dir is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        else:
            directory = Path(plans_dir)
            directory.mkdir(parents=True, exist_ok=True)
        files = [str(write_plan(plan, directory)) for plan in plans]
        return run_batch(
            scenarios, [*(str(g) for g in given), *files], seeds, out, reference=reference, **batch
        )


def plan_labels(periods: Iterable[str], start_after: int) -> tuple[set[str], set[str]]:
    """Split period labels, in time order, into the plan periods and the pre-plan periods.

    Parameters
    ----------
    periods : iterable of str
        Period labels (``2025Q1`` ...); sorted here, as labels sort in time order.
    start_after : int
        The plan's ``start_after_periods``.

    Returns
    -------
    tuple of set
        The plan periods and the pre-plan periods.

    Examples
    --------
    >>> [sorted(labels) for labels in plan_labels(["2025Q2", "2025Q1", "2025Q3"], 2)]
    [['2025Q3'], ['2025Q1', '2025Q2']]
    """
    ordered = sorted(set(periods))
    return set(ordered[start_after:]), set(ordered[:start_after])


def kpi_levels(out: Path, directory: str, kpi: str, start_after: int) -> dict[str, float]:
    """Mean over teams and plan periods of a KPI on the record, on the truth, and of the gap.

    Read from a run's ``kpis.parquet`` (team level, all services). Also the pre-plan true level
    per team, to tell whether anything could be improved, and the KPI's true range.

    Parameters
    ----------
    out : Path
        The batch directory.
    directory : str
        The run's directory, relative to ``out`` (``runs.parquet``'s ``directory``).
    kpi : str
        The KPI.
    start_after : int
        The plan's ``start_after_periods``.

    Returns
    -------
    dict
        ``true_mean``, ``reported_mean``, ``reported_minus_true`` (over the plan periods),
        ``pre_min`` and ``pre_max`` (of the teams' pre-plan true means) and ``spread`` (the
        true values' range); NaN where there is nothing to average.
    """
    kpis = pd.read_parquet(out / directory / "kpis.parquet")
    rows = kpis[(kpis["kpi"] == kpi) & (kpis["service_id"] == ALL) & (kpis["team_id"] != ALL)]
    plan_periods, pre_periods = plan_labels(kpis["period"], start_after)
    true = rows[rows["view"] == "true"]
    paired = true[true["period"].isin(plan_periods)].merge(
        rows[rows["view"] == "reported"], on=["period", "team_id"], suffixes=("_true", "_rep")
    )
    pre = true[true["period"].isin(pre_periods)].groupby("team_id")["value"].mean()
    return {
        "true_mean": float(paired["value_true"].mean()),
        "reported_mean": float(paired["value_rep"].mean()),
        "reported_minus_true": float((paired["value_rep"] - paired["value_true"]).mean()),
        "pre_min": float(pre.min()) if len(pre) else np.nan,
        "pre_max": float(pre.max()) if len(pre) else np.nan,
        "spread": float(np.ptp(true["value"])) if len(true) else np.nan,
    }


def interval_of(compared: pd.DataFrame, scenario: str, plan: str, metric: str) -> dict:
    """Return one paired comparison's mean difference and interval, NaN when there is none.

    Parameters
    ----------
    compared : DataFrame
        :func:`~toolkit.experiments.analysis.paired_differences`'s table.
    scenario, plan, metric : str
        The comparison.

    Returns
    -------
    dict
        ``mean_difference``, ``ci_low``, ``ci_high`` and ``pairs``; the interval is NaN with
        fewer than two pairs (one pair has no spread to estimate).
    """
    none = {"mean_difference": np.nan, "ci_low": np.nan, "ci_high": np.nan, "pairs": 0}
    if not len(compared):
        return none
    match = compared[
        (compared["scenario"] == scenario)
        & (compared["plan"] == plan)
        & (compared["metric"] == metric)
    ]
    if not len(match):
        return none
    row = match.iloc[0]
    enough = row["pairs"] >= 2
    return {
        "mean_difference": float(row["mean_difference"]),
        "ci_low": float(row["ci_low"]) if enough else np.nan,
        "ci_high": float(row["ci_high"]) if enough else np.nan,
        "pairs": int(row["pairs"]),
    }
