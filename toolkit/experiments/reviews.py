"""The annual plan review over several plans: simulate each with its logs, then review it.

A batch keeps only its runs' KPIs, so the review (:mod:`toolkit.report.review`), which reads the
reported and true logs, needs runs written by :func:`toolkit.run.run_scenario`.
:func:`review_plans` writes one such run per plan and seed under one directory
(``<out>/<plan id>/seed=<n>/``, the id being the plan's name and 12 hex digits of its
fingerprint, as in a batch), reuses a finished run of the same scenario, plan, seed and toolkit
code, and stacks the reviews. :func:`signature_summary` says per plan which signatures the
review found, how large and whether the truth confirms them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config import load_scenario
from toolkit.experiments.cache import code_fingerprint
from toolkit.plans import load_plan
from toolkit.report.review import review_run
from toolkit.run import run_scenario
from toolkit.run.manifest import read_manifest

CODE_FILE = "code_fingerprint"  # beside each run directory: the toolkit code it was run with
SUMMARY_COLUMNS = (
    "plan",
    "signature",
    "runs",
    "runs_found",
    "teams_found",
    "confirmed",
    "size",
    "before",
    "during",
    "evidence",
)


def _plan_id(name: str, fingerprint: str) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}-{fingerprint[:12]}"


def _simulate(scenario: str, plan: str, seed: int, directory: str, code: str) -> str:
    """Write one run (or keep the finished one) and return its directory."""
    path = Path(directory)
    marker = path.parent / f"seed={seed}.{CODE_FILE}"
    manifest = read_manifest(path) if path.is_dir() else None
    if (
        manifest is not None
        and marker.is_file()
        and marker.read_text() == code
        and manifest.get("seed") == seed
    ):
        return directory
    run_scenario(scenario, seed, path, plan=plan, force=True)
    marker.write_text(code)
    return directory


def review_plans(
    scenario: str | Path,
    plans: Sequence[str | Path],
    seeds: int | Iterable[int],
    out: str | Path,
    workers: int | None = None,
) -> pd.DataFrame:
    """Simulate every plan on every seed with its logs kept, and review each run.

    Parameters
    ----------
    scenario : str or Path
        A scenario file.
    plans : sequence of str or Path
        Library plan names or plan files.
    seeds : int or iterable of int
        ``n`` for seeds 0..n-1, or the seeds.
    out : path
        The directory the runs are written under; finished runs found there are reused.
    workers : int, optional
        Processes to run in (default: one per run, at most the CPU count); 1 runs here.

    Returns
    -------
    DataFrame
        :func:`toolkit.report.review.review_run`'s table of every run, stacked, with ``plan``
        and ``seed`` columns first.

    Raises
    ------
    ConfigError
        A scenario or plan that does not load or does not fit (the plan named, with the closest
        library plan for a misspelt name).
    ValueError
        No plan or no seed, or a negative seed.

    Examples
    --------
    >>> table = review_plans(  # doctest: +SKIP
    ...     "scenarios/small.yaml", ["no_incentive", "mttr_only"], 1, "runs/review"
    ... )
    >>> signature_summary(table)  # doctest: +SKIP
    """
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not plans or not seed_list:
        raise ValueError("give at least one plan and one seed")
    if min(seed_list) < 0:
        raise ValueError(f"seeds are whole numbers from 0, not {min(seed_list)}")
    model = load_scenario(scenario)
    loaded = [(str(plan), load_plan(plan, scenario=model)) for plan in plans]
    out = Path(out)
    code = code_fingerprint()
    jobs = []
    for given, plan in loaded:
        parent = out / _plan_id(plan.name, plan.fingerprint())
        parent.mkdir(parents=True, exist_ok=True)
        for seed in seed_list:
            jobs.append((str(scenario), given, seed, str(parent / f"seed={seed}"), code))
    if workers == 1 or len(jobs) == 1:
        directories = [_simulate(*job) for job in jobs]
    else:
        with ProcessPoolExecutor(
            max_workers=workers or min(len(jobs), os.cpu_count() or 1)
        ) as pool:
            directories = list(pool.map(_simulate, *zip(*jobs, strict=True)))
    tables = []
    for (_, given, seed, _, _), directory in zip(jobs, directories, strict=True):
        table, manifest = review_run(directory)
        name = manifest.get("plan", {}).get("name", given)
        tables.append(table.assign(plan=name, seed=seed))
    stacked = pd.concat(tables, ignore_index=True)
    return stacked[["plan", "seed", *[c for c in stacked.columns if c not in ("plan", "seed")]]]


def signature_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Say per plan and signature what the review found across teams and seeds.

    Parameters
    ----------
    table : DataFrame
        :func:`review_plans`'s table.

    Returns
    -------
    DataFrame
        One row per plan and signature (team rows only; the organisation row is left out, so a
        team's gaming is not counted twice): ``runs`` reviewed, ``runs_found`` (runs in which
        some team shows it), ``teams_found`` (team reviews that found it, summed over runs),
        ``confirmed`` (of those, the ones the truth confirms), and for the largest finding its
        ``size``, ``before``, ``during`` and ``evidence`` (NaN and empty where nothing was
        found); sorted by plan, then by ``teams_found`` and ``size``, most found first (sizes
        are in each signature's own unit, so they compare within a signature only).
    """
    teams = table[table["team_id"] != "ALL"]
    rows = []
    for (plan, signature), group in teams.groupby(["plan", "signature"], sort=True):
        found = group[group["found"].astype(bool)]
        largest = found.loc[found["size"].idxmax()] if len(found) else None
        rows.append(
            {
                "plan": plan,
                "signature": signature,
                "runs": int(group["seed"].nunique()),
                "runs_found": int(found["seed"].nunique()),
                "teams_found": len(found),
                "confirmed": int(sum(value is True for value in found["confirmed"])),
                "size": np.nan if largest is None else float(largest["size"]),
                "before": np.nan if largest is None else float(largest["before"]),
                "during": np.nan if largest is None else float(largest["during"]),
                "evidence": "" if largest is None else str(largest["evidence"]),
            }
        )
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return summary.sort_values(
        ["plan", "teams_found", "size"],
        ascending=[True, False, False],
        na_position="last",
        ignore_index=True,
    )
