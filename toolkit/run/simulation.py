"""One simulated run written to disk: the true log, its KPIs and a manifest."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from toolkit.config import Scenario, load_scenario
from toolkit.events import EventLog
from toolkit.metrics import compute_kpis
from toolkit.run.manifest import file_sha256, write_manifest
from toolkit.sim import simulate


@dataclass
class RunResult:
    """What a run produced, in memory and on disk."""

    scenario: Scenario
    seed: int
    truth: EventLog
    kpis: pd.DataFrame
    directory: Path
    wall_time_seconds: float


def run_scenario(scenario_path: str | Path, seed: int | None, out: str | Path) -> RunResult:
    """Simulate a scenario file and write ``truth/``, ``kpis.parquet`` and ``manifest.json``.

    Parameters
    ----------
    scenario_path : str or Path
        Scenario YAML; refused with :class:`toolkit.config.ConfigError` if invalid.
    seed : int or None
        Random seed; ``None`` takes the scenario's own.
    out : str or Path
        Output directory, created if missing.

    Returns
    -------
    RunResult
    """
    started = time.perf_counter()
    scenario = load_scenario(scenario_path)
    seed = scenario.seed if seed is None else seed
    truth = simulate(scenario, seed)
    kpis = compute_kpis(truth, period=scenario.horizon.period)
    directory = Path(out)
    truth_dir = truth.write_parquet(directory / "truth")
    kpis.to_parquet(directory / "kpis.parquet", index=False)
    wall = time.perf_counter() - started
    outputs = [*truth_dir.iterdir(), directory / "kpis.parquet"]
    write_manifest(
        directory,
        {
            "command": "simulate",
            "scenario": {
                "path": str(scenario_path),
                "name": scenario.name,
                "fingerprint": scenario.fingerprint(),
                "file_sha256": file_sha256(scenario_path),
            },
            "seed": seed,
            "wall_time_seconds": round(wall, 3),
        },
        outputs,
    )
    return RunResult(scenario, seed, truth, kpis, directory, wall)
