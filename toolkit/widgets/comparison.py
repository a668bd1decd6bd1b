"""The designer's quick comparison: the edited plan against a reference, in the background.

A comparison is an ordinary batch (:func:`toolkit.experiments.batch.run_batch`) of the edited
plan, the reference plan and any other plans on one scenario and a few seeds, written into a
working directory the caller names. The batch's run cache means a plan, scenario and seed that
ran before is read back, not computed again. It runs in a background thread, reports progress
through a callback and can be cancelled: the batch's workers are stopped, half-written runs
removed and no batch table published (:mod:`toolkit.experiments.executors`).

The results are what a plan designer weighs, plan by plan: net value against the reference
with its paired interval, true against reported score, gaming index, awards and liability, the
levers teams pull over time, and the frontier of net value against award cost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from toolkit.behaviour.levers import GAMING_LEVERS, OPERATIONAL_LEVERS
from toolkit.experiments.batch import BatchResult, run_batch
from toolkit.experiments.executors import BatchCancelledError

BATCH = "batch"
DEFAULT_WORKERS = 2
# One line per number the designer shows, said where it is shown.
EXPLAIN = {
    "net_value": "Net value: loss avoided + delivery value added − extra awards against the "
    "reference on the same seeds, with its 95% paired interval (scenario currency).",
    "reported_score": "Reported score: mean composite score on the reported log, % of target.",
    "true_score": "True score: the same score on the true log; the gap is what gaming bought.",
    "gaming_index": "Gaming index: reported minus true score, percentage points of target.",
    "total_awards": "Awards: awards earned over the run after pools and caps, incl. accruals.",
    "liability_end": "Liability: awards granted but not yet paid at the horizon's end.",
    "levers": "Levers: what teams do each period, mean over teams and seeds (0..1 or rate).",
    "frontier": "Frontier: net value against award cost per plan; up and to the left is better.",
}
LEVERS = (*OPERATIONAL_LEVERS, "gaming")


@dataclass
class ComparisonResult:
    """What a finished comparison shows.

    Attributes
    ----------
    table : DataFrame
        One row per plan (edited first, reference last): ``plan``, ``role`` (edited, compared
        or reference), ``seeds``, ``net_value`` with ``net_value_low``/``net_value_high`` (95%
        paired interval against the reference; NaN with one seed), ``reported_score``,
        ``true_score``, ``gaming_index``, ``total_awards``, ``liability_end``.
    runs : DataFrame
        The batch's rows, one per plan and seed.
    levers : DataFrame
        Long format ``plan, period, lever, value``: each lever's mean over teams and seeds, the
        gaming levers averaged into ``gaming``.
    frontier : DataFrame
        ``plan, role, award_cost, net_value``: mean awards and mean net value per plan.
    batch : BatchResult
        The batch itself (its directory holds every table and run).
    """

    table: pd.DataFrame
    runs: pd.DataFrame
    levers: pd.DataFrame
    frontier: pd.DataFrame
    batch: BatchResult
    plan_start: int = 0


def _role(plan: str, edited: str | None, reference: str) -> str:
    if plan == reference:
        return "reference"
    return "edited" if plan == edited else "compared"


def _levers(batch: BatchResult) -> pd.DataFrame:
    """Each lever's mean over teams and seeds per plan and period, from the behaviour tables."""
    frames = []
    for plan, directory in zip(batch.runs["plan"], batch.runs["directory"], strict=True):
        behaviour = pd.read_parquet(batch.directory / directory / "behaviour.parquet")
        gaming = [name for name in GAMING_LEVERS if name in behaviour.columns]
        behaviour = behaviour.assign(plan=plan, gaming=behaviour[gaming].mean(axis=1))
        frames.append(behaviour[["plan", "period", *LEVERS]])
    table = pd.concat(frames, ignore_index=True)
    means = table.groupby(["plan", "period"], sort=False)[list(LEVERS)].mean().reset_index()
    return means.melt(id_vars=["plan", "period"], var_name="lever", value_name="value")


def summarise_comparison(
    batch: BatchResult, edited: str | None, plan_start: int = 0
) -> ComparisonResult:
    """Turn a finished batch into what the designer shows.

    Parameters
    ----------
    batch : BatchResult
        A batch with a reference plan.
    edited : str, optional
        The edited plan's name, shown first and highlighted.
    plan_start : int
        Periods before the edited plan starts, marked on the levers figure.

    Returns
    -------
    ComparisonResult
    """
    reference = batch.reference
    runs = batch.runs
    grouped = runs.groupby("plan", sort=False)
    means = grouped[
        ["net_value", "reported_score_mean", "true_score_mean", "gaming_index", "total_awards"]
        + ["liability_end"]
    ].mean()
    comparisons_file = batch.directory / "comparisons.parquet"
    comparisons = pd.read_parquet(comparisons_file) if comparisons_file.exists() else None
    rows = []
    order = sorted(
        means.index,
        key=lambda p: ({"edited": 0, "compared": 1}.get(_role(p, edited, reference), 2), p),
    )
    for plan in order:
        low = high = float("nan")  # one seed pair gives a net value but no interval
        if plan == reference:
            low = high = 0.0
        if comparisons is not None and plan != reference:
            found = comparisons[
                (comparisons["plan"] == plan) & (comparisons["metric"] == "net_value")
            ]
            if len(found) and found["pairs"].iloc[0] >= 2:
                low, high = float(found["ci_low"].iloc[0]), float(found["ci_high"].iloc[0])
        rows.append(
            {
                "plan": plan,
                "role": _role(plan, edited, reference),
                "seeds": int(grouped["seed"].nunique()[plan]),
                "net_value": float(means.loc[plan, "net_value"]),
                "net_value_low": low,
                "net_value_high": high,
                "reported_score": float(means.loc[plan, "reported_score_mean"]),
                "true_score": float(means.loc[plan, "true_score_mean"]),
                "gaming_index": float(means.loc[plan, "gaming_index"]),
                "total_awards": float(means.loc[plan, "total_awards"]),
                "liability_end": float(means.loc[plan, "liability_end"]),
            }
        )
    table = pd.DataFrame(rows)
    frontier = table[["plan", "role", "total_awards", "net_value"]].rename(
        columns={"total_awards": "award_cost"}
    )
    return ComparisonResult(table, runs, _levers(batch), frontier, batch, plan_start)


class Comparison:
    """A comparison batch run in a background thread, with progress and cancel.

    Parameters
    ----------
    workdir : str or Path
        Where the batch is written (``workdir/batch``); nothing is written elsewhere.
    scenario : str or Path
        The scenario file.
    plans : sequence of str or Path
        The plans to run (names or files); the reference is added if missing.
    reference : str
        The plan every other plan is compared with, seed by seed.
    seeds : sequence of int
        The seeds (common random numbers: each seed gives every plan the same world).
    edited : str, optional
        The edited plan's ``name:``, shown first and highlighted.
    workers : int
        Worker processes (the batch's local pool; 1 runs in the background thread itself,
        and cancelling then waits for the run under way to finish).
    plan_start : int
        Periods before the edited plan starts, marked on the levers figure.
    """

    def __init__(
        self,
        workdir: str | Path,
        scenario: str | Path,
        plans: Sequence[str | Path],
        reference: str = "no_incentive",
        seeds: Sequence[int] = (1, 2, 3),
        edited: str | None = None,
        workers: int = DEFAULT_WORKERS,
        plan_start: int = 0,
    ):
        self.directory = Path(workdir) / BATCH
        self.scenario = str(scenario)
        listed = [str(p) for p in plans]
        self.plans = listed if reference in listed else [*listed, reference]
        self.reference = reference
        self.seeds = list(seeds)
        self.edited = edited
        self.workers = workers
        self.plan_start = plan_start
        self.status = "idle"  # idle, running, done, cancelled, failed
        self.result: ComparisonResult | None = None
        self.error: str | None = None
        self.progress = (0, len(self.plans) * len(self.seeds))
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the comparison's thread is still at work."""
        return self._thread is not None and self._thread.is_alive()

    def start(
        self,
        on_progress: Callable[[int, int], None] | None = None,
        on_done: Callable[[Comparison], None] | None = None,
    ) -> None:
        """Start the batch in a background thread and return at once.

        Parameters
        ----------
        on_progress : callable, optional
            ``on_progress(finished, total)`` after each run, from the background thread.
        on_done : callable, optional
            ``on_done(comparison)`` when it ends, whatever :attr:`status` it ends with.
        """
        if self._thread is not None:
            raise RuntimeError("a comparison runs once; make a new one to run again")
        self.status = "running"
        self._thread = threading.Thread(
            target=self._run, args=(on_progress, on_done), name="lti-comparison", daemon=True
        )
        self._thread.start()

    def _run(self, on_progress, on_done) -> None:
        def progress(finished: int, total: int) -> None:
            self.progress = (finished, total)
            if on_progress is not None:
                on_progress(finished, total)

        try:
            batch = run_batch(
                [self.scenario],
                self.plans,
                self.seeds,
                self.directory,
                workers=self.workers,
                progress=False,
                reference=self.reference,
                on_progress=progress,
                cancel=self._cancel,
            )
            if batch.failures:
                first = batch.failures[0]
                self.error = (
                    f"{len(batch.failures)} run(s) failed; {first['plan']} seed "
                    f"{first['seed']}: {first['error']}"
                )
                self.status = "failed"
            else:
                self.result = summarise_comparison(batch, self.edited, self.plan_start)
                self.status = "done"
        except BatchCancelledError:
            self.status = "cancelled"
        except Exception as exc:  # noqa: BLE001 - shown to the designer, never lost in a thread
            self.error = f"{type(exc).__name__}: {exc}"
            self.status = "failed"
        finally:
            if on_done is not None:
                on_done(self)

    def cancel(self) -> None:
        """Ask the batch to stop; its workers are stopped within a fraction of a second."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; return whether it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running


__all__ = ["EXPLAIN", "Comparison", "ComparisonResult", "summarise_comparison"]
