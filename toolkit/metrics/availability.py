"""Service availability: the union of outage and priority-1 incident time, per period.

An outage and a P1 incident on the same service often describe the same downtime, so intervals
are merged per service before they are measured: overlapping time is counted once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.events import EventLog
from toolkit.events.periods import NS
from toolkit.events.schema import PRIORITIES
from toolkit.metrics.context import ALL, KpiRows, MeasureContext, tidy
from toolkit.metrics.registry import register

HIGHEST_PRIORITY = min(PRIORITIES)
HOUR = np.timedelta64(3600, "s")


def service_owners(log: EventLog) -> pd.DataFrame:
    """Return every known service with its owning team.

    Parameters
    ----------
    log : EventLog
        The log; ``services`` names owners, and services seen only in incidents take the team
        that handled most of their incidents (ties to the first team id in sort order).

    Returns
    -------
    DataFrame
        Columns ``service_id, team_id``, one row per service, sorted by service.
    """
    listed = log.services[["service_id", "team_id"]].dropna().drop_duplicates("service_id")
    seen = log.incidents.groupby(["service_id", "team_id"]).size().rename("n").reset_index()
    seen = seen.sort_values(["service_id", "n", "team_id"], ascending=[True, False, True])
    seen = seen.drop_duplicates("service_id")
    extra = seen.loc[~seen["service_id"].isin(listed["service_id"]), ["service_id", "team_id"]]
    owners = pd.concat([listed, extra], ignore_index=True)
    return owners.sort_values("service_id", ignore_index=True)


def downtime_intervals(log: EventLog, services: pd.Series) -> pd.DataFrame:
    """Return each service's downtime as disjoint intervals inside the window.

    Parameters
    ----------
    log : EventLog
        Outages (a missing end means ongoing) and priority-1 incidents (a missing resolution
        means still open) both count as downtime until ``log.end`` at the latest.
    services : Series of str
        The services measured; downtime on other services is ignored.

    Returns
    -------
    DataFrame
        Columns ``service_id, start, end``: merged, non-overlapping intervals clipped to the
        window, sorted by service and start.
    """
    outages = log.outages
    p1 = log.incidents.loc[log.incidents["priority"] == HIGHEST_PRIORITY]
    p1 = p1.rename(columns={"opened_at": "start", "resolved_at": "end"})
    columns = ["service_id", "start", "end"]
    intervals = pd.concat([outages[columns], p1[columns]], ignore_index=True)
    intervals["end"] = intervals["end"].fillna(log.end).clip(upper=log.end)
    intervals["start"] = intervals["start"].clip(lower=log.start)
    keep = intervals["service_id"].isin(services) & (intervals["end"] > intervals["start"])
    intervals = intervals.loc[keep].sort_values(["service_id", "start"], ignore_index=True)
    # An interval opens a new block unless it starts before every earlier one of its service ends.
    reach = intervals.groupby("service_id")["end"].cummax().shift()
    service = intervals["service_id"]
    new_block = (service != service.shift()) | (intervals["start"] > reach)
    merged = intervals.groupby(new_block.cumsum()).agg(
        service_id=("service_id", "first"), start=("start", "min"), end=("end", "max")
    )
    return merged.reset_index(drop=True)


def downtime_hours(intervals: pd.DataFrame, bounds: pd.DataFrame) -> pd.DataFrame:
    """Split disjoint downtime intervals at period bounds and sum the hours per service and period.

    Parameters
    ----------
    intervals : DataFrame
        From :func:`downtime_intervals`.
    bounds : DataFrame
        From :func:`~toolkit.events.periods.period_bounds`.

    Returns
    -------
    DataFrame
        Columns ``service_id, period`` (position in ``bounds``) and ``downtime`` (hours), only
        where there was downtime.
    """
    starts = intervals["start"].to_numpy(dtype=NS)
    ends = intervals["end"].to_numpy(dtype=NS)
    period_starts = bounds["start"].to_numpy(dtype=NS)
    period_ends = bounds["end"].to_numpy(dtype=NS)
    first = np.searchsorted(period_starts, starts, side="right") - 1
    last = np.searchsorted(period_starts, ends, side="left") - 1
    spans = last - first + 1
    row = np.repeat(np.arange(len(intervals)), spans)
    offset = np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
    period = first[row] + offset
    overlap = np.minimum(ends[row], period_ends[period]) - np.maximum(
        starts[row], period_starts[period]
    )
    pieces = pd.DataFrame(
        {
            "service_id": intervals["service_id"].to_numpy()[row],
            "period": period,
            "downtime": overlap / HOUR,
        }
    )
    return pieces.groupby(["service_id", "period"], as_index=False)["downtime"].sum()


@register(
    "availability",
    definition=(
        "One minus the share of the period's hours inside the window during which a service was "
        "down (outages and priority-1 incidents, overlaps counted once, placed by the time they "
        "cover), pooled over a team's or the organisation's services."
    ),
    unit="share",
    direction="higher",
    indicator="lagging",
    table="outages",
)
def availability(ctx: MeasureContext) -> KpiRows:
    """Pool downtime per service, team and organisation; services never down score 1.0."""
    owners = service_owners(ctx.log)
    intervals = downtime_intervals(ctx.log, owners["service_id"])
    down = downtime_hours(intervals, ctx.bounds)
    grid = owners.merge(pd.DataFrame({"period": np.arange(len(ctx.bounds))}), how="cross")
    grid = grid.merge(down, on=["service_id", "period"], how="left").fillna({"downtime": 0.0})
    grid["hours"] = ctx.bounds["hours"].to_numpy()[grid["period"].to_numpy()]
    parts = {
        "pair": lambda: grid,
        "team": lambda: grid.assign(service_id=ALL),
        "org": lambda: grid.assign(team_id=ALL, service_id=ALL),
    }
    pooled = (
        pd.concat([parts[level]() for level in ctx.levels], ignore_index=True)
        .groupby(["period", "team_id", "service_id"], as_index=False)[["downtime", "hours"]]
        .sum()
    )
    pooled["value"] = 1 - pooled["downtime"] / pooled["hours"]
    pooled["period"] = ctx.labels[pooled["period"].to_numpy()]
    return tidy(pooled, "availability")
