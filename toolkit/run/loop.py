"""One run of the loop: world → reporting → measurement → plan → money → behaviour.

Period by period, the world runs under the teams' levers and writes the truth; the reporting
layer turns it into the record under the teams' gaming; the plan scores the record (and,
for comparison, the truth); the ledger turns scores into money; audits look for gaming; then
each team revises its levers by scoring counterfactual logs with the same plan code.

Plan code is dear per call and cheap per row, so each period is measured once: the record, the
candidates' counterfactual rows under their labels (``apps#3``, judged against the others'
status quo in the record) and the truth as a side world (see :mod:`toolkit.plans.measurement`).
The candidates are therefore drawn before the period is scored, and the draws are taken back if
nothing turns out to be at stake. Each period reads the truth from the previous period's start
on; the whole truth and record are built once, at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from toolkit.behaviour.adaptation import Adaptation, AuditExposure, Stakes, TeamAgent
from toolkit.behaviour.audit import misattributions_without_outage, ticket_evidence
from toolkit.behaviour.counterfactual import Counterfactuals
from toolkit.behaviour.detection import eligible_counts, finding_probability
from toolkit.behaviour.expectation import ScoreExpectation
from toolkit.behaviour.horizon import Horizon, discount_per_period, look_ahead
from toolkit.behaviour.levers import ALL_LEVERS, LeverSet
from toolkit.behaviour.reporting import MISATTRIBUTED_CAUSES, REPORTING_LEVERS, report
from toolkit.behaviour.vendor_reporting import DISPUTE_COLUMNS
from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.events import EventLog
from toolkit.events.schema import text
from toolkit.plans.attribution import SEP
from toolkit.plans.ledger import AwardLedger, Finding
from toolkit.plans.measurement import period_tables
from toolkit.plans.scoring import PlanScorer, TeamScores
from toolkit.run.data_availability import DataAvailability, clause_due_days
from toolkit.run.vendors import VendorAgents
from toolkit.sim import World
from toolkit.sim.streams import stream

PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
TRUE_WORLD = "true"  # the side world in which the truth is scored next to the record


@dataclass
class PlanRun:
    """Everything one run of a plan produced, in memory.

    Attributes
    ----------
    truth, reported : EventLog
        What happened, and what was recorded.
    awards : DataFrame
        Per person and cohort: granted, vested, deferred, forfeited, malus, clawed back, paid.
    behaviour : DataFrame
        Per team and period: every lever, the reported and true score, audits and findings,
        ``overturned`` (its attributions of the period that a vendor whose contract shares
        penalties disputed and overturned: each period with one is a
        ``misattribution_detected`` finding once the plan runs), the chance of a finding per
        audit the team priced for its levers
        (``detection_perceived``, ``blame_perceived``) and, when audited, the audit's exact
        chance given what it sampled from (``detection_expected``, ``blame_expected``).
    ledger : AwardLedger
        The money side, for cash flows and liabilities.
    data_availability : DataFrame
        Per plan period and team: whether its data was on time, and if not what the ledger
        booked and how it was trued up (:meth:`DataAvailability.table`); empty without
        data feeds the plan depends on.
    vendor_behaviour : DataFrame
        Per adapting vendor and period: its levers, fees, credits, bonuses, penalty share,
        disputes and audits (:mod:`toolkit.run.vendors`); empty when no vendor adapts.
    vendor_intensities : DataFrame or None
        Every vendor's ``late_outage_start`` per period when some vendor adapts (for
        :func:`toolkit.finance.vendor_credits.vendor_sla_table`); ``None``: the scenario's.
    """

    scenario: Scenario
    plan: Plan
    seed: int
    truth: EventLog
    reported: EventLog
    awards: pd.DataFrame
    behaviour: pd.DataFrame
    ledger: AwardLedger
    data_availability: pd.DataFrame = field(default_factory=lambda: DataAvailability.empty())
    vendor_behaviour: pd.DataFrame = field(default_factory=pd.DataFrame)
    vendor_intensities: pd.DataFrame | None = None


def _with_side_world(log: EventLog, side: EventLog, label: dict[str, str]) -> EventLog:
    """Return ``log`` with ``side``'s incidents and changes appended under side-world labels."""

    def stacked(table: str) -> pd.DataFrame:
        extra = getattr(side, table)
        teams = extra["team_id"].to_numpy(dtype=object)
        extra = extra.assign(team_id=text([label.get(team) for team in teams]))
        return pd.concat([getattr(log, table), extra], ignore_index=True)

    return EventLog(
        incidents=stacked("incidents"),
        changes=stacked("changes"),
        outages=log.outages,
        services=log.services,
        start=log.start,
        end=log.end,
    )


def _team_rows(log: EventLog, team_id: str) -> EventLog:
    """Return ``log`` with the team's incidents only, all that an audit of the team reads."""
    team = log.incidents["team_id"].to_numpy(dtype=object)
    return replace(log, incidents=log.incidents.loc[team == team_id])


def _period_rows(log: EventLog, start: pd.Timestamp, end: pd.Timestamp):
    """Return the incidents and changes that touch a period (opened, resolved, implemented)."""

    def touches(frame, columns):
        mask = np.zeros(len(frame), dtype=bool)
        for column in columns:
            times = frame[column]
            mask |= ((times >= start) & (times < end)).to_numpy()
        return frame.loc[mask]

    incidents = touches(log.incidents, ["opened_at", "resolved_at"])
    changes = touches(log.changes, ["submitted_at", "implemented_at"])
    return incidents, changes


def _opened_in(frame: pd.DataFrame, column: str, start, end) -> pd.DataFrame:
    times = frame[column]
    return frame.loc[((times >= start) & (times < end)).to_numpy(dtype=bool)]


def _sampled_finding(u: float, population: int, affected: int, sample_size: int, r: float):
    """Draw an audit sample and tell whether the auditor recognises a gamed item in it.

    ``u`` seeds the draw, so each audit takes the same number of draws from the team's audit
    stream whatever it finds. The items are numbered with the affected ones first; which items
    are drawn decides only how many affected ones the auditor looks at.
    """
    if population <= 0 or affected <= 0:
        return False
    rng = np.random.default_rng(int(u * 2**53))
    drawn = rng.choice(population, size=min(sample_size, population), replace=False)
    looked_at = int((drawn < affected).sum())
    return bool((rng.random(looked_at) < r).any())


class PlanLoop:
    """Run a scenario under a plan for one seed.

    Parameters
    ----------
    scenario : Scenario
        The organisation and its environment.
    plan : Plan
        The incentive plan; :func:`toolkit.plans.load_plan` resolves ``extends``.
    seed : int
        Same scenario, plan and seed give identical results.
    """

    def __init__(self, scenario: Scenario, plan: Plan, seed: int):
        self.scenario, self.plan, self.seed = scenario, plan, seed
        self.world = World(scenario, seed)
        self.periods = self.world.periods[["label", "start", "end"]]
        self.labels = self.periods["label"].tolist()
        per_year = PERIODS_PER_YEAR[scenario.horizon.period]
        services = self.world.event_log().services
        self.scorer = PlanScorer(plan, services, self.periods)
        self.ledger = AwardLedger(plan, scenario, self.labels, per_year)
        self.availability = DataAvailability(
            scenario.data_feeds, plan, self.periods, seed, clause_due_days(scenario)
        )
        self.adaptation = Adaptation(scenario, plan, seed, per_year)
        self.discount = discount_per_period(
            scenario.environment.behaviour.adaptation.discount_per_year, per_year
        )
        self.counterfactuals = Counterfactuals(scenario, seed)
        self.expectation = ScoreExpectation(plan)
        self.sla_targets = scenario.environment.incidents.sla_target_hours
        self.vendor_links = {s.id: s.vendor_dependencies for s in scenario.organisation.services}
        self.audit_streams = {t: stream(seed, f"audits/{t}") for t in self.adaptation.agents}
        self.true_label = {t: f"{t}{SEP}{TRUE_WORLD}" for t in self.adaptation.agents}
        self.true_team = {label: t for t, label in self.true_label.items()}
        self.start_after = plan.start_after_periods
        self.may_pay = any(
            self.ledger.period_value(t, k) > 0
            for t in self.adaptation.agents
            for k in range(len(self.labels))
        )
        self.intensities: list[dict] = []
        self.records: list[dict] = []
        self.vendors = VendorAgents(scenario, seed, self.adaptation, self.periods)
        # per team: the chance of a gaming and a misattribution finding per audit that the team
        # priced for the levers it holds
        self.perceived = dict.fromkeys(self.adaptation.agents, (0.0, 0.0))

    def run(self, progress: Callable[[int, int], None] | None = None) -> PlanRun:
        """Run every period and return the results."""
        for k in range(len(self.labels)):
            self._period(k)
            if progress:
                progress(k + 1, len(self.labels))
        truth = self.world.event_log()
        reported = self.report(truth, self.intensities)
        awards = self.ledger.awards()
        return PlanRun(
            self.scenario,
            self.plan,
            self.seed,
            truth,
            reported,
            awards,
            pd.DataFrame(self.records),
            self.ledger,
            self.availability.table(),
            self.vendors.table(),
            self.vendors.intensities() if self.vendors.active else None,
        )

    def report(self, truth: EventLog, intensities: list[dict], disputed: bool = True) -> EventLog:
        """Apply the teams' reporting levers to a (true or counterfactual) log.

        Then, unless ``disputed`` is False, the adapting vendors' disputes of attributions
        their outages deny (:mod:`toolkit.run.vendors`): the record the plan scores.
        """
        return self._disputed_report(truth, intensities, disputed)[0]

    def _disputed_report(
        self, truth: EventLog, intensities: list[dict], disputed: bool = True
    ) -> tuple[EventLog, pd.DataFrame]:
        """Return :meth:`report`'s record and the vendors' disputes in it (per team)."""
        frame = pd.DataFrame(intensities, columns=["period", "team_id", *REPORTING_LEVERS])
        record = report(
            truth,
            frame,
            self.periods,
            seed=self.seed,
            sla_targets=self.sla_targets,
            vendor_links=self.vendor_links,
        )
        if disputed and self.vendors.active:
            return self.vendors.contested(record)
        return record, pd.DataFrame(columns=list(DISPUTE_COLUMNS))

    def _period(self, k: int) -> None:
        label = self.labels[k]
        agents = self.adaptation.agents
        self.world.begin_period({t: a.levers.world() for t, a in agents.items()})
        if self.vendors.active:
            self.world.set_vendor_factors(self.vendors.begin_period(label))
        self.intensities += [
            {"period": label, "team_id": t, **a.levers.reporting()} for t, a in agents.items()
        ]
        self.world.advance(self.world.edges[k])
        # Rows that can count in period k: padding there is counted on the period's true volume,
        # and a padded ticket of period k - 1 may be resolved in k, so the cut starts at k - 1.
        since = self.world.edges[k - 2] if k >= 2 else 0.0
        truth = self.world.event_log(since=since)
        moves = self._draft(k, truth) if self._may_move(k + 1) else None
        reported, committed, disputes = self._score(k, truth, moves)
        teams = committed.teams.set_index("team_id")
        scores = teams.loc[teams.index.isin(list(agents))]
        true_labels = list(self.true_label.values())
        true_scores = teams["score_pct"].reindex(true_labels).fillna(0.0).rename(self.true_team)
        if k >= self.start_after:
            metrics = committed.metrics
            self.expectation.record(metrics.loc[metrics["team_id"].isin(list(agents))])
        findings, audited, expected = self._audit(k, truth, reported, scores)
        overturned = self.vendors.findings(disputes, label, agents)
        if k >= self.start_after:
            findings += [Finding(t, "misattribution_detected") for t in sorted(overturned)]
        final = scores["score_pct"].to_dict()
        value = {team: self.ledger.period_value(team, k) for team in final}
        booked, true_ups = self.availability.close(k, final, value)
        self.ledger.close_period(k, booked, findings, true_ups)
        found = {}
        for finding in findings:
            found.setdefault(finding.team_id, []).append(finding.consequence)
        for team_id, agent in agents.items():
            self.records.append(
                {
                    "period": label,
                    "team_id": team_id,
                    **{lever: agent.levers[lever] for lever in ALL_LEVERS},
                    "score_pct": float(scores["score_pct"].get(team_id, 0.0)),
                    "true_score_pct": float(true_scores.get(team_id, 0.0)),
                    "audited": team_id in audited,
                    "findings": ",".join(sorted(set(found.get(team_id, [])))),
                    "overturned": overturned.get(team_id, 0),
                    "detection_perceived": self.perceived[team_id][0],
                    "blame_perceived": self.perceived[team_id][1],
                    "detection_expected": expected.get(team_id, (np.nan, np.nan))[0],
                    "blame_expected": expected.get(team_id, (np.nan, np.nan))[1],
                }
            )
        if self.vendors.active:
            record = self.report(truth, self.intensities, disputed=False)
            self.vendors.close_period(k, truth, record, revise=k + 1 < len(self.labels))
        if moves is not None:
            if self._at_stake(k + 1):
                self._choose(k, moves, committed, truth)
            else:
                moves.take_back()

    def _score(
        self, k: int, truth: EventLog, moves: Moves | None
    ) -> tuple[EventLog, TeamScores, pd.DataFrame]:
        """Report period ``k`` and score it in one measurement.

        Returns the reported log, the scores and the vendors' disputes in the record.

        The measurement holds the record, the candidates' rows next to it and, as a side world
        of its own, the truth (before the plan starts every score is 0, so the truth is left
        out). Only the record is committed. The reported log returned holds the candidates'
        rows too, under their labels; audits read only the audited team's rows.
        """
        if moves is None or moves.log is None:
            reported, disputes = self._disputed_report(truth, self.intensities)
            team_of = {}
        else:
            reported, disputes = self._disputed_report(
                moves.log, self.intensities + moves.intensities
            )
            team_of = dict(moves.team_of)
        measured, worlds = reported, {}
        if k >= self.start_after:
            start, end = self.periods.iloc[k][["start", "end"]]
            # only the truth's rows that can count in the period: measurement cuts to them anyway
            cut = period_tables(truth, start, end)
            truth = replace(truth, incidents=cut["incidents"], changes=cut["changes"])
            measured = _with_side_world(reported, truth, self.true_label)
            team_of.update(self.true_team)
            worlds = dict.fromkeys(self.true_team, TRUE_WORLD)
        scores = self.scorer.commit(measured, k, team_of=team_of, worlds=worlds)
        return reported, scores, disputes

    def _may_move(self, k: int) -> bool:
        """Tell whether teams may revise their levers before period ``k`` (if it is at stake)."""
        return self.start_after <= k < len(self.labels) and self.may_pay

    def _at_stake(self, k: int) -> bool:
        """Tell whether any team has money riding on period ``k``; if not, nobody moves."""
        return any(
            self.ledger.period_value(team_id, k) > 0
            or self.ledger.exposure(team_id).at_risk("gaming_detected") > 0
            for team_id in self.adaptation.agents
        )

    def _audit(self, k, truth, reported, scores):
        """Draw audits (random, or requested by a counter-metric) and record their findings.

        An audit samples the team's tickets of the period, and its emergency changes in a
        post-implementation review; with a root-cause audit it also samples the reported
        tickets for supplier causes no outage explains (see :mod:`toolkit.behaviour.detection`).
        Returns the findings, the teams audited and, per audited team, the exact chance of a
        gaming and of a misattribution finding given what its sample was drawn from.
        """
        audit = self.plan.audit
        n, r = audit.sample_size, audit.detection_power
        start, end = self.periods.iloc[k][["start", "end"]]
        findings, audited, expected = [], set(), {}
        active = k >= self.plan.start_after_periods
        for team_id, rng in self.audit_streams.items():
            u_audit, u_tickets, u_changes, u_blame = (rng.random() for _ in range(4))
            if not active:
                continue
            team = scores.loc[team_id] if team_id in scores.index else None
            if team is not None and bool(team["gated"]):
                findings.append(Finding(team_id, "gate_breach"))
            requested = team is not None and bool(team["audit_requested"])
            if not (requested or u_audit < audit.probability_per_period):
                continue
            audited.add(team_id)
            true_rows, reported_rows = _team_rows(truth, team_id), _team_rows(reported, team_id)
            tickets = ticket_evidence(true_rows, reported_rows, team_id, start, end)
            reviewed, unjustified = self._emergencies(truth, team_id, start, end)
            p_gaming = 1 - (1 - finding_probability(tickets.population, tickets.affected, n, r)) * (
                1 - finding_probability(reviewed, unjustified, n, r)
            )
            if _sampled_finding(u_tickets, tickets.population, tickets.affected, n, r) or (
                _sampled_finding(u_changes, reviewed, unjustified, n, r)
            ):
                findings.append(Finding(team_id, "gaming_detected"))
            p_blame = np.nan
            if audit.root_cause_audit:
                recorded = len(_opened_in(reported_rows.incidents, "opened_at", start, end))
                blamed = misattributions_without_outage(reported_rows, team_id, start, end)
                p_blame = finding_probability(recorded, blamed, n, r)
                if _sampled_finding(u_blame, recorded, blamed, n, r):
                    findings.append(Finding(team_id, "misattribution_detected"))
            expected[team_id] = (p_gaming, p_blame)
        return findings, audited, expected

    @staticmethod
    def _emergencies(truth: EventLog, team_id: str, start, end) -> tuple[int, int]:
        """Return the team's emergency changes submitted in the window and those unjustified."""
        changes = _opened_in(truth.changes, "submitted_at", start, end)
        mine = (changes["team_id"] == team_id) & (changes["type"] == "emergency")
        return int(mine.sum()), int((mine & changes["justification"].isna()).sum())

    def _exposures(self, k: int, truth: EventLog) -> dict[str, AuditExposure]:
        """Return what each team expects an audit of the coming period to sample.

        A team judges by its own period ``k`` in truth: its tickets and what each lever would
        touch in them, and its changes.
        """
        audit = self.plan.audit
        start, end = self.periods.iloc[k][["start", "end"]]
        incidents = _opened_in(truth.incidents, "opened_at", start, end)
        changes = _opened_in(truth.changes, "submitted_at", start, end)
        by_team = dict(tuple(incidents.groupby("team_id", observed=True, sort=False)))
        change_counts = changes["team_id"].value_counts()
        empty = incidents.iloc[:0]
        overturn = self._overturn_chances(by_team)
        return {
            team_id: AuditExposure(
                probability=audit.probability_per_period,
                recognition=audit.detection_power,
                sample_size=audit.sample_size,
                root_cause_audit=audit.root_cause_audit,
                eligible=eligible_counts(by_team.get(team_id, empty)),
                changes=float(change_counts.get(team_id, 0)),
                overturn=overturn.get(team_id, 0.0),
            )
            for team_id in self.adaptation.agents
        }

    def _overturn_chances(self, by_team: dict[str, pd.DataFrame]) -> dict[str, float]:
        """Return per team the chance a misattribution of its is overturned as a finding.

        Each incident it could misattribute (internal or change cause) is blamed on one of its
        service's vendors, picked evenly; that vendor overturns the claim with
        :meth:`~toolkit.run.vendors.VendorAgents.overturn_chance`. The team averages that over
        its last period's such incidents.
        """
        chance = {
            service: float(
                np.mean([self.vendors.overturn_chance(v) for v in vendors]) if vendors else 0.0
            )
            for service, vendors in self.vendor_links.items()
        }
        if not any(chance.values()):
            return {}
        out = {}
        for team_id, rows in by_team.items():
            eligible = rows.loc[rows["root_cause"].isin(MISATTRIBUTED_CAUSES).to_numpy(dtype=bool)]
            if len(eligible):
                out[team_id] = float(eligible["service_id"].map(chance).fillna(0.0).mean())
        return out

    def _draft(self, k: int, truth: EventLog) -> Moves | None:
        """Draw who revises and their candidate moves, and build the counterfactual rows.

        Drawn before period ``k`` is scored, so that the candidates are scored in the same
        measurement; :meth:`Moves.take_back` undoes the draws if nothing turns out at stake.
        """
        adaptation = self.adaptation
        states = {t: a.rng.getstate() for t, a in adaptation.agents.items()}
        revising = {t: a for t, a in adaptation.agents.items() if adaptation.revises(a)}
        options, pairs, pulls, horizons = {}, [], [], {}
        for team_id, agent in revising.items():
            options[team_id] = adaptation.candidates(agent)
            horizons[team_id] = self._horizon(team_id, k + 1)
            for i, candidate in enumerate(options[team_id]):
                pairs.append((f"{team_id}#{i}", team_id, agent.levers, candidate))
                pulls.append(horizons[team_id].reliability_pull)
        moves = Moves(adaptation.agents, states, revising, options, horizons)
        if not pairs:
            return moves
        start, end = self.periods.iloc[k][["start", "end"]]
        table = self.counterfactuals.moves_table(pairs, reliability_pull=pulls)
        incidents, changes = _period_rows(truth, start, end)
        cf_incidents, cf_changes = self.counterfactuals.build(
            incidents, changes, table, (start, end)
        )
        services = truth.services.merge(table[["label", "team_id"]], on="team_id")
        services["team_id"] = services.pop("label")
        moves.log = EventLog(
            incidents=pd.concat([truth.incidents, cf_incidents], ignore_index=True),
            changes=pd.concat([truth.changes, cf_changes], ignore_index=True),
            outages=truth.outages,
            services=pd.concat([truth.services, services], ignore_index=True),
            start=truth.start,
            end=truth.end,
        )
        moves.intensities = [
            {"period": self.labels[k], "team_id": lab, **cand.reporting()}
            for lab, _, _, cand in pairs
        ]
        moves.team_of = dict(zip(table["label"], table["team_id"], strict=True))
        return moves

    def _horizon(self, team_id: str, k: int) -> Horizon:
        """Sum up what periods ``k`` onwards are worth to a team deciding for them."""
        values = [self.ledger.period_value(team_id, j) for j in range(k, len(self.labels))]
        lag = self.scenario.environment.behaviour.levers.reliability_lag_periods
        return look_ahead(values, self.discount, lag)

    def _choose(self, k: int, moves: Moves, scored: TeamScores, truth: EventLog) -> None:
        """Let the revising teams pick their levers, then price an audit of every team's levers.

        Every team, revising or not, prices one audit of the levers it holds as it would in
        choosing them; the next period's records keep that next to the audit's outcome.
        """
        adaptation = self.adaptation
        exposures = self._exposures(k, truth)
        self._revise(k, moves, scored, exposures)
        for team_id, agent in adaptation.agents.items():
            self.perceived[team_id] = adaptation.detection(agent.levers, exposures[team_id])

    def _revise(self, k: int, moves: Moves, scored: TeamScores, exposures) -> None:
        """Let every revising team value its candidates and pick one."""
        if not moves.revising:
            return
        adaptation = self.adaptation
        # every period's result raises the later targets of a rolling or ratchet baseline, so
        # a move held over the horizon bears that cost in each period it is held
        horizons = moves.horizons
        expected = self.expectation.expected_scores(
            scored.teams,
            scored.metrics,
            moves.team_of,
            {t: f"{t}#0" for t in moves.revising},
            future_value_ratio={t: h.later_ratio for t, h in horizons.items()},
        )
        requested = dict(zip(scored.teams["team_id"], scored.teams["audit_requested"], strict=True))
        for team_id, agent in moves.revising.items():
            exposure = self.ledger.exposure(team_id)
            stakes = Stakes(
                period_value=moves.horizons[team_id].period_value,
                at_risk_gaming=exposure.at_risk("gaming_detected"),
                at_risk_misattribution=exposure.at_risk("misattribution_detected"),
                audit=exposures[team_id],
            )
            utilities = []
            for i, candidate in enumerate(moves.options[team_id]):
                label = f"{team_id}#{i}"
                utilities.append(
                    adaptation.utility(
                        agent,
                        candidate,
                        expected.get(label, 0.0),
                        bool(requested.get(label, False)),
                        stakes,
                    )
                )
            agent.levers = adaptation.choose(agent, moves.options[team_id], utilities)


@dataclass
class Moves:
    """The candidate moves drawn before a period is scored, and the rows that price them."""

    agents: dict[str, TeamAgent]
    states: dict[str, tuple]  # every team's random state before the draws
    revising: dict[str, TeamAgent]
    options: dict[str, list[LeverSet]]
    horizons: dict[str, Horizon]  # what the coming periods are worth to each revising team
    log: EventLog | None = None  # the true period plus each candidate's counterfactual rows
    intensities: list[dict] = field(default_factory=list)  # the candidates' reporting levers
    team_of: dict[str, str] = field(default_factory=dict)  # candidate label → team

    def take_back(self) -> None:
        """Undo the draws: nobody revises, as if they had never been made."""
        for team_id, agent in self.agents.items():
            agent.rng.setstate(self.states[team_id])


def run_plan(scenario: Scenario, plan: Plan, seed: int | None = None) -> PlanRun:
    """Run a scenario under a plan and return what happened, was recorded and was paid.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    plan : Plan
        A validated plan.
    seed : int, optional
        Overrides the scenario's seed.

    Returns
    -------
    PlanRun
    """
    return PlanLoop(scenario, plan, scenario.seed if seed is None else seed).run()
