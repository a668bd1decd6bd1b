"""The vendor's own report of its outages: the reporting layer applied to a supplier.

A vendor measures its SLA from its own outage records, and the commonest way to flatter them
is to start the clock late: the outage "began" when the customer's ticket reached the vendor's
desk, not when the service fell over. As with the teams' levers
(:mod:`toolkit.behaviour.reporting`), the lever ``late_outage_start`` is an intensity in
[0, 1] per vendor and period, the chance that the vendor reports a given outage late; every
decision is a uniform draw hashed from (seed, the outage event, purpose), so the same inputs
give the same report and a higher intensity only adds late starts.

An outage event of a vendor takes every dependent service down at once and the world records
one row per service; the vendor reports the event once, so all its rows move together. The
reported start falls a share :data:`LATE_START_SHARE` of the way from the true start to the
end: the outage stays on record, shorter. The trace an auditor finds is an outage whose start
lies after the first incident it caused on the service.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from toolkit.behaviour.reporting import NS, _between, _Periods, _shift
from toolkit.config.scenario import Scenario
from toolkit.events import EventLog
from toolkit.events.schema import positions, text
from toolkit.metrics.joint_failures import unsupported_attributions
from toolkit.sim.streams import hash_ids, uniforms

VENDOR_REPORTING_LEVERS = ("late_outage_start",)
# The reported start lies 20-60% of the way into the outage: late enough to matter, early
# enough that the customer's own first ticket (at the true start) still contradicts it.
LATE_START_SHARE = (0.2, 0.6)
ONE_HOUR = np.timedelta64(1, "h")
DISPUTE_COLUMNS = ("period", "vendor_id", "team_id", "disputed", "overturned")


def _events(outages: pd.DataFrame) -> np.ndarray:
    """Name each row's outage event: vendor, subcontractor and true start, shared by its rows."""
    start = outages["start"].dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(dtype=object)
    vendor = outages["vendor_id"].fillna("").to_numpy(dtype=object)
    sub = outages["subcontractor_id"].fillna("").to_numpy(dtype=object)
    return vendor + "/" + sub + "/" + start


def report_vendor_outages(
    log: EventLog, intensities: pd.DataFrame, periods: pd.DataFrame, *, seed: int
) -> EventLog:
    """Return ``log`` with its vendor outages as the vendors report them.

    Parameters
    ----------
    log : EventLog
        A true or reported log; not modified.
    intensities : DataFrame
        Columns ``period`` (a label of ``periods``), ``vendor_id`` and ``late_outage_start``
        in [0, 1]. Missing (period, vendor) rows mean 0 (honest reporting).
    periods : DataFrame
        Columns ``label, start, end``: non-overlapping half-open periods; an outage belongs to
        the period of its true start.
    seed : int
        Keys every random decision, with the outage event.

    Returns
    -------
    EventLog
        The same log with late-reported vendor outages starting later; every other table and
        row as given, ``meta["outages_view"] == "vendor"``.

    Raises
    ------
    ValueError
        For malformed periods or intensities, or an intensity outside [0, 1].
    """
    spans = _Periods(periods)
    missing = {"period", "vendor_id", "late_outage_start"} - set(intensities.columns)
    if missing:
        raise ValueError(f"vendor intensities: missing columns {sorted(missing)}")
    values = pd.to_numeric(intensities["late_outage_start"]).to_numpy(dtype=float)
    if not ((values >= 0) & (values <= 1)).all():
        raise ValueError("vendor intensities.late_outage_start: values must lie in [0, 1]")
    keys = intensities["vendor_id"].astype(str) + "|" + intensities["period"].astype(str)
    if keys.duplicated().any():
        raise ValueError("vendor intensities: more than one row for a (period, vendor_id)")

    outages = log.outages
    starts = outages["start"].to_numpy(dtype=NS)
    period = spans.locate(starts)
    row_keys = outages["vendor_id"].fillna("").astype(str).to_numpy(dtype=object)
    labels = np.where(period >= 0, spans.labels[np.maximum(period, 0)], "")
    at = positions(keys.to_numpy(dtype=object), row_keys + "|" + labels.astype(object))
    intensity = np.where((at >= 0) & (period >= 0), values[np.maximum(at, 0)], 0.0)
    intensity = np.where((outages["source"] == "vendor").to_numpy(dtype=bool), intensity, 0.0)
    meta = {**copy.deepcopy(log.meta), "outages_view": "vendor"}
    if not intensity.any():
        return EventLog(log.incidents, log.changes, outages, log.services, log.start, log.end, meta)
    hashed = hash_ids(_events(outages))
    late = uniforms(hashed, seed, "late_outage_start") < intensity
    ends = outages["end"].to_numpy(dtype=NS)
    until = np.where(np.isnat(ends), np.datetime64(log.end, "ns"), ends)
    share = _between(uniforms(hashed, seed, "late_outage_start/share"), LATE_START_SHARE)
    moved = _shift(starts, share * ((until - starts) / ONE_HOUR))
    reported = outages.assign(start=np.where(late, moved, starts).astype(NS))
    return EventLog(log.incidents, log.changes, reported, log.services, log.start, log.end, meta)


def scenario_intensities(scenario: Scenario, periods: pd.DataFrame) -> pd.DataFrame:
    """Return each vendor's ``late_outage_start`` from the scenario, in every period.

    Parameters
    ----------
    scenario : Scenario
        Its vendors' ``reporting`` levers, which hold for the whole horizon.
    periods : DataFrame
        Periods with a ``label`` column.

    Returns
    -------
    DataFrame
        Columns ``period, vendor_id, late_outage_start``, one row per period and vendor.
    """
    rows = [
        {"period": label, "vendor_id": v.id, "late_outage_start": v.reporting.late_outage_start}
        for label in periods["label"]
        for v in scenario.organisation.vendors
    ]
    return pd.DataFrame(rows, columns=["period", "vendor_id", *VENDOR_REPORTING_LEVERS])


def contest_attributions(
    log: EventLog,
    contests: pd.DataFrame,
    periods: pd.DataFrame,
    vendor_services: Mapping[str, Sequence[str]],
    *,
    seed: int,
    success: Mapping[str, float],
) -> tuple[EventLog, pd.DataFrame]:
    """Return the record after the vendors have disputed attributions their outages deny.

    A vendor that pays for the incidents blamed on it checks them against its outage records:
    an incident the record attributes to it that none of its outages overlapped (see
    :func:`toolkit.metrics.joint_failures.unsupported_attributions`) is disputed with the
    vendor's ``contest`` intensity in the period it was opened, and a dispute overturns the
    attribution with the vendor's ``success`` chance. An overturned incident shows its own
    cause again: ``change`` if it names a change, else ``internal``, with no vendor. Decisions
    are uniform draws hashed from (seed, incident id, purpose), so a candidate's copy of an
    incident meets the same dispute as the record's, and a higher intensity only adds
    disputes.

    Parameters
    ----------
    log : EventLog
        The record (the teams' reporting applied); not modified.
    contests : DataFrame
        Columns ``period``, ``vendor_id`` and ``contest`` in [0, 1]; missing rows mean 0.
    periods : DataFrame
        Columns ``label, start, end``.
    vendor_services : mapping of str to sequence of str
        Each contesting vendor's dependent services.
    seed : int
        Keys the draws.
    success : mapping of str to float
        Each vendor's chance that a dispute of an unsupported attribution succeeds.

    Returns
    -------
    log : EventLog
        The record with overturned attributions.
    disputes : DataFrame
        ``period, vendor_id, team_id, disputed, overturned``: the counts per vendor, period
        and team (the incident's ``team_id`` in ``log``: a candidate's label stays its own).
    """
    spans = _Periods(periods)
    incidents = log.incidents
    period = spans.locate(incidents["opened_at"].to_numpy(dtype=NS))
    hashed = hash_ids(incidents["incident_id"].astype(str).to_numpy(dtype=object))
    u_dispute = uniforms(hashed, seed, "contest")
    u_success = uniforms(hashed, seed, "contest/success")
    teams = incidents["team_id"].astype(str).to_numpy(dtype=object)
    overturned = np.zeros(len(incidents), dtype=bool)
    counts = []
    for vendor_id, services in vendor_services.items():
        mine = contests.loc[contests["vendor_id"] == vendor_id]
        level = dict(zip(mine["period"], pd.to_numeric(mine["contest"]), strict=True))
        intensity = np.array(
            [level.get(spans.labels[p], 0.0) if p >= 0 else 0.0 for p in period], dtype=float
        )
        if not intensity.any():
            continue
        disputed = unsupported_attributions(log, vendor_id, services) & (u_dispute < intensity)
        won = disputed & (u_success < success[vendor_id])
        overturned |= won
        rows = pd.DataFrame(
            {"period": period, "team_id": teams, "disputed": disputed, "overturned": won}
        ).loc[disputed]
        for (p, team), group in rows.groupby(["period", "team_id"], sort=True):
            counts.append(
                (spans.labels[p], vendor_id, team, len(group), int(group["overturned"].sum()))
            )
    disputes = pd.DataFrame(counts, columns=list(DISPUTE_COLUMNS))
    if not overturned.any():
        return log, disputes
    own = np.where(incidents["change_id"].notna().to_numpy(dtype=bool), "change", "internal")
    causes = incidents["root_cause"].to_numpy(dtype=object).copy()
    vendors = incidents["vendor_id"].to_numpy(dtype=object).copy()
    causes[overturned] = own[overturned]
    vendors[overturned] = None
    record = incidents.assign(root_cause=text(causes), vendor_id=text(vendors))
    return replace(log, incidents=record), disputes
