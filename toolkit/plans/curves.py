"""Scoring curves and bases: how a measured KPI becomes a payout, vectorised over teams."""

from __future__ import annotations

import numpy as np

from toolkit.config.plan import BracketCurve, LinearCurve


def curve_payout(curve: LinearCurve | BracketCurve, levels: np.ndarray) -> np.ndarray:
    """Map levels (KPI values or improvements) to payouts in % of the metric's target.

    Parameters
    ----------
    curve : LinearCurve or BracketCurve
        A linear curve pays nothing on the bad side of its threshold, interpolates linearly
        through threshold, target and maximum, and pays the maximum's payout beyond it; its
        levels may rise or fall. A bracket curve pays the payout of the last bracket reached
        (``direction`` higher: level <= value; lower: level >= value), nothing before the first.
    levels : ndarray
        The levels to score; infinities are allowed, missing values stay missing.

    Returns
    -------
    ndarray of float
        Payouts, missing where the level is missing.
    """
    x = np.asarray(levels, dtype=float)
    if isinstance(curve, LinearCurve):
        points = [curve.threshold, curve.target, curve.maximum]
        sign = 1.0 if points[0].level < points[-1].level else -1.0
        xp = np.array([sign * p.level for p in points])
        fp = np.array([p.payout_pct for p in points])
        pay = np.interp(np.clip(sign * x, xp[0], xp[-1]), xp, fp)
        pay = np.where(sign * x < xp[0], 0.0, pay)
    else:
        sign = 1.0 if curve.direction == "higher" else -1.0
        xp = np.array([sign * b.level for b in curve.brackets])
        fp = np.array([0.0, *(b.payout_pct for b in curve.brackets)])
        reached = np.searchsorted(xp, np.nan_to_num(sign * x), side="right")
        pay = fp[reached]
    return np.where(np.isnan(x), np.nan, pay)


def improvement(value: np.ndarray, baseline: np.ndarray, direction: str) -> np.ndarray:
    """Return the fractional improvement of ``value`` over ``baseline`` in the better direction.

    Parameters
    ----------
    value, baseline : ndarray
        Measured values and their baselines.
    direction : str
        ``"lower"``: ``(baseline - value) / baseline``; ``"higher"``: ``(value - baseline) /
        baseline``.

    Returns
    -------
    ndarray of float
        Improvements; a zero baseline gives 0 for an unchanged value and plus or minus infinity
        otherwise (so the curve pays its maximum or nothing); missing where either is missing.
    """
    value = np.asarray(value, dtype=float)
    baseline = np.asarray(baseline, dtype=float)
    gain = baseline - value if direction == "lower" else value - baseline
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = gain / baseline
    at_zero = np.select([gain > 0, gain < 0, gain == 0], [np.inf, -np.inf, 0.0], np.nan)
    return np.where(baseline == 0, at_zero, ratio)
