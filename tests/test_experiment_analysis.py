"""Batch analysis: Gini, gender gap, paired differences with intervals, robust ranking."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit.experiments.analysis import (
    awards_per_loss_avoided,
    fairness,
    gini,
    paired_differences,
    robust_ranking,
)


def test_gini_of_equal_and_concentrated_shares():
    assert gini(np.array([5.0, 5.0, 5.0, 5.0])) == pytest.approx(0.0)
    assert gini(np.array([0.0, 0.0, 0.0, 4.0])) == pytest.approx(0.75)  # (n - 1) / n
    assert gini(np.array([0.0, 0.0])) == 0.0
    values = np.array([1.0, 2.0, 3.0, 7.0])
    pairs = np.abs(values[:, None] - values[None, :]).sum()
    assert gini(values) == pytest.approx(pairs / (2 * len(values) ** 2 * values.mean()))


def test_fairness_counts_people_without_awards():
    people = pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "d"],
            "team_id": ["t1", "t1", "t2", "t2"],
            "gender": ["male", "female", "male", "female"],
        }
    )
    awards = pd.DataFrame({"person_id": ["a", "b", "c"], "earned": [100.0, 60.0, 100.0]})
    result = fairness(awards, people)
    assert result["gender_gap_awards"] == pytest.approx((100 - 30) / 100)  # d earned nothing
    assert result["awards_gini_teams"] == pytest.approx(gini(np.array([160.0, 100.0])))


def test_paired_differences_match_a_t_interval():
    rng = np.random.default_rng(3)
    base = rng.normal(100, 5, size=8)
    effect = rng.normal(2, 1, size=8)
    runs = pd.concat(
        [
            pd.DataFrame({"scenario": "s", "plan": "none", "seed": range(8), "x": base}),
            pd.DataFrame({"scenario": "s", "plan": "p", "seed": range(8), "x": base + effect}),
        ]
    )
    [row] = paired_differences(runs, "none", ("x",)).to_dict("records")
    low, high = stats.t.interval(0.95, 7, loc=effect.mean(), scale=stats.sem(effect))
    assert row["mean_difference"] == pytest.approx(effect.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
    assert row["pairs"] == 8


def test_robust_ranking_by_mean_worst_case_and_regret():
    summary = pd.DataFrame(
        {
            "scenario": ["calm", "calm", "calm", "storm", "storm", "storm"],
            "plan": ["a", "b", "c"] * 2,
            "net_value": [110.0, 100.0, 104.0, 70.0, 95.0, 90.0],
        }
    )
    ranking = robust_ranking(summary, "net_value", higher_is_better=True).set_index("plan")
    # regrets: calm best 110 -> a 0, b 10, c 6; storm best 95 -> a 25, b 0, c 5
    assert ranking["max_regret"].to_dict() == {"a": 25.0, "b": 10.0, "c": 6.0}
    assert ranking.loc["c", "rank_regret"] == 1
    assert ranking["worst"].to_dict() == {"a": 70.0, "b": 95.0, "c": 90.0}
    assert ranking.loc["b", "rank_worst"] == 1
    assert ranking.loc["b", "rank_mean"] == 1  # means: a 90, b 97.5, c 97
    assert ranking.index[0] == "c"


def test_the_price_of_an_improvement_is_never_negative():
    runs = pd.DataFrame(
        {
            "scenario": "s",
            "plan": ["ref", "ref", "cheap", "cheap", "worse", "worse", "same", "same"],
            "seed": [0, 1] * 4,
            "business_loss": [100.0, 120.0, 90.0, 100.0, 130.0, 150.0, 100.0, 120.0],
            "total_awards": [10.0, 10.0, 4.0, 6.0, 2.0, 2.0, 30.0, 30.0],
        }
    )
    price = awards_per_loss_avoided(runs, "ref")
    # cheap avoids 15 of loss and pays 5 less: the improvement costs nothing extra
    assert price[("s", "cheap")] == 0.0
    # worse adds 30 of loss for 8 less in awards: no improvement, not a price of -8 / 30
    assert np.isnan(price[("s", "worse")])
    assert np.isnan(price[("s", "same")])  # no loss avoided at all, whatever it cost
    assert (price.dropna() >= 0).all()
