"""Scenario × plan × seed batches: cached, resumable, on a local process pool or Dask.

Every run is keyed by a hash of the scenario, the plan, the seed, the toolkit's version and its
code, and written to ``OUT/runs/<scenario id>/<plan id>/seed=<n>/`` (an id is a slug of the
name and a prefix of the content's fingerprint, :func:`toolkit.run.outputs.path_id`, so a name
can never lead outside ``OUT``) through a temporary directory that is renamed into place only
when complete: a batch killed mid-way leaves no half-written result, and running it again
recomputes only what is missing or no longer matches the hashes its manifest recorded. Each
row of ``runs.parquet`` records its run's directory relative to ``OUT``. A failing run is
reported with its scenario, plan and seed and does not stop the others.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

import toolkit
from toolkit.config import Scenario
from toolkit.config.plan import Plan
from toolkit.experiments.analysis import (
    awards_per_loss_avoided,
    fairness,
    net_value,
    paired_differences,
    robust_ranking,
)
from toolkit.experiments.cache import cached_run, code_fingerprint, run_key
from toolkit.experiments.directory import (
    RECORD,
    RUN_STAGING,
    RUNS,
    batch_directory,
    publish,
    sweep_staging,
)
from toolkit.experiments.executors import EXECUTORS, outcomes
from toolkit.experiments.inputs import (
    BatchError,
    check_pairs,
    load_scenario_file,
    plan_inputs,
    reference_plan,
    scenario_inputs,
    seed_list,
    worker_count,
)
from toolkit.finance.vendor_credits import vendor_summary
from toolkit.metrics.business_impact import business_impact
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop
from toolkit.run.manifest import file_sha256
from toolkit.run.outputs import MANIFEST, path_id, write_json
from toolkit.run.summary import kpis_both_views, summarise
from toolkit.run.vendors import vendor_tables

HEADLINE = (
    "gaming_index",
    "risk_aversion_index",
    "total_awards",
    "total_paid",
    "true_health",
    "reported_score_mean",
    "true_score_mean",
    "awards_gini_teams",
    "gender_gap_awards",
    "liability_end",
    "true_change_throughput",
    "business_loss",
    "delivery_value",
)
COMPARED = (
    "net_value",
    "business_loss",
    "delivery_value",
    "total_awards",
    "gaming_index",
    "true_health",
)
RUN_TABLES = (
    "kpis.parquet",
    "awards.parquet",
    "behaviour.parquet",
    "liability.parquet",
    "cashflows.parquet",
    "business_impact.parquet",
    "vendor_sla.parquet",
    "vendor_behaviour.parquet",
    "penalty_split.parquet",
    "data_availability.parquet",
)
# per-run tables the batch also stacks into one of the same name, keyed by scenario, plan, seed
STACKED = ("vendor_behaviour.parquet", "penalty_split.parquet")
RUN_FILES = (MANIFEST, *RUN_TABLES)
VERSIONED = ("numpy", "pandas", "simpy", "pydantic", "statsmodels", "pyarrow")


def _headline(scenario: Scenario, run, kpis: pd.DataFrame) -> dict:
    """Return a run's headline numbers: summary, fairness, liability, true change pace."""
    true_kpis = kpis[kpis["view"] == "true"].drop(columns="view")
    summary = summarise(run)
    people = pd.DataFrame(
        [
            {"person_id": p.id, "team_id": t.id, "gender": p.gender}
            for t in scenario.organisation.teams
            for p in t.people
        ]
    )
    liability = run.ledger.liability()
    end = liability[liability["period"] == liability["period"].iloc[-1]] if len(liability) else None
    labels = run.behaviour["period"].drop_duplicates().tolist()[run.plan.start_after_periods :]
    org = true_kpis[
        (true_kpis["team_id"] == "ALL")
        & (true_kpis["kpi"] == "change_throughput")
        & true_kpis["period"].isin(labels)
    ]
    return {
        **{name: summary[name] for name in HEADLINE if name in summary},
        **fairness(run.awards, people),
        "liability_end": float(end["liability"].sum()) if end is not None else 0.0,
        "true_change_throughput": float(org["value"].mean()) if len(org) else float("nan"),
    }


@dataclass(frozen=True)
class RunSpec:
    """One run of a batch: a scenario file, a plan (name or file) and a seed."""

    scenario_path: str
    plan: str
    seed: int

    def load(self) -> tuple[Scenario, Plan]:
        """Load the validated scenario and the plan, checked against the scenario."""
        scenario = load_scenario_file(self.scenario_path)
        return scenario, load_plan(self.plan, scenario=scenario)

    def key(self, scenario: Scenario, plan: Plan) -> str:
        """Hash of what determines the result: content, seed, toolkit version and code."""
        return run_key(scenario, plan, self.seed)

    def directory(self, scenario: Scenario, plan: Plan) -> PurePosixPath:
        """Where the run's results live, relative to the batch directory.

        Built from ids (slug and fingerprint) of the scenario and the plan, never from their
        raw names, so the path is always three components below ``runs``.
        """
        return PurePosixPath(
            RUNS,
            path_id(scenario.name, scenario.fingerprint()),
            path_id(plan.name, plan.fingerprint()),
            f"seed={int(self.seed)}",
        )


@dataclass
class BatchResult:
    """A finished batch: one row per run, failures, where everything is, the reference plan."""

    runs: pd.DataFrame
    failures: list[dict]
    directory: Path
    stats: dict = field(default_factory=dict)
    reference: str | None = None


def _write_run(staging: Path, run, kpis: pd.DataFrame) -> dict[str, str]:
    """Write a run's tables into ``staging`` and return the hash of each file."""
    tables = {
        "kpis.parquet": kpis,
        "awards.parquet": run.awards,
        "behaviour.parquet": run.behaviour,
        "liability.parquet": run.ledger.liability(),
        "cashflows.parquet": run.ledger.cashflows(),
        "business_impact.parquet": business_impact(
            run.truth, run.scenario.business_impact, run.scenario.horizon.period
        ),
        **{f"{name}.parquet": table for name, table in vendor_tables(run).items()},
        "data_availability.parquet": run.data_availability,
    }
    for name, table in tables.items():
        table.to_parquet(staging / name, index=False)
    return {name: file_sha256(staging / name) for name in RUN_TABLES}


def execute(spec: RunSpec, out: str) -> dict:
    """Run one spec (or take it from the cache) and return its headline row.

    Runs in a worker process; everything it needs travels in ``spec``.
    """
    scenario, plan = spec.load()
    key = spec.key(scenario, plan)
    relative = spec.directory(scenario, plan)
    final = Path(out) / relative
    if not final.resolve().is_relative_to(Path(out).resolve()):
        raise BatchError(f"{final}: a link inside the batch directory leads out of it")
    record = cached_run(final, key, RUN_TABLES)
    if record is None:
        started = time.perf_counter()
        run = PlanLoop(scenario, plan, spec.seed).run()
        kpis = kpis_both_views(run, scenario.horizon.period)
        staging = final.with_name(f"{final.name}{RUN_STAGING}{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        hashes = _write_run(staging, run, kpis)
        record = {
            "key": key,
            "scenario": scenario.name,
            "plan": plan.name,
            "seed": spec.seed,
            "scenario_fingerprint": scenario.fingerprint(),
            "plan_fingerprint": plan.fingerprint(),
            "toolkit_version": toolkit.__version__,
            "code_fingerprint": code_fingerprint(),
            "wall_time_seconds": round(time.perf_counter() - started, 3),
            "headline": _headline(scenario, run, kpis),
            "outputs": hashes,
        }
        write_json(staging / MANIFEST, record)
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)  # a stale or damaged result under another key
        elif final.exists() or final.is_symlink():
            final.unlink()
        os.replace(staging, final)
        record["cached"] = False
    else:
        record["cached"] = True
    headline = record["headline"]
    row = {name: float("nan") if headline[name] is None else headline[name] for name in HEADLINE}
    return {
        "scenario": record["scenario"],
        "plan": record["plan"],
        "seed": spec.seed,
        **row,
        "wall_time_seconds": record["wall_time_seconds"],
        "cached": record["cached"],
        "directory": relative.as_posix(),
    }


def plan_specs(
    scenarios: Sequence[str | Path], plans: Sequence[str], seeds: int | Iterable[int]
) -> list[RunSpec]:
    """Return every (scenario, plan, seed) combination; an int ``seeds`` means 0 .. n-1."""
    return [
        RunSpec(str(s), str(p), seed) for s in scenarios for p in plans for seed in seed_list(seeds)
    ]


def run_batch(
    scenarios: Sequence[str | Path],
    plans: Sequence[str],
    seeds: int | Iterable[int],
    out: str | Path,
    workers: int | None = None,
    progress: bool = True,
    reference: str | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    force: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> BatchResult:
    """Run scenarios × plans × seeds on a local process pool or Dask; collect the headlines.

    Parameters
    ----------
    scenarios : sequence of path
        Scenario files; each is validated before any run starts.
    plans : sequence of str
        Plan names (``scenarios/plans``) or plan files.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds themselves. A seed gives the same exogenous events
        under every plan (common random numbers), so plans compare pair by pair.
    out : path
        Batch directory; finished runs found there are reused.
    workers : int, optional
        Worker processes (default: the machine's CPU count); 1 runs in this process.
    progress : bool
        Show a progress bar.
    reference : str, optional
        The plan others are compared with, pair by pair on the same seeds: a plan of the batch
        by name or as given; by default ``no_incentive`` when the batch holds it, else none
        (no net value, comparisons or ranking).
    executor : str
        ``"local"`` (a process pool; ``workers=1`` runs in this process) or ``"dask"`` (a
        Dask LocalCluster of ``workers`` processes, or the cluster at ``scheduler``).
    scheduler : str, optional
        Address of an existing Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    force : bool
        Replace whatever ``out`` holds if it is not a batch directory, instead of refusing it.
    on_progress : callable, optional
        Called as ``on_progress(finished, total)`` after each run finishes (or fails), for a
        caller that shows its own progress (the plan designer).
    cancel : threading.Event, optional
        Set from another thread to stop the batch: the workers are stopped, half-written runs
        removed, no batch table is published, and
        :class:`~toolkit.experiments.executors.BatchCancelledError` is raised. Finished runs stay
        in the cache.

    Returns
    -------
    BatchResult
        ``runs`` has one row per finished run; ``failures`` one entry per failed run. Written:
        ``runs.parquet`` (with ``net_value`` against ``reference`` on the same seed),
        ``summary.parquet`` (per scenario and plan), ``comparisons.parquet`` (paired
        differences against ``reference`` with confidence intervals), ``ranking.parquet``
        (robust ranking of plans by net value across scenarios), ``batch.json`` and, last,
        ``manifest.json`` (which records the reference) with the hash of each of them and of
        every run's manifest; the last three tables only with a reference.

    Raises
    ------
    BatchError
        Before anything runs: an unknown executor, no scenario, plan or seed, a file listed
        twice, two inputs of one name, a worker count below 1, or a reference plan that is
        not in the batch.
    ConfigError
        Before anything runs, if a scenario or plan is invalid.
    OutputError
        Before anything runs, if ``out`` cannot or must not receive the batch, or another
        batch is writing it.
    """
    if executor not in EXECUTORS:
        raise BatchError(f"unknown executor {executor!r}; choose one of {list(EXECUTORS)}")
    if scheduler is not None:
        executor = "dask"
    workers = worker_count(workers)
    seeds = seed_list(seeds)
    scenario_list, plan_list = scenario_inputs(scenarios), plan_inputs(plans)
    reference = reference_plan(reference, plan_list)
    check_pairs(scenario_list, plan_list)
    inputs = {  # what went in, for the manifest and the report
        **{
            f"scenario:{s.name}": {"path": s.given, "fingerprint": s.model.fingerprint()}
            for s in scenario_list
        },
        **{
            f"plan:{p.name}": {"path": str(p.path), "fingerprint": p.model.fingerprint()}
            for p in plan_list
        },
    }
    specs = plan_specs([s.given for s in scenario_list], [p.given for p in plan_list], seeds)
    code = code_fingerprint()  # once, before workers start, so that forked workers inherit it
    with batch_directory(out, force) as out:
        rows, failures = [], []
        started = time.perf_counter()
        bar = tqdm(total=len(specs), desc="runs", unit="run", disable=not progress)
        stream = outcomes(execute, specs, str(out), executor, workers, scheduler, cancel)
        try:
            with closing(stream):
                for spec, outcome in stream:
                    if isinstance(outcome, BaseException):
                        failures.append(_failure(spec, outcome))
                    else:
                        rows.append(outcome)
                    bar.update(1)
                    if on_progress is not None:
                        on_progress(len(rows) + len(failures), len(specs))
        except BaseException:
            sweep_staging(out)  # the workers are stopped: drop what they left half-written
            raise
        finally:
            bar.close()
        runs = pd.DataFrame(rows)
        if len(runs):
            runs = runs.sort_values(["scenario", "plan", "seed"], ignore_index=True)
            if reference is not None:
                runs["net_value"] = net_value(runs, reference)
        elapsed = time.perf_counter() - started
        stats = {
            "runs": len(specs),
            "computed": int((~runs["cached"]).sum()) if len(runs) else 0,
            "cached": int(runs["cached"].sum()) if len(runs) else 0,
            "failed": len(failures),
            "workers": workers,
            "executor": executor,
            "elapsed_seconds": round(elapsed, 3),
            "seconds_per_run": round(elapsed / len(specs), 3),
        }

        def write(staging: Path) -> None:
            if len(runs):
                runs.to_parquet(staging / "runs.parquet", index=False)
                summary = summarise_batch(runs, reference)
                summary.to_parquet(staging / "summary.parquet", index=False)
                if (runs["plan"] == reference).any():
                    paired_differences(runs, reference, COMPARED).to_parquet(
                        staging / "comparisons.parquet", index=False
                    )
                    robust_ranking(summary, "net_value", higher_is_better=True).to_parquet(
                        staging / "ranking.parquet", index=False
                    )
                vendor_results(out, runs).to_parquet(staging / "vendors.parquet", index=False)
                for name in STACKED:
                    stacked_runs(out, runs, name).to_parquet(staging / name, index=False)
            write_json(staging / RECORD, {"stats": stats, "failures": failures})

        run_manifests = {
            directory: file_sha256(out / directory / MANIFEST)
            for directory in (runs["directory"] if len(runs) else [])
        }
        publish(
            out,
            write,
            {
                "command": "batch",
                "inputs": inputs,
                "seeds": seeds,
                "reference": reference,
                "executor": {"kind": executor, "workers": workers, "scheduler": scheduler},
                "stats": stats,
                "code_fingerprint": code,
                "runs": run_manifests,
                "versions": {name: version(name) for name in VERSIONED},
            },
        )
    return BatchResult(runs, failures, out, stats, reference)


def vendor_results(out: Path, runs: pd.DataFrame) -> pd.DataFrame:
    """Return every run's per-vendor SLA summary, one row per run and vendor or subcontractor.

    Parameters
    ----------
    out, runs
        The batch directory and its runs, as for :func:`stacked_runs`.

    Returns
    -------
    DataFrame
        ``scenario, plan, seed`` then the columns of
        :func:`toolkit.finance.vendor_credits.vendor_summary`.
    """
    return stacked_runs(out, runs, "vendor_sla.parquet", vendor_summary)


def stacked_runs(
    out: Path,
    runs: pd.DataFrame,
    name: str,
    transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Return one per-run table of every run of a batch, stacked with its run's keys.

    Parameters
    ----------
    out : Path
        The batch directory.
    runs : DataFrame
        The batch's runs (``scenario, plan, seed, directory``).
    name : str
        The file in each run directory, e.g. ``penalty_split.parquet``.
    transform : callable, optional
        Applied to each run's table before stacking (e.g. a summary).

    Returns
    -------
    DataFrame
        ``scenario, plan, seed`` then the table's columns; no rows when no run has any.
    """
    parts = []
    for run in runs.itertuples():
        table = pd.read_parquet(out / run.directory / name)
        table = transform(table) if transform else table
        parts.append(table.assign(scenario=run.scenario, plan=run.plan, seed=run.seed))
    parts = [p for p in parts if len(p)] or parts[:1]
    if not parts:
        return pd.DataFrame(columns=["scenario", "plan", "seed"])
    table = pd.concat(parts, ignore_index=True)
    first = ["scenario", "plan", "seed"]
    return table[first + [c for c in table.columns if c not in first]]


def _failure(spec: RunSpec, error: BaseException) -> dict:
    """Describe a failed run for ``batch.json`` and the terminal."""
    return {
        "scenario": spec.scenario_path,
        "plan": spec.plan,
        "seed": spec.seed,
        "error": f"{type(error).__name__}: {error}",
        "traceback": "".join(traceback.format_exception(error)),
    }


def summarise_batch(runs: pd.DataFrame, reference: str | None = "no_incentive") -> pd.DataFrame:
    """Return one row per scenario and plan: headline means over seeds, and more.

    Parameters
    ----------
    runs : DataFrame
        One row per run (``runs.parquet``).
    reference : str, optional
        The plan compared with; None for a batch without one.

    Returns
    -------
    DataFrame
        Means over seeds of the headline numbers, ``seeds``, and ``liability_p50`` and
        ``liability_p90``: quantiles over seeds of the liability left at the horizon's end.
        Where the batch holds the ``reference`` plan, ``risk_aversion_vs_reference`` is the
        mean over seeds of 1 − true change throughput / the reference's on the same seed;
        ``net_value`` (:func:`~toolkit.experiments.analysis.net_value`, against ``reference``)
        its mean over seeds, ``net_value_ci_low`` and ``net_value_ci_high`` its paired 95 %
        interval (as in ``comparisons.parquet``; NaN for the reference and for a plan with
        fewer than two seed pairs, which give no interval), and ``awards_per_loss_avoided``
        the extra awards paid per unit of loss avoided
        (:func:`~toolkit.experiments.analysis.awards_per_loss_avoided`).
    """
    if reference is not None and {"business_loss", "delivery_value"} <= set(runs.columns):
        runs = runs.assign(net_value=net_value(runs, reference))
    grouped = runs.groupby(["scenario", "plan"], sort=True)
    measured = [name for name in (*HEADLINE, "net_value") if name in runs.columns]
    table = grouped[measured].mean().reset_index()
    table.insert(2, "seeds", grouped["seed"].nunique().to_numpy())
    table["liability_p50"] = grouped["liability_end"].quantile(0.5).to_numpy()
    table["liability_p90"] = grouped["liability_end"].quantile(0.9).to_numpy()
    base = runs[runs["plan"] == reference].set_index(["scenario", "seed"])["true_change_throughput"]
    if len(base):
        paired = runs.join(base.rename("reference_throughput"), on=["scenario", "seed"])
        paired["caution"] = 1 - paired["true_change_throughput"] / paired["reference_throughput"]
        caution = paired.groupby(["scenario", "plan"])["caution"].mean()
        table["risk_aversion_vs_reference"] = caution.reindex(
            pd.MultiIndex.from_frame(table[["scenario", "plan"]])
        ).to_numpy()
        if "net_value" in runs.columns:
            table[["net_value_ci_low", "net_value_ci_high"]] = _net_value_interval(
                runs, reference, table
            )
            table["awards_per_loss_avoided"] = (
                awards_per_loss_avoided(runs, reference)
                .reindex(pd.MultiIndex.from_frame(table[["scenario", "plan"]]))
                .to_numpy()
            )
    return table


def _net_value_interval(runs: pd.DataFrame, reference: str, table: pd.DataFrame) -> np.ndarray:
    """Return the paired 95 % interval of each summary row's net value, NaN where it has none.

    The same interval as ``comparisons.parquet`` holds, so that the summary can be read alone;
    one seed pair (or none, for the reference) gives no interval.
    """
    compared = paired_differences(runs, reference, ("net_value",))
    if not len(compared):
        return np.full((len(table), 2), np.nan)
    compared = compared.set_index(["scenario", "plan"])
    compared.loc[compared["pairs"] < 2, ["ci_low", "ci_high"]] = np.nan
    keys = pd.MultiIndex.from_frame(table[["scenario", "plan"]])
    return compared[["ci_low", "ci_high"]].reindex(keys).to_numpy(dtype=float)
