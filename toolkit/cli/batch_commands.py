"""``lti batch``: scenario × plan × seed batches on a local process pool."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from toolkit.cli.common import UserError, scenario_argument


def _batch(args: argparse.Namespace) -> int:
    from toolkit.experiments import run_batch
    from toolkit.plans import library_plans

    if args.seeds < 1:
        raise UserError(f"--seeds must be at least 1 (got {args.seeds})")
    result = run_batch(
        args.scenarios,
        args.plans or library_plans(),
        args.seeds,
        args.out,
        workers=args.workers,
        progress=sys.stderr.isatty(),
        executor=args.executor,
        scheduler=args.scheduler,
    )
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
        summary = result.directory / "summary.parquet"
        print(f"Means over seeds:\n{format_batch_summary(pd.read_parquet(summary))}")
        print(f"Summary per scenario and plan in {summary.as_posix()}")
    return 1 if result.failures else 0


SHOWN = {
    "seeds": ("seeds", "{:d}"),
    "true_health": ("true health", "{:.1f}"),
    "gaming_index": ("gaming index", "{:.1f}"),
    "total_awards": ("awards", "{:,.0f}"),
    "cost_per_health": ("per health point", "{:,.0f}"),
    "liability_p90": ("liability P90", "{:,.0f}"),
}


def format_batch_summary(summary: pd.DataFrame) -> str:
    """Render the headline means per scenario and plan for the terminal."""
    shown = summary[["scenario", "plan"]].copy()
    for column, (title, form) in SHOWN.items():
        shown[title] = [form.format(value) for value in summary[column]]
    return shown.to_string(index=False)


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``batch`` to the ``lti`` parser."""
    batch = commands.add_parser(
        "batch",
        help="run scenarios x plans x seeds, cached and resumable",
        description="Run every scenario under every plan for seeds 0..N-1 on a local process "
        "pool or Dask. Finished runs in DIR are reused; a killed batch resumes where it stopped.",
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
    batch.set_defaults(handler=_batch)
