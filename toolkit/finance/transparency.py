"""Cost transparency: awards charged to the business units a team serves (course topic 4.3)."""

from __future__ import annotations

import pandas as pd

from toolkit.config.scenario import Scenario

UNALLOCATED = "unallocated"
MONEY = ("granted", "earned", "vested", "deferred", "paid", "outstanding")


def business_unit_shares(scenario: Scenario) -> pd.DataFrame:
    """Return the share of each team's cost charged to each business unit.

    A team's cost is split in proportion to the annual budgets of the services it owns in each
    unit; when those budgets are all zero, equally per owned service. A team that owns no
    service is charged to ``"unallocated"``, so that charges always add up to the cost.

    Returns
    -------
    DataFrame
        ``team_id``, ``business_unit``, ``share``; shares of a team sum to 1.
    """
    org = scenario.organisation
    services = pd.DataFrame(
        {
            "team_id": [s.owning_team for s in org.services],
            "business_unit": [s.business_unit for s in org.services],
            "budget": [s.annual_budget for s in org.services],
            "count": 1.0,
        }
    )
    totals = services.groupby("team_id")[["budget", "count"]].transform("sum")
    by_budget = totals["budget"] > 0
    services["share"] = (services["budget"] / totals["budget"]).where(
        by_budget, services["count"] / totals["count"]
    )
    shares = services.groupby(["team_id", "business_unit"], as_index=False, sort=False)[
        "share"
    ].sum()
    owners = set(shares["team_id"])
    orphans = [team.id for team in org.teams if team.id not in owners]
    orphan_rows = pd.DataFrame(
        {"team_id": orphans, "business_unit": UNALLOCATED, "share": [1.0] * len(orphans)}
    )
    return pd.concat([shares, orphan_rows], ignore_index=True)


def payouts_by_business_unit(awards: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Charge each team's awards to business units by :func:`business_unit_shares`.

    Parameters
    ----------
    awards : DataFrame
        Rows with ``team_id`` and money columns, e.g. from
        :meth:`toolkit.plans.ledger.AwardLedger.awards`.
    scenario : Scenario
        The services, their owners and business units.

    Returns
    -------
    DataFrame
        One row per business unit and team: ``business_unit``, ``team_id``, ``share`` and the
        charged amount of each money column present (``granted``, ``earned``, ``vested``,
        ``deferred``, ``paid``, ``outstanding``). Each column sums to the awards' total.

    Raises
    ------
    ValueError
        If ``awards`` names a team the scenario does not have.
    """
    money = [column for column in MONEY if column in awards.columns]
    shares = business_unit_shares(scenario)
    unknown = sorted(set(awards["team_id"]) - set(shares["team_id"]))
    if unknown:
        raise ValueError(f"awards name teams the scenario does not have: {unknown}")
    by_team = awards.groupby("team_id")[money].sum()
    charged = shares[shares["team_id"].isin(by_team.index)].reset_index(drop=True)
    team_money = by_team.reindex(charged["team_id"]).to_numpy()
    charged[money] = team_money * charged["share"].to_numpy()[:, None]
    ordered = charged[["business_unit", "team_id", "share", *money]]
    return ordered.sort_values(["business_unit", "team_id"], ignore_index=True)
