"""Bunching of resolutions just under the SLA target: the trace a threshold leaves in the record.

A pay line at the SLA target rewards closing a ticket a minute before it rather than a minute
after, so a gamed record holds too many resolutions just under the target (clocks stopped with
a small margin, tickets closed at the deadline) and too few just over it. The estimator follows
the bunching literature (Chetty, Friedman, Olsen and Pistaferri 2011, Quarterly Journal of
Economics 126(2); Kleven 2016, Annual Review of Economics 8): bin the ratio
``r = net resolution hours / sla_target_hours``, fit a smooth counterfactual to the bins outside
a window excluded around ``r = 1``, and read the excess mass in the window just under the target
as observed minus counterfactual counts.

Here the counterfactual is a Poisson regression of the bin counts on a polynomial in ``r``
(log link: resolution times fall off roughly exponentially, which a polynomial in the counts
themselves fits badly near zero). The test statistic is a Poisson standard error on the binned
counts: the window's count is Poisson around the counterfactual under no bunching, and the
counterfactual's own uncertainty comes from the fit's covariance; the p-value is one-sided
(excess above the counterfactual). Unlike Kleven's estimator, no integration constraint moves
the missing mass above the target back into the counterfactual; the excluded window reaches a
quarter of the target above it, where gaming takes most of its mass from, so that the thinned
bins do not pull the fit down.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from toolkit.events import EventLog
from toolkit.events.schema import PRIORITIES
from toolkit.metrics.context import KpiRows, MeasureContext
from toolkit.metrics.incidents import resolution_hours, resolved
from toolkit.metrics.registry import register

BIN_WIDTH = 0.05
FIT_RANGE = (0.25, 2.0)  # the ratios binned; the steep start and the long tail are left out
EXCLUDED = (0.85, 1.25)  # left out of the fit: where gaming adds mass and where it removes it
WINDOW = (0.9, 1.0)  # "just under the target": the excess is counted here
DEGREE = 4  # of the polynomial in the log of the expected count
MIN_INCIDENTS = 150  # resolved incidents in FIT_RANGE below which there is "not enough data"
IRLS_ITERATIONS = 25


@dataclass(frozen=True)
class Bunching:
    """One bunching estimate.

    Attributes
    ----------
    incidents : int
        Resolved incidents with a target, all ratios.
    fitted : int
        Of these, those in the fitted range.
    observed : float
        Resolutions in the window just under the target.
    counterfactual : float
        What the smooth fit expects there.
    excess_share : float
        ``(observed - counterfactual) / incidents``: the share of all resolutions that bunch;
        NaN when there is not enough data.
    z : float
        ``(observed - counterfactual)`` over its Poisson standard error.
    p_value : float
        One-sided: the chance of an excess this large without bunching.
    enough_data : bool
        ``False`` when fewer than :data:`MIN_INCIDENTS` fall in the fitted range; every
        figure but the counts is then NaN.
    """

    incidents: int
    fitted: int
    observed: float
    counterfactual: float
    excess_share: float
    z: float
    p_value: float
    enough_data: bool

    def as_dict(self) -> dict:
        """Return the fields as a dict, for a table row."""
        return asdict(self)


def resolution_ratio(incidents: pd.DataFrame) -> pd.Series:
    """Return each incident's net resolution hours as a multiple of its SLA target.

    Parameters
    ----------
    incidents : DataFrame
        Incident rows with ``opened_at``, ``resolved_at``, ``on_hold_hours`` and
        ``sla_target_hours``.

    Returns
    -------
    Series of float
        ``(resolved_at - opened_at - on_hold_hours) / sla_target_hours``; missing where the
        incident is unresolved or has no positive target.
    """
    target = incidents["sla_target_hours"].where(incidents["sla_target_hours"] > 0)
    return resolution_hours(incidents) / target


def _bins() -> np.ndarray:
    low, high = FIT_RANGE
    return np.arange(round((high - low) / BIN_WIDTH)) * BIN_WIDTH + low


def _bin_of(ratios: np.ndarray) -> np.ndarray:
    """Bin ``(low, low + width]`` and so on, so that a ratio of exactly 1 counts as met."""
    return np.ceil((ratios - FIT_RANGE[0]) / BIN_WIDTH - 1e-9).astype(int) - 1


def _poisson_fit(x: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``log E[count] = polynomial(x)`` by iteratively reweighted least squares.

    Returns the coefficients and their covariance (the inverse Fisher information).
    """
    design = np.vander(x, DEGREE + 1, increasing=True)
    eta = np.log(counts + 0.5)
    # Bounds on the linear predictor keep sparse bins (zeros) from sending a step to infinity.
    low, high = -10.0, math.log(counts.max() + 1) + 5
    for _ in range(IRLS_ITERATIONS):
        mu = np.exp(eta)
        working = eta + (counts - mu) / mu
        weighted = design * mu[:, None]
        beta = np.linalg.lstsq(design.T @ weighted, weighted.T @ working, rcond=None)[0]
        new_eta = np.clip(design @ beta, low, high)
        if np.max(np.abs(new_eta - eta)) < 1e-8:
            eta = new_eta
            break
        eta = new_eta
    information = design.T @ (design * np.exp(eta)[:, None])
    return beta, np.linalg.pinv(information)


def estimate(ratios: np.ndarray | pd.Series) -> Bunching:
    """Estimate the excess share of resolutions just under the target.

    Parameters
    ----------
    ratios : array-like of float
        Resolution ratios (:func:`resolution_ratio`); missing values are ignored.

    Returns
    -------
    Bunching
        The estimate with its Poisson z statistic and one-sided p-value; not a number (and
        ``enough_data`` false) below :data:`MIN_INCIDENTS` resolutions in the fitted range.
    """
    ratios = np.asarray(ratios, dtype=float)
    ratios = ratios[~np.isnan(ratios)]
    left = _bins()
    k = _bin_of(ratios)
    inside = (k >= 0) & (k < len(left))
    fitted = int(inside.sum())
    observed = float(((ratios > WINDOW[0]) & (ratios <= WINDOW[1])).sum())
    if fitted < MIN_INCIDENTS:
        nan = float("nan")
        return Bunching(len(ratios), fitted, observed, nan, nan, nan, nan, False)
    counts = np.bincount(k[inside], minlength=len(left)).astype(float)
    centre = left + BIN_WIDTH / 2 - 1.0  # centred on the target for a well-conditioned fit
    right = left + BIN_WIDTH
    excluded = (right > EXCLUDED[0] + 1e-9) & (left < EXCLUDED[1] - 1e-9)
    in_window = (left >= WINDOW[0] - 1e-9) & (right <= WINDOW[1] + 1e-9)
    beta, covariance = _poisson_fit(centre[~excluded], counts[~excluded])
    design = np.vander(centre[in_window], DEGREE + 1, increasing=True)
    expected = np.exp(design @ beta)
    counterfactual = float(expected.sum())
    gradient = design.T @ expected
    variance = counterfactual + float(gradient @ covariance @ gradient)
    excess = observed - counterfactual
    z = excess / math.sqrt(variance) if variance > 0 else float("nan")
    return Bunching(
        incidents=len(ratios),
        fitted=fitted,
        observed=observed,
        counterfactual=counterfactual,
        excess_share=excess / len(ratios),
        z=z,
        p_value=float(norm.sf(z)),
        enough_data=True,
    )


def excess_share(ratios: np.ndarray) -> float:
    """Return :func:`estimate`'s excess share alone (NaN when there is not enough data)."""
    return estimate(ratios).excess_share


def bunching_table(log: EventLog) -> pd.DataFrame:
    """Estimate bunching over the whole log: overall, per team, and per priority within each.

    Parameters
    ----------
    log : EventLog
        Any log in the canonical schema; every resolved incident counts.

    Returns
    -------
    DataFrame
        One row per ``team_id`` (``"ALL"`` for the organisation) and ``priority`` (``"ALL"``
        for every priority, else ``"P1"`` .. ``"P4"``) with the :class:`Bunching` fields.
        Teams and priorities with too few resolutions keep their row, with ``enough_data``
        false and no estimate.
    """
    incidents = log.incidents.loc[log.incidents["resolved_at"].notna()]
    ratios = resolution_ratio(incidents).to_numpy(dtype=float)
    team = incidents["team_id"].to_numpy(dtype=object)
    priority = incidents["priority"].to_numpy()
    rows = []
    for team_id in ["ALL", *sorted(pd.unique(team[pd.notna(team)]))]:
        mine = np.ones(len(ratios), dtype=bool) if team_id == "ALL" else team == team_id
        for level in ["ALL", *PRIORITIES]:
            chosen = mine if level == "ALL" else mine & (priority == level)
            label = "ALL" if level == "ALL" else f"P{level}"
            result = estimate(ratios[chosen])
            rows.append({"team_id": team_id, "priority": label, **result.as_dict()})
    table = pd.DataFrame(rows)
    table[["team_id", "priority"]] = table[["team_id", "priority"]].astype("str")
    return table


@register(
    "sla_bunching_excess",
    definition=(
        "Excess share of incidents resolved in the period (by resolved_at) whose net resolution "
        "time is within the last 10% of the SLA target, against a smooth fit to the other "
        f"resolution-time ratios; no value below {MIN_INCIDENTS} resolutions in the fit."
    ),
    unit="share of resolutions",
    direction="lower",
    indicator="leading",
    table="incidents",
)
def sla_bunching_excess(ctx: MeasureContext) -> KpiRows:
    """Measure bunching under the target, the trace of clocks managed to the SLA line."""
    grouped = resolved(ctx)
    return grouped.reduce("sla_bunching_excess", resolution_ratio(grouped.rows), excess_share)
