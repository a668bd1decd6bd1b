"""``lti kpis``: the KPI catalogue, and the KPIs of a simulated run or an ingested export."""

from __future__ import annotations

import argparse
import json
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


def _record_in_manifest(directory: Path, kpis: Path, settings: dict) -> None:
    """Add the KPI file and its settings to the run's manifest, if the run has one."""
    from toolkit.run.manifest import file_sha256

    manifest = directory / "manifest.json"
    if not manifest.is_file():
        return
    record = json.loads(manifest.read_text())
    record.setdefault("outputs", {})[kpis.name] = file_sha256(kpis)
    record["kpis"] = settings
    manifest.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


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

    log, source = read_run_log(args.directory)
    directory = Path(args.directory)
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
    out = directory / "kpis.parquet"
    kpis.to_parquet(out, index=False)
    settings = {"log": source.name, "period": args.period, "sla_tolerance": args.sla_tolerance}
    _record_in_manifest(directory, out, settings)
    print(
        f"KPIs of {source} ({len(log.incidents):,} incidents, {len(log.changes):,} changes; "
        f"window {log.start:%Y-%m-%d %H:%M} .. {log.end:%Y-%m-%d %H:%M}) in {out}"
    )
    table = format_summary(summary(log, sla_tolerance=args.sla_tolerance))
    print(f"Whole-window KPIs, organisation-wide ({source.name} log):\n{table}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``kpis`` to the ``lti`` parser."""
    kpis = commands.add_parser(
        "kpis",
        help="the KPI catalogue, or the KPIs of a run or ingested export",
        description="Measure the log in DIR/reported (from lti ingest) or else DIR/truth (from "
        "lti simulate) with the same KPI code, write DIR/kpis.parquet and print the "
        "organisation-wide summary.",
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
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="grace on SLA targets as a fraction, e.g. 0.1 for 10%% (default: 0)",
    )
    kpis.set_defaults(handler=_kpis)
