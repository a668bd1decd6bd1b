"""``lti finance`` on one short batch run of scenarios/small.yaml (one seed)."""

import json
from pathlib import Path

import pandas as pd
import pytest

from toolkit.cli.main import main
from toolkit.experiments.batch import RunSpec, execute

SMALL = str(Path(__file__).parent.parent / "scenarios" / "small.yaml")
PLAN = "balanced_guarded"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    row = execute(RunSpec(SMALL, PLAN, 0), str(out))
    return out / row["directory"]


def finance(run_dir, out, *extra):
    return main(
        [
            "finance",
            str(run_dir),
            "--scenario",
            SMALL,
            "--plan",
            PLAN,
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
