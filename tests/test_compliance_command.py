"""``lti compliance pay-gap`` on a people CSV, one run and a short batch of scenarios/small.yaml."""

import json
from pathlib import Path

import pandas as pd
import pytest

from toolkit.cli.main import main
from toolkit.compliance.pay_gap import MEAN_GAP, QUARTILES, VARIABLE_MEAN_GAP
from toolkit.experiments import run_batch

ROOT = Path(__file__).parent.parent
SMALL = str(ROOT / "scenarios" / "small.yaml")
DEFAULT = str(ROOT / "scenarios" / "default.yaml")
PEOPLE = ROOT / "tests" / "data" / "pay_gap_people.csv"
PLANS = ["no_incentive", "balanced_guarded"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return run_batch([SMALL], PLANS, 2, tmp_path_factory.mktemp("batch"), workers=1, progress=False)


def pay_gap(source, out, *extra):
    return main(["compliance", "pay-gap", str(source), "--out", str(out), *extra])


def test_csv_report_writes_json_html_and_manifest(tmp_path, capsys):
    out = tmp_path / "gap"
    assert pay_gap(PEOPLE, out, "--criteria", "tenure", "--bootstrap", "50") == 0
    report = json.loads((out / "pay_gap.json").read_text())
    people = pd.read_csv(PEOPLE)
    men = people[people["gender"] == "male"]
    women = people[people["gender"] == "female"]
    pay_m = (men["base_pay"] + men["variable_pay"]).mean()
    pay_w = (women["base_pay"] + women["variable_pay"]).mean()
    assert report[MEAN_GAP]["value_percent"] == pytest.approx(100 * (pay_m - pay_w) / pay_m)
    assert report["conventions"]["criteria"]["value"] == ["tenure"]
    assert report["conventions"]["bootstrap_replicates"]["value"] == 50
    assert report["population"]["other_genders"]["nonbinary"] == 1
    assert sum(
        report[QUARTILES][b]["n"] for b in ("lower", "lower_middle", "upper_middle", "upper")
    ) == len(people)
    assert "Not legal advice" in report["not_legal_advice"]
    html = (out / "pay_gap.html").read_text()
    assert "Not legal advice" in html and "quartile_ties" in html
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "compliance pay-gap"
    assert set(manifest["outputs"]) == {"pay_gap.json", "pay_gap.html"}
    assert manifest["settings"]["min_group_size"] == 5
    assert "written to" in capsys.readouterr().out
    again = tmp_path / "again"
    assert pay_gap(PEOPLE, again, "--criteria", "tenure", "--bootstrap", "50") == 0
    assert (again / "pay_gap.json").read_text() == (out / "pay_gap.json").read_text()


def test_bad_csv_is_refused_naming_file_column_and_line(tmp_path, capsys):
    bad = tmp_path / "people.csv"
    text = PEOPLE.read_text().splitlines()
    fields = text[3].split(",")
    fields[1] = "woman"
    bad.write_text("\n".join([*text[:3], ",".join(fields), *text[4:]]) + "\n")
    out = tmp_path / "gap"
    assert pay_gap(bad, out) == 2
    message = capsys.readouterr().err
    assert str(bad) in message and "'gender'" in message and "line 4" in message
    assert not out.exists()
    negative = tmp_path / "negative.csv"
    negative.write_text(PEOPLE.read_text().replace(",0,", ",-5,", 1))
    assert pay_gap(negative, out) == 2
    assert "negative pay" in capsys.readouterr().err
    assert pay_gap(PEOPLE, out, "--pay-basis", "hourly") == 2
    assert "hours_per_year" in capsys.readouterr().err


def test_run_report_and_refusals(batch, tmp_path, capsys):
    runs = batch.runs
    run = batch.directory / runs[runs["plan"] == "balanced_guarded"]["directory"].iloc[0]
    out = tmp_path / "run"
    assert pay_gap(run, out, "--scenario", SMALL, "--bootstrap", "0", "--min-group-size", "2") == 0
    report = json.loads((out / "pay_gap.json").read_text())
    assert report["source"]["kind"] == "run" and report["source"]["category_column"] == "grade"
    assert report["conventions"]["variable_timing"]["value"] == "earned"
    awards = pd.read_parquet(run / "awards.parquet")
    assert report["reference_year"] == max(int(c[:4]) for c in awards["cohort"])
    assert pay_gap(run, tmp_path / "other", "--scenario", DEFAULT) == 2
    assert "another scenario" in capsys.readouterr().err
    assert pay_gap(run, tmp_path / "none") == 2
    assert "--scenario" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert pay_gap(run, tmp_path / "taken", "--scenario", SMALL) == 2
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_batch_report_puts_each_plans_gap_next_to_net_value(batch, tmp_path):
    out = tmp_path / "batch"
    settings = ("--variable-gap-over", "all_workers", "--min-group-size", "2")
    assert pay_gap(batch.directory, out, "--scenario", SMALL, *settings) == 0
    report = json.loads((out / "pay_gap.json").read_text())
    assert report["reference_plan"] == "no_incentive"
    per_run = pd.read_csv(out / "pay_gap_runs.csv")
    assert len(per_run) == 4
    plans = {p["plan"]: p for p in report["plans"]}
    guarded = per_run[per_run["plan"] == "balanced_guarded"]
    assert plans["balanced_guarded"][VARIABLE_MEAN_GAP] == pytest.approx(
        guarded[VARIABLE_MEAN_GAP].mean()
    )
    reference = per_run[per_run["plan"] == "no_incentive"].set_index("seed")[MEAN_GAP]
    change = guarded.set_index("seed")[MEAN_GAP] - reference
    assert plans["balanced_guarded"][f"{MEAN_GAP}_vs_reference"] == pytest.approx(change.mean())
    assert plans["no_incentive"][VARIABLE_MEAN_GAP] is None  # nobody is paid variable pay
    assert "net_value" in plans["balanced_guarded"]
    # over all workers and the run's single award year, the gap is the batch's fairness figure
    for row in batch.runs.itertuples():
        awards = pd.read_parquet(batch.directory / row.directory / "awards.parquet")
        if row.plan == "no_incentive" or awards["cohort"].str[:4].nunique() != 1:
            continue
        found = per_run[(per_run["plan"] == row.plan) & (per_run["seed"] == row.seed)]
        assert found[VARIABLE_MEAN_GAP].iloc[0] == pytest.approx(100 * row.gender_gap_awards)
    assert "change vs no_incentive" in (out / "pay_gap.html").read_text()


def test_decision_report_plan_comparison_shows_each_plans_pay_gap(batch, tmp_path):
    from toolkit.report import load_batch
    from toolkit.report.tables import plan_comparison

    out = tmp_path / "gap"
    assert pay_gap(batch.directory, out, "--scenario", SMALL) == 0
    plans = {p["plan"]: p for p in json.loads((out / "pay_gap.json").read_text())["plans"]}
    table = plan_comparison(load_batch(batch.directory)).set_index("Plan")
    variable = table["Gender gap in variable pay, Art. 9(1)(b) (%)"]
    change = table["Gender pay gap vs reference (points)"]
    for plan in PLANS:
        expected = plans[plan][VARIABLE_MEAN_GAP]
        if expected is None:
            assert pd.isna(variable[plan])
        else:
            assert variable[plan] == pytest.approx(expected)
        assert change[plan] == pytest.approx(plans[plan][f"{MEAN_GAP}_vs_reference"])
