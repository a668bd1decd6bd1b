"""Internal incentive periods against vendor SLA periods: who is held to account, and when.

An outage of a supplier hits two scorecards. The owning team's availability KPI counts it in
the internal incentive period it happened in (a quarter, say); the vendor's SLA counts it in
its own measurement period (a month, say), and the credit it triggers is settled some months
after that period closes, possibly in another internal period than the team's loss. When the
two calendars differ the same hour of downtime is judged on different denominators: a bad
month can cost the vendor a credit while the team's quarter still meets its target, or a run
of small outages can sink the team's quarter while every vendor month stays inside its SLA.

:func:`period_alignment` maps one calendar onto the other, :func:`outage_accountability`
follows each vendor outage to both scorecards, :func:`accountability_summary` sums the result
per vendor, and :func:`sla_period_effect` prices the same log under a vendor SLA period equal
to the internal one, so the effect of the misalignment is a number.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from toolkit.config.scenario import Scenario
from toolkit.events import EventLog
from toolkit.events.periods import NS, assign_periods, period_bounds
from toolkit.finance.vendor_credits import TOLERANCE_PCT, credits
from toolkit.metrics.availability import HOUR
from toolkit.metrics.vendor_sla import SlaParty, sla_parties, vendor_sla

DEFAULT_SETTLEMENT_LAG_MONTHS = 1  # credits are netted off the invoice after the SLA report


def period_alignment(
    start: pd.Timestamp, end: pd.Timestamp, internal_period: str, vendor_period: str
) -> pd.DataFrame:
    """Map each vendor SLA period onto the internal incentive periods it overlaps.

    Parameters
    ----------
    start, end : Timestamp
        The window (a run's horizon).
    internal_period : str
        The incentive plan's period (``"month"``, ``"quarter"``, ``"year"``).
    vendor_period : str
        The vendor's SLA measurement period (``"month"`` or ``"quarter"``).

    Returns
    -------
    DataFrame
        One row per overlapping pair: ``vendor_period, vendor_start, vendor_end,
        internal_period, overlap_hours, share_of_vendor_pct`` (the overlap in % of the vendor
        period's hours), ``internal_periods`` (how many internal periods the vendor period
        touches) and ``split`` (it touches more than one: its credit cannot be booked against
        a single internal period).
    """
    vendor = period_bounds(start, end, vendor_period)
    internal = period_bounds(start, end, internal_period)
    pairs = vendor.merge(internal, how="cross", suffixes=("_v", "_i"))
    lo = np.maximum(pairs["start_v"].to_numpy(dtype=NS), pairs["start_i"].to_numpy(dtype=NS))
    hi = np.minimum(pairs["end_v"].to_numpy(dtype=NS), pairs["end_i"].to_numpy(dtype=NS))
    overlap = (hi - lo) / HOUR
    pairs = pairs.assign(overlap_hours=overlap)[overlap > 0]
    table = pd.DataFrame(
        {
            "vendor_period": pairs["label_v"].to_numpy(dtype=object),
            "vendor_start": pairs["start_v"].to_numpy(dtype=NS),
            "vendor_end": pairs["end_v"].to_numpy(dtype=NS),
            "internal_period": pairs["label_i"].to_numpy(dtype=object),
            "overlap_hours": pairs["overlap_hours"].to_numpy(dtype=float),
            "share_of_vendor_pct": 100
            * pairs["overlap_hours"].to_numpy(dtype=float)
            / pairs["hours_v"].to_numpy(dtype=float),
        }
    )
    table["internal_periods"] = table.groupby("vendor_period")["internal_period"].transform(
        "nunique"
    )
    table["split"] = table["internal_periods"] > 1
    return table.reset_index(drop=True)


def _vendor_parties(scenario: Scenario) -> dict[str, SlaParty]:
    return {p.vendor_id: p for p in sla_parties(scenario) if p.subcontractor_id is None}


def _settlement_months(labels: pd.Series, period: str, lag_months: int) -> pd.PeriodIndex:
    """Return the month each SLA period's credit is settled in: ``lag_months`` after it ends."""
    freq = "M" if period == "month" else "Q"
    spans = pd.PeriodIndex(labels.astype(str), freq=freq)
    last_month = spans.asfreq("M", how="end")
    return last_month + lag_months


def outage_accountability(
    scenario: Scenario,
    log: EventLog,
    settlement_lag_months: int = DEFAULT_SETTLEMENT_LAG_MONTHS,
) -> pd.DataFrame:
    """Follow each vendor outage on each service to the team's KPI and to the vendor's credit.

    Parameters
    ----------
    scenario : Scenario
        Services with their owning teams and vendors, the internal period, the contracts.
    log : EventLog
        Any log with outages (usually the truth).
    settlement_lag_months : int
        Months after an SLA period closes that its credit is settled (netted off an invoice).

    Returns
    -------
    DataFrame
        One row per vendor outage and service, by start: ``outage_id, vendor_id,
        subcontractor_id, service_id, team_id, start, hours`` (downtime inside the window),
        ``internal_period`` (where the team's KPI counts it, by start), ``team_loss_pp``
        (the outage's cut of the team's availability in that period, percentage points),
        ``vendor_period`` (where the vendor's SLA counts it), ``vendor_credited`` (the vendor
        period's availability credit is positive on this log), ``vendor_credit`` (that
        credit), ``settled_month`` and ``settled_internal_period`` (when the credit is paid
        back) and ``same_period`` (the credit lands in the internal period of the team's loss).
    """
    outages = log.outages[(log.outages["source"] == "vendor").fillna(False).to_numpy(dtype=bool)]
    window_end = np.datetime64(log.end, "ns")
    start = outages["start"].to_numpy(dtype=NS)
    stop = outages["end"].to_numpy(dtype=NS)
    stop = np.where(np.isnat(stop), window_end, stop)
    stop = np.minimum(stop, window_end)
    lo = np.maximum(start, np.datetime64(log.start, "ns"))
    owners = {s.id: s.owning_team for s in scenario.organisation.services}
    table = pd.DataFrame(
        {
            "outage_id": outages["outage_id"].to_numpy(dtype=object),
            "vendor_id": outages["vendor_id"].to_numpy(dtype=object),
            "subcontractor_id": outages["subcontractor_id"].astype(object).to_numpy(),
            "service_id": outages["service_id"].to_numpy(dtype=object),
            "team_id": outages["service_id"].map(owners).to_numpy(dtype=object),
            "start": start,
            "hours": np.maximum((stop - lo) / HOUR, 0.0),
        }
    )
    internal = period_bounds(log.start, log.end, scenario.horizon.period)
    position = assign_periods(table["start"], internal)
    table = table[position >= 0].copy()
    position = position[position >= 0]
    table["internal_period"] = internal["label"].to_numpy(dtype=object)[position]
    team_services = pd.Series(owners).value_counts()
    service_hours = internal["hours"].to_numpy(dtype=float)[position] * table["team_id"].map(
        team_services
    ).to_numpy(dtype=float)
    table["team_loss_pp"] = 100 * table["hours"].to_numpy(dtype=float) / service_hours
    parties = _vendor_parties(scenario)
    priced = credits(vendor_sla(log, list(parties.values())), list(parties.values()))
    availability = priced[priced["measure"] == "availability"]
    credit_of = availability.set_index(["vendor_id", "period"])["credit"]
    internal_of = {
        month: label
        for label, start, end in internal[["label", "start", "end"]].itertuples(index=False)
        for month in pd.period_range(start, end - pd.Timedelta(1, "ns"), freq="M")
    }
    vendor_period, credit, settled = [], [], []
    for row in table.itertuples():
        party = parties[row.vendor_id]
        bounds = period_bounds(log.start, log.end, party.period)
        label = bounds["label"].iloc[assign_periods(pd.Series([row.start]), bounds)[0]]
        vendor_period.append(label)
        credit.append(float(credit_of.get((row.vendor_id, label), 0.0)))
        lag = settlement_lag_months
        settled.append(_settlement_months(pd.Series([label]), party.period, lag)[0])
    table["vendor_period"] = pd.Series(vendor_period, index=table.index, dtype=object)
    table["vendor_credit"] = credit
    table["vendor_credited"] = table["vendor_credit"] > TOLERANCE_PCT
    table["settled_month"] = [str(m) for m in settled]
    table["settled_internal_period"] = [internal_of.get(m) for m in settled]
    table["same_period"] = table["settled_internal_period"] == table["internal_period"]
    return table.sort_values(["start", "service_id"], ignore_index=True)


def accountability_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Sum :func:`outage_accountability` per vendor: who carried the downtime, and when.

    Parameters
    ----------
    table : DataFrame
        From :func:`outage_accountability`.

    Returns
    -------
    DataFrame
        Per ``vendor_id``: ``outages`` (distinct), ``service_hours`` (downtime counted against
        the owning teams), ``uncredited_pct`` (share of those hours in vendor periods that
        paid no credit: the team alone answers for them), ``credit`` (the credits of the
        vendor periods with an outage, each period once) and ``other_period_pct`` (share of
        the hours whose credit is settled in another internal period than the team's loss).
    """
    rows = []
    for vendor_id, part in table.groupby("vendor_id", sort=True):
        hours = part["hours"].sum()
        share = 100 / hours if hours > 0 else np.nan
        rows.append(
            {
                "vendor_id": vendor_id,
                "outages": part["outage_id"].nunique(),
                "service_hours": hours,
                "uncredited_pct": share * part.loc[~part["vendor_credited"], "hours"].sum(),
                "credit": part.drop_duplicates("vendor_period")["vendor_credit"].sum(),
                "other_period_pct": share * part.loc[~part["same_period"], "hours"].sum(),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "vendor_id",
            "outages",
            "service_hours",
            "uncredited_pct",
            "credit",
            "other_period_pct",
        ],
    )


def with_sla_period(parties: list[SlaParty], period: str) -> list[SlaParty]:
    """Return the parties with their contracts' SLA period replaced (others as they are)."""
    return [
        dataclasses.replace(p, terms=p.terms.model_copy(update={"period": period}))
        if p.terms is not None
        else p
        for p in parties
    ]


def sla_period_effect(scenario: Scenario, log: EventLog, period: str | None = None) -> pd.DataFrame:
    """Price one log under the contracts' SLA periods and under another (by default the plan's).

    Why: a monthly SLA judges each month on its own hours, a quarterly one averages a bad month
    with two good ones, so the same outages cost the vendor a different amount of credits. The
    difference is the money the misalignment moves between the vendor and the customer.

    Parameters
    ----------
    scenario : Scenario
        Vendors and contracts; its ``horizon.period`` is the default alternative.
    log : EventLog
        The log measured (usually the truth).
    period : str, optional
        The alternative SLA period (``"month"`` or ``"quarter"``); default the internal one.

    Returns
    -------
    DataFrame
        Per ``vendor_id`` (the vendors themselves, not their subcontractors) and ``sla_period``
        (``"contract"`` for the contracts as written, else the alternative period):
        ``periods`` measured, ``availability_misses`` (SLA periods below the availability
        target) and ``credit`` (all measures, after caps).
    """
    alternative = period or scenario.horizon.period
    parties = list(_vendor_parties(scenario).values())
    rows = []
    variants = (("contract", parties), (alternative, with_sla_period(parties, alternative)))
    for label, chosen in variants:
        priced = credits(vendor_sla(log, chosen), chosen)
        for vendor_id, part in priced.groupby("vendor_id", sort=True):
            avail = part[part["measure"] == "availability"]
            missed = avail["attainment_pct"] < avail["target_pct"] - TOLERANCE_PCT
            rows.append(
                {
                    "vendor_id": vendor_id,
                    "sla_period": label,
                    "periods": len(avail),
                    "availability_misses": int(missed.sum()),
                    "credit": float(part["credit"].sum()),
                }
            )
    return pd.DataFrame(rows)
