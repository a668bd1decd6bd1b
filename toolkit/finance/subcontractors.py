"""Subcontractor performance in the relationship owner's metrics.

A subcontractor's outage reaches the customer's services through the vendor it works for: the
vendor answers for it in its own SLA, and the team owning the affected services loses
availability on its scorecard. Neither scorecard names the subcontractor, so its share of the
vendor's shortfall and of the team's loss is measured here by measuring the same log twice, as
it is and with the subcontractor's outages removed: the difference is what the subcontractor
caused.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from toolkit.config.scenario import Scenario
from toolkit.events import EventLog
from toolkit.finance.vendor_alignment import outage_accountability
from toolkit.finance.vendor_credits import credits
from toolkit.metrics.vendor_sla import sla_parties, vendor_sla


def without_subcontractors(log: EventLog, subcontractor_ids: set[str] | None = None) -> EventLog:
    """Return the log with the named subcontractors' outages (all, by default) removed.

    Parameters
    ----------
    log : EventLog
        Any log with outages.
    subcontractor_ids : set of str, optional
        The subcontractors to remove; ``None`` removes every subcontractor's outages.

    Returns
    -------
    EventLog
        The same log without those outage rows.
    """
    sub = log.outages["subcontractor_id"]
    drop = sub.notna() if subcontractor_ids is None else sub.isin(subcontractor_ids)
    return dataclasses.replace(log, outages=log.outages[~drop.to_numpy(dtype=bool)])


def subcontractor_sla_share(scenario: Scenario, log: EventLog) -> pd.DataFrame:
    """Measure each subcontractor's share of its vendor's availability shortfall and credits.

    Parameters
    ----------
    scenario : Scenario
        Vendors, their subcontractors and contracts.
    log : EventLog
        The log measured (usually the truth).

    Returns
    -------
    DataFrame
        One row per vendor, subcontractor and SLA period of the vendor: ``vendor_id,
        subcontractor_id, period, shortfall_pct`` (the vendor's availability shortfall, in
        points), ``shortfall_without_pct`` (without that subcontractor's outages),
        ``subcontractor_share_pct`` (the part of the shortfall the subcontractor caused, in %
        of it; 0 without a shortfall), ``credit`` and ``credit_without`` (the vendor's
        availability credit with and without them).
    """
    vendors = [p for p in sla_parties(scenario) if p.subcontractor_id is None]

    def measured(frame: EventLog) -> pd.DataFrame:
        priced = credits(vendor_sla(frame, vendors), vendors)
        return priced[priced["measure"] == "availability"].reset_index(drop=True)

    full = measured(log)
    rows = []
    for vendor in scenario.organisation.vendors:
        for sub in vendor.subcontractors:
            alone = measured(without_subcontractors(log, {sub.id}))
            mine = (full["vendor_id"] == vendor.id).to_numpy()
            short = full.loc[mine, "shortfall_pct"].to_numpy(dtype=float)
            short_without = alone.loc[mine, "shortfall_pct"].to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(short > 0, 100 * (short - short_without) / short, 0.0)
            rows.append(
                pd.DataFrame(
                    {
                        "vendor_id": vendor.id,
                        "subcontractor_id": sub.id,
                        "period": full.loc[mine, "period"].to_numpy(dtype=object),
                        "shortfall_pct": short,
                        "shortfall_without_pct": short_without,
                        "subcontractor_share_pct": share,
                        "credit": full.loc[mine, "credit"].to_numpy(dtype=float),
                        "credit_without": alone.loc[mine, "credit"].to_numpy(dtype=float),
                    }
                )
            )
    columns = ["vendor_id", "subcontractor_id", "period", "shortfall_pct"]
    columns += ["shortfall_without_pct", "subcontractor_share_pct", "credit", "credit_without"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]


def subcontractor_team_share(scenario: Scenario, log: EventLog) -> pd.DataFrame:
    """Measure the subcontractors' share of each owning team's vendor-caused availability loss.

    Parameters
    ----------
    scenario : Scenario
        Services, owning teams and vendors.
    log : EventLog
        The log measured (usually the truth).

    Returns
    -------
    DataFrame
        Per ``team_id, internal_period``: ``vendor_loss_pp`` (the team's availability lost to
        vendor outages, points), ``subcontractor_loss_pp`` (of which through subcontractors)
        and ``subcontractor_share_pct`` (the latter in % of the former; 0 without a loss).
        Only team-periods with a vendor outage are listed.
    """
    table = outage_accountability(scenario, log)
    table = table.assign(
        sub_loss=table["team_loss_pp"].where(table["subcontractor_id"].notna(), 0.0)
    )
    grouped = (
        table.groupby(["team_id", "internal_period"], sort=True)
        .agg(vendor_loss_pp=("team_loss_pp", "sum"), subcontractor_loss_pp=("sub_loss", "sum"))
        .reset_index()
    )
    loss = grouped["vendor_loss_pp"]
    grouped["subcontractor_share_pct"] = np.where(
        loss > 0, 100 * grouped["subcontractor_loss_pp"] / loss.where(loss > 0, 1.0), 0.0
    )
    return grouped


def subcontractor_summary(sla_share: pd.DataFrame) -> pd.DataFrame:
    """Sum :func:`subcontractor_sla_share` per vendor and subcontractor over the run.

    Parameters
    ----------
    sla_share : DataFrame
        From :func:`subcontractor_sla_share`.

    Returns
    -------
    DataFrame
        Per ``vendor_id, subcontractor_id``: ``shortfall_points`` (the vendor's summed
        shortfall), ``caused_points`` (the part the subcontractor caused), ``share_pct`` and
        ``credit_caused`` (the vendor credits that would not have been due without it).
    """
    frame = sla_share.assign(
        caused=sla_share["shortfall_pct"] - sla_share["shortfall_without_pct"],
        credit_caused=sla_share["credit"] - sla_share["credit_without"],
    )
    summary = (
        frame.groupby(["vendor_id", "subcontractor_id"], sort=True)
        .agg(
            shortfall_points=("shortfall_pct", "sum"),
            caused_points=("caused", "sum"),
            credit_caused=("credit_caused", "sum"),
        )
        .reset_index()
    )
    total = summary["shortfall_points"]
    summary["share_pct"] = np.where(
        total > 0, 100 * summary["caused_points"] / total.where(total > 0, 1.0), 0.0
    )
    return summary[
        ["vendor_id", "subcontractor_id", "shortfall_points", "caused_points", "share_pct"]
        + ["credit_caused"]
    ]
