"""Penalty sharing on joint failures: who pays for an incident both sides contributed to.

A vendor contract's ``penalty_sharing`` clause gives every joint failure (see
:mod:`toolkit.metrics.joint_failures`) a penalty by priority and splits it between the vendor
and the customer's internal side by one of three rules, with ``c`` the vendor's contribution
and ``P`` the incident's penalty:

- ``proportional``: the vendor pays ``c P``, the internal side ``(1 - c) P``;
- ``primary_owner``: the larger contributor pays all: the vendor ``P`` when ``c`` exceeds
  :data:`~toolkit.config.scenario.PRIMARY_SHARE` (one half), else the internal side (the
  customer owns the service, so a tie is its own);
- ``capped``: proportional, but the vendor's total in one SLA period is at most ``cap_pct`` of
  the period's fees; every incident's vendor part is scaled alike, and what the cap removes
  falls to the internal side.

Without a clause the customer's plan alone decides what a vendor-attributed incident costs
the team (an exclusion rule removes it from the team's measures) and it costs the vendor
nothing: an internal-only exclusion rule. With a clause an unsupported attribution costs the
vendor its whole penalty, so an adapting vendor disputes it, and an attribution overturned in
the clause's joint review is a misattribution finding against the team (see
:mod:`toolkit.run.vendors`). The split is computed on the truth (what each side
really contributed) and on the record as the vendor sees it (the customer's attributions, the
vendor's own outage report), side by side, like the vendor SLA table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.behaviour.vendor_reporting import report_vendor_outages, scenario_intensities
from toolkit.config.scenario import PRIMARY_SHARE, PenaltySharing, Scenario
from toolkit.events import EventLog
from toolkit.events.periods import assign_periods, period_bounds
from toolkit.finance.vendor_credits import period_fees
from toolkit.metrics.joint_failures import COLUMNS as JOINT_COLUMNS
from toolkit.metrics.joint_failures import joint_failures
from toolkit.metrics.vendor_sla import SlaParty, sla_parties

SPLIT_COLUMNS = (
    *JOINT_COLUMNS,
    "period",
    "penalty",
    "vendor_share",
    "vendor_penalty",
    "internal_penalty",
    "capped",
    "rule",
)
TABLE_KEYS = ["view", "vendor_id", "period", "team_id"]
TABLE_COLUMNS = (
    *TABLE_KEYS,
    "rule",
    "incidents",
    "attributed",
    "unsupported",
    "penalty",
    "vendor_penalty",
    "internal_penalty",
    "capped",
)


def split_penalties(
    joint: pd.DataFrame, sharing: PenaltySharing, fees: pd.Series | None = None
) -> pd.DataFrame:
    """Split each joint failure's penalty between the vendor and the internal side.

    Parameters
    ----------
    joint : DataFrame
        One row per incident and vendor, with ``vendor_id``, ``period`` (the vendor's SLA
        period), ``priority`` (1..4) and ``vendor_contribution`` in [0, 1]; from
        :func:`toolkit.metrics.joint_failures.joint_failures` with a period added, or built by
        hand.
    sharing : PenaltySharing
        The clause: rule, penalty per priority and, for ``capped``, the cap.
    fees : Series, optional
        The vendor's fees per SLA period, indexed by ``(vendor_id, period)``; required by the
        ``capped`` rule, ignored by the others.

    Returns
    -------
    DataFrame
        ``joint`` with ``penalty`` (money), ``vendor_share`` (the rule's share before any cap),
        ``vendor_penalty`` and ``internal_penalty`` (money; they add up to ``penalty``) and
        ``capped`` (whether the cap cut the vendor's part in that period).

    Raises
    ------
    ValueError
        For a contribution outside [0, 1], a priority without a penalty, or the ``capped``
        rule without the fees of every period it meets.
    """
    share = joint["vendor_contribution"].to_numpy(dtype=float)
    if not ((share >= 0) & (share <= 1)).all():
        raise ValueError("vendor_contribution: values must lie in [0, 1]")
    penalty = joint["priority"].map(sharing.penalty_per_incident).to_numpy(dtype=float)
    if np.isnan(penalty).any():
        raise ValueError(f"priority: every row needs one of {sorted(sharing.penalty_per_incident)}")
    if sharing.rule == "primary_owner":
        share = (share > PRIMARY_SHARE).astype(float)
    out = joint.copy()
    out["penalty"] = penalty
    out["vendor_share"] = share
    vendor = share * penalty
    capped = np.zeros(len(out), dtype=bool)
    if sharing.rule == "capped" and len(out):
        keys = pd.MultiIndex.from_arrays([out["vendor_id"], out["period"]])
        if fees is None or not keys.isin(fees.index).all():
            raise ValueError("rule 'capped' needs the vendor's fees of every SLA period it meets")
        cap = sharing.cap_pct / 100 * fees.reindex(keys).to_numpy(dtype=float)
        total = pd.Series(vendor).groupby([out["vendor_id"].to_numpy(), out["period"].to_numpy()])
        total = total.transform("sum").to_numpy(dtype=float)
        scale = np.where(total > cap, cap / np.where(total > 0, total, 1.0), 1.0)
        vendor = vendor * scale
        capped = total > cap
    out["vendor_penalty"] = vendor
    out["internal_penalty"] = penalty - vendor
    out["capped"] = capped
    return out


def _party_fees(party: SlaParty, bounds: pd.DataFrame) -> pd.Series:
    hours = (bounds["end"] - bounds["start"]) / pd.Timedelta(1, "h")
    fees = period_fees(party, bounds["label"], hours)
    index = pd.MultiIndex.from_arrays([[party.vendor_id] * len(bounds), bounds["label"]])
    return pd.Series(fees, index=index)


def split_log(log: EventLog, parties: list[SlaParty]) -> pd.DataFrame:
    """Split the penalties of every joint failure in a log, per vendor with a clause.

    Parameters
    ----------
    log : EventLog
        Any event log.
    parties : list of SlaParty
        From :func:`toolkit.metrics.vendor_sla.sla_parties`; vendors whose contract has a
        ``penalty_sharing`` clause are split, the rest and subcontractors are left out.

    Returns
    -------
    DataFrame
        The rows of :func:`split_penalties` for every such vendor, with ``period`` (label of
        the vendor's SLA period the incident opened in) and ``rule``; incidents opened outside
        the log's window are left out.
    """
    parts = []
    for party in parties:
        sharing = getattr(party.terms, "penalty_sharing", None)
        if party.subcontractor_id is not None or sharing is None:
            continue
        bounds = period_bounds(log.start, log.end, party.period)
        joint = joint_failures(log, [(party.vendor_id, party.services)])
        at = assign_periods(joint["opened_at"], bounds)
        labels = bounds["label"].to_numpy(dtype=object)
        joint = joint.loc[at >= 0].assign(period=labels[at[at >= 0]])
        split = split_penalties(joint, sharing, _party_fees(party, bounds))
        parts.append(split.assign(rule=sharing.rule))
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in SPLIT_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def penalty_split_table(
    scenario: Scenario,
    truth: EventLog,
    reported: EventLog,
    seed: int,
    intensities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Sum the penalty split per view, vendor, SLA period and team, for one run.

    Parameters
    ----------
    scenario : Scenario
        Its vendors and their ``penalty_sharing`` clauses.
    truth, reported : EventLog
        A run's true log and its record.
    seed : int
        The run's seed; keys the vendors' reporting draws.
    intensities : DataFrame, optional
        The vendors' ``late_outage_start`` per incentive period (as in
        :func:`toolkit.finance.vendor_credits.vendor_sla_table`); by default each vendor's
        ``reporting``.

    Returns
    -------
    DataFrame
        ``view`` (``true``: what each side contributed; ``reported``: the record's
        attributions with the vendors' outage report), ``vendor_id, period, team_id, rule``,
        ``incidents`` (joint failures), ``attributed`` (blamed on the vendor in that view),
        ``unsupported`` (blamed without an overlapping outage), ``penalty``,
        ``vendor_penalty``, ``internal_penalty`` (money) and ``capped`` (the vendor's cap
        bound in the period). Empty when no vendor has a clause.
    """
    parties = sla_parties(scenario)
    periods = period_bounds(reported.start, reported.end, scenario.horizon.period)
    if intensities is None:
        intensities = scenario_intensities(scenario, periods)
    vendor_view = report_vendor_outages(reported, intensities, periods, seed=seed)
    frames = []
    for view, log in (("true", truth), ("reported", vendor_view)):
        split = split_log(log, parties).assign(
            view=view,
            unsupported=lambda f: f["attributed"] & ~f["supported"].astype(bool),
        )
        frames.append(split)
    rows = pd.concat(frames, ignore_index=True)
    if rows.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in TABLE_COLUMNS})
    table = (
        rows.groupby(TABLE_KEYS, sort=False)
        .agg(
            rule=("rule", "first"),
            incidents=("incident_id", "size"),
            attributed=("attributed", "sum"),
            unsupported=("unsupported", "sum"),
            penalty=("penalty", "sum"),
            vendor_penalty=("vendor_penalty", "sum"),
            internal_penalty=("internal_penalty", "sum"),
            capped=("capped", "any"),
        )
        .reset_index()
    )
    return table[list(TABLE_COLUMNS)]
