"""Vendor SLA attainment: availability, response and resolution per supplier and SLA period.

A vendor is measured on the same event log as the teams, by the same building blocks: its
availability is the downtime of the services that depend on it, merged per service as in
:mod:`toolkit.metrics.availability` but counting only the vendor's own outages (and its
subcontractors', which the vendor answers for); its response and resolution are the times of
the incidents the log attributes to it (``root_cause == "vendor"`` and its ``vendor_id``),
measured as :func:`toolkit.metrics.incidents.resolution_hours` measures every incident. A
subcontractor is measured on the outages the log attributes to it; the log does not attribute
incidents to subcontractors, so it has an availability SLA only.

So the function runs on any log: the truth, the record, the vendor's own report of its outages
(:mod:`toolkit.behaviour.vendor_reporting`) or an ingested export. Money is left to
:mod:`toolkit.finance.vendor_credits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.config.scenario import Scenario, SlaTerms, TimeTerms, VendorContract
from toolkit.events import EventLog
from toolkit.events.log import empty_table
from toolkit.events.periods import NS, assign_periods, period_bounds
from toolkit.metrics.availability import HOUR, downtime_hours, downtime_intervals
from toolkit.metrics.incidents import resolution_hours

MEASURES = ("availability", "response", "resolution")
DEFAULT_SLA_PERIOD = "month"  # a vendor without a contract is measured monthly, as most SLAs are
COLUMNS = (
    "vendor_id",
    "subcontractor_id",
    "period",
    "start",
    "end",
    "measure",
    "target_pct",
    "attainment_pct",
    "measured",
    "shortfall_pct",
)


@dataclass(frozen=True)
class SlaParty:
    """A supplier held to an SLA: a vendor, or one of its subcontractors.

    Parameters
    ----------
    vendor_id : str
        The vendor, or the vendor a subcontractor works for.
    subcontractor_id : str or None
        The subcontractor; ``None`` for the vendor itself.
    services : tuple of str
        The services whose downtime counts: those that depend on the vendor.
    availability_target_pct : float
        Availability target in % of the SLA period's hours.
    terms : SlaTerms or None
        The contract (``VendorContract`` or ``SubcontractorContract``); ``None``: availability
        measured monthly against the target, no credits.
    """

    vendor_id: str
    subcontractor_id: str | None
    services: tuple[str, ...]
    availability_target_pct: float
    terms: SlaTerms | None = None

    @property
    def period(self) -> str:
        """The SLA measurement period: ``"month"`` or ``"quarter"``."""
        return self.terms.period if self.terms is not None else DEFAULT_SLA_PERIOD

    def time_terms(self, measure: str) -> TimeTerms | None:
        """Return the response or resolution terms, if the contract has them."""
        if isinstance(self.terms, VendorContract):
            return getattr(self.terms, measure)
        return None


def sla_parties(scenario: Scenario) -> list[SlaParty]:
    """Return every vendor and every subcontractor with a contract, as SLA parties.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.

    Returns
    -------
    list of SlaParty
        In scenario order, each vendor followed by its contracted subcontractors. Vendors are
        always listed (their ``sla_availability_target`` is an SLA even without a contract);
        subcontractors only with a contract, since without one nobody holds them to a target.
    """
    parties = []
    for vendor in scenario.organisation.vendors:
        services = tuple(
            s.id for s in scenario.organisation.services if vendor.id in s.vendor_dependencies
        )
        target = 100 * vendor.sla_availability_target
        parties.append(SlaParty(vendor.id, None, services, target, vendor.contract))
        for sub in vendor.subcontractors:
            if sub.contract is not None:
                parties.append(
                    SlaParty(
                        vendor.id,
                        sub.id,
                        services,
                        sub.contract.availability.target_pct,
                        sub.contract,
                    )
                )
    return parties


def _outages_of(log: EventLog, party: SlaParty) -> pd.DataFrame:
    outages = log.outages
    mine = (outages["source"] == "vendor") & (outages["vendor_id"] == party.vendor_id)
    if party.subcontractor_id is not None:
        mine &= outages["subcontractor_id"] == party.subcontractor_id
    return outages.loc[mine.fillna(False).to_numpy(dtype=bool)]


def _availability(log: EventLog, party: SlaParty, bounds: pd.DataFrame) -> tuple:
    """Return (attainment %, service-hours measured) per period of ``bounds``."""
    hours = bounds["hours"].to_numpy(dtype=float) * len(party.services)
    if not party.services:
        return np.full(len(bounds), np.nan), hours
    outages_only = EventLog(
        incidents=empty_table("incidents"),
        changes=empty_table("changes"),
        outages=_outages_of(log, party),
        services=empty_table("services"),
        start=log.start,
        end=log.end,
    )
    intervals = downtime_intervals(outages_only, pd.Series(party.services, dtype=object))
    down = downtime_hours(intervals, bounds)
    per_period = np.bincount(
        down["period"].to_numpy(dtype=np.int64),
        weights=down["downtime"].to_numpy(dtype=float),
        minlength=len(bounds),
    )
    return 100 * (1 - per_period / hours), hours


def _within_limit(log: EventLog, party: SlaParty, measure: str, terms: TimeTerms, bounds) -> tuple:
    """Return (attainment %, incidents measured) per period for response or resolution.

    Incidents count in the period they were opened. One not yet responded to (or resolved)
    at the log's end counts as a miss once its limit has passed, and is left out before; a
    resolved one without a response time (an export that does not record it) is not measured
    on response.
    """
    incidents = log.incidents
    mine = (incidents["root_cause"] == "vendor") & (incidents["vendor_id"] == party.vendor_id)
    rows = incidents.loc[mine.fillna(False).to_numpy(dtype=bool)]
    limit = rows["priority"].map(terms.target_hours).to_numpy(dtype=float)
    opened = rows["opened_at"].to_numpy(dtype=NS)
    elapsed = (np.datetime64(log.end, "ns") - opened) / HOUR
    if measure == "response":
        taken = (rows["responded_at"].to_numpy(dtype=NS) - opened) / HOUR
    else:
        taken = resolution_hours(rows).to_numpy(dtype=float)
        elapsed = elapsed - rows["on_hold_hours"].to_numpy(dtype=float)
    done = ~np.isnan(taken)
    met = done & (taken <= limit)
    waiting = rows["resolved_at"].isna().to_numpy() & (elapsed > limit)
    counted = ~np.isnan(limit) & (done | waiting)
    period = assign_periods(rows["opened_at"], bounds)
    counted &= period >= 0
    measured = np.bincount(period[counted], minlength=len(bounds)).astype(float)
    within = np.bincount(period[counted & met], minlength=len(bounds)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(measured > 0, 100 * within / measured, np.nan), measured


def vendor_sla(log: EventLog, parties: Sequence[SlaParty]) -> pd.DataFrame:
    """Measure each party's SLA in each of its SLA periods inside the log's window.

    Parameters
    ----------
    log : EventLog
        Any event log: true, reported, the vendor's report, or an ingested export.
    parties : sequence of SlaParty
        Who is measured, on which services, against which terms (:func:`sla_parties`).

    Returns
    -------
    DataFrame
        One row per party, SLA period and measure it is held to (availability always;
        response and resolution where its contract has them): ``vendor_id``,
        ``subcontractor_id`` (missing for the vendor itself), ``period`` (label), ``start``,
        ``end``, ``measure``, ``target_pct``, ``attainment_pct`` (in %; missing when nothing
        was measured, e.g. no incident of the vendor in the period), ``measured``
        (service-hours for availability, incidents otherwise) and ``shortfall_pct`` (target
        minus attainment in percentage points, at least 0; 0 when nothing was measured).
    """
    parts = []
    for party in parties:
        bounds = period_bounds(log.start, log.end, party.period)
        if bounds.empty:
            continue
        measured = {
            "availability": (
                party.availability_target_pct,
                *_availability(log, party, bounds),
            )
        }
        for measure in MEASURES[1:]:
            terms = party.time_terms(measure)
            if terms is not None:
                measured[measure] = (
                    terms.required_pct,
                    *_within_limit(log, party, measure, terms, bounds),
                )
        for measure, (target, attainment, amount) in measured.items():
            parts.append(
                pd.DataFrame(
                    {
                        "vendor_id": party.vendor_id,
                        "subcontractor_id": party.subcontractor_id,
                        "period": bounds["label"].to_numpy(dtype=object),
                        "start": bounds["start"].to_numpy(dtype=NS),
                        "end": bounds["end"].to_numpy(dtype=NS),
                        "measure": measure,
                        "target_pct": float(target),
                        "attainment_pct": attainment,
                        "measured": amount,
                        "shortfall_pct": np.nan_to_num(np.maximum(target - attainment, 0.0)),
                    }
                )
            )
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in COLUMNS})
    table = pd.concat(parts, ignore_index=True)
    table["subcontractor_id"] = table["subcontractor_id"].astype(object)
    return table[list(COLUMNS)]
