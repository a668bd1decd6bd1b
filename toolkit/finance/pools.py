"""Funding pools by service budget and criticality, or by headcount (course topic 4.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario


def team_pools(plan: Plan, scenario: Scenario) -> pd.DataFrame:
    """Return each team's funding pool per plan year.

    Basis ``service_budget``: the sum over the team's owned services of
    ``annual_budget × budget_share_pct / 100 × criticality_multiplier[criticality]`` (a tier
    missing from the multipliers counts 1). Basis ``headcount``: people × ``amount_per_head``.
    Without ``funding`` there is no pool, shown as ``inf`` so that it never binds.

    Parameters
    ----------
    plan : Plan
        Its ``funding`` rule.
    scenario : Scenario
        Teams, people and services.

    Returns
    -------
    DataFrame
        One row per team in scenario order: ``team_id``, ``headcount``, ``owned_budget``
        (annual budget of the services it owns) and ``pool`` (per plan year).
    """
    org = scenario.organisation
    teams = pd.DataFrame(
        {
            "team_id": [team.id for team in org.teams],
            "headcount": [len(team.people) for team in org.teams],
        }
    )
    funding = plan.funding
    multiplier = {} if funding is None else funding.criticality_multiplier
    services = pd.DataFrame(
        {
            "team_id": [s.owning_team for s in org.services],
            "budget": [s.annual_budget for s in org.services],
            "weighted": [
                s.annual_budget * multiplier.get(s.criticality, 1.0) for s in org.services
            ],
        }
    )
    owned = services.groupby("team_id")[["budget", "weighted"]].sum()
    teams["owned_budget"] = teams["team_id"].map(owned["budget"]).fillna(0.0)
    if funding is None:
        teams["pool"] = np.inf
    elif funding.basis == "headcount":
        teams["pool"] = teams["headcount"] * funding.amount_per_head
    else:
        weighted = teams["team_id"].map(owned["weighted"]).fillna(0.0)
        teams["pool"] = weighted * funding.budget_share_pct / 100
    teams["pool"] = teams["pool"].astype(float)
    return teams


def pool_factors(vesting: np.ndarray, pools: np.ndarray) -> np.ndarray:
    """Return the pro-rata factor per team that keeps its vesting within its pool.

    Parameters
    ----------
    vesting : ndarray
        Amount vesting for each team in one plan year.
    pools : ndarray
        Each team's pool for that year (``inf`` for none).

    Returns
    -------
    ndarray
        ``min(1, pool / vesting)`` per team; 1 where nothing vests.
    """
    vesting = np.asarray(vesting, dtype=float)
    pools = np.asarray(pools, dtype=float)
    binding = vesting > pools
    return np.where(binding, pools / np.where(binding, vesting, 1.0), 1.0)
