"""Ingestion on hand-made exports: mappings, quarantine reasons, collapse, Jira, the CLI."""

import json

import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.config import ConfigError
from toolkit.events import EventLog
from toolkit.ingest import FORMATS, MAPPINGS_DIR, IngestError, ingest, load_mapping
from toolkit.metrics import compute_kpis
from toolkit.metrics.vendor_sla import measurable
from toolkit.run.manifest import write_manifest

from .conftest import ROOT

DATA = ROOT / "tests" / "data" / "ingest"
BAD_TABLE = DATA / "servicenow_table_bad.csv"
AUDIT = DATA / "servicenow_audit_small.csv"
JIRA = DATA / "jira_export.csv"


def reasons_by_line(result):
    quarantine = result.quarantine
    return dict(zip(quarantine["line"], quarantine["reason"], strict=True))


# --- mapping files -----------------------------------------------------------------------------


def test_the_four_formats_are_shipped_and_valid():
    assert FORMATS == ("hpsm", "jira", "servicenow-audit", "servicenow-table")
    for name in FORMATS:
        assert load_mapping(MAPPINGS_DIR / f"{name}.yaml").name == name


def mapping_problems(tmp_path, replace: tuple[str, str]) -> list[str]:
    text = (MAPPINGS_DIR / "servicenow-table.yaml").read_text()
    assert replace[0] in text
    path = tmp_path / "mapping.yaml"
    path.write_text(text.replace(*replace, 1))
    with pytest.raises(ConfigError) as err:
        load_mapping(path)
    return err.value.lines()


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (
            ("missing: [", "mising: ["),
            "read.mising: unknown key; did you mean 'missing'?",
        ),
        (
            (
                "    vendor_id: {column: vendor}\n",
                "    vendor_id: {column: vendor}\n    vendor: {column: vendor}\n",
            ),
            "incidents.fields.vendor: not a column of the canonical incidents table; "
            "did you mean 'vendor_id'?",
        ),
        (
            ("    on_hold_hours: {constant: 0.0}", "   "),
            "incidents.fields: no mapping for 'on_hold_hours', which the log requires",
        ),
        (
            ("required: [incident_id, opened_at,", "required: [incident_id,"),
            "incidents.fields.opened_at: can come out missing but the log requires it",
        ),
        (
            ("reopen_count: {column: reopen_count, default: 0}", "reopen_count: {constant: '0'}"),
            "incidents.fields.reopen_count.constant: '0' is not a int64 value",
        ),
        (
            ("{1: 8, 2: 24, 3: 72, 4: 120}", "{1: 8, 2: 24}"),
            "incidents.fields.sla_target_hours.by_priority: give a value for each priority 1..4",
        ),
        (
            (
                "team_id: {column: assignment_group,",
                "team_id: {constant: x, column: assignment_group,",
            ),
            "incidents.fields.team_id: give exactly one of 'column', 'constant'",
        ),
    ],
    ids=[
        "typo",
        "unknown-column",
        "unmapped",
        "not-required",
        "type",
        "by-priority",
        "two-sources",
    ],
)
def test_a_bad_mapping_is_refused_with_the_key_path(tmp_path, replace, expected):
    lines = mapping_problems(tmp_path, replace)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{tmp_path / 'mapping.yaml'}: {expected}"), lines[0]


# --- a hand-made bad ServiceNow table export ---------------------------------------------------


@pytest.fixture(scope="module")
def bad_table():
    return ingest("servicenow-table", [BAD_TABLE])


def test_each_bad_row_is_quarantined_with_its_reason_and_line(bad_table):
    assert reasons_by_line(bad_table) == {
        3: "missing_required:opened_at",
        4: "unparseable_time:opened_at",  # its description spans lines 4-5
        6: "resolved_before_opened",
        7: "priority_out_of_range",
        8: "duplicate_id",
        9: "unmapped_value:priority",
        10: "unparseable_bool:sla_breached",
        11: "negative_value:reopen_count",
        12: "unparseable_time:resolved_at",
        13: "empty_row",
        14: "closed_before_resolved",
        15: "missing_required:incident_id",
    }
    assert list(bad_table.log.incidents["incident_id"]) == ["INC001", "INC014", "INC015"]


def test_rows_are_accounted_for_exactly(bad_table):
    report = bad_table.report
    assert report["rows_in"] == 15 == report["rows_accepted"] + report["rows_quarantined"]
    assert (report["rows_accepted"], report["rows_quarantined"]) == (3, 12)
    (entry,) = report["files"]
    assert entry["path"] == str(BAD_TABLE)
    assert entry["rows_in"] == 15
    assert entry["mapped_columns_absent"] == ["cmdb_ci", "category", "rfc"]
    table = report["tables"]["incidents"]
    assert table["quarantine_reasons_rows"]["duplicate_id"] == 1
    assert table["defaults_applied"]["reopen_count"] == 1  # INC015's empty counter


def test_quarantine_keeps_the_original_cells(bad_table):
    row = bad_table.quarantine.set_index("line").loc[4]
    assert row["source_file"] == str(BAD_TABLE)
    assert row["table"] == "incidents"
    assert row["record_id"] == "INC003"
    values = json.loads(row["values"])
    assert values["opened_at"] == "2024-13-45 10:00:00"
    assert values["short_description"] == "Bad date,\nspans two lines"
    assert list(bad_table.quarantine.columns) == [
        "source_file",
        "line",
        "table",
        "record_id",
        "reason",
        "values",
    ]


def test_accepted_rows_map_to_the_canonical_columns(bad_table):
    inc = bad_table.log.incidents.set_index("incident_id")
    assert bad_table.log.validate() == []
    assert inc.loc["INC001", "responded_at"] == pd.Timestamp("2024-01-02 09:30")
    assert inc.loc["INC001", "service_id"] == "email"
    assert inc.loc["INC014", ["root_cause", "change_id"]].tolist() == ["change", "CHG0042"]
    assert inc.loc["INC014", ["reopen_count", "reassignment_count"]].tolist() == [1, 2]
    assert bool(inc.loc["INC014", "sla_breached"])  # made_sla false
    assert inc.loc["INC015", ["priority", "root_cause", "vendor_id"]].tolist() == [
        2,
        "vendor",
        "Telco",
    ]
    assert inc.loc["INC015", "service_id"] == "UNKNOWN"  # nothing names its service
    assert inc.loc["INC015", "sla_target_hours"] == 24
    assert (inc["on_hold_hours"] == 0).all()
    assert bad_table.log.start == pd.Timestamp("2024-01-02 09:00")
    assert bad_table.log.end == pd.Timestamp("2024-01-06 20:00:01")
    assert bad_table.log.services.set_index("service_id")["team_id"].to_dict() == {
        "UNKNOWN": "Network",
        "email": "Service Desk",
        "lan": "Network",
    }


def test_sla_targets_can_be_overridden():
    result = ingest("servicenow-table", [BAD_TABLE], sla_targets={2: 4.0})
    inc = result.log.incidents.set_index("incident_id")
    assert inc.loc["INC015", "sla_target_hours"] == 4
    assert inc.loc["INC001", "sla_target_hours"] == 72
    assert result.report["sla_target_hours"] == {"1": 8.0, "2": 4.0, "3": 72.0, "4": 120.0}


# --- the audit log: updates collapse to incidents ----------------------------------------------


@pytest.fixture(scope="module")
def audit():
    return ingest("servicenow-audit", [AUDIT])


def test_audit_updates_collapse_to_the_last_update(audit):
    inc = audit.log.incidents.set_index("incident_id")
    assert list(inc.index) == ["INC0000001", "INC0000004"]
    first = inc.loc["INC0000001"]
    assert (first["priority"], first["priority_initial"]) == (2, 3)
    assert (first["team_id"], first["reassignment_count"]) == ("Group 2", 1)
    assert (first["root_cause"], first["change_id"]) == ("change", "CHG0000007")
    assert bool(first["sla_breached"])  # made_sla false on the last update
    assert first["on_hold_hours"] == 3.0  # Awaiting User Info from 10:00 to the 13:00 update
    # Rows out of order in the file: the last update is the highest sys_mod_count.
    fourth = inc.loc["INC0000004"]
    assert (fourth["reopen_count"], fourth["priority_initial"]) == (2, 1)
    assert (fourth["service_id"], fourth["team_id"]) == ("UNKNOWN", "UNASSIGNED")
    assert (fourth["root_cause"], fourth["vendor_id"]) == ("vendor", "Vendor 1")
    assert audit.log.validate() == []


def test_audit_quarantine_takes_whole_incidents_and_counts_rows(audit):
    assert reasons_by_line(audit) == {
        6: "unparseable_number:sys_mod_count",  # the other row of INC0000002 goes with it
        7: "unparseable_number:sys_mod_count",
        8: "resolved_before_opened",
        9: "resolved_before_opened",
        10: "missing_required:incident_id",
    }
    table = audit.report["tables"]["incidents"]
    assert (table["rows_in"], table["rows_accepted"], table["rows_quarantined"]) == (11, 6, 5)
    assert (table["records_in"], table["records_accepted"], table["records_quarantined"]) == (
        5,
        2,
        3,
    )


# --- Jira Service Management -------------------------------------------------------------------


@pytest.fixture(scope="module")
def jira():
    return ingest("jira", [JIRA])


def test_jira_export_maps_incidents_and_quarantines_the_rest(jira):
    assert reasons_by_line(jira) == {
        6: "filtered_out:Issue Type",  # SD-2's description spans lines 3-5
        7: "unmapped_value:priority",
        8: "unparseable_time:opened_at",
        9: "resolved_before_opened",
        10: "duplicate_id",
    }
    inc = jira.log.incidents.set_index("incident_id")
    assert list(inc.index) == ["SD-1", "SD-2", "SD-8"]
    assert inc.loc["SD-1", ["service_id", "team_id", "priority", "csat"]].tolist() == [
        "Payments",
        "Payments Team",
        1,
        4.0,
    ]
    assert inc.loc["SD-1", "opened_at"] == pd.Timestamp("2024-01-03 09:15")
    assert not inc.loc["SD-1", "sla_breached"]  # 2.5 hours against 8
    assert inc.loc["SD-2", ["team_id", "root_cause", "change_id"]].tolist() == [
        "SD",
        "change",
        "CHG-7",
    ]
    assert pd.isna(inc.loc["SD-2", "resolved_at"])
    assert inc.loc["SD-8", ["service_id", "team_id", "priority"]].tolist() == ["Email", "OPS", 4]
    assert inc.loc["SD-8", "sla_breached"]  # 200 hours against 120
    assert jira.log.validate() == []


def test_the_same_kpi_code_measures_an_ingested_log(jira):
    kpis = compute_kpis(jira.log, period="all")
    org = kpis[(kpis["team_id"] == "ALL") & (kpis["service_id"] == "ALL")].set_index("kpi")
    assert org.loc["incident_volume", "value"] == 3
    assert org.loc["mttr_mean_hours", "value"] == pytest.approx((2.5 + 200) / 2)
    assert org.loc["csat_mean", "value"] == 4


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("servicenow", [BAD_TABLE]), "unknown format 'servicenow'; did you mean"),
        (("jira", [DATA / "no_such.csv"]), "no_such.csv: file not found"),
        (
            ("servicenow-table", [JIRA]),
            f"{JIRA}: not a servicenow-table export: missing required column(s) 'number', "
            "'opened_at', 'priority', 'made_sla'",
        ),
        (("jira", [JIRA, JIRA]), "same content as"),
        (("hpsm", [BAD_TABLE]), "as incidents it lacks 'Incident ID'"),
    ],
    ids=["format", "missing", "wrong-format", "twice", "hpsm-neither"],
)
def test_bad_input_raises_one_line(args, message):
    with pytest.raises(IngestError) as err:
        ingest(*args)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_an_empty_file_is_refused(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(IngestError, match="empty.csv: file is empty"):
        ingest("jira", [empty])


def test_no_accepted_row_is_an_error_naming_the_reasons(tmp_path):
    path = tmp_path / "all_bad.csv"
    path.write_text("number,opened_at,priority,made_sla\nINC1,,3,true\n")
    with pytest.raises(IngestError, match="no row accepted.*missing_required:opened_at"):
        ingest("servicenow-table", [path])


# --- the command line --------------------------------------------------------------------------


def test_cli_ingest_writes_log_quarantine_report_and_manifest(tmp_path, capsys):
    out = tmp_path / "jira"
    assert main(["ingest", "jira", str(JIRA), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "8 rows in = 3 accepted + 5 quarantined" in printed
    assert sorted(p.name for p in (out / "reported").iterdir()) == [
        "incidents.parquet",
        "log.json",
        "services.parquet",
    ]
    log = EventLog.read_parquet(out / "reported")
    assert len(log.incidents) == 3 and log.meta["view"] == "reported"
    assert log.meta["tables"] == ["incidents"]  # read back: no outages, so no availability
    assert not measurable(log, "availability")
    assert len(pd.read_parquet(out / "quarantine.parquet")) == 5
    report = json.loads((out / "ingest_report.json").read_text())
    assert report["rows_in"] == 8
    manifest = json.loads((out / "manifest.json").read_text())
    (source,) = manifest["inputs"]
    assert source["sha256"] == report["files"][0]["sha256"]
    assert len(source["sha256"]) == 64 and source["rows"] == 8
    assert {"reported/incidents.parquet", "quarantine.parquet", "ingest_report.json"} <= set(
        manifest["outputs"]
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ingest", "servicenow", str(JIRA)], "lti ingest: unknown format 'servicenow'"),
        (["ingest", "jira", "/no/such.csv"], "lti ingest: /no/such.csv: file not found"),
        (["ingest", "servicenow-audit", str(JIRA)], "not a servicenow-audit export"),
        (["kpis", "/no/such/dir"], "lti kpis: /no/such/dir: no such directory"),
        (["calibrate", str(DATA), "--out", "x.yaml"], "no event log"),
    ],
    ids=["format", "file", "not-the-format", "kpis-dir", "calibrate-dir"],
)
def test_cli_user_errors_exit_2_with_one_line(tmp_path, capsys, argv, message):
    if argv[0] == "ingest":
        argv = [*argv, "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_refuses_a_bad_mapping_file(tmp_path, capsys):
    mapping = tmp_path / "mine.yaml"
    mapping.write_text("name: x\ndescription: y\nincidents: {fields: {}}\nextra: 1\n")
    argv = ["ingest", "jira", str(JIRA), "--out", str(tmp_path / "out"), "--mapping", str(mapping)]
    assert main(argv) == 2
    assert "mine.yaml: extra: unknown key" in capsys.readouterr().err


def test_cli_refuses_malformed_sla_targets(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ingest", "jira", str(JIRA), "--out", "x", "--sla-targets", "1=fast"])
    assert exc.value.code == 2
    assert "PRIORITY=HOURS" in capsys.readouterr().err


def with_manifest(directory):
    """Record every file under ``directory`` in a manifest, as the commands that write logs do."""
    files = [path for path in directory.rglob("*") if path.is_file()]
    write_manifest(directory, {"command": "simulate"}, files)


def test_cli_kpis_measures_a_simulated_run_like_a_real_export(tmp_path, small_log, capsys):
    small_log.write_parquet(tmp_path / "truth")
    with_manifest(tmp_path)
    assert main(["kpis", str(tmp_path), "--period", "year", "--sla-tolerance", "0.1"]) == 0
    assert "mttr_mean_hours" in capsys.readouterr().out
    written = pd.read_parquet(tmp_path / "kpis.parquet")
    expected = compute_kpis(small_log, period="year", sla_tolerance=0.1)
    assert set(written["view"]) == {"true"}
    pd.testing.assert_frame_equal(written.drop(columns="view"), expected)


def test_cli_kpis_measures_every_view_and_summarises_the_reported_log(
    tmp_path, small_log, jira, capsys
):
    small_log.write_parquet(tmp_path / "truth")
    jira.log.write_parquet(tmp_path / "reported")
    with_manifest(tmp_path)
    assert main(["kpis", str(tmp_path)]) == 0
    assert "reported log" in capsys.readouterr().out
    written = pd.read_parquet(tmp_path / "kpis.parquet")
    for view, log in (("true", small_log), ("reported", jira.log)):
        part = written[written["view"] == view].drop(columns="view").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, compute_kpis(log))
