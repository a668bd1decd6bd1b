"""Malformed exports: each is refused in one line with exit 2 and nothing written, or quarantined.

``tests/data/bad_exports/index.csv`` names, per file, the format to ingest it as, a mapping file
if any, the outcome (``refused`` or ``quarantined``) and the text the message (or the quarantine
reason) must hold.
"""

import csv
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.ingest import ingest

from .conftest import ROOT

BAD = ROOT / "tests" / "data" / "bad_exports"
INDEX = list(csv.DictReader((BAD / "index.csv").open(encoding="utf-8")))
SECONDS = 20  # far above what any of these files takes; a hang fails instead of waiting


@contextmanager
def deadline(seconds: int):
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def cases(outcome: str) -> list:
    """The index entries with ``outcome``, as parameters named by their file."""
    return [pytest.param(e, id=e["file"]) for e in INDEX if e["outcome"] == outcome]


def argv_for(entry: dict, out) -> list[str]:
    argv = ["ingest", entry["format"], str(BAD / entry["file"]), "--out", str(out)]
    return [*argv, "--mapping", str(BAD / entry["mapping"])] if entry["mapping"] else argv


def test_the_corpus_is_large_and_fully_indexed():
    indexed = {entry["file"] for entry in INDEX}
    mappings = {entry["mapping"] for entry in INDEX if entry["mapping"]}
    present = {path.name for path in BAD.iterdir()} - {"index.csv"}
    assert indexed | mappings == present
    assert sum(entry["outcome"] == "refused" for entry in INDEX) >= 10
    for entry in INDEX:
        assert entry["outcome"] in ("refused", "quarantined")
        assert entry["file"].split(".")[1] == entry["format"]


@pytest.mark.parametrize("entry", cases("refused"))
def test_a_malformed_export_is_refused_in_one_line_and_writes_nothing(entry, tmp_path, capsys):
    out = tmp_path / "out"
    with deadline(SECONDS):
        code = main(argv_for(entry, out))
    captured = capsys.readouterr()
    assert code == 2
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("lti ingest: ")
    assert entry["expect"] in line
    if entry["format"] != "servicenow":  # an unknown format is about the format, not a file
        assert entry["file"] in line
    assert "Traceback" not in captured.err and captured.out == ""
    assert sorted(tmp_path.iterdir()) == []  # no DIR, and no staging left beside it


@pytest.mark.parametrize("entry", cases("quarantined"))
def test_one_impossible_row_is_quarantined_and_the_rest_ingests(entry, tmp_path, capsys):
    out = tmp_path / "out"
    with deadline(SECONDS):
        assert main(argv_for(entry, out)) == 0
    assert f"quarantined 1 rows: {entry['expect']}" in capsys.readouterr().out
    quarantine = pd.read_parquet(out / "quarantine.parquet")
    assert quarantine["reason"].tolist() == [entry["expect"]]
    rows = sum(1 for _ in (BAD / entry["file"]).open()) - 1
    incidents = pd.read_parquet(out / "reported" / "incidents.parquet")
    assert len(incidents) == rows - 1
    assert quarantine["record_id"].iloc[0] not in set(incidents["incident_id"])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2024-02-30 10:00:00", "unparseable_time:opened_at"),
        ("0000-00-00 00:00:00", "unparseable_time:opened_at"),
        ("99999-01-01 10:00:00", "unparseable_time:opened_at"),
        ("now", "unparseable_time:opened_at"),
        ("yesterday 10:00", "unparseable_time:opened_at"),
        ("2300-01-01 10:00:00", "time_out_of_range:opened_at"),
        ("1600-01-01 10:00:00", "time_out_of_range:opened_at"),
        ("2262-04-11 23:47:16", "time_out_of_range:opened_at"),
    ],
)
def test_each_impossible_timestamp_quarantines_its_row_only(tmp_path, text, reason):
    header = "number,opened_at,priority,made_sla"
    path = tmp_path / "export.csv"
    path.write_text(f"{header}\nINC1,{text},3,true\nINC2,2024-01-02 09:00:00,3,true\n")
    result = ingest("servicenow-table", [path])
    assert result.quarantine["reason"].tolist() == [reason]
    assert result.quarantine["record_id"].tolist() == ["INC1"]
    assert result.log.incidents["incident_id"].tolist() == ["INC2"]


@pytest.mark.parametrize(
    ("group", "service", "reason"),
    [("ALL", "email", "reserved_id:team_id"), ("Network", "ALL", "reserved_id:service_id")],
)
def test_a_team_or_service_named_as_the_aggregate_quarantines_its_row(
    tmp_path, group, service, reason
):
    header = "number,opened_at,priority,made_sla,assignment_group,business_service"
    path = tmp_path / "export.csv"
    rows = f"INC1,2024-01-02 09:00:00,3,true,{group},{service}\n"
    rows += "INC2,2024-01-02 10:00:00,3,true,Network,email\n"
    path.write_text(f"{header}\n{rows}")
    result = ingest("servicenow-table", [path])
    assert result.quarantine["reason"].tolist() == [reason]
    assert result.log.incidents["incident_id"].tolist() == ["INC2"]
    assert "ALL" not in set(result.log.incidents[["team_id", "service_id"]].stack())


def test_an_out_of_range_update_time_quarantines_the_whole_audited_incident(tmp_path):
    header = (
        "number,incident_state,reassignment_count,reopen_count,sys_mod_count,sys_updated_at,"
        "opened_at,priority,made_sla"
    )
    rows = [
        "INC1,New,0,0,0,01/03/2024 10:00,01/03/2024 10:00,3 - Moderate,true",
        "INC1,Resolved,0,0,1,01/03/2300 10:00,01/03/2024 10:00,3 - Moderate,true",
        "INC2,New,0,0,0,02/03/2024 10:00,02/03/2024 10:00,3 - Moderate,true",
    ]
    path = tmp_path / "audit.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    result = ingest("servicenow-audit", [path])
    assert result.quarantine["reason"].tolist() == ["time_out_of_range:sys_updated_at"] * 2
    assert result.log.incidents["incident_id"].tolist() == ["INC2"]


def test_timestamps_with_different_offsets_are_read_as_utc(tmp_path):
    header = "number,opened_at,priority,made_sla"
    path = tmp_path / "export.csv"
    path.write_text(
        f"{header}\nINC1,2024-01-02T10:00:00+02:00,3,true\nINC2,2024-01-02T09:00:00Z,3,true\n"
    )
    mapping = (ROOT / "toolkit" / "ingest" / "mappings" / "servicenow-table.yaml").read_text()
    custom = tmp_path / "iso.yaml"
    custom.write_text(
        mapping.replace(
            'opened_at: {column: opened_at, format: "%Y-%m-%d %H:%M:%S"}',
            "opened_at: {column: opened_at}",
        )
    )
    result = ingest("servicenow-table", [path], mapping=custom)
    assert result.log.incidents["opened_at"].tolist() == [
        pd.Timestamp("2024-01-02 08:00:00"),
        pd.Timestamp("2024-01-02 09:00:00"),
    ]


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_a_device_is_refused_without_blocking(tmp_path, capsys, kind):
    if kind == "fifo":
        path = tmp_path / "export.csv"
        os.mkfifo(path)  # nobody writes: reading it would block for ever
    else:
        path = Path("/dev/zero")  # reading it would never end
    with deadline(SECONDS):
        code = main(["ingest", "jira", str(path), "--out", str(tmp_path / "out")])
    assert code == 2
    assert f"{path}: not a regular file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
