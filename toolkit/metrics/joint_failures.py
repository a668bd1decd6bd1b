"""Joint failures: incidents to which a vendor and the internal team both contributed.

A vendor contributes to an incident on one of its dependent services while one of its outages
(or its subcontractors', which it answers for) is under way there: the service cannot be
restored before the vendor restores its part. The internal team contributes the rest of the
incident's open time (diagnosis, queueing, its own fault). So the vendor's *contribution* to an
incident is the share of the incident's open time, from opening to resolution (to the log's
end if still open), that the vendor's outages on the service cover, merged as
:mod:`toolkit.metrics.availability` merges downtime.

An incident the log attributes to the vendor (``root_cause == "vendor"`` with its
``vendor_id``) that no outage of the vendor overlaps is the customer's claim without evidence:
it is listed with the claimed contribution 1 and ``supported`` False. That is the trace a
vendor checking the customer's attributions against its own outage records finds.

Measured on any log: the truth (what each side really contributed), the record (what the
customer claims) or the vendor's own report of its outages, where a late-reported start
shrinks the vendor's measured contribution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from toolkit.events import EventLog
from toolkit.events.log import empty_table
from toolkit.events.periods import NS
from toolkit.metrics.availability import HOUR, downtime_intervals

COLUMNS = (
    "incident_id",
    "team_id",
    "service_id",
    "vendor_id",
    "priority",
    "opened_at",
    "attributed",
    "supported",
    "open_hours",
    "overlap_hours",
    "vendor_contribution",
)


def _overlap_hours(opened, until, services, intervals: pd.DataFrame) -> np.ndarray:
    """Return the hours of each ``[opened, until)`` covered by its service's intervals."""
    hours = np.zeros(len(opened))
    for service, spans in intervals.groupby("service_id", sort=False):
        rows = np.flatnonzero(services == service)
        if not len(rows):
            continue
        starts = spans["start"].to_numpy(dtype=NS)
        ends = spans["end"].to_numpy(dtype=NS)
        lo = np.maximum(opened[rows, None], starts[None, :])
        hi = np.minimum(until[rows, None], ends[None, :])
        hours[rows] = (np.maximum(hi - lo, np.timedelta64(0, "ns")) / HOUR).sum(axis=1)
    return hours


def unsupported_attributions(log: EventLog, vendor_id: str, services: Sequence[str]) -> np.ndarray:
    """Mark the incidents the log blames on a vendor that none of its outages overlapped.

    Parameters
    ----------
    log : EventLog
        Any event log.
    vendor_id : str
        The vendor.
    services : sequence of str
        Its dependent services.

    Returns
    -------
    ndarray of bool
        One flag per row of ``log.incidents``.
    """
    flags = np.zeros(len(log.incidents), dtype=bool)
    blamed = (log.incidents["root_cause"] == "vendor") & (log.incidents["vendor_id"] == vendor_id)
    rows = np.flatnonzero(blamed.fillna(False).to_numpy(dtype=bool))
    if len(rows):
        measured = joint_failures(
            replace(log, incidents=log.incidents.iloc[rows]), [(vendor_id, services)]
        )
        unsupported = set(measured.loc[~measured["supported"], "incident_id"])
        ids = log.incidents["incident_id"].to_numpy(dtype=object)[rows]
        flags[rows] = [i in unsupported for i in ids]
    return flags


def joint_failures(log: EventLog, vendor_services: Sequence[tuple[str, Sequence[str]]]):
    """List every incident a vendor contributed to, or is blamed for, with its contribution.

    Parameters
    ----------
    log : EventLog
        Any event log.
    vendor_services : sequence of (vendor_id, services)
        Each vendor and the services that depend on it (e.g. from
        :func:`toolkit.metrics.vendor_sla.sla_parties`, the vendors' own parties).

    Returns
    -------
    DataFrame
        One row per vendor and incident on its services that one of its outages overlapped or
        that the log attributes to it: ``incident_id, team_id, service_id, vendor_id,
        priority, opened_at``, ``attributed`` (the log blames the vendor), ``supported`` (an
        outage of the vendor overlapped it), ``open_hours``, ``overlap_hours`` and
        ``vendor_contribution`` in [0, 1] (overlap over open hours; 1 for an unsupported
        attribution, the claim as it stands).
    """
    incidents = log.incidents
    end = np.datetime64(log.end, "ns")
    parts = []
    for vendor_id, services in vendor_services:
        on_service = incidents["service_id"].isin(list(services)).to_numpy(dtype=bool)
        blamed = (incidents["root_cause"] == "vendor") & (incidents["vendor_id"] == vendor_id)
        blamed = blamed.fillna(False).to_numpy(dtype=bool)
        rows = incidents.loc[on_service | blamed]
        outages = log.outages
        mine = (outages["source"] == "vendor") & (outages["vendor_id"] == vendor_id)
        only = EventLog(
            incidents=empty_table("incidents"),
            changes=empty_table("changes"),
            outages=outages.loc[mine.fillna(False).to_numpy(dtype=bool)],
            services=empty_table("services"),
            start=log.start,
            end=log.end,
        )
        intervals = downtime_intervals(only, pd.Series(list(services), dtype=object))
        opened = rows["opened_at"].to_numpy(dtype=NS)
        resolved = rows["resolved_at"].to_numpy(dtype=NS)
        until = np.minimum(np.where(np.isnat(resolved), end, resolved), end)
        service_ids = rows["service_id"].to_numpy(dtype=object)
        overlap = _overlap_hours(opened, until, service_ids, intervals)
        open_hours = np.maximum((until - opened) / HOUR, 0.0)
        # an incident opened and resolved at once inside an outage is wholly the vendor's
        within = _overlap_hours(opened, opened + np.timedelta64(1, "s"), service_ids, intervals)
        supported = (overlap > 0) | (within > 0)
        attributed = blamed[on_service | blamed]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(open_hours > 0, overlap / open_hours, supported.astype(float))
        share = np.where(attributed & ~supported, 1.0, np.clip(share, 0.0, 1.0))
        keep = supported | attributed
        parts.append(
            pd.DataFrame(
                {
                    "incident_id": rows["incident_id"].to_numpy(dtype=object)[keep],
                    "team_id": rows["team_id"].to_numpy(dtype=object)[keep],
                    "service_id": service_ids[keep],
                    "vendor_id": vendor_id,
                    "priority": rows["priority"].to_numpy(dtype=np.int64)[keep],
                    "opened_at": opened[keep],
                    "attributed": attributed[keep],
                    "supported": supported[keep],
                    "open_hours": open_hours[keep],
                    "overlap_hours": overlap[keep],
                    "vendor_contribution": share[keep],
                }
            )
        )
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(COLUMNS)]
