"""The ``lti`` command: exit codes, messages without tracebacks, files written."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.events import EventLog
from toolkit.sim import simulate

from .conftest import ROOT, SCENARIOS

BAD = sorted((ROOT / "tests" / "data" / "bad_scenarios").glob("*.yaml"))


def test_validate_accepts_the_shipped_scenarios(capsys):
    files = [str(p) for p in sorted(SCENARIOS.glob("*.yaml"))]
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok (scenario") == len(files)


def test_validate_reports_good_and_bad_files_together(capsys):
    assert main(["validate", str(SCENARIOS / "small.yaml"), str(BAD[0])]) == 2
    captured = capsys.readouterr()
    assert "small.yaml: ok" in captured.out
    assert str(BAD[0]) in captured.err


def test_console_script_exits_2_without_traceback():
    bad = BAD[0]
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", "validate", str(bad), "/no/such/file.yaml"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "/no/such/file.yaml: file not found" in result.stderr


def test_simulate_without_a_plan_is_no_incentive_and_writes_everything(
    tmp_path, small_scenario, capsys
):
    out = tmp_path / "run"
    assert main(["simulate", str(SCENARIOS / "small.yaml"), "--seed", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mttr_mean_hours" in printed and "with seed 5" in printed
    assert "'no_incentive'" in printed
    for view in ("truth", "reported"):
        for name in ("incidents", "changes", "outages"):
            assert (out / view / f"{name}.parquet").is_file()
    written = EventLog.read_parquet(out / "truth")
    expected = simulate(small_scenario, seed=5)
    pd.testing.assert_frame_equal(written.incidents, expected.incidents)
    pd.testing.assert_frame_equal(written.changes, expected.changes)
    reported = EventLog.read_parquet(out / "reported")
    pd.testing.assert_frame_equal(reported.incidents, written.incidents)  # nobody games
    kpis = pd.read_parquet(out / "kpis.parquet")
    assert list(kpis.columns) == ["view", "period", "team_id", "service_id", "kpi", "value"]
    assert set(kpis["view"]) == {"true", "reported"}
    assert {"2025Q1", "2026Q4"} <= set(kpis["period"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["plan"] == "no_incentive"
    assert summary["gaming_index"] == 0 and summary["total_awards"] == 0
    for key in ("risk_aversion_index", "true_health", "business_loss", "definitions"):
        assert key in summary
    behaviour = pd.read_parquet(out / "behaviour.parquet")
    assert len(behaviour) == len(small_scenario.organisation.teams) * 8
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5
    assert manifest["scenario"]["fingerprint"] == small_scenario.fingerprint()
    assert manifest["plan"]["name"] == "no_incentive"
    assert manifest["wall_time_seconds"] > 0
    assert manifest["toolkit_version"]
    for name in ("truth/incidents.parquet", "reported/incidents.parquet", "awards.parquet"):
        assert name in manifest["outputs"]


def test_simulate_under_a_plan_pays_awards_and_records_behaviour(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["simulate", str(SCENARIOS / "small.yaml"), "--plan", "mttr_only", "--out", str(out)]
    assert main([*args, "--seed", "3"]) == 0
    assert "'mttr_only'" in capsys.readouterr().out
    awards = pd.read_parquet(out / "awards.parquet")
    for column in ("granted", "vested", "deferred", "forfeited", "malus", "clawed_back", "paid"):
        assert column in awards.columns
    assert awards["granted"].sum() > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total_awards"] == pytest.approx(awards["earned"].sum())
    assert summary["plan"] == "mttr_only"


def test_simulate_refuses_an_unknown_plan(tmp_path, capsys):
    args = ["simulate", str(SCENARIOS / "small.yaml"), "--plan", "mttr_onyl"]
    assert main([*args, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "mttr_onyl" in err and "mttr_only" in err and "Traceback" not in err


def test_simulate_refuses_a_bad_scenario(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["simulate", str(BAD[0]), "--out", str(out)]) == 2
    assert str(BAD[0]) in capsys.readouterr().err
    assert not out.exists()


def test_kpis_list_prints_the_catalogue(capsys):
    from toolkit.metrics import CATALOGUE

    assert main(["kpis", "--list"]) == 0
    out = capsys.readouterr().out
    for name, kpi in CATALOGUE.items():
        assert name in out
        assert kpi.direction in out


def test_kpis_without_list_is_a_user_error(capsys):
    assert main(["kpis"]) == 2
    assert "--list" in capsys.readouterr().err


def test_unknown_command_exits_2():
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_run_scenario_can_show_progress_over_the_periods(tmp_path, capsys):
    from toolkit.run import run_scenario

    result = run_scenario(SCENARIOS / "small.yaml", 1, tmp_path / "run", progress=True)
    err = capsys.readouterr().err
    assert "periods" in err and "8/8" in err
    assert result.summary["plan"] == "no_incentive"
