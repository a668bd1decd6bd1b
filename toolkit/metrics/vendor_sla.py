"""Vendor SLA attainment: availability, response and resolution per supplier and SLA period.

A vendor is measured on the same event log as the teams, by the same building blocks, but only
on what it controls. Its availability is the downtime of the services that depend on it,
merged per service as in :mod:`toolkit.metrics.availability` but counting only the vendor's
own outages (and its subcontractors', which the vendor answers for). Its response and
resolution are measured on the incidents the log attributes to it (``root_cause == "vendor"``
and its ``vendor_id``), each against the limit of its priority, but not on the incident's own
times: those are the internal team's handling of the ticket (its queue, its diagnosis), which
the vendor does not control.

- **Resolution** of an incident is the restoration of its cause: from the start to the end of
  the vendor outage that explains it (:func:`restorations`). The clock starts at the outage's
  start, not at the incident's opening: it is the vendor's failure that is timed, and the
  outage record is what the vendor reports and may game, starting the clock late
  (:mod:`toolkit.behaviour.vendor_reporting`); in the simulated world the two coincide, since
  a vendor outage opens its incidents at once. An attribution no outage of the vendor explains
  is not measured: the vendor has nothing on record to restore.
- **Response** is the vendor's acknowledgement of the incident, from its opening to the time
  in the optional incidents column :data:`VENDOR_RESPONSE`, which a vendor's own ticket feed
  can supply. The simulated log has no such event and the shipped ingest formats export none
  (their ``responded_at`` is the internal team's start of work), so there response is *not
  measurable*: the row says so (``measurable`` False) and carries no attainment and no credit.

A subcontractor is measured on the outages the log attributes to it; the log does not
attribute incidents to subcontractors, so it has an availability SLA only.

So the function runs on any log: the truth, the record, the vendor's own report of its outages
or an ingested export. Money is left to :mod:`toolkit.finance.vendor_credits`.
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
from toolkit.events.schema import text
from toolkit.metrics.availability import HOUR, downtime_hours, downtime_intervals

MEASURES = ("availability", "response", "resolution")
DEFAULT_SLA_PERIOD = "month"  # a vendor without a contract is measured monthly, as most SLAs are
VENDOR_RESPONSE = "vendor_responded_at"  # optional incidents column: the vendor's acknowledgement
LATEST = np.datetime64("2262-04-11", "ns")  # the end of an outage still going on
MISSING_DATA = {  # what a log lacks when a measure cannot be computed on it (see measurable)
    "availability": "the log's source exports no outage records",
    "response": "the log has no vendor acknowledgement of the incidents",
    "resolution": "the log has no outage records",
}
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
    "measurable",
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
    if not measurable(log, "availability"):
        return np.full(len(bounds), np.nan), np.zeros(len(bounds))
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


def restorations(log: EventLog, vendor_id: str, incidents: pd.DataFrame) -> pd.DataFrame:
    """Link each incident to the outage of the vendor that explains it, as the log dates it.

    An outage of the vendor (or of a subcontractor it answers for) explains an incident on the
    same service when it was under way at the incident's opening (``start <= opened_at <=
    end``; an outage without an end is still going on); of several, the one that began last,
    the failure the incident reports. Failing that, the first of its outages on the service
    that began while the incident was open (to its resolution, or the log's end): the vendor's
    own report may date a start after the customer's first ticket
    (:mod:`toolkit.behaviour.vendor_reporting`), and the incident is still its.

    Parameters
    ----------
    log : EventLog
        Any event log; its ``outages`` are searched.
    vendor_id : str
        The vendor.
    incidents : DataFrame
        Incident rows with ``service_id``, ``opened_at`` and ``resolved_at``.

    Returns
    -------
    DataFrame
        One row per incident, with its index: ``outage_id`` (missing where no outage of the
        vendor explains it, e.g. a log without outage records or an attribution its outages
        deny), and the ``start`` and ``end`` of that outage (``end`` missing while it goes on).
    """
    outages = log.outages
    mine = (outages["source"] == "vendor") & (outages["vendor_id"] == vendor_id)
    outages = outages.loc[mine.fillna(False).to_numpy(dtype=bool)]
    chosen = np.full(len(incidents), -1, dtype=np.int64)
    opened = incidents["opened_at"].to_numpy(dtype=NS)
    resolved = incidents["resolved_at"].to_numpy(dtype=NS)
    until = np.where(np.isnat(resolved), np.datetime64(log.end, "ns"), resolved)
    services = incidents["service_id"].to_numpy(dtype=object)
    starts = outages["start"].to_numpy(dtype=NS)
    ends = outages["end"].to_numpy(dtype=NS)
    ends = np.where(np.isnat(ends), LATEST, ends)
    on = outages["service_id"].to_numpy(dtype=object)
    for service in pd.unique(on):
        rows, spans = np.flatnonzero(services == service), np.flatnonzero(on == service)
        if not len(rows):
            continue
        at, begin = opened[rows, None], starts[None, spans]
        under_way = (begin <= at) & (at <= ends[None, spans])
        later = (begin > at) & (begin <= until[rows, None])
        clock = begin.astype(np.int64)
        last = np.where(under_way, clock, np.iinfo(np.int64).min).argmax(axis=1)
        first = np.where(later, clock, np.iinfo(np.int64).max).argmin(axis=1)
        best = np.where(under_way.any(axis=1), last, first)
        chosen[rows] = np.where(under_way.any(axis=1) | later.any(axis=1), spans[best], -1)
    linked, row = chosen >= 0, np.maximum(chosen, 0)

    def pick(values: np.ndarray, missing) -> np.ndarray:
        if not len(values):  # no outage to link: every incident is unexplained
            return np.full(len(chosen), missing)
        return np.where(linked, values[row], missing)

    nat = np.datetime64("NaT", "ns")
    ids = pick(outages["outage_id"].to_numpy(dtype=object), None)
    start, end = pick(starts, nat), pick(outages["end"].to_numpy(dtype=NS), nat)
    return pd.DataFrame({"outage_id": text(ids), "start": start, "end": end}, index=incidents.index)


def _attributed(log: EventLog, party: SlaParty) -> pd.DataFrame:
    """Return the incidents the log attributes to the party's vendor."""
    incidents = log.incidents
    mine = (incidents["root_cause"] == "vendor") & (incidents["vendor_id"] == party.vendor_id)
    return incidents.loc[mine.fillna(False).to_numpy(dtype=bool)]


def measurable(log: EventLog, measure: str) -> bool:
    """Say whether ``log`` carries the data a measure needs.

    Availability is measured on any log whose source records outages: one without an outage
    in it shows no downtime; an ingested export, whose ``meta["tables"]`` names the tables it
    holds and never ``outages``, cannot show any, so it does not measure availability (rather
    than reading 100 % and earning a bonus). Resolution needs
    outage records, since a vendor resolves an incident by restoring its outage; the shipped
    ingest formats export none. Response needs the vendor's own acknowledgement of each
    incident, the optional incidents column :data:`VENDOR_RESPONSE`: neither the simulated log
    nor any shipped export carries one (``responded_at`` is when the customer's own team began
    work).

    Parameters
    ----------
    log : EventLog
        Any event log.
    measure : str
        One of :data:`MEASURES`.

    Returns
    -------
    bool
        ``False`` where the measure cannot be computed from the log at all.
    """
    if measure == "response":
        return VENDOR_RESPONSE in log.incidents.columns
    if measure == "resolution":
        return not log.outages.empty
    return "outages" in log.meta.get("tables", ("outages",))


def unmeasured_note(sla: pd.DataFrame, column: str = "measurable") -> str:
    """Say which measures of a vendor SLA table the log could not compute, and why.

    Parameters
    ----------
    sla : DataFrame
        From :func:`vendor_sla`, or a run's ``vendor_sla.parquet`` with ``column`` set to
        ``measurable_true``.
    column : str
        The column that flags a measurable row.

    Returns
    -------
    str
        One sentence naming each unmeasured measure, its vendors and the missing data; ``""``
        when every measure was computed (or the table predates the flag).
    """
    if column not in sla or sla.empty:
        return ""
    off = sla.loc[~sla[column].astype(bool), ["vendor_id", "measure"]].drop_duplicates()
    parts = [
        f"{measure} of {', '.join(sorted(set(rows['vendor_id'])))} ({MISSING_DATA[measure]})"
        for measure, rows in off.groupby("measure", sort=True)
    ]
    return f"Not measured, so never credited: {'; '.join(parts)}." if parts else ""


def _within_limit(log: EventLog, party: SlaParty, measure: str, terms: TimeTerms, bounds) -> tuple:
    """Return (attainment %, incidents measured) per period for response or resolution.

    Incidents count in the period they were opened. Resolution is the restoration of the
    outage that explains the incident (:func:`restorations`), from that outage's start to its
    end: what the vendor controls, not the internal team's queue, and the clock the vendor's
    own report dates, so a start reported late shortens it. An incident no outage of the
    vendor explains is not measured on resolution. Response is the time from opening to the
    vendor's acknowledgement (:data:`VENDOR_RESPONSE`); a resolved incident without one is not
    measured. Either, still running at the log's end (outage not yet over, incident neither
    acknowledged nor resolved), counts as a miss once its limit has passed and is left out
    before. A log without the measure's data measures nothing (:func:`measurable`).
    """
    rows = _attributed(log, party)
    measured = np.zeros(len(bounds))
    if not measurable(log, measure):
        return np.full(len(bounds), np.nan), measured
    end = np.datetime64(log.end, "ns")
    opened = rows["opened_at"].to_numpy(dtype=NS)
    if measure == "response":
        clock = opened
        stop = pd.to_datetime(rows[VENDOR_RESPONSE]).to_numpy(dtype=NS)
        running = np.isnat(stop) & rows["resolved_at"].isna().to_numpy()
    else:
        outage = restorations(log, party.vendor_id, rows)
        clock, stop = outage["start"].to_numpy(dtype=NS), outage["end"].to_numpy(dtype=NS)
        stop = np.where(stop <= end, stop, np.datetime64("NaT", "ns"))  # not over by the end
        running = outage["outage_id"].notna().to_numpy() & np.isnat(stop)
    limit = rows["priority"].map(terms.target_hours).to_numpy(dtype=float)
    taken = (stop - clock) / HOUR
    done = ~np.isnan(taken)
    met = done & (taken <= limit)
    waiting = running & ((end - clock) / HOUR > limit)
    counted = ~np.isnan(limit) & (done | waiting)
    period = assign_periods(rows["opened_at"], bounds)
    counted &= period >= 0
    measured += np.bincount(period[counted], minlength=len(bounds))
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
        (service-hours for availability, incidents otherwise), ``measurable`` (``False`` where
        the log lacks the data the measure needs, :func:`measurable`: then nothing is measured
        and nothing credited, rather than the internal team's times standing in for the
        vendor's) and ``shortfall_pct`` (target minus attainment in percentage points, at
        least 0; 0 when nothing was measured).
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
                        "measurable": measurable(log, measure),
                        "shortfall_pct": np.nan_to_num(np.maximum(target - attainment, 0.0)),
                    }
                )
            )
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in COLUMNS})
    table = pd.concat(parts, ignore_index=True)
    table["subcontractor_id"] = table["subcontractor_id"].astype(object)
    return table[list(COLUMNS)]
