"""Read a batch directory (what ``lti batch`` writes) into tables for the decision report.

A batch directory holds ``manifest.json`` (``"command": "batch"``), ``runs.parquet`` (one row
per run), ``summary.parquet`` (per scenario and plan), ``comparisons.parquet`` (paired
differences against the batch's reference plan) and one directory per run, recorded relative
to the batch directory in the ``directory`` column of ``runs.parquet``. Nothing is simulated
again; only when the report's reference plan is not the batch's are the reference-dependent
columns recomputed from ``runs.parquet`` with the toolkit's own functions.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from toolkit.config import ConfigError, load_scenario
from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.experiments.analysis import net_value, paired_differences
from toolkit.experiments.batch import COMPARED, RUN_FILES, summarise_batch
from toolkit.experiments.inputs import DEFAULT_REFERENCE
from toolkit.plans import load_plan
from toolkit.resources import SHIPPED_ROOT

BATCH_FILES = ("manifest.json", "runs.parquet", "summary.parquet")
MONEY = ("business_loss", "delivery_value", "total_awards")
RUN_TABLES = tuple(name.removesuffix(".parquet") for name in RUN_FILES if name.endswith(".parquet"))
COMPARISON_COLUMNS = (
    "scenario",
    "plan",
    "reference",
    "metric",
    "mean_difference",
    "ci_low",
    "ci_high",
    "pairs",
)


class ReportError(Exception):
    """A problem with the report's inputs that the user can fix: directory, plan, scenario."""


def unknown_name(kind: str, name: object, known: list[str]) -> str:
    """Return a message naming an unknown ``kind``, the closest known name and all of them."""
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    return f"unknown {kind} {name!r}{hint} Known: {', '.join(known) or 'none'}"


@dataclass
class Batch:
    """A finished batch, narrowed to the scenarios the report covers.

    Attributes
    ----------
    directory : Path
        The batch directory.
    manifest : dict
        Its ``manifest.json``: inputs with their paths and fingerprints, seeds, reference.
    runs : DataFrame
        One row per finished run (``runs.parquet``).
    summary : DataFrame
        One row per scenario and plan (``summary.parquet``), against ``reference``.
    comparisons : DataFrame
        Paired differences of every plan against ``reference`` with 95% intervals.
    reference : str
        The plan every other plan is compared with.
    failures : list of dict
        Runs that failed in the batch and are missing from every table.
    """

    directory: Path
    manifest: dict
    runs: pd.DataFrame
    summary: pd.DataFrame
    comparisons: pd.DataFrame
    reference: str
    failures: list[dict] = field(default_factory=list)
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _inputs: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def scenarios(self) -> list[str]:
        """Return the scenarios covered, in name order."""
        return sorted(self.summary["scenario"].unique())

    @property
    def seeds(self) -> list[int]:
        """Return the seeds that finished, in order."""
        return sorted(int(seed) for seed in self.runs["seed"].unique())

    def plans(self, scenario: str | None = None) -> list[str]:
        """Return the plans of a scenario (or of all), the reference first, then by name."""
        rows = (
            self.summary if scenario is None else self.summary[self.summary["scenario"] == scenario]
        )
        names = sorted(rows["plan"].unique())
        return sorted(names, key=lambda name: name != self.reference)

    def summary_of(self, scenario: str) -> pd.DataFrame:
        """Return the summary rows of one scenario, indexed by plan in :meth:`plans` order."""
        rows = self.summary[self.summary["scenario"] == scenario].set_index("plan")
        return rows.loc[self.plans(scenario)]

    def currency(self, scenario: str) -> str:
        """Return the scenario's currency, or ``""`` when its file is gone or has changed."""
        model = self.scenario_model(scenario)
        return model.currency if model is not None else ""

    def scenario_model(self, scenario: str) -> Scenario | None:
        """Return the scenario as the batch ran it, or None when its file is gone or has changed."""
        return self._input(f"scenario:{scenario}", load_scenario)

    def plan_model(self, plan: str) -> Plan | None:
        """Return the plan as the batch ran it, or None when its file is gone or has changed."""
        return self._input(f"plan:{plan}", load_plan)

    def _input(self, key: str, loader: Callable):
        """Load an input file of the batch, kept only if its fingerprint is the recorded one.

        A file edited since the batch ran would describe another scenario or other money. A
        relative path is relative to where ``lti batch`` ran: it is tried from here, beside the
        batch directory and among the toolkit's shipped files (``scenarios/small.yaml``).
        """
        if key not in self._inputs:
            self._inputs[key] = None
            entry = self.manifest.get("inputs", {}).get(key)
            recorded = Path(entry["path"]) if entry else None
            places = (
                [recorded, self.directory.parent / recorded, SHIPPED_ROOT / recorded]
                if entry
                else []
            )
            for path in dict.fromkeys(places):
                try:
                    model = loader(path) if path.is_file() else None
                except (ConfigError, OSError):
                    model = None
                if model is not None and model.fingerprint() == entry.get("fingerprint"):
                    self._inputs[key] = model
                    break
        return self._inputs[key]

    def run_table(self, name: str) -> pd.DataFrame:
        """Return one per-run table of every run, with ``scenario``, ``plan`` and ``seed`` first.

        Parameters
        ----------
        name : str
            ``kpis``, ``awards``, ``behaviour``, ``liability`` or ``cashflows``.

        Returns
        -------
        DataFrame
            The runs' rows stacked in ``runs.parquet`` order; read once, then cached.
        """
        if name not in RUN_TABLES:
            raise ValueError(unknown_name("run table", name, list(RUN_TABLES)))
        if name not in self._tables:
            parts = []
            for run in self.runs[["scenario", "plan", "seed", "directory"]].itertuples(index=False):
                path = run_directory(self.directory, run.directory)
                table = pd.read_parquet(path / f"{name}.parquet")
                table.insert(0, "seed", int(run.seed))
                table.insert(0, "plan", run.plan)
                table.insert(0, "scenario", run.scenario)
                parts.append(table)
            filled = [part for part in parts if len(part)]
            self._tables[name] = pd.concat(filled or parts[:1], ignore_index=True)
        return self._tables[name]


def run_directory(directory: Path, relative: object) -> Path:
    """Return where ``lti batch`` kept one run's files, as ``runs.parquet`` records it.

    The path is read, never rebuilt from scenario and plan names; one that would lead out of
    the batch directory is refused.

    Parameters
    ----------
    directory : Path
        The batch directory.
    relative : str
        The run's ``directory`` in ``runs.parquet``.

    Returns
    -------
    Path
        The run's directory.

    Raises
    ------
    ReportError
        If the recorded path is empty, absolute or climbs out with ``..``.
    """
    path = PurePosixPath(relative) if isinstance(relative, str) else None
    if path is None or not relative or path.is_absolute() or ".." in path.parts:
        raise ReportError(
            f"{directory / 'runs.parquet'}: a run's directory {relative!r} is not a path inside "
            "the batch directory; run the same `lti batch` command again"
        )
    return directory / path


def check_batch_directory(results_dir: str | Path | None) -> Path:
    """Return the batch directory, or raise :class:`ReportError` saying why it is not one."""
    if results_dir is None or str(results_dir) == "":
        raise ReportError("no batch directory given: set results_dir to what `lti batch` wrote")
    directory = Path(results_dir).expanduser()
    if not directory.exists():
        raise ReportError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise ReportError(f"{directory} is not a directory")
    missing = [name for name in BATCH_FILES if not (directory / name).is_file()]
    command = None
    if (directory / "manifest.json").is_file():
        try:
            command = json.loads((directory / "manifest.json").read_text()).get("command")
        except (json.JSONDecodeError, AttributeError):
            command = "unreadable"
    if command == "simulate":
        raise ReportError(
            f"{directory} holds a single run written by `lti simulate`, not a batch; "
            f"run `lti batch SCENARIO... --plans PLAN... --seeds N --out DIR` and report on DIR"
        )
    if missing or command != "batch":
        why = f"it has no {', '.join(missing)}" if missing else "its manifest is not a batch's"
        raise ReportError(
            f"{directory} is not a batch directory ({why}); write one with "
            f"`lti batch SCENARIO... --plans PLAN... --seeds N --out {directory}`"
        )
    return directory


def load_batch(
    results_dir: str | Path | None,
    scenario: str | None = None,
    reference: str | None = None,
) -> Batch:
    """Load a batch directory for the report, checked before anything is drawn.

    Parameters
    ----------
    results_dir : path
        The directory ``lti batch --out`` wrote.
    scenario : str, optional
        Report on this scenario only; None covers every scenario of the batch.
    reference : str, optional
        The plan the others are compared with; it must be in every scenario covered. None
        (or ``""``) takes the batch's own reference plan.

    Returns
    -------
    Batch
        The batch's tables, narrowed to the scenarios covered, with net value against
        ``reference``.

    Raises
    ------
    ReportError
        If the directory is missing or not a batch, if a run's files are missing or hold no
        money figures (an older toolkit's), if the scenario or the reference plan is not in
        the batch (with the names that are), or if no reference is given for a batch that
        was run without one.
    """
    directory = check_batch_directory(results_dir)
    manifest = json.loads((directory / "manifest.json").read_text())
    runs = pd.read_parquet(directory / "runs.parquet")
    summary = pd.read_parquet(directory / "summary.parquet")
    scenarios = sorted(summary["scenario"].unique())
    if scenario is not None:
        if scenario not in scenarios:
            raise ReportError(unknown_name("scenario", scenario, scenarios))
        runs = runs[runs["scenario"] == scenario].reset_index(drop=True)
        summary = summary[summary["scenario"] == scenario].reset_index(drop=True)
    batch_reference = manifest.get("reference", DEFAULT_REFERENCE)
    if not reference:
        if batch_reference is None:
            raise ReportError(
                f"{directory} was run without a reference plan (no {DEFAULT_REFERENCE} and no "
                f"--reference); give --reference PLAN, one of: "
                f"{', '.join(sorted(summary['plan'].unique()))}"
            )
        reference = batch_reference
    for name in sorted(summary["scenario"].unique()):
        plans = sorted(summary.loc[summary["scenario"] == name, "plan"])
        if reference not in plans:
            raise ReportError(
                unknown_name(f"reference plan for scenario {name!r}:", reference, plans)
            )
    missing = [name for name in ("directory", *MONEY) if name not in runs]
    if missing:
        raise ReportError(
            f"{directory / 'runs.parquet'} has no {', '.join(missing)} (written by an older "
            "toolkit); run the same `lti batch` command again"
        )
    for run in runs[["directory"]].itertuples(index=False):
        path = run_directory(directory, run.directory)
        absent = [name for name in RUN_FILES if not (path / name).is_file()]
        if absent:
            raise ReportError(
                f"{path}: missing {', '.join(absent)}; run the same `lti batch` command again "
                f"to complete the batch"
            )
    comparisons_path = directory / "comparisons.parquet"
    if reference == batch_reference and comparisons_path.is_file() and "net_value" in runs:
        comparisons = pd.read_parquet(comparisons_path)
    else:
        runs = runs.assign(net_value=net_value(runs, reference))
        summary = summarise_batch(runs, reference)
        comparisons = paired_differences(runs, reference, COMPARED)
    if comparisons.empty:  # a batch of the reference plan alone
        comparisons = pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    comparisons = comparisons[comparisons["scenario"].isin(summary["scenario"])]
    failures = []
    if (directory / "batch.json").is_file():
        failures = json.loads((directory / "batch.json").read_text()).get("failures", [])
    return Batch(
        directory=directory,
        manifest=manifest,
        runs=runs,
        summary=summary.reset_index(drop=True),
        comparisons=comparisons.reset_index(drop=True),
        reference=reference,
        failures=failures,
    )
