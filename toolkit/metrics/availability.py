"""Service availability: the union of outage and priority-1 incident time, per period.

An outage and a P1 incident on the same service often describe the same downtime, so intervals
are merged per service before they are measured: overlapping time is counted once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.events import EventLog
from toolkit.events.periods import NS
from toolkit.events.schema import PRIORITIES, positions, text
from toolkit.metrics.context import ALL, KpiRows, MeasureContext
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
    service = log.services["service_id"].to_numpy(dtype=object)
    team = log.services["team_id"].to_numpy(dtype=object)
    named = ~(pd.isna(service) | pd.isna(team))
    _, first = np.unique(service[named], return_index=True)  # the first row of each service
    first = np.sort(first)
    listed = pd.DataFrame(
        {"service_id": text(service[named][first]), "team_id": text(team[named][first])}
    )
    unlisted = positions(listed["service_id"], log.incidents["service_id"]) < 0
    unlisted &= log.incidents["service_id"].notna().to_numpy()
    if unlisted.any():
        rows = log.incidents.loc[unlisted]
        seen = rows.groupby(["service_id", "team_id"]).size().rename("n").reset_index()
        seen = seen.sort_values(["service_id", "n", "team_id"], ascending=[True, False, True])
        extra = seen.drop_duplicates("service_id")[["service_id", "team_id"]]
        listed = pd.concat([listed, extra], ignore_index=True)
    return listed.sort_values("service_id", ignore_index=True)


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
    incidents = log.incidents
    p1 = (incidents["priority"] == HIGHEST_PRIORITY).to_numpy()
    known = pd.Index(services)
    service = np.concatenate(
        [
            positions(known, log.outages["service_id"]),
            positions(known, incidents["service_id"].to_numpy()[p1]),
        ]
    )
    window_start, window_end = np.datetime64(log.start, "ns"), np.datetime64(log.end, "ns")
    starts = np.concatenate(
        [log.outages["start"].to_numpy(dtype=NS), incidents["opened_at"].to_numpy(dtype=NS)[p1]]
    )
    ends = np.concatenate(
        [log.outages["end"].to_numpy(dtype=NS), incidents["resolved_at"].to_numpy(dtype=NS)[p1]]
    )
    ends = np.minimum(np.where(np.isnat(ends), window_end, ends), window_end)
    starts = np.maximum(starts, window_start)
    keep = (service >= 0) & (ends > starts)
    service, starts, ends = service[keep], starts[keep], ends[keep]
    order = np.lexsort((starts, service))
    service, starts, ends = service[order], starts[order], ends[order]
    # An interval opens a new block unless it starts before every earlier one of its service ends.
    reach = pd.Series(ends).groupby(service).cummax().to_numpy(dtype=NS)
    first = np.ones(len(service), dtype=bool)
    first[1:] = (service[1:] != service[:-1]) | (starts[1:] > reach[:-1])
    blocks = np.flatnonzero(first)
    merged_end = np.maximum.reduceat(ends, blocks) if len(blocks) else ends[:0]
    return pd.DataFrame(
        {
            "service_id": known.to_numpy(dtype=object)[service[blocks]],
            "start": starts[blocks],
            "end": merged_end,
        }
    )


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
    service, services = pd.factorize(intervals["service_id"].to_numpy(dtype=object)[row], sort=True)
    cell = service * len(period_starts) + period
    cells, at = np.unique(cell, return_inverse=True)
    return pd.DataFrame(
        {
            "service_id": np.asarray(services, dtype=object)[cells // len(period_starts)],
            "period": cells % len(period_starts),
            "downtime": np.bincount(at, weights=overlap / HOUR, minlength=len(cells)),
        }
    )


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
    log = ctx.counted
    owners = service_owners(log)
    down = downtime_hours(downtime_intervals(log, owners["service_id"]), ctx.bounds)
    services = pd.Index(owners["service_id"])
    team_codes, teams = pd.factorize(owners["team_id"])
    periods = len(ctx.bounds)
    downtime = np.zeros((len(services), periods))
    downtime[services.get_indexer(down["service_id"]), down["period"].to_numpy()] = down[
        "downtime"
    ].to_numpy()
    if not len(services) or not periods:
        return KpiRows.concat([])
    hours = ctx.bounds["hours"].to_numpy(dtype=float)
    levels = {
        "pair": (services.to_numpy(dtype=object), owners["team_id"].to_numpy(dtype=object)),
        "team": (np.full(len(teams), ALL, dtype=object), np.asarray(teams, dtype=object)),
        "org": (np.array([ALL], dtype=object), np.array([ALL], dtype=object)),
    }
    team_down = np.stack(
        [np.bincount(team_codes, downtime[:, p], len(teams)) for p in range(periods)], axis=1
    )
    pooled = {
        "pair": (downtime, np.ones(len(services))),
        "team": (team_down, np.bincount(team_codes, minlength=len(teams)).astype(float)),
        "org": (downtime.sum(axis=0, keepdims=True), np.array([float(len(services))])),
    }
    parts = []
    for level in ctx.levels:
        service_ids, team_ids = levels[level]
        down_hours, count = pooled[level]
        value = 1 - down_hours / (count[:, None] * hours[None, :])
        parts.append(
            KpiRows(
                np.tile(ctx.labels, len(count)),
                np.repeat(team_ids, periods),
                np.repeat(service_ids, periods),
                np.full(value.size, "availability", dtype=object),
                value.reshape(-1),
            )
        )
    return KpiRows.concat(parts)
