"""Batch throughput: runs per minute with 1 and 2 local workers and a Dask LocalCluster of 2.

Run: ``python benchmarks/batch.py [SCENARIO] [--plans ...] [--seeds N] [--repeats N]``. Each
measurement starts from an empty batch directory, so nothing comes from the cache, and includes
starting the workers (and, for Dask, importing ``distributed`` and starting the cluster: about
half a second, which weighs on batches of a few seconds only). The three set-ups take turns and
each keeps its best of the repeats, so that a busy spell of the machine hits them alike. The
default, 2 plans × 10 seeds of the small scenario, is a short consultant batch.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from toolkit.experiments import run_batch

ROOT = Path(__file__).resolve().parent.parent


def runs_per_minute(
    scenario: str, plans: list[str], seeds: int, workers: int, executor: str = "local"
) -> float:
    """Runs per minute of a fresh batch on ``workers`` processes (cluster start included)."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = run_batch(
            [scenario], plans, seeds, out, workers=workers, progress=False, executor=executor
        )
        elapsed = time.perf_counter() - started
    return len(result.runs) / elapsed * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "small.yaml"))
    parser.add_argument("--plans", nargs="+", default=["no_incentive", "mttr_only"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    one = two = dask = 0.0
    for _ in range(args.repeats):
        one = max(one, runs_per_minute(args.scenario, args.plans, args.seeds, 1))
        two = max(two, runs_per_minute(args.scenario, args.plans, args.seeds, 2))
        dask = max(dask, runs_per_minute(args.scenario, args.plans, args.seeds, 2, executor="dask"))
    print(f"1 worker:        {one:6.1f} runs/min")
    print(f"2 workers:       {two:6.1f} runs/min")
    print(f"Dask, 2 workers: {dask:6.1f} runs/min")
    print(f"speed-up 1 -> 2: {two / one:.2f} (goal >= 1.7)")
    print(f"Dask / local:    {dask / two:.2f} (goal >= 0.85)")


if __name__ == "__main__":
    main()
