"""``lti finance`` on one short batch run of scenarios/small.yaml (one seed)."""

import json
from pathlib import Path

import pandas as pd
import pytest

from toolkit.cli.main import main
from toolkit.experiments import run_batch
from toolkit.experiments.batch import RunSpec, execute

SMALL = str(Path(__file__).parent.parent / "scenarios" / "small.yaml")
PLAN = "balanced_guarded"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    row = execute(RunSpec(SMALL, PLAN, 0), str(out))
    return out / row["directory"]


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    result = run_batch([SMALL], [PLAN, "mttr_only"], 2, out, workers=1, progress=False)
    assert result.failures == []
    return out


def finance(run_dir, out, *extra, plan=PLAN):
    return main(
        [
            "finance",
            str(run_dir),
            "--scenario",
            SMALL,
            "--plan",
            plan,
            "--out",
            str(out),
            *extra,
        ]
    )


def test_finance_writes_tables_csv_and_manifest_and_reconciles_a_gl(run_dir, tmp_path, capsys):
    out = tmp_path / "fin"
    assert finance(run_dir, out, "--forfeiture-rate", "0.05") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "finance"
    assert manifest["settings"]["forfeiture_rate"] == 0.05
    for name in ("accruals", "rollforward", "journal"):
        assert f"{name}.parquet" in manifest["outputs"] and f"{name}.csv" in manifest["outputs"]
    rollforward = pd.read_parquet(out / "rollforward.parquet")
    assert len(rollforward) > 0
    assert "## all units" in (out / "rollforward.md").read_text()
    journal = pd.read_csv(out / "journal.csv")
    gl = journal[["period", "account", "business_unit", "cohort", "amount", "reference"]]
    gl = gl.drop(index=0)
    gl.to_csv(tmp_path / "gl.csv", index=False)
    again = tmp_path / "fin2"
    assert (
        finance(run_dir, again, "--forfeiture-rate", "0.05", "--gl", str(tmp_path / "gl.csv")) == 0
    )
    found = pd.read_csv(again / "reconciliation.csv")
    assert found["cause"].tolist() == ["missing posting"]
    assert "1 GL difference(s)" in capsys.readouterr().out
    summary = pd.read_parquet(out / "forecast_summary.parquet")  # one run: one draw
    assert (summary["seeds"] == 1).all() and (summary["paid_p10"] == summary["paid_p90"]).all()
    assert "Liability forecast" in (out / "finance.html").read_text()


def test_finance_on_a_batch_forecasts_every_run_and_accrues_the_one_picked(
    batch_dir, tmp_path, capsys
):
    out = tmp_path / "fin"
    assert finance(batch_dir, out, "--forfeiture-rate", "0.05", "--seed", "1") == 0
    assert "forecast over 4 run(s)" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["batch"]["forecast_runs"] == 4 and manifest["run"]["path"].endswith("seed=1")
    names = ("forecast", "forecast_summary", "cost_by_business_unit", "cost_by_service")
    for name in (*names, "accruals_by_person"):
        assert f"{name}.parquet" in manifest["outputs"] and f"{name}.csv" in manifest["outputs"]
    runs = pd.read_parquet(batch_dir / "runs.parquet").set_index(["plan", "seed"])
    forecast = pd.read_parquet(out / "forecast.parquet")
    assert set(forecast["plan"]) == {PLAN, "mttr_only"} and (forecast["seeds"] == 2).all()
    owed = (runs["total_paid"] + runs["liability_end"]).groupby("plan").sum()
    # open windows are completed at the score to date (the default --expected-score)
    total = ((forecast["mean"] - forecast["future_service_mean"]) * forecast["seeds"]).groupby(
        forecast["plan"]
    )
    future = (forecast["future_service_mean"] * forecast["seeds"]).groupby(forecast["plan"])
    for plan in (PLAN, "mttr_only"):
        assert round(total.sum()[plan], 2) == round(owed[plan], 2)
        assert future.sum()[plan] > 0
    units = pd.read_parquet(out / "cost_by_business_unit.parquet")
    services = pd.read_parquet(out / "cost_by_service.parquet")
    for table in (units, services):
        charged = table.groupby("plan")["earned"].sum()
        means = runs["total_awards"].groupby("plan").mean()
        assert charged[PLAN] == pytest.approx(means[PLAN])
    people = pd.read_parquet(out / "accruals_by_person.parquet")
    accruals = pd.read_parquet(out / "accruals.parquet")
    keys = ["period", "cohort", "team_id"]
    summed = people.groupby(keys)[["expense", "liability"]].sum()
    expected = accruals.set_index(keys)[["expense", "liability"]].loc[summed.index]
    pd.testing.assert_frame_equal(summed, expected, check_exact=False, atol=1e-6)
    page = (out / "finance.html").read_text()
    for heading in ("Liability forecast", "Cost by business unit and service", "roll-forward"):
        assert heading in page
    assert "<script" not in page and page.count("<img") == 2


def test_finance_refuses_a_seed_for_a_single_run(run_dir, tmp_path, capsys):
    assert finance(run_dir, tmp_path / "fin", "--forfeiture-rate", "0", "--seed", "0") == 2
    assert "--seed picks a run of a batch directory" in capsys.readouterr().err
    assert not (tmp_path / "fin").exists()


def test_finance_on_a_batch_refuses_a_run_it_does_not_hold(batch_dir, tmp_path, capsys):
    assert finance(batch_dir, tmp_path / "fin", "--forfeiture-rate", "0", "--seed", "5") == 2
    assert "seeds: 0, 1" in capsys.readouterr().err
    code = finance(batch_dir, tmp_path / "fin", "--forfeiture-rate", "0", plan="balanced")
    assert code == 2
    assert f"small/{PLAN}, small/mttr_only" in capsys.readouterr().err
    assert not (tmp_path / "fin").exists()


def test_finance_refuses_without_a_forfeiture_rate_or_into_another_directory(
    run_dir, tmp_path, capsys
):
    with pytest.raises(SystemExit) as exit_:
        finance(run_dir, tmp_path / "fin")
    assert exit_.value.code == 2
    assert "--forfeiture-rate" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert finance(run_dir, other, "--forfeiture-rate", "0") == 2
    assert "no lti command wrote" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "mine"


def test_finance_refuses_a_plan_the_run_was_not_made_with(run_dir, tmp_path, capsys):
    code = main(
        [
            "finance",
            str(run_dir),
            "--scenario",
            SMALL,
            "--plan",
            "mttr_only",
            "--forfeiture-rate",
            "0",
            "--out",
            str(tmp_path / "fin"),
        ]
    )
    assert code == 2
    assert "another plan" in capsys.readouterr().err
    assert not (tmp_path / "fin").exists()
