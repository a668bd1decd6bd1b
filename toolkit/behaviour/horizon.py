"""How far ahead a team looks when it values a move: the periods its awards still ride on.

A team values a move as if it held it for every coming period in which its grants still pay,
discounting later periods. Its award and its costs are then put on a per-period footing (the
discounted average), so that a move whose effect builds up slowly, such as reliability work
(whose effect on incident rates follows the world's lag), is credited with the share of its
effect that shows over the horizon, weighted by what each period pays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Horizon:
    """What a team's coming periods are worth to it, summed up for one decision.

    Attributes
    ----------
    period_value : float
        Discounted mean over the horizon of the money a 100 % score earns in a period.
    reliability_pull : float
        Value-weighted mean share of a lasting change in reliability work that shows in
        incident rates over the horizon.
    later_share : float
        Share of the horizon's discounted value that lies after the coming period: what a
        target raised by the coming period's result (a ratchet) bites on.
    later_ratio : float
        The same worth in units of the coming period's value (0 when the coming period pays
        nothing).
    periods : int
        Periods in the horizon (0 when nothing pays any more).
    """

    period_value: float
    reliability_pull: float
    later_share: float
    later_ratio: float
    periods: int


def look_ahead(values: Sequence[float], discount: float, lag_periods: float) -> Horizon:
    """Sum up the coming periods' award values for a team's decision.

    Parameters
    ----------
    values : sequence of float
        Money a 100 % score earns in each coming period, from the next one to the last.
    discount : float
        Per-period discount factor, in (0, 1].
    lag_periods : float
        Mean lag of reliability work's effect, in periods (the world's exponential lag).

    Returns
    -------
    Horizon
        Periods up to the last one that pays; a horizon with nothing at stake has value 0 and
        the one-period pull.

    Examples
    --------
    >>> h = look_ahead([100.0, 100.0], discount=1.0, lag_periods=1.0)
    >>> h.period_value, h.reliability_pull, h.later_share
    (100.0, 0.625, 0.5)
    """
    pull = 1.0 / (1.0 + lag_periods)
    values = np.asarray(values, dtype=float)
    paying = np.flatnonzero(values > 0)
    if not len(paying):
        return Horizon(0.0, pull, 0.0, 0.0, 0)
    values = values[: paying[-1] + 1]
    ahead = np.arange(len(values))
    weights = discount**ahead
    worth = weights * values
    shown = 1 - (1 - pull) ** (ahead + 1)  # share of the change felt in each coming period
    return Horizon(
        period_value=float(worth.sum() / weights.sum()),
        reliability_pull=float(worth @ shown / worth.sum()),
        later_share=float(worth[1:].sum() / worth.sum()),
        later_ratio=float(worth[1:].sum() / worth[0]) if worth[0] > 0 else 0.0,
        periods=len(values),
    )


def discount_per_period(rate_per_year: float, periods_per_year: int) -> float:
    """Return the per-period discount factor of a yearly discount rate (a share per year)."""
    return (1.0 - rate_per_year) ** (1.0 / periods_per_year)
