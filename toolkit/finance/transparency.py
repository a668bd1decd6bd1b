"""Cost transparency: awards charged to the services and business units a team serves (4.3).

A team's awards are charged to the services it owns in proportion to their annual budgets,
and through them to the business units those services serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from toolkit.config.scenario import Scenario

if TYPE_CHECKING:
    from toolkit.finance.forecast import LedgerRun

UNALLOCATED = "unallocated"
MONEY = ("granted", "earned", "vested", "deferred", "paid", "outstanding")
COST_MONEY = ("earned", "paid", "liability")


def service_shares(scenario: Scenario) -> pd.DataFrame:
    """Return the share of each team's cost charged to each service it owns.

    A team's cost is split in proportion to the annual budgets of the services it owns; when
    those budgets are all zero, equally per owned service. A service serves one business unit,
    so this is also the split by business unit (:func:`business_unit_shares`). A team that owns
    no service is charged to service and business unit ``"unallocated"``, so that charges
    always add up to the cost.

    Parameters
    ----------
    scenario : Scenario
        Its services, their owning teams, business units and budgets.

    Returns
    -------
    DataFrame
        ``team_id``, ``service_id``, ``business_unit``, ``share``, in the scenario's service
        order, then orphan teams; shares of a team sum to 1.
    """
    org = scenario.organisation
    services = pd.DataFrame(
        {
            "team_id": [s.owning_team for s in org.services],
            "service_id": [s.id for s in org.services],
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
    owners = set(services["team_id"])
    orphans = [team.id for team in org.teams if team.id not in owners]
    orphan_rows = pd.DataFrame(
        {
            "team_id": orphans,
            "service_id": UNALLOCATED,
            "business_unit": UNALLOCATED,
            "share": [1.0] * len(orphans),
        }
    )
    columns = ["team_id", "service_id", "business_unit", "share"]
    return pd.concat([services[columns], orphan_rows], ignore_index=True)


def business_unit_shares(scenario: Scenario) -> pd.DataFrame:
    """Return the share of each team's cost charged to each business unit.

    The sum of :func:`service_shares` over a unit's services: in proportion to the annual
    budgets of the services the team owns in each unit, equally per service when those are
    all zero, ``"unallocated"`` for a team that owns none.

    Returns
    -------
    DataFrame
        ``team_id``, ``business_unit``, ``share``; shares of a team sum to 1.
    """
    shares = service_shares(scenario)
    return shares.groupby(["team_id", "business_unit"], as_index=False, sort=False)["share"].sum()


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
    charged = charge_to_services(awards, scenario, money)
    by_unit = charged.groupby(["business_unit", "team_id"], as_index=False, sort=True)
    return by_unit[["share", *money]].sum()


def team_costs(awards: pd.DataFrame) -> pd.DataFrame:
    """Return what a run's awards cost per team: earned, paid and still owed.

    Parameters
    ----------
    awards : DataFrame
        The ledger's awards table (per person and cohort).

    Returns
    -------
    DataFrame
        ``team_id`` and :data:`COST_MONEY`: ``earned`` (awards accrued from scores after pool
        and cap scaling and malus: the cost the ledger recognises), ``paid`` (net of clawback)
        and ``liability`` (owed at the horizon's end: outstanding + deferred).
    """
    money = awards.assign(liability=awards["outstanding"] + awards["deferred"])
    return money.groupby("team_id", as_index=False, sort=True)[list(COST_MONEY)].sum()


def charge_to_services(
    amounts: pd.DataFrame, scenario: Scenario, money: Sequence[str] = COST_MONEY
) -> pd.DataFrame:
    """Charge each team's amounts to the services it owns by :func:`service_shares`.

    Parameters
    ----------
    amounts : DataFrame
        Rows with ``team_id`` and the ``money`` columns (several rows of a team are summed).
    scenario : Scenario
        The services, their owners and business units.
    money : sequence of str
        The columns to charge.

    Returns
    -------
    DataFrame
        ``business_unit``, ``service_id``, ``team_id``, ``share`` and the charged ``money``
        columns, sorted by unit, service and team; each column sums to the amounts' total.

    Raises
    ------
    ValueError
        If ``amounts`` names a team the scenario does not have.
    """
    money = list(money)
    shares = service_shares(scenario)
    unknown = sorted(set(amounts["team_id"]) - set(shares["team_id"]))
    if unknown:
        raise ValueError(f"the amounts name teams the scenario does not have: {unknown}")
    by_team = amounts.groupby("team_id")[money].sum()
    charged = shares[shares["team_id"].isin(by_team.index)].reset_index(drop=True)
    charged[money] = by_team.reindex(charged["team_id"]).to_numpy() * charged[["share"]].to_numpy()
    ordered = charged[["business_unit", "service_id", "team_id", "share", *money]]
    return ordered.sort_values(["business_unit", "service_id", "team_id"], ignore_index=True)


def run_costs(runs: Sequence[LedgerRun]) -> pd.DataFrame:
    """Return every run's earned, paid and owed awards charged to services and business units.

    Parameters
    ----------
    runs : sequence of LedgerRun
        The runs of a batch (:class:`toolkit.finance.forecast.LedgerRun`).

    Returns
    -------
    DataFrame
        ``scenario``, ``plan``, ``seed`` then the columns of :func:`charge_to_services` with
        :data:`COST_MONEY`; per run, each money column sums to the run's awards total.
    """
    parts = [
        charge_to_services(team_costs(run.tables.awards), run.scenario_model).assign(**run.keys())
        for run in runs
    ]
    columns = ["scenario", "plan", "seed", "business_unit", "service_id", "team_id", "share"]
    if not parts:
        return pd.DataFrame(columns=[*columns, *COST_MONEY])
    return pd.concat(parts, ignore_index=True)[[*columns, *COST_MONEY]]


def cost_statement(costs: pd.DataFrame, by: Sequence[str] = ("business_unit",)) -> pd.DataFrame:
    """Return the mean over seeds of the costs per scenario, plan and ``by``.

    Parameters
    ----------
    costs : DataFrame
        From :func:`run_costs`.
    by : sequence of str
        ``("business_unit",)`` for a statement per unit, ``("business_unit", "service_id")``
        per service, with ``"team_id"`` for the teams charged.

    Returns
    -------
    DataFrame
        ``scenario``, ``plan``, the ``by`` columns, :data:`COST_MONEY` (means over seeds;
        a seed that charges a unit nothing counts 0) and ``seeds``.
    """
    keys = ["scenario", "plan", *by]
    per_run = costs.groupby([*keys, "seed"], as_index=False)[list(COST_MONEY)].sum()
    seeds = costs.groupby(["scenario", "plan"])["seed"].nunique().rename("seeds")
    totals = per_run.groupby(keys, as_index=False)[list(COST_MONEY)].sum()
    totals = totals.join(seeds, on=["scenario", "plan"])
    for column in COST_MONEY:
        totals[column] = totals[column] / totals["seeds"]
    return totals.sort_values(keys, ignore_index=True)
