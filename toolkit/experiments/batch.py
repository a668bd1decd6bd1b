"""Scenario × plan × seed batches: cached, resumable, on a local process pool.

Every run is keyed by a hash of the scenario, the plan, the seed and the toolkit version, and
written to ``OUT/runs/<scenario>/<plan>/seed=<n>/`` through a temporary directory that is
renamed into place only when complete: a batch killed mid-way leaves no half-written result,
and running it again recomputes only what is missing. A failing run is reported with its
scenario, plan and seed and does not stop the others.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import time
import traceback
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

import toolkit
from toolkit.config import Scenario, load_scenario
from toolkit.config.plan import Plan
from toolkit.experiments.analysis import fairness, paired_differences, robust_ranking
from toolkit.plans import load_plan
from toolkit.plans.loading import PLANS_DIR, resolve_plan_path
from toolkit.run.loop import PlanLoop
from toolkit.run.manifest import write_manifest
from toolkit.run.summary import kpis_both_views, summarise

HEADLINE = (
    "gaming_index",
    "risk_aversion_index",
    "total_awards",
    "total_paid",
    "true_health",
    "cost_per_health",
    "reported_score_mean",
    "true_score_mean",
    "awards_gini_teams",
    "gender_gap_awards",
    "liability_end",
    "true_change_throughput",
)
COMPARED = ("true_health", "total_awards", "cost_per_health", "gaming_index")
EXECUTORS = ("local", "dask")
BATCH_TABLES = ("runs.parquet", "summary.parquet", "comparisons.parquet", "ranking.parquet")
RUN_FILES = (
    "manifest.json",
    "kpis.parquet",
    "awards.parquet",
    "behaviour.parquet",
    "liability.parquet",
    "cashflows.parquet",
)
VERSIONED = ("numpy", "pandas", "simpy", "pydantic", "statsmodels", "pyarrow")


def _headline(scenario: Scenario, run, kpis: pd.DataFrame) -> dict:
    """Return a run's headline numbers: summary, fairness, liability, true change pace."""
    true_kpis = kpis[kpis["view"] == "true"].drop(columns="view")
    summary = summarise(run, true_kpis)
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
        """Load the validated scenario and plan."""
        return load_scenario(self.scenario_path), load_plan(self.plan)

    def key(self, scenario: Scenario, plan: Plan) -> str:
        """Hash of what determines the result: content, seed and toolkit version."""
        text = f"{scenario.fingerprint()}/{plan.fingerprint()}/{self.seed}/{toolkit.__version__}"
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def directory(self, out: Path, scenario: Scenario, plan: Plan) -> Path:
        """Where the run's results live inside a batch directory."""
        return out / "runs" / scenario.name / plan.name / f"seed={self.seed}"


@dataclass
class BatchResult:
    """A finished batch: one row per run, failures, and where everything is."""

    runs: pd.DataFrame
    failures: list[dict]
    directory: Path
    stats: dict = field(default_factory=dict)


def _cached(directory: Path, key: str) -> dict | None:
    manifest = directory / "manifest.json"
    if not manifest.is_file():
        return None
    record = json.loads(manifest.read_text())
    complete = all((directory / name).is_file() for name in RUN_FILES)
    return record if record.get("key") == key and complete else None


def execute(spec: RunSpec, out: str) -> dict:
    """Run one spec (or take it from the cache) and return its headline row.

    Runs in a worker process; everything it needs travels in ``spec``.
    """
    scenario, plan = spec.load()
    key = spec.key(scenario, plan)
    final = spec.directory(Path(out), scenario, plan)
    record = _cached(final, key)
    if record is None:
        started = time.perf_counter()
        run = PlanLoop(scenario, plan, spec.seed).run()
        kpis = kpis_both_views(run, scenario.horizon.period)
        staging = final.with_name(f"{final.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        kpis.to_parquet(staging / "kpis.parquet", index=False)
        run.awards.to_parquet(staging / "awards.parquet", index=False)
        run.behaviour.to_parquet(staging / "behaviour.parquet", index=False)
        run.ledger.liability().to_parquet(staging / "liability.parquet", index=False)
        run.ledger.cashflows().to_parquet(staging / "cashflows.parquet", index=False)
        record = {
            "key": key,
            "scenario": scenario.name,
            "plan": plan.name,
            "seed": spec.seed,
            "scenario_fingerprint": scenario.fingerprint(),
            "plan_fingerprint": plan.fingerprint(),
            "toolkit_version": toolkit.__version__,
            "wall_time_seconds": round(time.perf_counter() - started, 3),
            "headline": _headline(scenario, run, kpis),
        }
        (staging / "manifest.json").write_text(json.dumps(record, indent=2, sort_keys=True))
        shutil.rmtree(final, ignore_errors=True)  # a stale result under another key
        os.replace(staging, final)
        record["cached"] = False
    else:
        record["cached"] = True
    row = {name: record["headline"][name] for name in HEADLINE}
    return {
        "scenario": record["scenario"],
        "plan": record["plan"],
        "seed": spec.seed,
        **row,
        "wall_time_seconds": record["wall_time_seconds"],
        "cached": record["cached"],
        "directory": str(final),
    }


def _outcomes(specs: list[RunSpec], out: str, executor: str, workers: int, scheduler: str | None):
    """Yield (spec, row or exception) as runs finish, on the chosen executor."""
    if executor == "dask":
        yield from _dask_outcomes(specs, out, workers, scheduler)
    elif workers == 1:
        for spec in specs:
            try:
                yield spec, execute(spec, out)
            except Exception as exc:  # noqa: BLE001 - one failing run must not stop the batch
                yield spec, exc
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(execute, spec, out): spec for spec in specs}
            for future in as_completed(futures):
                error = future.exception()
                yield futures[future], error if error is not None else future.result()


def _dask_outcomes(specs: list[RunSpec], out: str, workers: int, scheduler: str | None):
    """Run on an existing Dask scheduler, or on a LocalCluster of ``workers`` processes."""
    import dask
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    cluster = None
    if scheduler is None:
        # Start workers the way the local pool does (fork on Linux): they inherit the imported
        # toolkit instead of importing it again, so a short batch is not spent starting up.
        # No dashboard shows the workers' statistical profile, and sampling their stacks every
        # few milliseconds slows the runs by about a tenth: switch it off.
        settings = {
            "distributed.worker.multiprocessing-method": multiprocessing.get_start_method(),
            "distributed.worker.profile.enabled": False,
        }
        with dask.config.set(settings):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
    client = Client(scheduler or cluster)
    try:
        futures = {client.submit(execute, spec, out, pure=False): spec for spec in specs}
        for future in dask_completed(futures):
            error = future.exception()
            yield futures[future], error if error is not None else future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def plan_specs(
    scenarios: Sequence[str | Path], plans: Sequence[str], seeds: int | Iterable[int]
) -> list[RunSpec]:
    """Return every (scenario, plan, seed) combination; an int ``seeds`` means 0 .. n-1."""
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    return [
        RunSpec(str(s), str(p), int(seed)) for s in scenarios for p in plans for seed in seed_list
    ]


def run_batch(
    scenarios: Sequence[str | Path],
    plans: Sequence[str],
    seeds: int | Iterable[int],
    out: str | Path,
    workers: int | None = None,
    progress: bool = True,
    reference: str = "no_incentive",
    executor: str = "local",
    scheduler: str | None = None,
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
    reference : str
        The plan others are compared with, pair by pair on the same seeds.
    executor : str
        ``"local"`` (a process pool; ``workers=1`` runs in this process) or ``"dask"`` (a
        Dask LocalCluster of ``workers`` processes, or the cluster at ``scheduler``).
    scheduler : str, optional
        Address of an existing Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.

    Returns
    -------
    BatchResult
        ``runs`` has one row per finished run; ``failures`` one entry per failed run. Written:
        ``runs.parquet``, ``summary.parquet`` (per scenario and plan), ``comparisons.parquet``
        (paired differences against ``reference`` with confidence intervals), ``ranking.parquet``
        (robust ranking of plans by true health across scenarios) and ``batch.json``.
    """
    out = Path(out)
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {list(EXECUTORS)}")
    if scheduler is not None:
        executor = "dask"
    specs = plan_specs(scenarios, plans, seeds)
    inputs = {}  # refuse a bad file before anything runs, and record what went in
    for spec in {(s.scenario_path, s.plan): s for s in specs}.values():
        scenario, plan = spec.load()
        inputs.setdefault(
            f"scenario:{scenario.name}",
            {"path": spec.scenario_path, "fingerprint": scenario.fingerprint()},
        )
        inputs.setdefault(
            f"plan:{plan.name}",
            {
                "path": str(resolve_plan_path(spec.plan, PLANS_DIR)),
                "fingerprint": plan.fingerprint(),
            },
        )
    for stale in out.glob("runs/*/*/*.tmp-*"):  # left by a batch killed mid-run
        shutil.rmtree(stale, ignore_errors=True)
    workers = workers or os.cpu_count() or 1
    started = time.perf_counter()
    rows, failures = [], []
    bar = tqdm(total=len(specs), desc="runs", unit="run", disable=not progress)

    def settle(spec: RunSpec, outcome) -> None:
        if isinstance(outcome, BaseException):
            failures.append(
                {
                    "scenario": spec.scenario_path,
                    "plan": spec.plan,
                    "seed": spec.seed,
                    "error": f"{type(outcome).__name__}: {outcome}",
                    "traceback": "".join(traceback.format_exception(outcome)),
                }
            )
        else:
            rows.append(outcome)
        bar.update(1)

    for spec, outcome in _outcomes(specs, str(out), executor, workers, scheduler):
        settle(spec, outcome)
    bar.close()
    runs = pd.DataFrame(rows)
    if len(runs):
        runs = runs.sort_values(["scenario", "plan", "seed"], ignore_index=True)
    elapsed = time.perf_counter() - started
    stats = {
        "runs": len(specs),
        "computed": int((~runs["cached"]).sum()) if len(runs) else 0,
        "cached": int(runs["cached"].sum()) if len(runs) else 0,
        "failed": len(failures),
        "workers": workers,
        "executor": executor,
        "elapsed_seconds": round(elapsed, 3),
        "seconds_per_run": round(elapsed / max(len(specs), 1), 3),
    }
    out.mkdir(parents=True, exist_ok=True)
    if len(runs):
        runs.drop(columns="directory").to_parquet(out / "runs.parquet", index=False)
        summary = summarise_batch(runs, reference)
        summary.to_parquet(out / "summary.parquet", index=False)
        if (runs["plan"] == reference).any():
            paired_differences(runs, reference, COMPARED).to_parquet(
                out / "comparisons.parquet", index=False
            )
        robust_ranking(summary, "true_health", higher_is_better=True).to_parquet(
            out / "ranking.parquet", index=False
        )
    (out / "batch.json").write_text(
        json.dumps({"stats": stats, "failures": failures}, indent=2, sort_keys=True)
    )
    outputs = [p for p in (out / name for name in BATCH_TABLES) if p.is_file()]
    write_manifest(
        out,
        {
            "command": "batch",
            "inputs": inputs,
            "seeds": sorted({spec.seed for spec in specs}),
            "reference": reference,
            "executor": {"kind": executor, "workers": workers, "scheduler": scheduler},
            "stats": stats,
            "versions": {name: version(name) for name in VERSIONED},
        },
        [*outputs, out / "batch.json"],
    )
    return BatchResult(runs, failures, out, stats)


def summarise_batch(runs: pd.DataFrame, reference: str = "no_incentive") -> pd.DataFrame:
    """Return one row per scenario and plan: headline means over seeds, and more.

    ``liability_p50`` and ``liability_p90`` are quantiles over seeds of the liability left at
    the horizon's end. Where the batch holds the ``reference`` plan, ``risk_aversion_vs_reference``
    is the mean over seeds of 1 − true change throughput / the reference's on the same seed.
    """
    grouped = runs.groupby(["scenario", "plan"], sort=True)
    table = grouped[list(HEADLINE)].mean().reset_index()
    table.insert(2, "seeds", grouped.size().to_numpy())
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
    return table
