"""``lti batch``: scenario × plan × seed batches on a local process pool."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from toolkit.cli.common import UserError, scenario_argument


def _stop(signum: int, frame: object) -> None:
    """Turn SIGTERM into the exception Ctrl-C raises, so the batch stops its workers."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def _stoppable() -> Iterator[None]:
    """Let SIGTERM stop the batch the way Ctrl-C does, for the duration of the block."""
    if threading.current_thread() is not threading.main_thread():  # only it receives signals
        yield
        return
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _batch(args: argparse.Namespace) -> int:
    from toolkit.experiments import run_batch
    from toolkit.experiments.inputs import BatchError
    from toolkit.plans import library_plans
    from toolkit.plans.loading import PLANS_DIR

    if args.seeds < 1:
        raise UserError(f"--seeds must be at least 1 (got {args.seeds})")
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be at least 1 (got {args.workers})")
    plans = args.plans or library_plans()
    if not plans:
        raise UserError(f"no plans given with --plans and none found in {PLANS_DIR}")
    try:
        with _stoppable():
            result = run_batch(
                args.scenarios,
                plans,
                args.seeds,
                args.out,
                workers=args.workers,
                progress=sys.stderr.isatty(),
                reference=args.reference,
                executor=args.executor,
                scheduler=args.scheduler,
                force=args.force,
            )
    except BatchError as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt as exc:
        name = str(exc) or "SIGINT"
        print(
            f"lti batch: stopped by {name}; its workers are stopped and finished runs are kept "
            f"in {args.out}: run the same command again to resume",
            file=sys.stderr,
        )
        return 128 + signal.Signals[name].value
    stats = result.stats
    print(
        f"{stats['runs']} runs ({stats['computed']} computed, {stats['cached']} from cache, "
        f"{stats['failed']} failed) on {stats['workers']} {stats['executor']} worker"
        f"{'' if stats['workers'] == 1 else 's'} in "
        f"{stats['elapsed_seconds']:.1f} s ({stats['seconds_per_run']:.2f} s per run)"
    )
    for failure in result.failures:
        print(
            f"failed: {failure['scenario']} / {failure['plan']} / seed {failure['seed']}: "
            f"{failure['error']}",
            file=sys.stderr,
        )
    if len(result.runs):
        directory = result.directory
        summary = pd.read_parquet(directory / "summary.parquet")
        comparisons = directory / "comparisons.parquet"
        paired = pd.read_parquet(comparisons) if comparisons.is_file() else None
        print(format_batch_summary(summary, paired, result.reference))
        print(f"Summary per scenario and plan in {(directory / 'summary.parquet').as_posix()}")
        vendors = directory / "vendors.parquet"
        if vendors.is_file() and len(table := pd.read_parquet(vendors)):
            print(format_vendor_summary(table))
            print(f"Vendor SLA results per run in {vendors.as_posix()}")
    return 1 if result.failures else 0


def format_batch_summary(
    summary: pd.DataFrame, comparisons: pd.DataFrame | None, reference: str | None
) -> str:
    """Render per scenario and plan the net value against the reference, gaming and awards.

    Parameters
    ----------
    summary : DataFrame
        The batch's ``summary.parquet``.
    comparisons : DataFrame, optional
        Its ``comparisons.parquet``; the 95% interval of net value comes from there.
    reference : str, optional
        The batch's reference plan; without one there is no net value to show.

    Returns
    -------
    str
        A heading and one line per scenario and plan, ranked by mean net value within each
        scenario (the reference at 0; no interval for it or from fewer than two seed pairs).
    """
    shown = summary[["scenario", "plan", "seeds"]].copy()
    if reference is None or "net_value" not in summary:
        heading = (
            "No reference plan in the batch, so no net value: add no_incentive or give "
            "--reference PLAN. Means over seeds:"
        )
        net = pd.Series(float("nan"), index=summary.index)
    else:
        heading = (
            f"Net value against {reference} on the same seeds, in the scenario currency "
            "(loss avoided + value added - extra awards), means over seeds:"
        )
        net = summary["net_value"]
    interval = pd.DataFrame(index=summary.index, columns=["ci_low", "ci_high"], dtype=float)
    if comparisons is not None and len(comparisons):
        rows = comparisons[comparisons["metric"] == "net_value"].set_index(["scenario", "plan"])
        rows = rows[rows["pairs"] >= 2]  # one seed pair has no interval
        keys = pd.MultiIndex.from_frame(summary[["scenario", "plan"]])
        interval = rows[["ci_low", "ci_high"]].reindex(keys).set_axis(summary.index)
    shown["net value"] = [_amount(value) for value in net]
    shown["95% interval"] = [
        f"[{_amount(low)}, {_amount(high)}]" if pd.notna(low) else "-"
        for low, high in zip(interval["ci_low"], interval["ci_high"], strict=True)
    ]
    shown["gaming index"] = [f"{value:.1f}" for value in summary["gaming_index"]]
    shown["awards"] = [_amount(value) for value in summary["total_awards"]]
    order = shown.assign(_net=net.to_numpy()).sort_values(
        ["scenario", "_net", "plan"], ascending=[True, False, True], kind="stable"
    )
    return f"{heading}\n{order.drop(columns='_net').to_string(index=False)}"


def format_vendor_summary(vendors: pd.DataFrame) -> str:
    """Format the batch's per-vendor results for the terminal: means over seeds.

    Parameters
    ----------
    vendors : DataFrame
        The batch's ``vendors.parquet``
        (:func:`toolkit.experiments.batch.vendor_results`).

    Returns
    -------
    str
        A heading and one line per scenario, plan and supplier: SLA misses and service credits
        on the true log and on the vendors' own reports.
    """
    frame = vendors.assign(
        supplier=vendors["vendor_id"].where(
            vendors["subcontractor_id"].isna(),
            vendors["vendor_id"] + "/" + vendors["subcontractor_id"].fillna(""),
        )
    )
    means = (
        frame.groupby(["scenario", "plan", "supplier"], sort=True)[
            ["misses_true", "misses_reported", "credit_true", "credit_reported"]
        ]
        .mean()
        .reset_index()
    )
    shown = means[["scenario", "plan", "supplier"]].copy()
    shown["misses true"] = [f"{v:.1f}" for v in means["misses_true"]]
    shown["misses reported"] = [f"{v:.1f}" for v in means["misses_reported"]]
    shown["credits true"] = [_amount(v) for v in means["credit_true"]]
    shown["credits reported"] = [_amount(v) for v in means["credit_reported"]]
    heading = "Vendor SLA per supplier, means over seeds (misses: period-measures below target):"
    return heading + "\n" + shown.to_string(index=False)


def _amount(value: float) -> str:
    """Format an amount of money with thousands separators, ``-`` when there is none."""
    return f"{value:,.0f}" if pd.notna(value) else "-"


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``batch`` to the ``lti`` parser."""
    batch = commands.add_parser(
        "batch",
        help="run scenarios x plans x seeds, cached and resumable",
        description="Run every scenario under every plan for seeds 0..N-1 on a local process "
        "pool or Dask. Finished runs in DIR are reused; a killed batch resumes where it stopped. "
        "One batch at a time writes DIR; a second is refused.",
    )
    batch.add_argument(
        "scenarios",
        nargs="+",
        type=scenario_argument,
        metavar="SCENARIO",
        help="scenario YAML files or names of shipped scenarios (e.g. small)",
    )
    batch.add_argument(
        "--plans",
        nargs="+",
        metavar="PLAN",
        help="plan names or plan files (default: every plan in scenarios/plans)",
    )
    batch.add_argument("--seeds", type=int, required=True, metavar="N", help="seeds 0..N-1")
    batch.add_argument("--out", required=True, metavar="DIR", help="batch directory")
    batch.add_argument(
        "--reference",
        default=None,
        metavar="PLAN",
        help="plan of the batch the others are compared with, seed by seed (default: "
        "no_incentive when the batch has it)",
    )
    batch.add_argument(
        "--workers", type=int, default=None, metavar="K", help="worker processes (default: CPUs)"
    )
    batch.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local process pool (default) or a Dask LocalCluster",
    )
    batch.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="use the Dask cluster at ADDRESS"
    )
    batch.add_argument(
        "--force",
        action="store_true",
        help="replace what DIR holds if it is not a batch directory (default: refuse it)",
    )
    batch.set_defaults(handler=_batch)
