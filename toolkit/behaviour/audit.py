"""What an auditor finds: reported records compared with the truth, or with other records.

:func:`audit_evidence` is the full audit, in which records are checked against the operational
truth (monitoring, chat logs, outage records), and :func:`ticket_evidence` the tickets an
auditor samples from and those showing evidence; :func:`misattributions_without_outage` is the
root-cause audit that needs the records alone. All look at one team over one time window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.behaviour.reporting import FOLLOW_UP_SUFFIX, REPORTING_LEVERS
from toolkit.events import EventLog

NS = "datetime64[ns]"
SUPPLIER_CAUSES = ("vendor", "external")
TimeLike = pd.Timestamp | np.datetime64 | str


def _in_window(
    team: pd.Series, opened: pd.Series, team_id: str, start: pd.Timestamp, end: pd.Timestamp
) -> np.ndarray:
    times = opened.to_numpy(dtype=NS)
    inside = (times >= np.datetime64(start, "ns")) & (times < np.datetime64(end, "ns"))
    return (team == team_id).to_numpy(dtype=bool) & inside


@dataclass(frozen=True)
class TicketEvidence:
    """One team's tickets of a window as an auditor sampling them sees them.

    Attributes
    ----------
    population : int
        Tickets in the window: the reported ones plus the true incidents missing from the
        record (an auditor finds those in monitoring and chat logs).
    affected : int
        Distinct tickets among them that show evidence of any reporting lever.
    per_lever : dict of str to int
        Tickets showing evidence of each lever, as :func:`audit_evidence` counts them.
    """

    population: int
    affected: int
    per_lever: dict[str, int]


def ticket_evidence(
    truth: EventLog, reported: EventLog, team_id: str, start: TimeLike, end: TimeLike
) -> TicketEvidence:
    """Return the population an audit samples from and the tickets in it showing evidence.

    Windows and evidence are those of :func:`audit_evidence`. A ticket gamed by several levers
    counts once in ``affected``: a sampled ticket either shows something or it does not.

    Parameters
    ----------
    truth, reported : EventLog
        The true log and the reported view derived from it; rows of other teams are ignored.
    team_id : str
        The team audited.
    start, end : Timestamp-like
        The audited window, half-open.

    Returns
    -------
    TicketEvidence
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    # Reporting never moves an incident to another team (added tickets carry their team), so
    # the team's own rows hold all the evidence; other rows (say, other labels) are left out.
    true = truth.incidents.loc[(truth.incidents["team_id"] == team_id).to_numpy(dtype=bool)]
    rep = reported.incidents.loc[(reported.incidents["team_id"] == team_id).to_numpy(dtype=bool)]
    true_ids = pd.Index(true["incident_id"].to_numpy(dtype=object))
    match = true_ids.get_indexer(pd.Index(rep["incident_id"].to_numpy(dtype=object)))
    true_window = _in_window(true["team_id"], true["opened_at"], team_id, start, end)
    matched = match >= 0
    recorded = np.zeros(len(true), dtype=bool)
    recorded[match[matched]] = True
    audited = np.zeros(len(rep), dtype=bool)
    audited[matched] = true_window[match[matched]]

    added = np.flatnonzero(~matched)
    added_ids = rep["incident_id"].iloc[added]
    original = true_ids.get_indexer(
        pd.Index(added_ids.str.removesuffix(FOLLOW_UP_SUFFIX).to_numpy(dtype=object))
    )
    original[~added_ids.str.endswith(FOLLOW_UP_SUFFIX).to_numpy(dtype=bool)] = -1
    is_follow_up = original >= 0
    follow_ups = int(true_window[original[is_follow_up]].sum())
    rep_window = _in_window(rep["team_id"], rep["opened_at"], team_id, start, end)
    padding = int(rep_window[added[~is_follow_up]].sum())

    def differs(column: str) -> np.ndarray:
        now = rep[column].to_numpy()[audited]
        was = true[column].to_numpy()[match[audited]]
        return now != was

    downgraded, misattributed = differs("priority"), differs("root_cause")
    held = (
        rep["on_hold_hours"].to_numpy()[audited] > true["on_hold_hours"].to_numpy()[match[audited]]
    )
    missing = int((true_window & ~recorded).sum())
    evidence = {
        "padding": padding,
        "priority_downgrade": int(downgraded.sum()),
        "stop_the_clock": int(held.sum()),
        "premature_closure": follow_ups,
        "underreporting": missing,
        "misattribution": int(misattributed.sum()),
    }
    altered = int((downgraded | misattributed | held).sum())
    return TicketEvidence(
        population=int(audited.sum()) + follow_ups + padding + missing,
        affected=altered + follow_ups + padding + missing,
        per_lever={lever: evidence[lever] for lever in REPORTING_LEVERS},
    )


def audit_evidence(
    truth: EventLog, reported: EventLog, team_id: str, start: TimeLike, end: TimeLike
) -> dict[str, int]:
    """Count, per reporting lever, the incidents showing evidence of it for one team.

    An incident is in the window when the true one was opened in ``[start, end)`` (added tickets:
    when the reported one was). Evidence per lever:

    - ``padding``: reported tickets absent from the truth that are not follow-ups;
    - ``priority_downgrade``: recorded priority differs from the true one;
    - ``stop_the_clock``: more on-hold time recorded than truly spent;
    - ``premature_closure``: follow-up tickets (``<id>-FU`` of a true incident);
    - ``underreporting``: true incidents missing from the record;
    - ``misattribution``: recorded root cause differs from the true one.

    Comparing with the true values, rather than checking only for a priority change or any
    on-hold time, also catches gaming on top of genuine re-prioritisation or waiting.

    Parameters
    ----------
    truth, reported : EventLog
        The true log and the reported view derived from it; rows of other teams are ignored.
    team_id : str
        The team audited.
    start, end : Timestamp-like
        The audited window, half-open.

    Returns
    -------
    dict of str to int
        One count per lever of :data:`~toolkit.behaviour.reporting.REPORTING_LEVERS`.
    """
    return ticket_evidence(truth, reported, team_id, start, end).per_lever


def misattributions_without_outage(
    reported: EventLog, team_id: str, start: TimeLike, end: TimeLike
) -> int:
    """Count the team's vendor or external incidents with no outage on record to explain them.

    A root-cause audit needs no truth: an incident blamed on a supplier or an attacker should
    overlap an outage of the same service in the outages table. Open incidents and open outages
    last until the log's end.

    Parameters
    ----------
    reported : EventLog
        The log audited.
    team_id : str
        The team audited.
    start, end : Timestamp-like
        Incidents opened in ``[start, end)`` are checked.

    Returns
    -------
    int
        Supplier-caused incidents without an overlapping outage on their service.
    """
    inc = reported.incidents
    blamed = _in_window(
        inc["team_id"], inc["opened_at"], team_id, pd.Timestamp(start), pd.Timestamp(end)
    )
    blamed &= inc["root_cause"].isin(SUPPLIER_CAUSES).to_numpy(dtype=bool)
    suspects = inc.loc[blamed, ["service_id", "opened_at", "resolved_at"]]
    services = suspects["service_id"].to_numpy(dtype=object)
    opened = suspects["opened_at"].to_numpy(dtype=NS)
    until = suspects["resolved_at"].fillna(reported.end).to_numpy(dtype=NS)
    outages = reported.outages
    explained = np.zeros(len(suspects), dtype=bool)
    for service in pd.unique(services):
        here = services == service
        records = outages.loc[outages["service_id"] == service].sort_values("start")
        starts = records["start"].to_numpy(dtype=NS)
        if not len(starts):
            continue
        # The latest end among outages that started by the incident's end decides the overlap.
        latest_end = np.maximum.accumulate(records["end"].fillna(reported.end).to_numpy(dtype=NS))
        last = np.searchsorted(starts, until[here], side="right") - 1
        explained[here] = (last >= 0) & (latest_end[np.maximum(last, 0)] >= opened[here])
    return int((~explained).sum())
