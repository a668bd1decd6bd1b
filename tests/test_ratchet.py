"""Teams anticipate that a good result now raises the targets a ratchet sets them later."""

import numpy as np
import pandas as pd
import pytest

from toolkit.behaviour.expectation import ScoreExpectation
from toolkit.config.plan import Plan

WINDOW = 4
# one straight segment from -0.9 (pays 0) to 0.9 (pays 100): every basis used here lies on it
SLOPE = 100 / 1.8
CURVE = {
    "kind": "linear",
    "threshold": {"level": -0.9, "payout_pct": 0},
    "target": {"level": 0.0, "payout_pct": 50},
    "maximum": {"level": 0.9, "payout_pct": 100},
}
SPREAD = 0.05  # the noise floor the expectation assumes for these small, steady bases
LABELS = ["apps#0", "apps#1", "apps#2", "apps#3"]  # stay, improve, worsen, worsen more
SHIFTS = [0.0, 0.08, -1.0, -1.5]


def plan(policy: str, basis: str = "improvement") -> Plan:
    """One MTTR metric (lower is better) on the straight curve, under a baseline policy."""
    curve = CURVE
    if basis == "level":  # hours, falling levels
        curve = {
            "kind": "linear",
            "threshold": {"level": 60.0, "payout_pct": 0},
            "target": {"level": 40.0, "payout_pct": 50},
            "maximum": {"level": 20.0, "payout_pct": 100},
        }
    metric = {
        "kpi": "mttr_mean_hours",
        "weight": 1.0,
        "basis": basis,
        "curve": curve,
        "baseline": {"policy": policy, "window_periods": WINDOW},
    }
    return Plan.model_validate({"name": policy, "description": "test", "metrics": [metric]})


def expectation(policy: str, centre: float, basis: str = "improvement") -> ScoreExpectation:
    """An expectation whose team has seen three steady periods around ``centre``."""
    expected = ScoreExpectation(plan(policy, basis))
    for value in (centre - 0.02, centre, centre + 0.02):
        expected.record(pd.DataFrame({"team_id": ["apps"], "index": [0], "basis_value": [value]}))
    return expected


def tables(centre: float, zeroed: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score tables of the four candidates, each shifting the basis by its shift."""
    teams = pd.DataFrame(
        {
            "team_id": LABELS,
            "score_pct": 50.0,
            "raw_score_pct": 50.0,
            "gated": False,
            "fired": "",
        }
    )
    metrics = pd.DataFrame(
        {
            "team_id": LABELS,
            "index": 0,
            "basis_value": [centre + shift for shift in SHIFTS],
            "zeroed": zeroed,
        }
    )
    return teams, metrics


def scores(policy: str, centre: float, ratio: float | None, **kwargs) -> dict[str, float]:
    teams, metrics = tables(centre, **kwargs)
    ratios = None if ratio is None else {"apps": ratio}
    return expectation(policy, centre).expected_scores(
        teams, metrics, dict.fromkeys(LABELS, "apps"), {"apps": "apps#0"}, ratios
    )


def cost(policy: str, centre: float, ratio: float, **kwargs) -> dict[str, float]:
    """What anticipating later targets takes off each candidate's expected score."""
    myopic, ahead = scores(policy, centre, 0.0, **kwargs), scores(policy, centre, ratio, **kwargs)
    return {label: myopic[label] - ahead[label] for label in LABELS}


def gaussian_mean(function, nodes: int = 40) -> float:
    """E f(Z) for a standard normal Z, by a quadrature much finer than the model's."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    return float(w @ function(z) / w.sum())


def test_an_improvement_is_worth_less_under_a_ratchet_when_the_future_counts():
    fixed, ratchet = scores("fixed", 0.12, 2.0), scores("ratchet", 0.12, 2.0)
    assert ratchet["apps#1"] < fixed["apps#1"]
    assert ratchet["apps#0"] == fixed["apps#0"]  # staying moves no target
    # no weight on the future, or no future given, is the myopic valuation
    assert scores("ratchet", 0.12, 0.0) == fixed == scores("ratchet", 0.12, None)
    assert scores("fixed", 0.12, 0.0) == fixed


def test_the_reduction_grows_with_the_worth_of_the_future_and_matches_the_hand_value():
    ratios = [0.5, 1.0, 2.0, 4.0]
    reductions = [cost("ratchet", 0.12, r)["apps#1"] for r in ratios]
    assert all(0 < a < b for a, b in zip(reductions, reductions[1:], strict=False))
    # by hand, on the straight segment: the next rolling mean sits at rho = c + sigma z / w over
    # the best so far (always above it here), the move adds shift / w, and a later typical MTTR
    # then scores (c - rho) / (1 - rho) on average, so the loss is
    # ratio * slope * (1 - c) * E[1 / (1 - rho - shift / w) - 1 / (1 - rho)]
    c, shift = 0.12, SHIFTS[1]
    rho = lambda z: c + SPREAD * z / WINDOW  # noqa: E731
    per_ratio = (
        SLOPE
        * (1 - c)
        * gaussian_mean(lambda z: 1 / (1 - rho(z) - shift / WINDOW) - 1 / (1 - rho(z)))
    )
    assert reductions == pytest.approx([r * per_ratio for r in ratios], rel=1e-6)


def test_a_worse_result_eases_a_ratchet_only_down_to_the_best_so_far():
    c = 0.12
    ratchet = cost("ratchet", c, 2.0)
    # both worse moves pull the next rolling mean below the best so far at every draw, so the
    # ratchet stays there: the credit is what staying would have raised it by, no more
    bound = -2.0 * SLOPE * (1 - c) * gaussian_mean(lambda z: 1 / (1 - c - SPREAD * z / WINDOW) - 1)
    assert ratchet["apps#2"] == pytest.approx(bound, rel=1e-6)
    assert ratchet["apps#3"] == pytest.approx(ratchet["apps#2"], rel=1e-12)
    # a rolling target follows the result down, as far as it goes
    rolling = cost("rolling", c, 2.0)
    assert rolling["apps#3"] < rolling["apps#2"] < ratchet["apps#2"] < 0
    # once the bad period has left the window, typical results lift the ratchet as staying
    # would have: later periods are eased only where staying would have set a new best
    window, long = cost("ratchet", c, WINDOW), cost("ratchet", c, 10 * WINDOW)
    beyond = (long["apps#2"] - window["apps#2"]) / (9 * WINDOW)
    assert window["apps#2"] / WINDOW < beyond < 0
    assert long["apps#3"] == pytest.approx(long["apps#2"], rel=1e-12)


def test_a_ratchet_far_ahead_of_the_team_moves_for_no_small_change():
    # the team's typical result is 30% worse than its best rolling mean: neither a small
    # improvement nor a worsening changes which rolling mean is the best
    assert cost("ratchet", -0.30, 3.0) == dict.fromkeys(LABELS, 0.0)


def test_a_rolling_target_moves_for_the_window_only_and_a_ratchet_for_good():
    assert cost("rolling", 0.12, 2.0)["apps#1"] > 0
    assert cost("rolling", 0.12, 40.0) == pytest.approx(cost("rolling", 0.12, WINDOW), rel=1e-12)
    ratchet = [cost("ratchet", 0.12, r)["apps#1"] for r in (WINDOW, 2 * WINDOW, 4 * WINDOW)]
    assert 0 < ratchet[0] < ratchet[1] < ratchet[2]


def test_a_level_basis_does_not_read_the_baseline():
    teams, metrics = tables(40.0)
    expected = expectation("ratchet", 40.0, basis="level")
    args = teams, metrics, dict.fromkeys(LABELS, "apps"), {"apps": "apps#0"}
    assert expected.expected_scores(*args, {"apps": 5.0}) == expected.expected_scores(*args)


def test_a_zeroed_metric_still_raises_the_ratchet():
    zeroed = scores("ratchet", 0.12, 2.0, zeroed=True)
    assert zeroed["apps#1"] == pytest.approx(-cost("ratchet", 0.12, 2.0)["apps#1"], rel=1e-12)


@pytest.mark.parametrize("ratio", [-1.0, np.inf, np.nan])
def test_a_future_value_ratio_must_be_finite_and_not_negative(ratio):
    with pytest.raises(ValueError, match="future value ratios"):
        scores("ratchet", 0.12, ratio)
