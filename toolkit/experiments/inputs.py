"""What a batch runs: each scenario and plan file once, each name once, seeds and workers checked.

A batch's tables are keyed by scenario and plan names, so two inputs with one name would be
merged into one row, and one file listed twice would count its seeds twice and narrow its
confidence intervals. Both are refused before anything runs, with the files involved.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.config import Scenario, load_scenario
from toolkit.config.plan import Plan
from toolkit.plans import load_plan
from toolkit.plans.loading import PLANS_DIR, resolve_plan_path


class BatchError(ValueError):
    """A batch that cannot run as asked (ambiguous inputs, nothing to run, bad counts)."""


@dataclass(frozen=True)
class BatchInput:
    """One scenario or plan of a batch: how it was given, its file and its validated model."""

    given: str
    path: Path
    model: Scenario | Plan

    @property
    def name(self) -> str:
        """Return the ``name:`` of the scenario or plan."""
        return self.model.name


@functools.lru_cache(maxsize=16)
def _scenario_at(path: str, stamp: tuple[int, int, int]) -> Scenario:
    return load_scenario(path)


def load_scenario_file(path: str | Path) -> Scenario:
    """Load a scenario file, once per process while the file is unchanged.

    A batch reads its scenario before any run and again in every run; parsing it is a tenth of
    a short run's time. Pool workers are forked after the batch has read it, so they inherit
    the parsed scenario instead of parsing it once per run. Scenarios are immutable, and a file
    whose modification time, size or inode changed is read again.

    Parameters
    ----------
    path : str or Path
        The scenario file.

    Returns
    -------
    Scenario
        As :func:`toolkit.config.load_scenario` returns it.

    Raises
    ------
    ConfigError
        As :func:`toolkit.config.load_scenario` (an invalid file is never cached).
    """
    try:
        stat = Path(path).stat()
    except OSError:
        return load_scenario(path)  # let the loader say what is wrong with it
    return _scenario_at(str(path), (stat.st_mtime_ns, stat.st_size, stat.st_ino))


def _identity(path: Path) -> tuple:
    """Return what makes two spellings of a path the same file (inode, else resolved path)."""
    try:
        stat = path.stat()
    except OSError:
        return ("missing", str(path.resolve()))
    return ("inode", stat.st_dev, stat.st_ino)


def _unique_inputs(
    kind: str,
    given: Sequence[str | Path],
    locate: Callable[[str | Path], Path],
    load: Callable[[str | Path], Scenario | Plan],
) -> list[BatchInput]:
    """Load every input once, refusing a file listed twice or a name carried by two files."""
    if isinstance(given, str | Path):
        raise BatchError(f"{kind}s must be a list of {kind}s, not the single value {given!r}")
    files: dict[tuple, str] = {}
    names: dict[str, Path] = {}
    inputs = []
    for item in given:
        path = locate(item)
        identity = _identity(path)
        if identity in files:
            raise BatchError(
                f"{kind} file {path} is listed twice (as {files[identity]!r} and {str(item)!r}); "
                "list each once"
            )
        files[identity] = str(item)
        model = load(item)
        if model.name in names:
            raise BatchError(
                f"two {kind}s are named {model.name!r}: {names[model.name]} and {path}; "
                f"give each {kind} of a batch its own name"
            )
        names[model.name] = path
        inputs.append(BatchInput(str(item), path, model))
    if not inputs:
        raise BatchError(f"no {kind}s to run: a batch needs at least one {kind}")
    return inputs


def scenario_inputs(scenarios: Sequence[str | Path]) -> list[BatchInput]:
    """Return the batch's scenarios, each validated, refusing duplicates.

    Parameters
    ----------
    scenarios : sequence of path
        Scenario files.

    Returns
    -------
    list of BatchInput
        One per file, in the order given.

    Raises
    ------
    BatchError
        If the list is empty, a file is listed twice (under any spelling) or two files carry
        the same ``name:``.
    ConfigError
        If a file is not a valid scenario.
    """
    return _unique_inputs("scenario", scenarios, Path, load_scenario_file)


def plan_inputs(plans: Sequence[str | Path]) -> list[BatchInput]:
    """Return the batch's plans (library names or files), each validated, refusing duplicates.

    Parameters
    ----------
    plans : sequence of str or path
        Plan names of the library or plan files; a name and the library file it stands for
        are the same plan.

    Returns
    -------
    list of BatchInput
        One per plan, in the order given.

    Raises
    ------
    BatchError
        If the list is empty, a plan is listed twice (by name, by file or both) or two files
        carry the same ``name:``.
    ConfigError
        If a plan is unknown or invalid.
    """
    return _unique_inputs("plan", plans, lambda item: resolve_plan_path(item, PLANS_DIR), load_plan)


def check_pairs(scenarios: Sequence[BatchInput], plans: Sequence[BatchInput]) -> None:
    """Refuse a plan that does not fit a scenario of the batch, as ``lti simulate`` would.

    Parameters
    ----------
    scenarios, plans : sequence of BatchInput
        The batch's validated scenarios and plans.

    Raises
    ------
    ConfigError
        Naming the plan file, the key and why it cannot run on the scenario (see
        :func:`toolkit.plans.loading.check_plan_against_scenario`).
    """
    for scenario in scenarios:
        for plan in plans:
            load_plan(plan.given, scenario=scenario.model)


DEFAULT_REFERENCE = "no_incentive"


def reference_plan(reference: str | None, plans: Sequence[BatchInput]) -> str | None:
    """Return the name of the plan every other plan of the batch is compared with.

    Parameters
    ----------
    reference : str, optional
        A plan of the batch, by its ``name:`` or as it was given (library name or file);
        None means ``no_incentive`` when the batch holds it, else no reference (the batch
        then has no net value and no paired comparisons).
    plans : sequence of BatchInput
        The batch's validated plans.

    Returns
    -------
    str or None
        The reference's ``name:``, or None.

    Raises
    ------
    BatchError
        If ``reference`` is given and is none of the batch's plans, naming them.
    """
    names = [plan.name for plan in plans]
    if reference is None:
        return DEFAULT_REFERENCE if DEFAULT_REFERENCE in names else None
    identity = _identity(resolve_plan_path(reference, PLANS_DIR))
    for plan in plans:
        if str(reference) in (plan.name, plan.given) or identity == _identity(plan.path):
            return plan.name
    raise BatchError(
        f"reference plan {str(reference)!r} is not in the batch; give one of its plans: "
        f"{', '.join(names)}"
    )


def seed_list(seeds: int | Iterable[int]) -> list[int]:
    """Return the seeds of a batch: ``n`` means 0 .. n-1, or the seeds themselves.

    Parameters
    ----------
    seeds : int or iterable of int
        A count (at least 1) or distinct non-negative seeds.

    Returns
    -------
    list of int
        The seeds in order.

    Raises
    ------
    BatchError
        If the count is below 1, a seed is negative or not an integer, a seed is listed twice
        (it would count twice in every mean and interval), or there is none.
    """
    if isinstance(seeds, bool) or not isinstance(seeds, int | Iterable):
        raise BatchError(f"seeds must be a count or a list of seeds (got {seeds!r})")
    if isinstance(seeds, int):
        if seeds < 1:
            raise BatchError(f"seeds must be at least 1 (got {seeds})")
        return list(range(seeds))
    listed = list(seeds)
    for seed in listed:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise BatchError(f"seeds must be non-negative integers (got {seed!r})")
    twice = sorted({seed for seed in listed if listed.count(seed) > 1})
    if twice:
        raise BatchError(f"seeds listed more than once: {twice}; list each seed once")
    if not listed:
        raise BatchError("no seeds to run: a batch needs at least one seed")
    return listed


def worker_count(workers: int | None) -> int:
    """Return the number of worker processes: ``None`` means one per CPU.

    Parameters
    ----------
    workers : int, optional
        Worker processes asked for.

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    BatchError
        If ``workers`` is not a positive integer.
    """
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise BatchError(f"workers must be at least 1 (got {workers!r})")
    return workers
