"""Ingest export files into the canonical ``EventLog``, quarantining what cannot enter it.

Nothing is lost: every input row ends either in an accepted record of the log or in the
quarantine table with a reason code, its file, its line and its original values, and the report
proves it (rows in = rows accepted + rows quarantined, per file and per table).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from toolkit.events import EventLog, empty_table
from toolkit.events.schema import SCHEMA
from toolkit.ingest.errors import IngestError
from toolkit.ingest.mapping import (
    Mapping,
    load_mapping,
    sha256_of,
    shipped_mapping,
    with_sla_targets,
)
from toolkit.ingest.source import SourceFile, read_source
from toolkit.ingest.tables import TableResult, process_table, required_columns, source_columns

HOUR = pd.Timedelta(1, "h")
# Timestamps that bound the window. implemented_at does not: change tools keep planned dates in
# it (ten HPSM changes claim an actual end years after the export was taken).
WINDOW_TIMES = {
    "incidents": ("opened_at", "resolved_at", "closed_at"),
    "changes": ("submitted_at",),
}
WINDOW_RULE = (
    "start: the first opened_at or submitted_at of an accepted record; end: one second after the "
    "last opened_at, resolved_at, closed_at or submitted_at, so the last event falls inside the "
    "half-open window (implemented_at, often a planned date, does not extend it)"
)
QUARANTINE_COLUMNS = ["source_file", "line", "table", "record_id", "reason", "values"]


@dataclass
class Ingested:
    """The result of one ingestion, in memory.

    Parameters
    ----------
    log : EventLog
        The accepted records as the reported log.
    quarantine : DataFrame
        One row per quarantined input row: ``source_file, line, table, record_id, reason,
        values`` (the original cells as a JSON object of strings).
    report : dict
        The accounting written as ``ingest_report.json``.
    sources : list of SourceFile
        The files read, with their SHA-256.
    tables : list of str
        The canonical tables the format provides (others are not written).
    """

    log: EventLog
    quarantine: pd.DataFrame
    report: dict
    sources: list[SourceFile]
    tables: list[str]


def _describe(alternatives: list[list[str]]) -> str:
    return ", ".join(
        repr(a[0]) if len(a) == 1 else "one of " + "/".join(map(repr, a)) for a in alternatives
    )


def _assign_tables(mapping: Mapping, sources: list[SourceFile]) -> dict[str, list[SourceFile]]:
    """Send each file to the table whose required columns it has."""
    assigned: dict[str, list[SourceFile]] = {table: [] for table in mapping.tables()}
    for source in sources:
        lacking = {}
        for table, tmap in mapping.tables().items():
            lacking[table] = [
                alternatives
                for alternatives in required_columns(table, tmap)
                if not set(alternatives) & set(source.frame.columns)
            ]
        fitting = [table for table, missing in lacking.items() if not missing]
        if fitting:
            assigned[fitting[0]].append(source)
            continue
        if len(lacking) == 1:
            (missing,) = lacking.values()
            detail = f"missing required column(s) {_describe(missing)}"
        else:
            detail = "; ".join(
                f"as {table} it lacks {_describe(missing)}" for table, missing in lacking.items()
            )
        raise IngestError(f"{source.path}: not a {mapping.name} export: {detail}")
    return {table: files for table, files in assigned.items() if files}


def _window(records: dict[str, pd.DataFrame]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the log's window (see :data:`WINDOW_RULE`)."""
    firsts, lasts = [], []
    for table, frame in records.items():
        times = [c for c in WINDOW_TIMES[table] if c in frame]
        firsts.append(frame[times[0]].min())
        lasts += [frame[c].max() for c in times]
    return pd.Series(firsts).min(), pd.Series(lasts).max() + pd.Timedelta(1, "s")


def _derive(records: dict[str, pd.DataFrame], mapping: Mapping, end: pd.Timestamp) -> None:
    """Fill the fields the mapping asks the toolkit to derive, in place."""
    incidents = records.get("incidents")
    for table, frame in records.items():
        for name, spec in mapping.tables()[table].fields.items():
            if spec.derive == "sla_breached_from_times":
                until = frame["resolved_at"].fillna(end) if "resolved_at" in frame else end
                on_hold = frame["on_hold_hours"].astype(float)
                elapsed = (until - frame["opened_at"]) / HOUR - on_hold
                frame[name] = elapsed > frame["sla_target_hours"].astype(float)
            elif spec.derive == "referenced_by_incidents":
                named = incidents is not None and "change_id" in incidents
                causes = incidents["change_id"].dropna() if named else []
                frame[name] = frame["change_id"].isin(causes)


def _canonical(table: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """Give a table of accepted records every schema column (unmapped nullable ones missing)."""
    if frame is None:
        return empty_table(table)
    columns = {
        column: frame[column] if column in frame else pd.Series(None, index=frame.index)
        for column in SCHEMA[table]
    }
    return pd.DataFrame(columns).reset_index(drop=True)


def _services(incidents: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """List each service with the team that handled most of its records (ties: first team id)."""
    pairs = pd.concat([incidents[["service_id", "team_id"]], changes[["service_id", "team_id"]]])
    counts = pairs.groupby(["service_id", "team_id"]).size().rename("n").reset_index()
    counts = counts.sort_values(["service_id", "n", "team_id"], ascending=[True, False, True])
    owners = counts.drop_duplicates("service_id")[["service_id", "team_id"]]
    return _canonical("services", owners)


def _quarantine(
    results: dict[str, TableResult], files: dict[str, list[SourceFile]]
) -> pd.DataFrame:
    """Build the quarantine table from the rows whose record was not accepted."""
    parts = []
    for table, result in results.items():
        offset = 0
        for source in files[table]:
            size = len(source.frame)
            reason = result.row_reason[offset : offset + size]
            bad = pd.notna(reason)
            if bad.any():
                # pandas writes "/" as "\\/"; every "/" is escaped, so unescaping is exact.
                cells = source.frame.loc[bad].to_json(orient="records", lines=True)
                cells = cells.replace("\\/", "/")
                parts.append(
                    pd.DataFrame(
                        {
                            "source_file": str(source.path),
                            "line": source.lines[bad],
                            "table": table,
                            "record_id": result.row_id.to_numpy()[offset : offset + size][bad],
                            "reason": reason[bad],
                            "values": cells.rstrip("\n").split("\n"),
                        }
                    )
                )
            offset += size
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in QUARANTINE_COLUMNS}).astype(
            {"line": "int64"}
        )
    out = pd.concat(parts, ignore_index=True)
    return out.astype({c: "str" for c in QUARANTINE_COLUMNS if c != "line"}).astype(
        {"line": "int64"}
    )


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.dropna().value_counts().sort_index().items()}


def _report(
    mapping: Mapping,
    mapping_path: Path,
    results: dict[str, TableResult],
    files: dict[str, list[SourceFile]],
    log: EventLog,
) -> dict:
    """Write down the accounting: rows and records in, accepted and quarantined, and why."""
    file_entries, tables = [], {}
    for table, result in results.items():
        offset = 0
        for source in files[table]:
            size = len(source.frame)
            bad = int(pd.notna(result.row_reason[offset : offset + size]).sum())
            columns = set(source.frame.columns)
            mapped = source_columns(mapping.tables()[table])
            absent = [c for c in mapped if c not in columns]
            file_entries.append(
                {
                    "path": str(source.path),
                    "sha256": source.sha256,
                    "table": table,
                    "rows_in": size,
                    "rows_accepted": size - bad,
                    "rows_quarantined": bad,
                    "mapped_columns_absent": absent,
                }
            )
            offset += size
        rows_bad = int(pd.notna(result.row_reason).sum())
        records_bad = int(result.record_reason.notna().sum())
        tables[table] = {
            "rows_in": len(result.row_reason),
            "rows_accepted": len(result.row_reason) - rows_bad,
            "rows_quarantined": rows_bad,
            "records_in": len(result.record_reason),
            "records_accepted": len(result.record_reason) - records_bad,
            "records_quarantined": records_bad,
            "rows_per_record": "collapsed by id" if mapping.tables()[table].collapse else "one",
            "quarantine_reasons_rows": _counts(pd.Series(result.row_reason)),
            "quarantine_reasons_records": _counts(result.record_reason),
            "defaults_applied": result.defaults,
        }
    rows_in = sum(t["rows_in"] for t in tables.values())
    accepted = sum(t["rows_accepted"] for t in tables.values())
    quarantined = sum(t["rows_quarantined"] for t in tables.values())
    if rows_in != accepted + quarantined:  # cannot happen: every row has one fate
        raise RuntimeError(f"row accounting broken: {rows_in} != {accepted} + {quarantined}")
    targets = mapping.incidents.fields["sla_target_hours"].by_priority
    return {
        "format": mapping.name,
        "mapping": {"path": str(mapping_path), "sha256": sha256_of(mapping_path)},
        "rows_in": rows_in,
        "rows_accepted": accepted,
        "rows_quarantined": quarantined,
        "accounting": "rows_in == rows_accepted + rows_quarantined; a collapsed record's rows "
        "share its fate",
        "files": file_entries,
        "tables": tables,
        "window": {"start": log.start.isoformat(), "end": log.end.isoformat(), "rule": WINDOW_RULE},
        "sla_target_hours": {str(k): v for k, v in sorted(targets.items())} if targets else None,
    }


def ingest(
    format: str,
    files: Sequence[str | Path],
    *,
    mapping: str | Path | None = None,
    sla_targets: dict[int, float] | None = None,
) -> Ingested:
    """Read export files of one format into the canonical log, quarantining bad rows.

    Parameters
    ----------
    format : str
        A shipped format: ``servicenow-audit``, ``servicenow-table``, ``hpsm`` or ``jira``.
    files : sequence of path
        The export files; several files of one table are read as one (e.g. monthly exports),
        and a format with two tables (``hpsm``) tells its files apart by their columns.
    mapping : path, optional
        A mapping file to use instead of the shipped one (say, for a client's custom columns).
    sla_targets : dict of int to float, optional
        Resolution SLA hours per priority, overriding the mapping's table.

    Returns
    -------
    Ingested

    Raises
    ------
    IngestError
        For an unknown format, a missing or unreadable file, a file that is not the format
        (required columns missing), a file given twice, or when no row at all is accepted.
    ConfigError
        If the mapping file is invalid.
    """
    mapping_path = Path(mapping) if mapping is not None else shipped_mapping(format)
    spec = load_mapping(mapping_path)
    if sla_targets:
        spec = with_sla_targets(spec, sla_targets)
    if not files:
        raise IngestError("no input files given")
    sources = [read_source(path, spec.read) for path in files]
    seen: dict[str, Path] = {}
    for source in sources:
        if source.sha256 in seen:
            raise IngestError(f"{source.path}: same content as {seen[source.sha256]}")
        seen[source.sha256] = source.path
    assigned = _assign_tables(spec, sources)
    results = {
        table: process_table(
            table,
            spec.tables()[table],
            pd.concat([s.frame for s in table_files], ignore_index=True),
            spec.read.missing,
        )
        for table, table_files in assigned.items()
    }
    records = {t: r.records for t, r in results.items() if len(r.records)}
    if not records:
        if not any(len(source.frame) for source in sources):
            only = "a header" if len(sources) == 1 else f"headers ({len(sources)} files)"
            raise IngestError(f"{sources[0].path}: no data rows, only {only}")
        reasons = {t: _counts(pd.Series(r.row_reason)) for t, r in results.items()}
        raise IngestError(f"{sources[0].path}: no row accepted; reasons: {json.dumps(reasons)}")
    start, end = _window(records)
    _derive(records, spec, end)
    incidents = _canonical("incidents", records.get("incidents"))
    changes = _canonical("changes", records.get("changes"))
    tables = [t for t in ("incidents", "changes") if t in assigned]
    log = EventLog(
        incidents=incidents,
        changes=changes,
        outages=empty_table("outages"),
        services=_services(incidents, changes),
        start=start,
        end=end,
        # the tables the export holds: an export has no outage records, so what needs them
        # (a vendor's availability) is not measurable rather than perfect
        meta={"view": "reported", "source": "ingest", "format": spec.name, "tables": tables},
    )
    quarantine = _quarantine(results, assigned)
    report = _report(spec, mapping_path, results, assigned, log)
    return Ingested(log, quarantine, report, sources, tables)


def write_ingested(result: Ingested, directory: str | Path) -> list[Path]:
    """Write the reported log, the quarantine and the report under ``directory``.

    Parameters
    ----------
    result : Ingested
        From :func:`ingest`.
    directory : str or Path
        Created if missing. Writes ``reported/`` (``incidents.parquet``, ``changes.parquet``
        where the format has changes, ``services.parquet``, ``log.json``),
        ``quarantine.parquet`` and ``ingest_report.json``.

    Returns
    -------
    list of Path
        The files written, for the manifest.
    """
    directory = Path(directory)
    reported = result.log.write_parquet(directory / "reported")
    for table in ("changes", "outages"):
        if table not in result.tables:  # no file: the export has no such table (reads as empty)
            (reported / f"{table}.parquet").unlink()
    result.quarantine.to_parquet(directory / "quarantine.parquet", index=False)
    report = directory / "ingest_report.json"
    report.write_text(json.dumps(result.report, indent=2, allow_nan=False) + "\n")
    return [*sorted(reported.iterdir()), directory / "quarantine.parquet", report]
