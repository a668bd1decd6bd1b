"""``lti ingest`` and ``lti calibrate``: real exports in, a calibrated scenario out."""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

from toolkit.cli.common import UserError
from toolkit.cli.kpi_commands import read_run_log


def sla_targets(text: str) -> dict[int, float]:
    """Parse ``1=4,2=8,3=24,4=72`` into hours per priority (an argparse type)."""
    targets = {}
    try:
        for item in text.split(","):
            priority, hours = item.split("=")
            targets[int(priority)] = float(hours)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected PRIORITY=HOURS pairs like 1=4,2=8,3=24,4=72, got {text!r}"
        ) from None
    bad = [hours for hours in targets.values() if not math.isfinite(hours) or hours <= 0]
    if bad:
        raise argparse.ArgumentTypeError(
            f"SLA hours must be finite and above 0, got {bad[0]:g} in {text!r}"
        )
    return targets


def _ingest(args: argparse.Namespace) -> int:
    from toolkit.ingest import IngestError, ingest, write_ingested
    from toolkit.run.manifest import file_sha256, write_manifest
    from toolkit.run.outputs import check_output_dir, staged_directory

    started = time.perf_counter()
    inputs = [*args.files, *([args.mapping] if args.mapping else [])]
    # The same files ingested again may replace their result; other results, an ingest of other
    # files and files the toolkit did not write are refused before any parsing. A missing input
    # is left to ingest(), which names it.
    readable = all(Path(p).is_file() and os.access(p, os.R_OK) for p in args.files)
    identity = {"inputs_sha256": sorted(map(file_sha256, args.files))} if readable else {}
    out = check_output_dir(args.out, "ingest", identity, force=args.force, inputs=inputs)
    try:
        result = ingest(args.format, args.files, mapping=args.mapping, sla_targets=args.sla_targets)
    except IngestError as exc:
        raise UserError(str(exc)) from None
    report = result.report
    with staged_directory(out) as staging:
        outputs = write_ingested(result, staging)
        wall = time.perf_counter() - started
        write_manifest(
            staging,
            {
                "command": "ingest",
                "format": report["format"],
                "mapping": report["mapping"],
                "inputs": [
                    {"path": str(s.path), "sha256": s.sha256, "rows": len(s.frame)}
                    for s in result.sources
                ],
                "inputs_sha256": sorted(s.sha256 for s in result.sources),
                "rows_in": report["rows_in"],
                "rows_accepted": report["rows_accepted"],
                "rows_quarantined": report["rows_quarantined"],
                "wall_time_seconds": round(wall, 3),
            },
            outputs,
        )
    print(
        f"Ingested {len(result.sources)} {report['format']} file(s): {report['rows_in']:,} rows "
        f"in = {report['rows_accepted']:,} accepted + {report['rows_quarantined']:,} quarantined"
    )
    for table, counts in report["tables"].items():
        print(
            f"  {table}: {counts['records_accepted']:,} of {counts['records_in']:,} records "
            f"accepted ({counts['rows_accepted']:,} rows)"
        )
        for reason, rows in counts["quarantine_reasons_rows"].items():
            print(f"    quarantined {rows:,} rows: {reason}")
    log = result.log
    print(f"  window {log.start:%Y-%m-%d %H:%M:%S} .. {log.end:%Y-%m-%d %H:%M:%S}")
    print(
        f"Results in {out}/ (reported/, quarantine.parquet, ingest_report.json, manifest.json) "
        f"in {wall:.2f} s"
    )
    return 0


def _check_scenario_out(out: Path, force: bool) -> None:
    """Refuse, before any fitting, a ``--out`` that is no YAML file or holds another file.

    Raises
    ------
    UserError
        If ``out`` does not end in ``.yaml``/``.yml``, is a directory, lies below a file or
        in a directory that cannot be written, or exists without ``lti calibrate``'s first
        line (unless ``force``): a file of the user's is never overwritten unasked.
    """
    from toolkit.ingest.calibrate import WRITTEN_BY
    from toolkit.run.outputs import OutputError, writable_parent

    if out.suffix.lower() not in (".yaml", ".yml"):
        raise UserError(f"{out}: a scenario is YAML; give a file name ending in .yaml")
    if out.is_dir():
        raise UserError(f"{out}: is a directory; give the scenario file to write")
    try:
        writable_parent(out)
    except OutputError as exc:
        raise UserError(str(exc)) from None
    if out.exists() and not force:
        try:
            with out.open(encoding="utf-8", errors="replace") as stream:
                first = stream.readline()
        except OSError as exc:
            raise UserError(f"{out}: cannot be read ({exc.strerror})") from None
        if not first.startswith(WRITTEN_BY):
            raise UserError(
                f"{out}: exists and was not written by lti calibrate; choose another file "
                "or give --force to replace it"
            )


def _calibrate(args: argparse.Namespace) -> int:
    from toolkit.config import load_scenario
    from toolkit.ingest import calibrate, write_scenario

    _check_scenario_out(Path(args.out).expanduser(), args.force)
    log, source = read_run_log(args.directory)
    base = load_scenario(args.base) if args.base else None
    try:
        result = calibrate(
            log, base=base, sla_targets=args.sla_targets, name=args.name, source=str(source)
        )
    except ValueError as exc:
        raise UserError(f"{source}: {exc}") from None
    path = write_scenario(result, Path(args.out).expanduser())
    scenario = load_scenario(path)  # what lti validate checks; a failure here is a bug
    org = scenario.organisation
    print(
        f"Calibrated {scenario.name!r} from {source}: {len(org.teams)} teams, "
        f"{len(org.services)} services; written to {path} (passes lti validate)"
    )
    fits = result.fits.copy()
    fits["share"] = fits["share"].map("{:.4f}".format)
    print(fits.to_string(index=False))
    incidents = scenario.environment.incidents
    print(
        f"reopen_probability {incidents.reopen_probability:g}, "
        f"reassignment_probability {incidents.reassignment_probability:g}, "
        f"closure_delay_hours {incidents.closure_delay_hours:g}"
    )
    for note in result.notes:
        print(f"  note: {note}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``ingest`` and ``calibrate`` to the ``lti`` parser."""
    from toolkit.ingest import FORMATS

    ingest = commands.add_parser(
        "ingest",
        help="read ServiceNow, HP Service Manager or Jira exports into the canonical log",
        description="Map export files into DIR/reported (the canonical log), quarantine rows "
        "that fail validation in DIR/quarantine.parquet with a reason code, and account for "
        "every row in DIR/ingest_report.json; DIR/manifest.json records each input's SHA-256.",
    )
    ingest.add_argument("format", metavar="FORMAT", help=f"one of: {', '.join(FORMATS)}")
    ingest.add_argument("files", nargs="+", metavar="FILE", help="export files (.csv, .csv.gz)")
    ingest.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output directory: new, empty or holding an earlier ingest (else refused)",
    )
    ingest.add_argument(
        "--force",
        action="store_true",
        help="replace DIR even if it holds another kind of result or other files",
    )
    ingest.add_argument(
        "--mapping", metavar="YAML", help="a mapping file to use instead of the shipped one"
    )
    ingest.add_argument(
        "--sla-targets",
        type=sla_targets,
        metavar="P=H,...",
        help="resolution SLA hours per priority, e.g. 1=4,2=8,3=24,4=72 (default: the mapping's)",
    )
    ingest.set_defaults(handler=_ingest)

    calibrate = commands.add_parser(
        "calibrate",
        help="fit a scenario's environment to an ingested (or simulated) log",
        description="Fit arrival rates per service, the priority mix, lognormal work times per "
        "priority, reopen and reassignment probabilities and SLA targets to the log in "
        "DIR/reported (else DIR/truth), and write a scenario that passes lti validate.",
    )
    calibrate.add_argument("directory", metavar="DIR", help="an ingest or run directory")
    calibrate.add_argument(
        "--out",
        required=True,
        metavar="SCENARIO.yaml",
        help="output file: new, or one lti calibrate wrote (else refused)",
    )
    calibrate.add_argument(
        "--base",
        metavar="SCENARIO.yaml",
        help="take the organisation and unfitted settings from this scenario",
    )
    calibrate.add_argument(
        "--sla-targets",
        type=sla_targets,
        metavar="P=H,...",
        help="SLA hours per priority (default: the log's targets)",
    )
    calibrate.add_argument("--name", default="calibrated", help="scenario name")
    calibrate.add_argument(
        "--force", action="store_true", help="replace --out even if lti calibrate did not write it"
    )
    calibrate.set_defaults(handler=_calibrate)
