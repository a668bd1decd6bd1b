"""Ingest speed on the UCI ServiceNow audit log, against plain ``pandas.read_csv`` of the file.

Run: ``python benchmarks/ingest.py [FILE] [--repeats N]``. Prints the best wall time of the whole
ingestion (read, parse, collapse the updates to incidents, validate, build the log), the same with
the outputs written, rows per second, and the ratio to a plain ``pandas.read_csv`` of the same
file in the same process, so the figure holds on any machine. Goal: the whole UCI log (141,712
rows) in under 10 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from toolkit.ingest import ingest, write_ingested

ROOT = Path(__file__).resolve().parent.parent
UCI = (
    ROOT.parent
    / "shared"
    / "data"
    / "real"
    / "uci_incident_event_log"
    / "incident_event_log.csv.gz"
)


def best_time(run, repeats: int) -> tuple[float, object]:
    """Best wall time over repeats (the least disturbed measurement) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=UCI)
    parser.add_argument("--format", default="servicenow-audit")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not args.file.is_file():
        raise SystemExit(f"{args.file}: not found (the real exports live in ../shared/data/real)")
    reference, frame = best_time(lambda: pd.read_csv(args.file), args.repeats)
    rows = len(frame)
    seconds, result = best_time(lambda: ingest(args.format, [args.file]), args.repeats)
    with tempfile.TemporaryDirectory() as out:
        written, _ = best_time(
            lambda: write_ingested(ingest(args.format, [args.file]), out), args.repeats
        )
    incidents = len(result.log.incidents)
    print(f"file: {args.file.name} ({rows:,} rows -> {incidents:,} incidents)")
    print(f"pandas.read_csv:        {reference:6.2f} s  {rows / reference:>10,.0f} rows/s")
    print(f"ingest:                 {seconds:6.2f} s  {rows / seconds:>10,.0f} rows/s")
    print(f"ingest + write outputs: {written:6.2f} s  {rows / written:>10,.0f} rows/s")
    print(f"ratio ingest / read_csv: {seconds / reference:.1f} (goal: ingest < 10 s)")


if __name__ == "__main__":
    main()
