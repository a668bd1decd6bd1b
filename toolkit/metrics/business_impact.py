"""The true outcomes of a log valued in money: business loss and the value of delivered change.

Works on any :class:`~toolkit.events.EventLog`, simulated or ingested, with the scenario's
:class:`~toolkit.config.scenario.BusinessImpact` prices. Per period of the log's window:

- ``downtime_cost``: hours each service is down × the hourly cost of its criticality tier.
  Downtime is the union, per service, of its outages and its priority-1 incidents (opening to
  resolution), the same intervals availability measures, so an outage and the P1 incident that
  records it are counted once. A missing end or resolution counts until the window's end.
- ``open_incident_cost``: hours every incident stays open (opening to resolution, until the
  window's end if unresolved) × the hourly cost of its priority, on top of any downtime: the
  cost of people waiting and working, not of the service being down.
- ``failed_change_cost``: failed changes (placed by implementation, else submission) × the cost
  per failed change; the incidents they cause are valued above.
- ``business_loss``: the sum of the three.
- ``delivery_value``: changes implemented in the period that did not fail × the value of their
  type.

Hours are placed in the periods they cover, clipped to the window; events outside the window
count nowhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.config.scenario import BusinessImpact
from toolkit.events import EventLog
from toolkit.events.periods import NS, assign_periods, period_bounds
from toolkit.metrics.availability import downtime_hours, downtime_intervals

LOSS_PARTS = ("downtime_cost", "open_incident_cost", "failed_change_cost")
COLUMNS = ("period", *LOSS_PARTS, "business_loss", "delivery_value")


def service_tiers(log: EventLog, impact: BusinessImpact) -> pd.Series:
    """Return the criticality tier of every service the log names, indexed by service id.

    Parameters
    ----------
    log : EventLog
        Services take the criticality of their first row in ``log.services``; services seen
        only in outages or incidents, or listed without one, take
        ``impact.unlisted_service_tier``.
    impact : BusinessImpact
        The prices.

    Returns
    -------
    Series of int
        Tier per service id, sorted by id.
    """
    listed = log.services.dropna(subset=["service_id"]).drop_duplicates("service_id")
    tiers = listed.set_index("service_id")["criticality"]
    seen = pd.concat([log.outages["service_id"], log.incidents["service_id"]]).dropna().unique()
    tiers = tiers.reindex(tiers.index.union(pd.Index(seen, dtype=object)))
    return tiers.fillna(impact.unlisted_service_tier).astype(int).sort_index()


def _open_intervals(log: EventLog) -> pd.DataFrame:
    """Return each incident's open time clipped to the window, keyed by its priority."""
    incidents = log.incidents
    window_start, window_end = np.datetime64(log.start, "ns"), np.datetime64(log.end, "ns")
    starts = np.maximum(incidents["opened_at"].to_numpy(dtype=NS), window_start)
    ends = incidents["resolved_at"].to_numpy(dtype=NS)
    ends = np.minimum(np.where(np.isnat(ends), window_end, ends), window_end)
    keep = ends > starts
    return pd.DataFrame(
        {
            "service_id": incidents["priority"].to_numpy()[keep].astype(str),
            "start": starts[keep],
            "end": ends[keep],
        }
    )


def _hours(intervals: pd.DataFrame, bounds: pd.DataFrame) -> pd.DataFrame:
    """Hours of ``intervals`` per key (``service_id`` column) and period position."""
    if intervals.empty or bounds.empty:
        return pd.DataFrame({"service_id": [], "period": [], "downtime": []})
    return downtime_hours(intervals, bounds)


def _count_by_period(times: pd.Series, weights: np.ndarray, bounds: pd.DataFrame) -> np.ndarray:
    """Sum ``weights`` over the period each time falls in."""
    at = assign_periods(times, bounds)
    inside = at >= 0
    return np.bincount(at[inside], weights=weights[inside], minlength=len(bounds))


def business_impact(log: EventLog, impact: BusinessImpact, period: str) -> pd.DataFrame:
    """Value a log's outcomes in money, period by period.

    Parameters
    ----------
    log : EventLog
        Usually the true log: the reported one would value what was recorded, not what
        happened.
    impact : BusinessImpact
        The prices, in the scenario currency.
    period : str
        ``"month"``, ``"quarter"``, ``"year"`` or ``"all"``.

    Returns
    -------
    DataFrame
        One row per period of the window in time order: ``period`` (label), the parts of
        the loss (module docstring), ``business_loss`` and ``delivery_value``, in currency.
    """
    bounds = period_bounds(log.start, log.end, period)
    periods = len(bounds)
    tiers = service_tiers(log, impact)
    down = _hours(downtime_intervals(log, pd.Series(tiers.index, dtype=object)), bounds)
    hourly = tiers.map(impact.downtime_cost_per_hour)
    downtime = np.bincount(
        down["period"].to_numpy(dtype=int),
        weights=down["downtime"].to_numpy(dtype=float)
        * hourly.reindex(down["service_id"]).to_numpy(dtype=float),
        minlength=periods,
    )
    open_hours = _hours(_open_intervals(log), bounds)
    open_cost = {str(p): cost for p, cost in impact.open_incident_cost_per_hour.items()}
    open_incidents = np.bincount(
        open_hours["period"].to_numpy(dtype=int),
        weights=open_hours["downtime"].to_numpy(dtype=float)
        * open_hours["service_id"].map(open_cost).to_numpy(dtype=float),
        minlength=periods,
    )
    changes = log.changes
    failed = changes["failed"].to_numpy(dtype=bool)
    placed = changes["implemented_at"].fillna(changes["submitted_at"])
    failed_changes = impact.failed_change_cost * _count_by_period(
        placed, failed.astype(float), bounds
    )
    value = changes["type"].map(impact.change_value).to_numpy(dtype=float)
    delivered = ~failed & changes["implemented_at"].notna().to_numpy()
    delivery = _count_by_period(changes["implemented_at"], np.where(delivered, value, 0.0), bounds)
    table = pd.DataFrame(
        {
            "period": bounds["label"],
            "downtime_cost": downtime,
            "open_incident_cost": open_incidents,
            "failed_change_cost": failed_changes,
        }
    )
    table["business_loss"] = table[list(LOSS_PARTS)].sum(axis=1)
    table["delivery_value"] = delivery
    return table
