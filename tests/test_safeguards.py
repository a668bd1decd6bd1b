"""Safeguard comparisons and the review over several plans, on runs and tables made by hand.

A run directory is three Parquet files (awards, behaviour, KPIs) whose sums and means are
worked out from the rows; one real simulation checks that a finished review run is reused.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from toolkit.experiments.batch import BatchResult
from toolkit.experiments.reviews import review_plans, signature_summary
from toolkit.experiments.safeguards import (
    AS_IS,
    batch_safeguards,
    run_safeguards,
    variant_plans,
)

from .conftest import SCENARIOS

PERIODS = ["2025Q1", "2025Q2", "2025Q3"]  # with start_after 1: plan periods Q2 and Q3


def write_run(directory, accrued, malus, clawed_back, findings, throughput):
    """One team's run: awards of two people, behaviour and change KPIs over three quarters."""
    directory.mkdir(parents=True)
    pd.DataFrame(
        {
            "person_id": ["a", "b"],
            "accrued": accrued,
            "malus": malus,
            "clawed_back": clawed_back,
        }
    ).to_parquet(directory / "awards.parquet")
    pd.DataFrame(
        {
            "period": PERIODS,
            "team_id": ["ops"] * 3,
            "audited": [False, True, False],
            "findings": [None, *findings],
            "change_rate": [1.0, 0.8, 0.6],
            "change_care": [0.5, 0.5, 0.7],
            "emergency_abuse": [0.0, 0.1, 0.0],
        }
    ).to_parquet(directory / "behaviour.parquet")
    rows = []
    for view, values in (("true", throughput), ("reported", [v + 1 for v in throughput])):
        for period, value in zip(PERIODS, values, strict=True):
            rows.append(("ops", "ALL", period, view, "change_throughput", value))
            rows.append(("ALL", "ALL", period, view, "change_throughput", 99.0))  # the org
    pd.DataFrame(
        rows, columns=["team_id", "service_id", "period", "view", "kpi", "value"]
    ).to_parquet(directory / "kpis.parquet")


def test_a_runs_money_findings_and_levers_are_read_over_its_plan_periods(tmp_path):
    write_run(
        tmp_path / "r",
        [100.0, 50.0],
        [30.0, 0.0],
        [0.0, 5.0],
        ["", "gaming_detected,gate_breach"],
        [10, 20, 30],
    )
    measures = run_safeguards(tmp_path / "r", start_after=1)
    assert measures["accrued"] == 150 and measures["recovered"] == 35
    assert measures["audited_share"] == 0.5
    assert measures["gaming_detected_share"] == 0.5 and measures["gate_breach_share"] == 0.5
    assert measures["misattribution_detected_share"] == 0
    assert measures["change_rate"] == pytest.approx(0.7)  # Q2 and Q3 only
    assert measures["change_throughput_true"] == 25  # the team, not the organisation row
    assert measures["change_throughput_reported"] == 26
    assert math.isnan(measures["change_caused_incidents_true"])  # never measured


def _batch(tmp_path, rows):
    runs = pd.DataFrame(rows)
    return BatchResult(runs, [], tmp_path, reference="no_incentive")


def _headline(plan, seed, gaming, reported, directory):
    return {
        "scenario": "s",
        "plan": plan,
        "seed": seed,
        "directory": directory,
        "gaming_index": gaming,
        "reported_score_mean": reported,
        "risk_aversion_index": 0.0,
        "total_awards": 0.0,
        "true_score_mean": reported - gaming,
    }


def test_overstated_pay_and_recovery_and_the_paired_difference(tmp_path):
    # no_incentive starts after 4 periods; the hand-made runs have 3, so nothing is a plan
    # period there and the levers are NaN, but the money is read whole
    write_run(tmp_path / "f0", [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], ["", ""], [1, 1, 1])
    write_run(tmp_path / "f1", [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], ["", ""], [1, 1, 1])
    write_run(tmp_path / "g0", [80.0, 20.0], [30.0, 0.0], [0.0, 0.0], ["", ""], [1, 1, 1])
    write_run(tmp_path / "g1", [100.0, 100.0], [10.0, 10.0], [0.0, 0.0], ["", ""], [1, 1, 1])
    rows = [
        _headline("no_incentive", 0, 0.0, 0.0, "f0"),
        _headline("no_incentive", 1, 0.0, 0.0, "f1"),
        _headline("mttr_only", 0, 10.0, 100.0, "g0"),  # a tenth of 100 overstated: 10
        _headline("mttr_only", 1, 5.0, 50.0, "g1"),  # a tenth of 200: 20
    ]
    per_run, table = batch_safeguards(_batch(tmp_path, rows))
    gamed = per_run[per_run["plan"] == "mttr_only"].set_index("seed")
    assert gamed.loc[0, "overstated_pay"] == pytest.approx(10)
    assert gamed.loc[1, "overstated_pay"] == pytest.approx(20)
    assert gamed.loc[0, "recovered_share"] == pytest.approx(3.0)
    assert gamed.loc[1, "recovered_share"] == pytest.approx(1.0)
    assert per_run.loc[per_run["plan"] == "no_incentive", "recovered_share"].isna().all()
    row = table.set_index("plan").loc["mttr_only"]
    assert row["recovered"] == pytest.approx(25) and row["seeds"] == 2
    assert row["gaming_index_difference"] == pytest.approx(7.5)
    assert row["gaming_index_ci_low"] < 7.5 < row["gaming_index_ci_high"]
    assert table.set_index("plan").loc["no_incentive", "gaming_index_difference"] == 0


def test_variants_replace_fields_and_are_checked_like_plan_files():
    malus = {"triggers": ["gaming_detected"], "reduction": 0.5}
    plans = variant_plans("mttr_only", {"malus": {"malus": malus}})
    assert plans[AS_IS].name == "mttr_only" and plans[AS_IS].malus is None
    assert plans["malus"].name == "mttr_only_malus" and plans["malus"].malus.reduction == 0.5
    with pytest.raises(ValueError, match="did you mean 'malus'"):
        variant_plans("mttr_only", {"x": {"malls": malus}})
    with pytest.raises(ValueError, match="not 'as_is'"):
        variant_plans("mttr_only", {AS_IS: {}})
    with pytest.raises(ValueError, match="variant 'mttr_only_bad'"):
        variant_plans("mttr_only", {"bad": {"malus": {"triggers": [], "reduction": 0.5}}})


def _review_row(plan, seed, team, signature, found, size, confirmed=None):
    return {
        "plan": plan,
        "seed": seed,
        "team_id": team,
        "signature": signature,
        "found": found,
        "size": size,
        "before": 0.0,
        "during": size,
        "confirmed": confirmed,
        "evidence": f"{team} {signature} {size}",
    }


def test_the_signature_summary_counts_team_findings_and_keeps_the_largest():
    table = pd.DataFrame(
        [
            _review_row("p", 0, "ALL", "padding", True, 0.9, True),  # organisation: left out
            _review_row("p", 0, "a", "padding", True, 0.04, True),
            _review_row("p", 1, "a", "padding", True, 0.07, False),
            _review_row("p", 1, "b", "bunching", True, 0.5, None),
            _review_row("p", 0, "b", "underreporting", False, 0.0),
            _review_row("p", 1, "b", "underreporting", False, 0.0),
        ]
    )
    summary = signature_summary(table).set_index("signature")
    assert list(summary.index) == ["padding", "bunching", "underreporting"]
    padding = summary.loc["padding"]
    assert padding["teams_found"] == 2 and padding["runs_found"] == 2 and padding["confirmed"] == 1
    assert padding["size"] == 0.07 and padding["evidence"] == "a padding 0.07"
    assert summary.loc["underreporting", "teams_found"] == 0
    assert math.isnan(summary.loc["underreporting", "size"])


def test_a_review_run_is_written_once_and_reused(tmp_path):
    scenario = SCENARIOS / "small.yaml"
    table = review_plans(scenario, ["no_incentive"], [0], tmp_path, workers=1)
    assert set(table["plan"]) == {"no_incentive"} and set(table["seed"]) == {0}
    manifests = list(tmp_path.glob("*/seed=0/manifest.json"))
    assert len(manifests) == 1
    written = manifests[0].stat().st_mtime_ns
    again = review_plans(scenario, ["no_incentive"], [0], tmp_path, workers=1)
    assert manifests[0].stat().st_mtime_ns == written
    pd.testing.assert_frame_equal(table, again)


def test_a_review_needs_plans_and_seeds_from_zero(tmp_path):
    with pytest.raises(ValueError, match="at least one plan"):
        review_plans(SCENARIOS / "small.yaml", [], 1, tmp_path)
    with pytest.raises(ValueError, match="from 0"):
        review_plans(SCENARIOS / "small.yaml", ["no_incentive"], [-1], tmp_path)
