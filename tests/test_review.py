"""The annual plan review: gamed runs show their signatures, honest ones none confirmed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.behaviour.reporting import report
from toolkit.cli.main import main
from toolkit.plans import load_plan
from toolkit.report.review import COLUMNS, review, review_logs, to_html, to_markdown
from toolkit.run import run_scenario
from toolkit.run.loop import PlanLoop

from .conftest import SCENARIOS

SEEDS = range(6)
PLAN_START = pd.Timestamp("2026-01-01")  # the library plans start after four quarters


FORCED = 0.2  # intensity of a forced lever in every plan period: a team holding it moderately


def _quarters_from(log, start: pd.Timestamp) -> pd.DataFrame:
    spans = pd.period_range(start, log.end - pd.Timedelta(1, "ns"), freq="Q")
    return pd.DataFrame(
        {"label": spans.astype(str), "start": spans.start_time, "end": (spans + 1).start_time}
    )


@pytest.fixture(scope="module")
def reviews(small_scenario):
    """Per seed: the review of the run without a plan, and of its truth under forced gaming."""
    setting = {
        "sla_targets": dict(small_scenario.environment.incidents.sla_target_hours),
        "vendor_links": {s.id: s.vendor_dependencies for s in small_scenario.organisation.services},
    }
    teams = [team.id for team in small_scenario.organisation.teams]
    out = {}
    for seed in SEEDS:
        run = PlanLoop(small_scenario, load_plan("no_incentive"), seed).run()
        out["no_incentive", seed] = review_logs(run.reported, run.truth, PLAN_START)
        periods = _quarters_from(run.truth, PLAN_START)
        for lever in ("padding", "stop_the_clock"):
            levels = pd.DataFrame(
                [(label, team) for label in periods["label"] for team in teams],
                columns=["period", "team_id"],
            ).assign(**{lever: FORCED})
            gamed = report(run.truth, levels, periods, seed=seed, **setting)
            out[lever, seed] = review_logs(gamed, run.truth, PLAN_START)
    return out


def _confirmed(table: pd.DataFrame, signature: str) -> bool:
    rows = table.loc[(table["signature"] == signature) & table["found"]]
    return any(value is True for value in rows["confirmed"])


@pytest.mark.parametrize(
    ("signature", "lever"), [("padding", "padding"), ("clock_stopping", "stop_the_clock")]
)
def test_forced_gaming_is_found_and_confirmed_by_the_truth(reviews, signature, lever):
    hits = [_confirmed(reviews[lever, s], signature) for s in SEEDS]
    assert np.mean(hits) >= 0.5, hits


def test_no_incentive_shows_no_confirmed_signature(reviews):
    for seed in SEEDS:
        table = reviews["no_incentive", seed]
        assert list(table.columns) == COLUMNS
        assert not any(value is True for value in table["confirmed"])
    found = [reviews["no_incentive", s]["found"].mean() for s in SEEDS]
    assert np.mean(found) < 0.1  # false alarms near the tests' level, not beyond


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("review") / "mttr"
    run_scenario(SCENARIOS / "small.yaml", 0, out, plan="mttr_only")
    return out


def test_a_run_directory_is_reviewed_and_rendered(run_dir):
    table, manifests = review(run_dir)
    assert manifests[0]["plan"]["name"] == "mttr_only"
    assert set(table["signature"]) == {
        "padding",
        "clock_stopping",
        "priority_downgrade",
        "bunching",
        "misattribution",
        "cab_skipping",
        "underreporting",
    }
    hostile = '<script>alert("x")</script> *plan* `$x$`'
    html = to_html(table.assign(run=hostile), hostile)
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "http" not in html.replace('lang="en"', "")
    markdown = to_markdown(table.assign(run=hostile), hostile)
    assert "\\<script\\>" in markdown and "<script" not in markdown.replace("\\<", "")


def test_cli_writes_the_review_and_refuses_bad_paths(run_dir, tmp_path, capsys):
    out = tmp_path / "review.html"
    assert main(["review", str(run_dir), "--out", str(out), "--markdown"]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert out.with_suffix(".md").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.html", "review.md"]
    assert main(["review", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert main(["review", str(run_dir), "--out", str(tmp_path / "review.txt")]) == 2
    assert main(["review", str(run_dir), "--out", str(tmp_path / "no" / "r.html")]) == 2
    assert main(["review", str(tmp_path), "--out", str(tmp_path / "r2.html")]) == 2
    assert "holds no run" in capsys.readouterr().err
