"""One run written to disk: true and reported logs, KPIs, awards, behaviour, summary, manifest."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from toolkit.config import Scenario, load_scenario
from toolkit.run.loop import PlanLoop, PlanRun
from toolkit.run.manifest import file_sha256, write_manifest
from toolkit.run.outputs import check_output_dir, staged_directory, write_json
from toolkit.run.summary import kpis_both_views, summarise
from toolkit.run.vendors import vendor_tables

DEFAULT_PLAN = "no_incentive"


@dataclass
class RunResult:
    """What a run produced, in memory and on disk."""

    scenario: Scenario
    seed: int
    run: PlanRun
    kpis: pd.DataFrame
    summary: dict
    directory: Path
    wall_time_seconds: float

    @property
    def truth(self):
        """The true event log."""
        return self.run.truth

    @property
    def reported(self):
        """The reported event log."""
        return self.run.reported


def _plan_path(plan: str | Path | None) -> str | Path:
    return DEFAULT_PLAN if plan is None else plan


def run_scenario(
    scenario_path: str | Path,
    seed: int | None,
    out: str | Path,
    plan: str | Path | None = None,
    progress: bool = False,
    force: bool = False,
) -> RunResult:
    """Run a scenario file under a plan and write every output with a manifest.

    The output directory is checked before the simulation starts and written whole or not at
    all: into a staging directory renamed into place once every file and the manifest are
    written, so a run that fails leaves the previous ``out`` (or nothing) behind.

    Parameters
    ----------
    scenario_path : str or Path
        Scenario YAML; refused with :class:`toolkit.config.ConfigError` if invalid.
    seed : int or None
        Random seed; ``None`` takes the scenario's own.
    out : str or Path
        Output directory, created if missing. If it exists it must be empty or hold this same
        run (same scenario and plan fingerprints and seed) and nothing else.
    plan : str or Path, optional
        A plan name from ``scenarios/plans`` or a plan file; ``no_incentive`` by default.
    progress : bool
        Show a progress bar over the periods (on standard error).
    force : bool
        Replace whatever ``out`` holds (never the run's own input files).

    Returns
    -------
    RunResult

    Raises
    ------
    OutputError
        If ``out`` is refused (see :func:`toolkit.run.outputs.check_output_dir`).
    """
    from toolkit.plans import load_plan
    from toolkit.plans.loading import PLANS_DIR, resolve_plan_path

    started = time.perf_counter()
    scenario = load_scenario(scenario_path)
    plan_model = load_plan(_plan_path(plan), scenario=scenario)
    source = resolve_plan_path(_plan_path(plan), PLANS_DIR)
    seed = scenario.seed if seed is None else seed
    record = {
        "command": "simulate",
        "scenario": {
            "path": str(scenario_path),
            "name": scenario.name,
            "fingerprint": scenario.fingerprint(),
            "file_sha256": file_sha256(scenario_path),
        },
        "plan": {
            "path": str(source),
            "name": plan_model.name,
            "fingerprint": plan_model.fingerprint(),
            "file_sha256": file_sha256(source),
        },
        "seed": seed,
    }
    identity = {
        "scenario.fingerprint": record["scenario"]["fingerprint"],
        "plan.fingerprint": record["plan"]["fingerprint"],
        "seed": seed,
    }
    directory = check_output_dir(
        out, "simulate", identity, force=force, inputs=[scenario_path, source]
    )

    loop = PlanLoop(scenario, plan_model, seed)
    with tqdm(total=len(loop.labels), desc="periods", unit="period", disable=not progress) as bar:
        run = loop.run(progress=lambda done, total: bar.update(1))
    kpis = kpis_both_views(run, scenario.horizon.period)
    summary = summarise(run)

    with staged_directory(directory) as staging:
        outputs = [
            *run.truth.write_parquet(staging / "truth").iterdir(),
            *run.reported.write_parquet(staging / "reported").iterdir(),
        ]
        tables = {
            "kpis": kpis,
            "awards": run.awards,
            "behaviour": run.behaviour,
            "cashflows": run.ledger.cashflows(),
            "data_availability": run.data_availability,
            **vendor_tables(run),
        }
        for name, table in tables.items():
            table.to_parquet(staging / f"{name}.parquet", index=False)
            outputs.append(staging / f"{name}.parquet")
        outputs.append(write_json(staging / "summary.json", summary))
        wall = time.perf_counter() - started
        write_manifest(staging, {**record, "wall_time_seconds": round(wall, 3)}, outputs)
    return RunResult(scenario, seed, run, kpis, summary, directory, wall)
