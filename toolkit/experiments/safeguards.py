"""What a plan's safeguards buy: recovery, caution, defects and CAB skipping, plan by plan.

A safeguard acts on money or on behaviour: malus and clawback take back awards when an audit
finds gaming; counter-metrics and gates cut or void the award when a trace of gaming shows;
a defect penalty counts delivery net of the incidents it causes. Whether they work is read
from every run of a batch: the money from ``awards.parquet`` (accrued before malus, what malus
forfeited and clawback recovered), what the audits and gates found and the levers teams held
from ``behaviour.parquet``, and the true and reported change KPIs from ``kpis.parquet``.

:func:`compare_plans` runs plans as they are (library plans or files) on the same seeds;
:func:`compare_variants` runs one plan as it is and with some fields changed (a malus, a
counter-metric, a penalty), the plan as it is being the reference, paired by seed. Both give one
row per plan with the means over seeds of :data:`MEASURES` and, for :data:`PAIRED`, the
difference from the reference with its interval.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan
from toolkit.experiments.analysis import paired_differences
from toolkit.experiments.batch import BatchResult, run_batch
from toolkit.experiments.derived import as_plan, interval_of, plan_labels, run_variants, variant

AS_IS = "as_is"
FINDINGS = ("gaming_detected", "misattribution_detected", "gate_breach")
CHANGE_KPIS = (
    "change_throughput",
    "change_caused_incidents",
    "change_success_rate",
    "emergency_share",
    "unjustified_emergency_count",
)
LEVERS = ("change_rate", "change_care", "emergency_abuse")
HEADLINES = (
    "gaming_index",
    "risk_aversion_index",
    "total_awards",
    "reported_score_mean",
    "true_score_mean",
    "net_value",
    "delivery_value",
    "business_loss",
)
MEASURES = (
    *HEADLINES,
    "accrued",
    "overstated_pay",
    "malus",
    "clawed_back",
    "recovered",
    "recovered_share",
    "audited_share",
    *(f"{finding}_share" for finding in FINDINGS),
    *LEVERS,
    *(f"{kpi}_{view}" for kpi in CHANGE_KPIS for view in ("true", "reported")),
)
PAIRED = (
    "gaming_index",
    "risk_aversion_index",
    "total_awards",
    "recovered",
    "net_value",
    "change_caused_incidents_true",
    "change_throughput_true",
    "unjustified_emergency_count_true",
)


def run_safeguards(directory: Path, start_after: int) -> dict[str, float]:
    """Read a run's money, findings, change levers and change KPIs over its plan periods.

    Parameters
    ----------
    directory : Path
        The run's directory in a batch (``awards``, ``behaviour`` and ``kpis`` Parquet files).
    start_after : int
        The plan's ``start_after_periods``.

    Returns
    -------
    dict
        ``accrued`` (awards accrued before pools, caps and malus), ``malus`` (forfeited from
        unvested and deferred awards), ``clawed_back`` (recovered from payments),
        ``recovered`` (their sum), the share of team plan-periods audited and the share with
        each finding of :data:`FINDINGS`, the mean of each lever of :data:`LEVERS`, and for
        each KPI of :data:`CHANGE_KPIS` its mean over teams and plan periods on the truth and
        on the record (``<kpi>_true``, ``<kpi>_reported``); NaN where nothing is measured.
    """
    awards = pd.read_parquet(directory / "awards.parquet")
    money = {k: float(awards[k].sum()) for k in ("accrued", "malus", "clawed_back")}
    money["recovered"] = money["malus"] + money["clawed_back"]
    behaviour = pd.read_parquet(directory / "behaviour.parquet")
    plan_periods, _ = plan_labels(behaviour["period"], start_after)
    active = behaviour[behaviour["period"].isin(plan_periods)]
    found = active["findings"].fillna("").str.split(",")

    def share(flags: pd.Series) -> float:
        return float(flags.mean()) if len(flags) else np.nan

    measures = {
        **money,
        "audited_share": share(active["audited"].astype(bool)),
        **{f"{f}_share": share(found.map(lambda names, f=f: f in names)) for f in FINDINGS},
        **{lever: float(active[lever].mean()) if len(active) else np.nan for lever in LEVERS},
    }
    kpis = pd.read_parquet(directory / "kpis.parquet")
    teams = kpis[
        (kpis["service_id"] == "ALL")
        & (kpis["team_id"] != "ALL")
        & kpis["period"].isin(plan_periods)
        & kpis["kpi"].isin(CHANGE_KPIS)
    ]
    means = teams.groupby(["kpi", "view"])["value"].mean()
    for kpi in CHANGE_KPIS:
        for view in ("true", "reported"):
            measures[f"{kpi}_{view}"] = float(means.get((kpi, view), np.nan))
    return measures


def batch_safeguards(
    result: BatchResult,
    plans: Mapping[str, Plan] | None = None,
    reference: str | None = None,
    alpha: float = 0.05,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read :func:`run_safeguards` from every run of a batch and compare plans by seed.

    Parameters
    ----------
    result : BatchResult
        A finished batch.
    plans : mapping, optional
        Plan name → plan, for plans that are not in the library (variants); library plans are
        loaded by name.
    reference : str, optional
        The plan the others are compared with, seed by seed; the batch's own by default.
    alpha : float
        One minus the confidence level of the paired intervals.

    Returns
    -------
    DataFrame
        One row per run: scenario, plan, seed, the batch's headlines and the run's measures,
        and ``overstated_pay`` (the accrued awards the record's overstatement earned:
        ``accrued × gaming_index / reported_score_mean``, 0 without gaming) and
        ``recovered_share`` (recovered / overstated pay; NaN when nothing was overstated).
    DataFrame
        One row per scenario and plan (in the batch's order): ``seeds``, the means over seeds
        of :data:`MEASURES`, and for each of :data:`PAIRED` the difference from the reference
        (``<measure>_difference``, ``_ci_low``, ``_ci_high``; 0 for the reference itself, NaN
        without a reference or with one pair).
    """
    plans = dict(plans or {})
    reference = reference if reference is not None else result.reference
    rows = []
    for row in result.runs.to_dict("records"):
        plan = plans.get(row["plan"]) or as_plan(row["plan"])
        measures = run_safeguards(result.directory / row["directory"], plan.start_after_periods)
        rows.append({**row, **measures})
    per_run = pd.DataFrame(rows)
    if not len(per_run):
        return per_run, pd.DataFrame(columns=["scenario", "plan", "seeds", *MEASURES])
    reported = per_run["reported_score_mean"].to_numpy(dtype=float)
    gap = np.clip(per_run["gaming_index"].to_numpy(dtype=float), 0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        overstated = np.where(reported > 0, per_run["accrued"] * gap / reported, 0.0)
        per_run["overstated_pay"] = np.minimum(overstated, per_run["accrued"])
        per_run["recovered_share"] = np.where(
            per_run["overstated_pay"] > 0, per_run["recovered"] / per_run["overstated_pay"], np.nan
        )
    compared = (
        paired_differences(per_run, reference, PAIRED, alpha)
        if reference is not None
        else pd.DataFrame()
    )
    table = []
    order = list(dict.fromkeys(per_run["plan"]))
    for scenario, mine in per_run.groupby("scenario", sort=True):
        for name in order:
            runs = mine[mine["plan"] == name]
            if not len(runs):
                continue
            entry = {"scenario": scenario, "plan": name, "seeds": len(runs)}
            entry.update({m: float(runs[m].mean()) for m in MEASURES if m in runs})
            for measure in PAIRED:
                if name == reference:
                    paired = {"mean_difference": 0.0, "ci_low": 0.0, "ci_high": 0.0}
                else:
                    paired = interval_of(compared, scenario, name, measure)
                entry[f"{measure}_difference"] = paired["mean_difference"]
                entry[f"{measure}_ci_low"] = paired["ci_low"]
                entry[f"{measure}_ci_high"] = paired["ci_high"]
            table.append(entry)
    return per_run, pd.DataFrame(table)


def compare_plans(
    scenarios: Sequence[str | Path],
    plans: Sequence[str | Path],
    seeds: int | Iterable[int],
    out: str | Path,
    reference: str | None = None,
    alpha: float = 0.05,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, BatchResult]:
    """Run plans as they are on the same seeds and read what their safeguards did.

    Parameters
    ----------
    scenarios : sequence of path
        Scenario files.
    plans : sequence of str or path
        Library plan names or plan files.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds; two or more give the differences intervals.
    out : path
        The batch directory; finished runs found there are reused.
    reference : str, optional
        The plan compared with (default: ``no_incentive`` when the batch holds it).
    alpha : float
        One minus the confidence level of the intervals.
    workers, executor, scheduler, progress
        As for :func:`~toolkit.experiments.batch.run_batch`.

    Returns
    -------
    DataFrame
        :func:`batch_safeguards`'s table of plans.
    BatchResult
        The batch.

    Raises
    ------
    ValueError
        ``alpha`` outside (0, 1).
    BatchError, ConfigError, OutputError
        As for :func:`~toolkit.experiments.batch.run_batch` (an unknown plan is named there).

    Examples
    --------
    >>> table, batch = compare_plans(  # doctest: +SKIP
    ...     ["scenarios/small.yaml"], ["no_incentive", "change_safety"], 2, "runs/safe"
    ... )
    >>> table[["plan", "risk_aversion_index", "change_caused_incidents_true"]]  # doctest: +SKIP
    """
    _check_alpha(alpha)
    result = run_batch(
        scenarios,
        [str(p) for p in plans],
        seeds,
        out,
        workers=workers,
        progress=progress,
        reference=reference,
        executor=executor,
        scheduler=scheduler,
    )
    _, table = batch_safeguards(result, alpha=alpha)
    return table, result


def variant_plans(
    plan: str | Path | Plan, variants: Mapping[str, Mapping[str, Any]]
) -> dict[str, Plan]:
    """Return the plan as it is and one variant per entry, with the given fields replaced.

    Parameters
    ----------
    plan : str, Path or Plan
        The plan.
    variants : mapping
        Variant label → fields of the plan to replace, as in a plan file (e.g.
        ``{"with_malus": {"malus": {"triggers": ["gaming_detected"], "reduction": 1.0}}}``).
        An optional field set to None is removed (``{"malus": None}``).

    Returns
    -------
    dict
        ``{"as_is": the plan, label: <plan>_<label>, ...}``, each validated like a plan file.

    Raises
    ------
    ValueError
        A label ``as_is`` or not a plain name, a field the plan grammar does not have (with
        the closest one), or a variant that is not a valid plan (naming the variant).

    Examples
    --------
    >>> plans = variant_plans("mttr_only", {"audited": {"audit": {"probability_per_period": 1}}})
    >>> {label: p.audit.probability_per_period for label, p in plans.items()}
    {'as_is': 0.0, 'audited': 1.0}
    """
    base = as_plan(plan)
    plans = {AS_IS: variant(base, base.name, base.description)}
    fields = set(Plan.model_fields) - {"name", "description", "extends"}
    for label, changes in variants.items():
        if label == AS_IS or not str(label).replace("_", "").isalnum():
            raise ValueError(
                f"variant label {label!r}: give a name of letters, digits and '_', not 'as_is'"
            )
        for key in changes:
            if key not in fields:
                close = difflib.get_close_matches(key, sorted(fields), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"variant {label!r}: {key!r} is not a plan field{hint}")
        described = ", ".join(f"{key}={value}" for key, value in changes.items()) or "no change"
        plans[label] = variant(
            base, f"{base.name}_{label}", f"{base.name} with {described}.", **changes
        )
    return plans


def compare_variants(
    plan: str | Path | Plan,
    variants: Mapping[str, Mapping[str, Any]],
    scenarios: Sequence[str | Path],
    seeds: int | Iterable[int],
    out: str | Path,
    alpha: float = 0.05,
    plans_dir: str | Path | None = None,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    progress: bool = True,
    as_is: bool = True,
) -> tuple[pd.DataFrame, BatchResult]:
    """Run a plan as it is and with some fields changed, paired by seed, and compare them.

    Parameters
    ----------
    plan : str, Path or Plan
        The plan; as it is, it is the batch's reference.
    variants : mapping
        Variant label → fields to replace (see :func:`variant_plans`).
    scenarios : sequence of path
        Scenario files.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds.
    out : path
        The batch directory; finished runs found there are reused.
    alpha : float
        One minus the confidence level of the intervals.
    plans_dir : path, optional
        Where the variants' files are written; a temporary directory by default.
    workers, executor, scheduler, progress
        As for :func:`~toolkit.experiments.batch.run_batch`.
    as_is : bool
        Run the plan as it is too; False runs the variants alone (cheaper when the plan's own
        runs are already at hand), and the differences are NaN.

    Returns
    -------
    DataFrame
        :func:`batch_safeguards`'s table, with a ``variant`` column (``as_is`` first) before
        ``plan``; differences are variant minus the plan as it is.
    BatchResult
        The batch.

    Raises
    ------
    ValueError
        Before anything runs: an invalid variant or ``alpha`` outside (0, 1).

    Examples
    --------
    >>> guards = {"counters": {"counter_metrics": [{"kpi": "on_hold_share",  # doctest: +SKIP
    ...     "trigger": {"above": 0.05}, "action": "multiplier", "multiplier": 0.5}]}}
    >>> table, batch = compare_variants(  # doctest: +SKIP
    ...     "mttr_only", guards, ["scenarios/small.yaml"], 2, "runs/counters"
    ... )
    """
    _check_alpha(alpha)
    plans = variant_plans(plan, variants)
    reference = plans[AS_IS].name if as_is else None
    if not as_is:
        del plans[AS_IS]
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
    by_name = {p.name: p for p in plans.values()}
    _, table = batch_safeguards(result, by_name, reference, alpha)
    if reference is None:  # not the batch's default reference either: no differences
        for measure in PAIRED:
            for suffix in ("_difference", "_ci_low", "_ci_high"):
                table[f"{measure}{suffix}"] = np.nan
    labels = {p.name: label for label, p in plans.items()}
    if len(table):
        table.insert(1, "variant", table["plan"].map(labels))
    return table, result


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha is one minus a confidence level, in (0, 1), not {alpha!r}")
