"""Factors beyond IT's control that move customer satisfaction, derived from the log itself.

No column of the schema records them: the season follows from a survey's timestamp, a vendor
outage from the ``outages`` table, a business unit from the ``services`` table. The world scores
its surveys on these same derivations and the CSAT adjustment reads them back from any log, so
a simulated log and a real export are adjusted alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def vendor_outage_at_open(incidents: pd.DataFrame, outages: pd.DataFrame) -> np.ndarray:
    """Flag the incidents opened on a service while a vendor outage had it down.

    Why: users blame IT for a supplier's failure, so an incident raised during one is scored
    lower whoever is at fault; the flag is what an adjustment needs to take that out.

    Parameters
    ----------
    incidents : DataFrame
        Incident rows with ``service_id`` and ``opened_at``.
    outages : DataFrame
        Outage rows with ``source``, ``service_id``, ``start`` and ``end`` (an outage with no
        ``end`` is still going on).

    Returns
    -------
    ndarray of bool
        One flag per incident: ``True`` where some outage of source ``vendor`` on the same
        service had ``start <= opened_at <= end``.
    """
    flags = np.zeros(len(incidents), dtype=bool)
    vendor = outages.loc[(outages["source"] == "vendor").to_numpy(dtype=bool)]
    if vendor.empty or incidents.empty:
        return flags
    service = incidents["service_id"].to_numpy(dtype=object)
    opened = incidents["opened_at"].to_numpy(dtype="datetime64[ns]")
    latest = np.datetime64("2262-04-11", "ns")
    starts = vendor["start"].to_numpy(dtype="datetime64[ns]")
    ends = vendor["end"].to_numpy(dtype="datetime64[ns]")
    ends = np.where(np.isnat(ends), latest, ends)
    by_service = vendor.groupby(vendor["service_id"].to_numpy(dtype=object)).indices
    for service_id, rows in by_service.items():
        mine = np.flatnonzero(service == service_id)
        if not len(mine):
            continue
        at = opened[mine]
        hit = np.zeros(len(mine), dtype=bool)
        for start, end in zip(starts[rows], ends[rows], strict=True):
            hit |= (at >= start) & (at <= end)
        flags[mine] = hit
    return flags


def survey_month(incidents: pd.DataFrame) -> np.ndarray:
    """Return the calendar month (1..12) of each incident's resolution, when it is surveyed.

    Why: the survey goes out on resolution, so the season a customer answers in is that of
    ``resolved_at``; unresolved incidents get 0.

    Parameters
    ----------
    incidents : DataFrame
        Incident rows with ``resolved_at``.

    Returns
    -------
    ndarray of int
        1 (January) to 12, 0 where ``resolved_at`` is missing.
    """
    resolved = pd.DatetimeIndex(incidents["resolved_at"])
    return np.where(resolved.isna(), 0, resolved.month.fillna(0)).astype(int)


def business_unit_of(incidents: pd.DataFrame, services: pd.DataFrame) -> np.ndarray:
    """Return the business unit of each incident's service (missing where none is known).

    Parameters
    ----------
    incidents : DataFrame
        Incident rows with ``service_id``.
    services : DataFrame
        Service rows with ``service_id`` and ``business_unit``.

    Returns
    -------
    ndarray of object
        The unit's id, or ``None`` for a service the table does not list or gives no unit.
    """
    units = dict(
        zip(
            services["service_id"].to_numpy(dtype=object),
            services["business_unit"].to_numpy(dtype=object),
            strict=True,
        )
    )
    found = [units.get(s) for s in incidents["service_id"].to_numpy(dtype=object)]
    return np.array([u if isinstance(u, str) else None for u in found], dtype=object)
