"""Vendors that respond to their own contract, as teams respond to a plan.

A vendor with ``behaviour`` in the scenario holds three levers, each in [0, 1]:

- ``effort``: reliability work on its own platform; its outage rate scales as
  exp(−``outage_rate_effect`` × effort) and their durations as
  exp(−``outage_duration_effect`` × effort) (:meth:`toolkit.sim.World.set_vendor_factors`);
- ``late_outage_start``: its reporting lever (:mod:`toolkit.behaviour.vendor_reporting`);
- ``contest``: the share of the customer's attributions its outage records deny that it
  disputes (:func:`toolkit.behaviour.vendor_reporting.contest_attributions`).

Between periods of the loop (the incentive periods; an SLA period inside one holds the same
levers) the vendor values staying put and a few candidate moves, drawn by the teams' own rule
(:meth:`toolkit.behaviour.adaptation.Adaptation.candidates`) and chosen by their logit rule,
with their inertia. A candidate's value is what its contract would have charged it on the
period just ended, computed by the same code that prices the contract (vendor SLA, credits and
bonuses, penalty sharing), on a counterfactual of that period:

    utility = certainty equivalent of (−credits + bonuses − penalty share − dispute costs,
              risk of a finding of late outage starts) − effort cost − integrity cost

The counterfactual is the vendor's belief, not a rerun of the world: its outages of the
period last the ratio of the candidate's expected downtime to the current one longer
(expected downtime is rate × duration), its outages are reported at the candidate's
intensity and the customer's attributions are disputed at the candidate's. A finding is
priced with the auditors' sampling model (:func:`toolkit.behaviour.detection.
finding_probability`) over the period's outage events, and the customer's check is drawn each
period: found, it costs ``gaming_penalty_pct`` of the period's fees. Risk aversion is CRRA
over the period's fees (:func:`toolkit.behaviour.adaptation.certainty_equivalent`).

Disputes reach the teams. Under a ``penalty_sharing`` clause the vendor pays for what it is
blamed for, and the clause's joint review decides its disputes: an attribution it overturns is
a ``misattribution_detected`` finding against the team whose incident it was
(:meth:`VendorAgents.findings`, booked by :class:`toolkit.run.loop.PlanLoop`), and each team
prices that chance from the vendors' current ``contest`` (:meth:`VendorAgents.overturn_chance`,
:meth:`toolkit.behaviour.adaptation.Adaptation.overturned`). Without a clause (an internal-only
exclusion rule) an overturned attribution only corrects the record. :func:`vendor_tables`
returns what a run writes about its vendors.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from toolkit.behaviour.adaptation import Adaptation, certainty_equivalent
from toolkit.behaviour.detection import finding_probability
from toolkit.behaviour.vendor_reporting import (
    DISPUTE_COLUMNS,
    contest_attributions,
    report_vendor_outages,
)
from toolkit.config.scenario import Scenario, Vendor, VendorBehaviour
from toolkit.events import EventLog
from toolkit.events.periods import NS
from toolkit.finance.penalty_sharing import penalty_split_table, split_log
from toolkit.finance.vendor_credits import credits, vendor_sla_table
from toolkit.metrics.vendor_sla import SlaParty, sla_parties, vendor_sla
from toolkit.sim.streams import stream

VENDOR_LEVERS = ("effort", "late_outage_start", "contest")
VENDOR_BOUNDS = dict.fromkeys(VENDOR_LEVERS, (0.0, 1.0))
RECORD_COLUMNS = (
    "period",
    "vendor_id",
    *VENDOR_LEVERS,
    "fees",
    "credit",
    "bonus",
    "vendor_penalty",
    "disputed",
    "overturned",
    "outage_events",
    "late_reported",
    "audited",
    "found",
    "gaming_penalty",
    "dispute_cost",
    "effort_cost",
    "integrity_cost",
    "p_found",
    "utility",
)


@dataclass(frozen=True)
class VendorLevers:
    """A vendor's levers in one period: effort, late outage starts, disputes."""

    effort: float = 0.0
    late_outage_start: float = 0.0
    contest: float = 0.0

    def __getitem__(self, name: str) -> float:
        return getattr(self, name)

    def moved(self, name: str, delta: float) -> VendorLevers:
        """Return a copy with one lever moved by ``delta``, kept inside [0, 1]."""
        return replace(self, **{name: round(min(1.0, max(0.0, self[name] + delta)), 10)})

    def factors(self, behaviour: VendorBehaviour) -> tuple[float, float]:
        """Return what the effort multiplies the outage rate and durations by."""
        return (
            math.exp(-behaviour.outage_rate_effect * self.effort),
            math.exp(-behaviour.outage_duration_effect * self.effort),
        )


@dataclass
class VendorAgent:
    """One vendor's state: its contract as an SLA party, its levers and its random stream."""

    vendor: Vendor
    party: SlaParty
    levers: VendorLevers
    rng: random.Random

    @property
    def behaviour(self) -> VendorBehaviour:
        """The vendor's behavioural parameters."""
        return self.vendor.behaviour


def _window(log: EventLog, start: pd.Timestamp, end: pd.Timestamp) -> EventLog:
    """Return ``log`` cut to the period: its window, and outages that start in it."""
    outages = log.outages
    starts = outages["start"]
    inside = ((starts >= start) & (starts < end)).to_numpy(dtype=bool)
    return replace(log, outages=outages.loc[inside], start=start, end=end)


class VendorAgents:
    """The adapting vendors of a scenario, their levers per period and what they chose.

    Parameters
    ----------
    scenario : Scenario
        Vendors with ``behaviour`` adapt; the others keep their ``reporting`` lever.
    seed : int
        Keys each vendor's stream and the reporting and dispute draws.
    adaptation : Adaptation
        The teams' candidate and choice rules, reused.
    periods : DataFrame
        The loop's periods (``label, start, end``).
    """

    def __init__(
        self, scenario: Scenario, seed: int, adaptation: Adaptation, periods: pd.DataFrame
    ):
        self.scenario, self.seed, self.adaptation, self.periods = (
            scenario,
            seed,
            adaptation,
            periods,
        )
        parties = {p.vendor_id: p for p in sla_parties(scenario) if p.subcontractor_id is None}
        self.agents = {
            v.id: VendorAgent(
                v,
                parties[v.id],
                VendorLevers(late_outage_start=v.reporting.late_outage_start),
                stream(seed, f"vendor-behaviour/{v.id}"),
            )
            for v in scenario.organisation.vendors
            if v.behaviour is not None
        }
        self.services = {t: a.party.services for t, a in self.agents.items()}
        self.success = {t: a.behaviour.contest_success for t, a in self.agents.items()}
        self.levers_by_period: list[tuple[str, dict[str, VendorLevers]]] = []
        self.records: list[dict] = []

    @property
    def active(self) -> bool:
        """Whether any vendor adapts (if none, the loop runs exactly as without vendors)."""
        return bool(self.agents)

    def begin_period(self, label: str) -> dict[str, tuple[float, float]]:
        """Fix the levers of period ``label``; return the world's effort factors."""
        self.levers_by_period.append((label, {t: a.levers for t, a in self.agents.items()}))
        return {t: a.levers.factors(a.behaviour) for t, a in self.agents.items()}

    def intensities(self) -> pd.DataFrame:
        """Return every vendor's ``late_outage_start`` per period so far (fixed ones too)."""
        rows = []
        for label, levers in self.levers_by_period:
            for vendor in self.scenario.organisation.vendors:
                chosen = levers.get(vendor.id)
                value = chosen.late_outage_start if chosen else vendor.reporting.late_outage_start
                rows.append({"period": label, "vendor_id": vendor.id, "late_outage_start": value})
        return pd.DataFrame(rows, columns=["period", "vendor_id", "late_outage_start"])

    def contests(self) -> pd.DataFrame:
        """Return every adapting vendor's ``contest`` per period so far."""
        rows = [
            {"period": label, "vendor_id": t, "contest": lev.contest}
            for label, levers in self.levers_by_period
            for t, lev in levers.items()
        ]
        return pd.DataFrame(rows, columns=["period", "vendor_id", "contest"])

    def contested(self, log: EventLog) -> tuple[EventLog, pd.DataFrame]:
        """Return the record after the vendors' disputes so far, and the dispute counts."""
        contests = self.contests()
        if not self.active or not (contests["contest"] > 0).any():
            return log, pd.DataFrame(columns=list(DISPUTE_COLUMNS))
        return contest_attributions(
            log, contests, self.periods, self.services, seed=self.seed, success=self.success
        )

    def overturn_chance(self, vendor_id: str) -> float:
        """Return the chance that the vendor's joint review overturns an unsupported claim.

        Only a vendor whose contract shares penalties reviews the customer's attributions
        jointly, so only there does an overturned attribution become a finding against the
        team (:meth:`findings`): the vendor's ``contest`` intensity now times its
        ``contest_success``. Without such a clause (or behaviour) the chance is 0.
        """
        agent = self.agents.get(vendor_id)
        if agent is None or getattr(agent.party.terms, "penalty_sharing", None) is None:
            return 0.0
        return agent.levers.contest * agent.behaviour.contest_success

    def findings(self, disputes: pd.DataFrame, label: str, teams) -> dict[str, int]:
        """Return, per team, its attributions overturned in period ``label`` under a clause.

        Parameters
        ----------
        disputes : DataFrame
            From :meth:`contested` (``period, vendor_id, team_id, disputed, overturned``).
        label : str
            The period whose incidents count (by opening).
        teams : iterable of str
            The real teams; candidates' labels are left out.

        Returns
        -------
        dict of str to int
            Teams with at least one attribution overturned by a vendor whose contract shares
            penalties, and how many.
        """
        if disputes.empty:
            return {}
        shared = [
            t for t, a in self.agents.items() if getattr(a.party.terms, "penalty_sharing", None)
        ]
        mine = disputes.loc[
            (disputes["period"] == label)
            & disputes["vendor_id"].isin(shared)
            & disputes["team_id"].isin(list(teams))
            & (disputes["overturned"] > 0)
        ]
        return {t: int(n) for t, n in mine.groupby("team_id")["overturned"].sum().items()}

    def _charges(self, agent: VendorAgent, levers: VendorLevers, truth, record, label):
        """Return (fees, credits, bonuses, penalty share, disputes, overturned, events, late).

        ``truth`` and ``record`` are cut to the period; the record is before any dispute.
        """
        now = agent.levers
        rate, duration = levers.factors(agent.behaviour)
        rate_now, duration_now = now.factors(agent.behaviour)
        ratio = (rate * duration) / (rate_now * duration_now)
        outages = truth.outages
        own = (
            (outages["source"] == "vendor")
            & (outages["vendor_id"] == agent.vendor.id)
            & outages["subcontractor_id"].isna()
        ).to_numpy(dtype=bool)
        if ratio != 1.0 and own.any():
            starts = outages["start"].to_numpy(dtype=NS)
            ends = outages["end"].to_numpy(dtype=NS)
            scaled = starts + ((ends - starts) * ratio).astype("timedelta64[ns]")
            outages = outages.assign(end=np.where(own, scaled, ends).astype(NS))
        log = replace(record, outages=outages)
        one = self.periods.loc[self.periods["label"] == label]
        contests = pd.DataFrame({"period": [label], "vendor_id": [agent.vendor.id]})
        disputes = pd.DataFrame()
        if levers.contest > 0:
            log, disputes = contest_attributions(
                log,
                contests.assign(contest=levers.contest),
                one,
                {agent.vendor.id: agent.party.services},
                seed=self.seed,
                success={agent.vendor.id: agent.behaviour.contest_success},
            )
        lates = contests.assign(late_outage_start=levers.late_outage_start)
        view = report_vendor_outages(log, lates, one, seed=self.seed)
        priced = credits(vendor_sla(view, [agent.party]), [agent.party])
        fees = float(priced.loc[priced["measure"] == "availability", "fee"].sum())
        credit, bonus = float(priced["credit"].sum()), float(priced["bonus"].sum())
        split = split_log(view, [agent.party])
        penalty = float(split["vendor_penalty"].sum()) if len(split) else 0.0
        disputed = int(disputes["disputed"].sum()) if len(disputes) else 0
        overturned = int(disputes["overturned"].sum()) if len(disputes) else 0
        mine = view.outages.loc[(view.outages["vendor_id"] == agent.vendor.id).to_numpy(dtype=bool)]
        true_starts = log.outages.loc[mine.index, "start"]
        events = int(true_starts.nunique())
        late = int(true_starts[mine["start"] != true_starts].nunique())
        return fees, credit, bonus, penalty, disputed, overturned, events, late

    @staticmethod
    def _parts(agent: VendorAgent, levers: VendorLevers, charges: tuple) -> dict[str, float]:
        """Return the parts of a candidate's utility from its :meth:`_charges`."""
        b = agent.behaviour
        fees, credit, bonus, penalty, disputed, _, events, _ = charges
        dispute_cost = disputed * b.contest_cost_per_incident
        find = finding_probability(
            events, events * levers.late_outage_start, b.audit_sample_size, b.audit_recognition
        )
        p_found = b.audit_probability * find
        loss = b.gaming_penalty_pct / 100 * fees
        wealth = max(fees, 1.0)
        value = certainty_equivalent(
            wealth, -(credit - bonus + penalty + dispute_cost), loss, p_found, b.risk_aversion
        )
        effort = b.effort_cost_pct / 100 * fees * levers.effort**2
        integrity = b.integrity * b.integrity_cost_pct / 100 * fees * levers.late_outage_start
        return {
            "dispute_cost": dispute_cost,
            "effort_cost": effort,
            "integrity_cost": integrity,
            "p_found": p_found,
            "utility": value - effort - integrity,
        }

    def _utility(self, agent: VendorAgent, levers: VendorLevers, truth, record, label) -> float:
        """Return a candidate's utility in money for one period."""
        charges = self._charges(agent, levers, truth, record, label)
        return self._parts(agent, levers, charges)["utility"]

    def close_period(self, k: int, truth: EventLog, record: EventLog, revise: bool) -> None:
        """Record what each vendor's contract charged it in period ``k``, then let it revise.

        Parameters
        ----------
        k : int
            The period's position.
        truth, record : EventLog
            The true log and the teams' record (before any dispute) covering the period.
        revise : bool
            Whether a later period follows, for which the vendors choose.
        """
        label, start, end = self.periods.iloc[k][["label", "start", "end"]]
        truth_k, record_k = _window(truth, start, end), _window(record, start, end)
        record_k = replace(record_k, outages=truth_k.outages)
        for vendor_id, agent in self.agents.items():
            b = agent.behaviour
            charges = self._charges(agent, agent.levers, truth_k, record_k, label)
            fees, credit, bonus, penalty, disputed, overturned, events, late = charges
            audited = agent.rng.random() < b.audit_probability
            u_found = agent.rng.random()
            found = audited and u_found < finding_probability(
                events, late, b.audit_sample_size, b.audit_recognition
            )
            self.records.append(
                {
                    "period": label,
                    "vendor_id": vendor_id,
                    **{name: agent.levers[name] for name in VENDOR_LEVERS},
                    "fees": fees,
                    "credit": credit,
                    "bonus": bonus,
                    "vendor_penalty": penalty,
                    "disputed": disputed,
                    "overturned": overturned,
                    "outage_events": events,
                    "late_reported": late,
                    "audited": audited,
                    "found": found,
                    "gaming_penalty": b.gaming_penalty_pct / 100 * fees if found else 0.0,
                    **self._parts(agent, agent.levers, charges),
                }
            )
            if revise and self.adaptation.revises(agent):
                options = self.adaptation.candidates(agent, VENDOR_LEVERS, VENDOR_BOUNDS)
                # staying put comes first and was priced above: its charges are the period's
                staying = self._parts(agent, agent.levers, charges)["utility"]
                utilities = [staying] + [
                    self._utility(agent, o, truth_k, record_k, label) for o in options[1:]
                ]
                agent.levers = self.adaptation.choose(agent, options, utilities)

    def table(self) -> pd.DataFrame:
        """Return the vendors' behaviour per incentive period (empty when none adapts).

        Returns
        -------
        DataFrame
            One row per adapting vendor and incentive period: ``period, vendor_id``, the
            levers it held (``effort, late_outage_start, contest``), what its contract charged
            it on the period (``fees, credit, bonus, vendor_penalty``: money), its disputes
            (``disputed, overturned``), its outage events and those reported late, the
            customer's check (``audited, found, gaming_penalty``) and the parts of its
            utility at those levers (``dispute_cost, effort_cost, integrity_cost``: money;
            ``p_found``, the chance of a finding it priced; ``utility``, money).
        """
        return pd.DataFrame(self.records, columns=list(RECORD_COLUMNS))


def vendor_tables(run) -> dict[str, pd.DataFrame]:
    """Return a run's vendor tables, each written as ``<name>.parquet`` in its directory.

    Parameters
    ----------
    run : PlanRun
        A finished run (:class:`toolkit.run.loop.PlanRun`).

    Returns
    -------
    dict of str to DataFrame
        ``vendor_sla`` (:func:`toolkit.finance.vendor_credits.vendor_sla_table`),
        ``vendor_behaviour`` (:meth:`VendorAgents.table`: no rows when no vendor adapts) and
        ``penalty_split`` (:func:`toolkit.finance.penalty_sharing.penalty_split_table`: no
        rows when no contract shares penalties), all with the vendors' reporting levers as
        they chose them period by period.
    """
    args = (run.scenario, run.truth, run.reported, run.seed, run.vendor_intensities)
    return {
        "vendor_sla": vendor_sla_table(*args),
        "vendor_behaviour": run.vendor_behaviour,
        "penalty_split": penalty_split_table(*args),
    }
