"""Ingestion of the real public exports: exact row accounting and KPIs checked independently.

The expectations are computed here from the raw files with plain pandas, not with the toolkit.
"""

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.events import EventLog

from .conftest import ROOT

REAL = ROOT.parent / "shared" / "data" / "real"
UCI = REAL / "uci_incident_event_log" / "incident_event_log.csv.gz"
HPSM = REAL / "bpic2014_rabobank_itil"
SN_TABLE = REAL / "servicenow_demo_incidents_rest" / "incidents_REST.csv"
HOUR = pd.Timedelta(1, "h")
UCI_TIME = "%d/%m/%Y %H:%M"

pytestmark = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"the real exports are not available here ({REAL} is absent)"
)


def data_rows(path) -> int:
    """Count a CSV's data rows as lines after the header (none of these files wraps a field)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        return sum(1 for _ in handle) - 1


def ingest_cli(tmp_path_factory, name, fmt, *files):
    out = tmp_path_factory.mktemp(name)
    assert main(["ingest", fmt, *map(str, files), "--out", str(out)]) == 0
    return out, json.loads((out / "ingest_report.json").read_text())


# --- UCI ServiceNow audit log ------------------------------------------------------------------


@pytest.fixture(scope="module")
def uci(tmp_path_factory):
    out, report = ingest_cli(tmp_path_factory, "uci", "servicenow-audit", UCI)
    assert main(["kpis", str(out)]) == 0
    return out, report


@pytest.fixture(scope="module")
def uci_expected():
    """The incidents of the raw log, collapsed and measured with plain pandas."""
    raw = pd.read_csv(UCI, dtype=str, keep_default_na=False)
    raw["line"] = np.arange(len(raw))
    raw["mod"] = raw["sys_mod_count"].astype(int)
    raw["updated"] = pd.to_datetime(raw["sys_updated_at"], format=UCI_TIME)
    raw = raw.sort_values(["number", "mod", "updated", "line"])
    last = raw.groupby("number").tail(1).set_index("number")
    first = raw.groupby("number").head(1).set_index("number")

    def times(column):
        return pd.to_datetime(last[column].replace("?", None), format=UCI_TIME)

    opened, resolved, closed = times("opened_at"), times("resolved_at"), times("closed_at")
    # On hold: from an Awaiting ... update to the next update, inside opened..resolved.
    following = raw.groupby("number")["updated"].shift(-1)
    holding = raw["incident_state"].str.startswith("Awaiting") & following.notna()
    start = np.maximum(raw["updated"], raw["number"].map(opened))[holding]
    end = following[holding]
    limit = raw["number"].map(resolved)[holding]
    end = end.where(limit.isna() | (end < limit), limit)
    held = (end - start).clip(lower=pd.Timedelta(0))
    on_hold = held.groupby(raw["number"][holding]).sum().reindex(last.index) / HOUR
    on_hold = on_hold.fillna(0.0)
    priority = last["priority"].str[0].astype(int)
    frame = pd.DataFrame(
        {
            "opened": opened,
            "resolved": resolved,
            "closed": closed,
            "priority": priority,
            "priority_initial": first["priority"].str[0].astype(int),
            "on_hold": on_hold,
            "reopen": last["reopen_count"].astype(int),
            "reassign": last["reassignment_count"].astype(int),
            "made_sla": last["made_sla"] == "true",
            "target": priority.map({1: 8.0, 2: 24.0, 3: 72.0, 4: 120.0}),
        }
    )
    frame["hours"] = ((frame["resolved"] - frame["opened"]) / HOUR - frame["on_hold"]).clip(lower=0)
    return frame


def test_uci_every_row_is_accounted_for(uci):
    _, report = uci
    rows = data_rows(UCI)
    assert rows == 141_712
    assert report["rows_in"] == rows == report["rows_accepted"] + report["rows_quarantined"]
    table = report["tables"]["incidents"]
    assert table["records_in"] == 24_918
    assert table["records_in"] == table["records_accepted"] + table["records_quarantined"]
    assert report["files"][0]["rows_in"] == rows


def test_uci_collapsed_incidents_match_plain_pandas(uci, uci_expected):
    out, _ = uci
    log = EventLog.read_parquet(out / "reported")
    inc = log.incidents.set_index("incident_id").loc[uci_expected.index]
    assert (inc["resolved_at"].isna() == uci_expected["resolved"].isna()).all()
    assert (inc["priority"] == uci_expected["priority"]).all()
    assert (inc["priority_initial"] == uci_expected["priority_initial"]).all()
    assert (inc["sla_breached"] == ~uci_expected["made_sla"]).all()
    np.testing.assert_allclose(inc["on_hold_hours"], uci_expected["on_hold"], atol=1e-9)
    assert log.start == uci_expected["opened"].min()
    last = uci_expected[["opened", "resolved", "closed"]].max().max()
    assert log.end == last + pd.Timedelta(1, "s")


def test_uci_kpis_match_plain_pandas(uci, uci_expected):
    out, _ = uci
    kpis = pd.read_parquet(out / "kpis.parquet")
    org = kpis[(kpis["team_id"] == "ALL") & (kpis["service_id"] == "ALL")]
    got = org.pivot(index="period", columns="kpi", values="value")
    frame = uci_expected
    done = frame[frame["resolved"].notna()]
    by_resolved = done.groupby(done["resolved"].dt.to_period("Q").astype(str))
    by_opened = frame.groupby(frame["opened"].dt.to_period("Q").astype(str))
    expected = pd.DataFrame(
        {
            "mttr_mean_hours": by_resolved["hours"].mean(),
            "mttr_median_hours": by_resolved["hours"].median(),
            "sla_attainment": by_resolved.apply(lambda g: (g["hours"] <= g["target"]).mean()),
            "reopen_rate": by_resolved["reopen"].apply(lambda s: (s > 0).mean()),
            "reassignment_mean": by_resolved["reassign"].mean(),
            "on_hold_share": by_resolved["on_hold"].apply(lambda s: (s > 0).mean()),
            "incident_volume": by_opened.size(),
            "priority_change_rate": by_opened.apply(
                lambda g: (g["priority"] != g["priority_initial"]).mean()
            ),
        }
    )
    assert list(got.index) == ["2016Q1", "2016Q2", "2016Q3", "2016Q4", "2017Q1"]
    for kpi in expected.columns:
        pd.testing.assert_series_equal(
            got[kpi], expected[kpi].astype(float), check_names=False, check_index_type=False
        )
    assert got["incident_volume"].sum() == 24_918


# --- HP Service Manager (BPI Challenge 2014) ---------------------------------------------------


@pytest.fixture(scope="module")
def hpsm(tmp_path_factory):
    incident, change = HPSM / "Detail_Incident.csv", HPSM / "Detail_Change.csv"
    return ingest_cli(tmp_path_factory, "hpsm", "hpsm", incident, change)


def read_hpsm(name):
    raw = pd.read_csv(HPSM / name, sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
    return raw.replace("", np.nan)


def test_hpsm_every_row_is_accounted_for(hpsm):
    _, report = hpsm
    files = {entry["path"].rsplit("/", 1)[-1]: entry for entry in report["files"]}
    for name, table in (("Detail_Incident.csv", "incidents"), ("Detail_Change.csv", "changes")):
        entry = files[name]
        assert entry["table"] == table
        assert entry["rows_in"] == data_rows(HPSM / name)
        assert entry["rows_in"] == entry["rows_accepted"] + entry["rows_quarantined"]
    assert files["Detail_Incident.csv"]["rows_in"] == 46_809
    assert files["Detail_Change.csv"]["rows_in"] == 30_275
    assert report["rows_in"] == 46_809 + 30_275


def test_hpsm_quarantine_reasons_match_the_raw_files(hpsm):
    _, report = hpsm
    incidents = read_hpsm("Detail_Incident.csv")
    empty = incidents.isna().all(axis=1)
    no_count = ~empty & incidents["# Reassignments"].isna()
    assert report["tables"]["incidents"]["quarantine_reasons_rows"] == {
        "empty_row": int(empty.sum()),
        "missing_required:reassignment_count": int(no_count.sum()),
    }
    assert int(empty.sum()) == 203
    changes = read_hpsm("Detail_Change.csv")
    last = changes.groupby("Change ID").tail(1).set_index("Change ID")
    time = "%d-%m-%Y %H:%M"
    early = pd.to_datetime(last["Actual End"], format=time) < pd.to_datetime(
        last["Change record Open Time"], format=time
    )
    table = report["tables"]["changes"]
    assert table["records_in"] == changes["Change ID"].nunique() == 18_000
    assert table["records_quarantined"] == int(early.sum())
    assert table["rows_quarantined"] == int(changes["Change ID"].isin(last.index[early]).sum())


def test_hpsm_changes_fail_when_an_incident_names_them(hpsm):
    out, _ = hpsm
    log = EventLog.read_parquet(out / "reported")
    named = set(read_hpsm("Detail_Incident.csv")["Related Change"].dropna())
    failed = set(log.changes.loc[log.changes["failed"], "change_id"])
    assert failed == named & set(log.changes["change_id"])
    raw = read_hpsm("Detail_Incident.csv").set_index("Incident ID")
    related = raw.loc[log.incidents["incident_id"], "# Related Changes"].notna().to_numpy()
    assert ((log.incidents["root_cause"] == "change").to_numpy() == related).all()
    assert log.validate() == []


# --- ServiceNow table export (demo instance) ---------------------------------------------------


def test_servicenow_table_every_row_is_accounted_for(tmp_path_factory):
    _, report = ingest_cli(tmp_path_factory, "sn", "servicenow-table", SN_TABLE)
    raw = pd.read_csv(SN_TABLE, dtype=str, keep_default_na=False)
    closed = pd.to_datetime(raw["closed_at"].replace("", None))
    resolved = pd.to_datetime(raw["resolved_at"].replace("", None))
    assert report["rows_in"] == data_rows(SN_TABLE) == 67
    assert report["rows_accepted"] + report["rows_quarantined"] == 67
    reasons = report["tables"]["incidents"]["quarantine_reasons_rows"]
    assert reasons == {"closed_before_resolved": int((closed < resolved).sum())}
