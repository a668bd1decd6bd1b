"""The decision report: the HTML `lti report` writes, its refusals, and the functions behind it."""

import html
import json
import re
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.config.plan import Vesting
from toolkit.experiments import run_batch
from toolkit.plans import load_plan
from toolkit.plans.ledger import AwardLedger
from toolkit.report import (
    fan,
    liability_note,
    liability_paths,
    load_batch,
    recommend,
    recommendation_markdown,
    run_off,
)
from toolkit.report.data import ReportError
from toolkit.report.recommendation import dominated_plans
from toolkit.report.render import (
    NOTEBOOK,
    declared_parameters,
    parse_parameters,
    python_kernel,
)

from .conftest import SCENARIOS

PLANS = ["no_incentive", "mttr_only", "balanced_guarded"]
TITLE = "Board paper: LTI options"
SECTIONS = (
    "Recommendation",
    "Plan comparison",
    "Differences against the reference plan",
    "What each plan buys",
    "Reported against true KPIs",
    "Behaviour",
    "Award distribution",
    "Liability over the vesting horizon",
    "Fairness",
)
THRESHOLD = 5.0  # the notebook's default gaming threshold


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    result = run_batch([str(SCENARIOS / "small.yaml")], PLANS, 2, out, workers=2, progress=False)
    assert result.failures == []
    return out


@pytest.fixture(scope="module")
def report_html(batch_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "nested" / "report.html"
    assert main(["report", str(batch_dir), "--out", str(out), "--title", TITLE]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture
def no_execution(monkeypatch):
    """Fail the test if the notebook is executed at all."""
    import papermill

    def refuse(*args, **kwargs):
        raise AssertionError("the notebook was executed")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)


def _text(page: str) -> str:
    """Visible text of an HTML page, tags and styles dropped, whitespace collapsed."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _section(page: str, heading: str, following: str) -> str:
    start = page.index(f'id="{heading.replace(" ", "-")}"')
    return page[start : page.index(f'id="{following.replace(" ", "-")}"', start)]


def test_the_report_shows_every_section_plan_and_figure_without_code(report_html):
    assert f"<title>{html.escape(TITLE)}</title>" in report_html
    text = _text(report_html)
    assert f"{TITLE}" in text
    for plan in PLANS:
        assert plan in text
    for heading in SECTIONS:
        assert re.search(rf"<h2[^>]*>{re.escape(heading)}", report_html), heading
    images = re.findall(r'<img[^>]+src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}', report_html)
    assert len(images) >= 6  # frontier, KPI gaps, behaviour, awards, liability, fairness
    alts = [alt for _, alt in re.findall(r"<img alt=([\"'])(.*?)\1", report_html)]
    assert len(alts) == report_html.count("<img ") and all(alts)  # every figure described
    assert "No description has been provided" not in report_html and "<script" not in report_html
    for code in ("load_batch(", "show_each(", "%matplotlib", "reference_plan ="):
        assert code not in report_html
    assert "Traceback" not in text


def test_the_recommendation_names_a_batch_plan_with_the_summary_numbers(report_html, batch_dir):
    summary = pd.read_parquet(batch_dir / "summary.parquet").set_index("plan")
    comparisons = pd.read_parquet(batch_dir / "comparisons.parquet")
    part = _section(report_html, "Recommendation", "Plan comparison")
    chosen = re.search(r"Recommended plan: <code>(\w+)</code>", part).group(1)
    assert chosen in PLANS
    health = comparisons[comparisons["metric"] == "true_health"].set_index("plan")
    improving = [
        p
        for p in health.index
        if summary.at[p, "gaming_index"] <= THRESHOLD and health.at[p, "ci_low"] > 0
    ]
    assert (chosen in improving) if improving else (chosen == "no_incentive")
    quoted = re.findall(r"<code>(\w+)</code>[,:] true health (-?[\d.]+)", part)
    assert quoted  # the recommended plan or the best value is described with its numbers
    for plan, value in quoted:
        assert value == f"{summary.at[plan, 'true_health']:.1f}"
    for plan, amount in re.findall(
        r"<code>(\w+)</code>, true health.*?total awards EUR ([\d,]+)", part
    ):
        assert amount == f"{summary.at[plan, 'total_awards']:,.0f}"
    for plan in re.findall(r"Set aside <code>(\w+)</code>", part):
        assert summary.at[plan, "gaming_index"] > THRESHOLD


def test_an_unknown_parameter_is_refused_before_execution(
    batch_dir, tmp_path, capsys, no_execution
):
    out = tmp_path / "r.html"
    code = main(["report", str(batch_dir), "--out", str(out), "-p", "gaming_treshold", "3"])
    error = capsys.readouterr().err
    assert code == 2
    assert "'gaming_treshold'" in error and "did you mean 'gaming_threshold'" in error
    for name in ("reference_plan", "scenario", "title"):
        assert name in error
    assert "Traceback" not in error and not out.exists()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["-p", "gaming_threshold", "lots"], "must be a number"),
        (["-p", "gaming_threshold", "nan"], "must be a finite number"),
        (["-p", "gaming_threshold", "inf"], "must be a finite number"),
        (["--reference", "no_incentve"], "did you mean 'no_incentive'"),
        (["-p", "scenario", "smal"], "did you mean 'small'"),
        (["-p", "results_dir", "x"], "set by the batch directory"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(
    batch_dir, tmp_path, capsys, no_execution, arguments, message
):
    assert main(["report", str(batch_dir), "--out", str(tmp_path / "r.html"), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_a_directory_that_is_not_a_batch_is_refused(batch_dir, tmp_path, capsys, no_execution):
    run = next((batch_dir / "runs").glob("*/*/seed=*"))
    for directory, message in (
        (tmp_path / "missing", "no such directory"),
        (tmp_path, "is not a batch directory"),
        (run, "is not a batch directory"),
    ):
        assert main(["report", str(directory), "--out", str(tmp_path / "r.html")]) == 2
        error = capsys.readouterr().err
        assert message in error and "Traceback" not in error


def test_a_failing_cell_is_named_without_a_traceback(batch_dir, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(batch_dir, broken)
    next((broken / "runs").glob("*/mttr_only-*/seed=1")).joinpath("kpis.parquet").write_text("x")
    out = tmp_path / "r.html"
    assert main(["report", str(broken), "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert "failed in cell" in error and "ArrowInvalid" in error and "kpis.parquet" in error
    assert len(error.splitlines()) <= 3 and not out.exists()
    assert (tmp_path / "r.ipynb").is_file()  # kept, with the full traceback


def test_the_loader_reads_every_run(batch_dir):
    batch = load_batch(batch_dir)
    runs = pd.read_parquet(batch_dir / "runs.parquet")
    for name in ("kpis", "awards", "behaviour", "liability"):
        table = batch.run_table(name)
        keys = set(table[["scenario", "plan", "seed"]].itertuples(index=False, name=None))
        assert keys == set(runs[["scenario", "plan", "seed"]].itertuples(index=False, name=None))
        expected = sum(
            len(pd.read_parquet(path / f"{name}.parquet"))
            for path in (batch_dir / "runs").glob("*/*/seed=*")
        )
        assert len(table) == expected
    assert batch.plans()[0] == "no_incentive" and set(batch.plans()) == set(PLANS)
    assert batch.currency("small") == "EUR"


def test_the_liability_fan_is_ordered_and_starts_from_the_recorded_end(batch_dir):
    batch = load_batch(batch_dir)
    paths = liability_paths(batch, "small")
    bands = fan(paths)
    assert (bands["p10"] <= bands["p50"] + 1e-9).all() and (
        bands["p50"] <= bands["p90"] + 1e-9
    ).all()
    runs = batch.runs.set_index(["plan", "seed"])
    recorded = paths[~paths["projected"]].sort_values("period").groupby(["plan", "seed"]).last()
    for key, row in recorded.iterrows():
        assert row["liability"] == pytest.approx(runs.at[key, "liability_end"])
    paying = paths[paths["plan"] != "no_incentive"]
    assert paying["projected"].any()  # a short horizon ends before any cohort vests
    last = paying.sort_values("period").groupby(["plan", "seed"])["liability"].last()
    assert (last == 0).all()


def test_a_plan_changed_since_the_batch_gets_no_run_off_and_the_report_says_so(batch_dir, tmp_path):
    changed = tmp_path / "changed"
    shutil.copytree(batch_dir, changed)
    manifest = json.loads((changed / "manifest.json").read_text())
    manifest["inputs"]["plan:mttr_only"]["fingerprint"] = "0" * 64
    (changed / "manifest.json").write_text(json.dumps(manifest))
    batch = load_batch(changed)
    paths = liability_paths(batch, "small")
    assert not paths.loc[paths["plan"] == "mttr_only", "projected"].any()
    assert paths.loc[paths["plan"] == "balanced_guarded", "projected"].any()
    note = liability_note(batch)
    assert re.search(r"`mttr_only`: .*has changed since the batch ran", note)
    assert not re.search(r"`balanced_guarded`: .*has changed", note)


@pytest.mark.parametrize(
    "vesting",
    [
        Vesting(schedule="cliff"),
        Vesting(schedule="cliff", deferral_share=0.5, deferral_years=2),
        Vesting(schedule="graded", deferral_share=0.4, deferral_years=1),
    ],
)
def test_the_run_off_is_what_the_ledger_pays_when_nothing_more_is_earned(vesting, small_scenario):
    plan = load_plan("mttr_only").model_copy(update={"vesting": vesting})
    labels = [str(p) for p in pd.period_range("2025Q1", periods=40, freq="Q")]
    teams = [team.id for team in small_scenario.organisation.teams]
    horizon = 17  # mid-window of a cohort, after earlier cohorts vested and deferred
    for seed in range(8):  # amounts split into tranches and deferrals leave rounding behind
        short = AwardLedger(plan, small_scenario, labels[:horizon], 4)
        long = AwardLedger(plan, small_scenario, labels, 4)
        rng = np.random.default_rng(seed)
        for k in range(len(labels)):
            scores = {t: float(rng.uniform(50, 150)) if k < horizon else 0.0 for t in teams}
            if k < horizon:
                short.close_period(k, scores)
            long.close_period(k, scores)
        projected = run_off(short.liability(), short.cashflows(), plan, 4).set_index("period")
        actual = long.liability().groupby("period")["liability"].sum()
        assert projected["liability"].iloc[0] > 0 and projected["liability"].iloc[-1] == 0
        np.testing.assert_allclose(
            projected["liability"], actual.reindex(projected.index).fillna(0.0), atol=1e-6
        )


def _numbers(**plans) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summary and comparisons of one scenario from (health, awards, gaming, ci_low) per plan."""
    rows, diffs = [], []
    for plan, (health, awards, gaming, ci_low) in plans.items():
        rows.append(
            {
                "plan": plan,
                "true_health": health,
                "total_awards": awards,
                "cost_per_health": awards / health,
                "gaming_index": gaming,
                "reported_score_mean": 80 + gaming,
                "true_score_mean": 80.0,
                "liability_p50": awards,
                "liability_p90": awards * 1.2,
                "awards_gini_teams": 0.2,
                "gender_gap_awards": 0.05,
            }
        )
        if plan != "ref":
            diffs.append(
                {
                    "plan": plan,
                    "metric": "true_health",
                    "mean_difference": health - plans["ref"][0],
                    "ci_low": ci_low,
                    "ci_high": ci_low + 4,
                    "pairs": 5,
                }
            )
    return pd.DataFrame(rows).set_index("plan"), pd.DataFrame(diffs)


def test_the_recommendation_follows_the_numbers():
    base = {
        "ref": (100.0, 0.0, 0.0, np.nan),
        "a": (104.0, 50_000.0, 1.0, 1.0),
        "b": (102.0, 20_000.0, 2.0, 0.5),
    }
    # b buys 2 points for 20k (0.1 per 1000), a 4 points for 50k (0.08 per 1000)
    first = recommend(*_numbers(**base), reference="ref", currency="EUR")
    assert first.plan == "b" and set(first.improving) == {"a", "b"}
    assert "**Recommended plan: `b`.**" in first.markdown
    # b games above the threshold: set aside, a is left
    second = recommend(*_numbers(**{**base, "b": (102.0, 20_000.0, 9.0, 0.5)}), reference="ref")
    assert second.plan == "a" and second.gaming == {"b": 9.0}
    assert "Set aside `b`" in second.markdown
    # nothing improves the truth with confidence: keep the reference, name the best value
    doubtful = {**base, "a": (104.0, 50_000.0, 1.0, -1.0), "b": (102.0, 20_000.0, 2.0, -0.5)}
    third = recommend(*_numbers(**doubtful), reference="ref", currency="EUR")
    assert third.plan == "ref" and third.improving == ()
    assert third.best_value == "b" and "Best value" in third.markdown
    assert "EUR 20,000" in third.markdown


def test_a_plan_with_less_health_for_more_money_is_dominated():
    summary, _ = _numbers(
        ref=(100.0, 0.0, 0.0, np.nan), a=(104.0, 50_000.0, 1.0, 1.0), c=(99.0, 60_000.0, 1.0, 0.0)
    )
    assert dominated_plans(summary) == {"c": "a"}
    summary.loc["c", ["true_health", "total_awards"]] = [105.0, 40_000.0]
    assert dominated_plans(summary) == {"a": "c"}


def test_another_reference_plan_recomputes_the_comparisons(batch_dir):
    batch = load_batch(batch_dir, reference="mttr_only")
    assert set(batch.comparisons["reference"]) == {"mttr_only"}
    assert set(batch.comparisons["plan"]) == {"no_incentive", "balanced_guarded"}
    row = batch.summary.set_index("plan").loc["mttr_only"]
    assert row["risk_aversion_vs_reference"] == 0
    assert batch.plans()[0] == "mttr_only"


def _second_scenario(batch_dir, out):
    """Copy a batch and give it a second scenario, a renamed copy of the first."""
    shutil.copytree(batch_dir, out)
    small = next((out / "runs").glob("small-*"))
    shutil.copytree(small, out / "runs" / "other")
    for name in ("runs", "summary", "comparisons", "ranking"):
        table = pd.read_parquet(out / f"{name}.parquet")
        if "scenario" in table:
            copy = table.assign(scenario="other")
            if "directory" in copy:
                copy["directory"] = copy["directory"].str.replace(small.name, "other")
            pd.concat([table, copy], ignore_index=True).to_parquet(out / f"{name}.parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["inputs"]["scenario:other"] = manifest["inputs"]["scenario:small"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def test_a_batch_of_several_scenarios_is_reported_per_scenario(batch_dir, tmp_path):
    both = _second_scenario(batch_dir, tmp_path / "two")
    batch = load_batch(both)
    assert batch.scenarios == ["other", "small"]
    text = recommendation_markdown(batch)
    assert "### Scenario `other`" in text and "### Scenario `small`" in text
    assert load_batch(both, scenario="other").scenarios == ["other"]
    with pytest.raises(ReportError, match="did you mean 'small'"):
        load_batch(both, scenario="smal")
    out = tmp_path / "two.html"
    assert main(["report", str(both), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    for scenario in ("other", "small"):
        assert f"Scenario <code>{scenario}</code>" in page
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', page)) >= 12


def test_command_line_values_take_the_type_of_the_default():
    declared = declared_parameters(NOTEBOOK)
    assert {"results_dir", "reference_plan", "title", "scenario"} <= set(declared)
    values = parse_parameters(
        {"gaming_threshold": "3", "title": "2025", "scenario": "None"}, declared
    )
    assert values == {"gaming_threshold": 3.0, "title": "2025", "scenario": None}
    with pytest.raises(ReportError, match="did you mean 'title'"):
        parse_parameters({"titel": "x"}, declared)


def test_the_kernel_runs_this_interpreter(monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    with python_kernel() as name:
        command = KernelSpecManager().get_kernel_spec(name).argv[0]
        assert command in ("python", "python3", sys.executable)

    def missing(self, name):
        raise NoSuchKernel(name)

    real = KernelSpecManager.get_kernel_spec
    monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", missing)
    with python_kernel() as name:
        monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", real)
        assert KernelSpecManager().get_kernel_spec(name).argv[0] == sys.executable
