"""The cap on a plan year's awards as a percentage of personnel cost (course topic 4.4)."""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario

Amounts = TypeVar("Amounts", np.ndarray, pd.Series, pd.DataFrame)


def personnel_cost(scenario: Scenario) -> float:
    """Return the total annual base salaries of everyone in the scenario.

    This is the base the cap is a percentage of.
    """
    return float(
        sum(person.base_salary for team in scenario.organisation.teams for person in team.people)
    )


def cap_amount(plan: Plan, scenario: Scenario) -> float:
    """Return the most a plan year may vest across the organisation; ``inf`` without a cap."""
    if plan.cap is None:
        return math.inf
    return plan.cap.pct_of_personnel_cost / 100 * personnel_cost(scenario)


def apply_cap(amounts: Amounts, plan: Plan, scenario: Scenario) -> tuple[Amounts, float]:
    """Scale a plan year's vesting amounts pro rata so that their total respects the cap.

    Parameters
    ----------
    amounts : ndarray, Series or DataFrame
        Every amount vesting in one plan year across the organisation (any shape; the cap
        applies to their grand total).
    plan : Plan
        Its ``cap`` (none means no limit).
    scenario : Scenario
        Its people's base salaries set the personnel cost.

    Returns
    -------
    scaled : same type as ``amounts``
        ``amounts × factor``.
    factor : float
        ``min(1, cap / total)``; 1 when there is no cap or nothing vests.
    """
    total = float(np.sum(np.asarray(amounts, dtype=float)))
    limit = cap_amount(plan, scenario)
    factor = 1.0 if total <= limit else limit / total
    return amounts * factor, factor
