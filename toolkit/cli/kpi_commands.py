"""``lti kpis``: the KPI catalogue, and the KPIs of a simulated run or an ingested export."""

from __future__ import annotations

import argparse
import math
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.cli.common import UserError

if TYPE_CHECKING:
    from toolkit.events import EventLog

LOG_VIEWS = ("reported", "truth")  # a run's log directories, in the order they are preferred
VIEW_NAMES = {"truth": "true", "reported": "reported"}  # log directory -> `view` in kpis.parquet


def read_run_log(directory: str | Path) -> tuple[EventLog, Path]:
    """Return the event log of a run directory, preferring ``reported/`` over ``truth/``.

    Returns
    -------
    tuple of (EventLog, Path)
        The log and the directory it was read from.

    Raises
    ------
    UserError
        If the directory holds neither view.
    """
    from toolkit.events import EventLog

    directory = Path(directory)
    for view in LOG_VIEWS:
        if (directory / view / "log.json").is_file():
            return EventLog.read_parquet(directory / view), directory / view
    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory")
    raise UserError(
        f"{directory}: no event log (expected reported/log.json, from lti ingest, or "
        "truth/log.json, from lti simulate)"
    )


def _print_catalogue() -> None:
    from toolkit.metrics import catalogue_table

    for row in catalogue_table().itertuples(index=False):
        print(f"{row.kpi}  [{row.unit}; {row.direction} is better; {row.indicator}]")
        print(
            textwrap.fill(row.definition, width=96, initial_indent="    ", subsequent_indent="    ")
        )


def _record_in_manifest(directory: Path, manifest: dict, kpis: Path, settings: dict) -> None:
    """Add the KPI file and its settings to the run's manifest, replacing it in one rename."""
    from toolkit.run.manifest import file_sha256
    from toolkit.run.outputs import MANIFEST, write_json

    record = {**manifest, "kpis": settings}
    record["outputs"] = {**manifest["outputs"], kpis.name: file_sha256(kpis)}
    write_json(directory / MANIFEST, record)


def _write_parquet(table, path: Path) -> None:
    """Write a table to ``path`` through a temporary file, so a reader never sees half of it."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        table.to_parquet(temporary, index=False)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _kpis(args: argparse.Namespace) -> int:
    if args.list:
        _print_catalogue()
        return 0
    if args.directory is None:
        raise UserError("give a run directory (DIR) or --list to print the KPI catalogue")
    import pandas as pd

    from toolkit.cli.scenario_commands import format_summary
    from toolkit.events import EventLog
    from toolkit.metrics import compute_kpis, summary
    from toolkit.run.manifest import verify_manifest

    directory = Path(args.directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory")
    out = directory / "kpis.parquet"
    manifest = verify_manifest(directory, rewriting=[out.name])
    log, source = read_run_log(directory)
    tables = []
    for folder, view in VIEW_NAMES.items():  # every view the run holds, as lti simulate writes
        if (directory / folder / "log.json").is_file():
            view_log = (
                log if directory / folder == source else EventLog.read_parquet(directory / folder)
            )
            try:
                table = compute_kpis(view_log, period=args.period, sla_tolerance=args.sla_tolerance)
            except ValueError as exc:
                raise UserError(str(exc)) from None
            table.insert(0, "view", view)
            tables.append(table)
    kpis = pd.concat(tables, ignore_index=True)
    _write_parquet(kpis, out)
    settings = {"log": source.name, "period": args.period, "sla_tolerance": args.sla_tolerance}
    _record_in_manifest(directory, manifest, out, settings)
    print(
        f"KPIs of {source} ({len(log.incidents):,} incidents, {len(log.changes):,} changes; "
        f"window {log.start:%Y-%m-%d %H:%M} .. {log.end:%Y-%m-%d %H:%M}) in {out}"
    )
    table = format_summary(summary(log, sla_tolerance=args.sla_tolerance))
    print(f"Whole-window KPIs, organisation-wide ({source.name} log):\n{table}")
    return 0


def fraction(text: str) -> float:
    """Parse a finite, non-negative fraction such as ``0.1`` (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction like 0.1, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite fraction of 0 or more, got {text!r}")
    return value


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``kpis`` to the ``lti`` parser."""
    kpis = commands.add_parser(
        "kpis",
        help="the KPI catalogue, or the KPIs of a run or ingested export",
        description="Measure the log in DIR/reported (from lti ingest) or else DIR/truth (from "
        "lti simulate) with the same KPI code, write DIR/kpis.parquet and print the "
        "organisation-wide summary. DIR must be complete: its manifest.json present and every "
        "file it lists there with the same SHA-256.",
    )
    kpis.add_argument("directory", nargs="?", metavar="DIR", help="a run or ingest directory")
    kpis.add_argument("--list", action="store_true", help="print every KPI with its definition")
    kpis.add_argument(
        "--period",
        default="quarter",
        choices=["month", "quarter", "year", "all"],
        help="period of the KPI table (default: quarter)",
    )
    kpis.add_argument(
        "--sla-tolerance",
        type=fraction,
        default=0.0,
        metavar="FRACTION",
        help="grace on SLA targets as a fraction, e.g. 0.1 for 10%% (default: 0)",
    )
    kpis.set_defaults(handler=_kpis)
