"""How teams revise their levers between periods: bounded, risk-averse, self-interested.

Each team considers staying put and a few moves of one or two levers. It values each with the plan's
own scoring on a counterfactual of its last period (see :mod:`toolkit.behaviour.counterfactual`):

    utility = certainty equivalent of (award, risk of a penalty) − effort cost − integrity cost

The award is the candidate's score times what a period's score is worth in the team's open
grants; the penalty is malus and clawback on what is at stake, weighed by the chance that an
audit (random, or requested by a counter-metric) finds the gaming. That chance is the audit's
own sampling model (:mod:`toolkit.behaviour.detection`) applied to the tickets and changes the
team expects to have, judged from its last period. A misattribution is also found when a vendor
whose contract shares penalties overturns the claim in their joint review
(:meth:`Adaptation.overturned`); under an internal-only exclusion rule nobody but the auditor
checks it. The certainty equivalent
uses constant relative risk aversion over the period's pay. Teams choose by a logit rule among
the moves that beat staying, and sometimes do not revise at all (inertia: such a team does not
even look at its options); with nothing to gain
nobody moves, so without a plan every gaming lever stays at zero.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from toolkit.behaviour.detection import emergency_exposure, finding_probability, ticket_exposure
from toolkit.behaviour.levers import ALL_LEVERS, BOUNDS, OPERATIONAL_LEVERS, LeverSet
from toolkit.behaviour.reporting import REPORTING_LEVERS
from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario, Team
from toolkit.sim.streams import stream

LESS_WORK_COST = 0.25  # a cut in these levers costs this share of an equal increase
LESS_WORK_WHEN_LOWER = ("change_rate", "change_care")
# levers that move the team's time between kinds of work (diligence adds effort instead)
REALLOCATION_LEVERS = tuple(lever for lever in OPERATIONAL_LEVERS if lever != "diligence")


@dataclass
class TeamAgent:
    """One team's state: its levers now, its traits, and its own random stream."""

    team: Team
    levers: LeverSet
    rng: random.Random
    salary: float  # the team's yearly base salaries

    @property
    def team_id(self) -> str:
        """The team's id."""
        return self.team.id


@dataclass(frozen=True)
class AuditExposure:
    """What a team expects an audit to sample: the plan's audit and its own last period.

    Attributes
    ----------
    probability : float
        Chance of a random audit in a period.
    recognition : float
        Chance a sampled gamed ticket is recognised (the plan's ``detection_power``).
    sample_size : int
        Tickets (and emergency changes) an audit samples.
    root_cause_audit : bool
        Whether supplier attributions are checked against outage records.
    eligible : mapping of str to float
        :func:`~toolkit.behaviour.detection.eligible_counts` of the team's last period.
    changes : float
        The team's changes of its last period, of every type.
    overturn : float
        Per incident the team could misattribute (internal and change causes of its last
        period), the chance that a vendor whose contract shares penalties disputes the claim
        and overturns it in their joint review, which makes it a misattribution finding:
        averaged over those incidents, each with its service's vendors (as
        :mod:`toolkit.behaviour.reporting` picks one) at their current ``contest`` times
        ``contest_success``. 0 without such vendors.
    """

    probability: float
    recognition: float
    sample_size: int
    root_cause_audit: bool
    eligible: Mapping[str, float]
    changes: float
    overturn: float = 0.0


NO_EXPOSURE = AuditExposure(
    0.0, 0.0, 1, False, dict.fromkeys(("volume", *REPORTING_LEVERS), 0.0), 0.0
)


@dataclass(frozen=True)
class Stakes:
    """What a period's score is worth to a team, and what a finding would cost it."""

    period_value: float  # money for a 100 % score this period
    at_risk_gaming: float  # money a gaming finding would take (malus + clawback)
    at_risk_misattribution: float  # money a misattribution finding would take
    audit: AuditExposure = NO_EXPOSURE


def certainty_equivalent(wealth: float, gain: float, loss: float, p_loss: float, gamma: float):
    """Return the sure amount a CRRA agent values the lottery (gain, or gain − loss) at."""
    outcomes = np.array([wealth + gain, max(wealth + gain - loss, 1e-9)])
    weights = np.array([1 - p_loss, p_loss])
    if gamma == 0:
        return float(weights @ outcomes) - wealth
    if gamma == 1:
        return float(math.exp(weights @ np.log(outcomes))) - wealth
    power = 1 - gamma
    return float((weights @ outcomes**power) ** (1 / power)) - wealth


class Adaptation:
    """Candidate moves and the choice among them, for every team of a scenario.

    Parameters
    ----------
    scenario : Scenario
        Teams, traits and the adaptation settings.
    plan : Plan
        The plan being responded to (its audit and consequences shape detection risk).
    seed : int
        Keys each team's stream.
    periods_per_year : int
        Converts yearly costs and salaries to a period.
    """

    def __init__(self, scenario: Scenario, plan: Plan, seed: int, periods_per_year: int):
        behaviour = scenario.environment.behaviour
        self.settings = behaviour.adaptation
        self.plan = plan
        self.periods_per_year = periods_per_year
        self.change_mix = scenario.environment.changes.mix
        natural = LeverSet.natural(behaviour.levers)
        self.natural = natural
        self.agents = {
            team.id: TeamAgent(
                team,
                natural,
                stream(seed, f"behaviour/{team.id}"),
                sum(p.base_salary for p in team.people),
            )
            for team in scenario.organisation.teams
        }

    def candidates(
        self,
        agent,
        names: tuple[str, ...] = ALL_LEVERS,
        bounds: Mapping[str, tuple[float, float]] = BOUNDS,
    ) -> list:
        """Return staying put followed by distinct moves of one lever or of two at once.

        Joint moves matter where levers complement each other: more reliability work pays
        only if the change pace it costs is made up, which no single step shows.

        Parameters
        ----------
        agent : TeamAgent or VendorAgent
            Anything with ``levers`` (with ``moved(name, delta)``) and its own ``rng``.
        names, bounds : optional
            The levers that may move and their ranges; a team's by default, a vendor's
            (:mod:`toolkit.run.vendors`) by the same rule.

        Returns
        -------
        list
            Lever sets, the current one first.
        """
        rng, settings = agent.rng, self.settings
        found = [agent.levers]
        for _ in range(settings.candidates):
            first = int(rng.random() * len(names))
            move = self._step(agent.levers, names[first], rng, bounds)
            if rng.random() < settings.joint_move_share:
                second = (first + 1 + int(rng.random() * (len(names) - 1))) % len(names)
                move = self._step(move, names[second], rng, bounds)
            if move not in found:
                found.append(move)
        return found

    def _step(self, levers, lever: str, rng: random.Random, bounds=BOUNDS):
        """Return ``levers`` with ``lever`` moved one step up or down (a coin toss)."""
        delta = self.settings.step if rng.random() < 0.5 else -self.settings.step
        return levers.moved(lever, delta * (bounds[lever][1] - bounds[lever][0]))

    def utility(
        self, agent: TeamAgent, levers: LeverSet, score_pct: float, audit: bool, stakes: Stakes
    ) -> float:
        """Return a candidate's utility in money for one period."""
        settings = self.settings
        period_pay = agent.salary / self.periods_per_year
        award = score_pct / 100.0 * stakes.period_value
        p_audit = 1.0 if audit else stakes.audit.probability
        find, blame = self.detection(levers, stakes.audit)
        p_gaming, p_blame = p_audit * find, p_audit * blame
        overturned = self.overturned(levers, stakes.audit)
        if overturned > 0:  # found by the audit or in the vendor's review, independently
            p_blame = 1 - (1 - p_blame) * (1 - overturned)
        expected_loss = p_gaming * stakes.at_risk_gaming + p_blame * stakes.at_risk_misattribution
        p_loss = min(1.0, p_gaming + p_blame)
        loss = expected_loss / p_loss if p_loss > 0 else 0.0
        value = certainty_equivalent(period_pay, award, loss, p_loss, agent.team.risk_aversion)
        effort = period_pay * self.effort(levers)
        integrity = (
            settings.integrity_cost_pct / 100 * period_pay * agent.team.integrity * levers.gaming()
        )
        return value - effort - integrity

    def detection(self, levers: LeverSet, audit: AuditExposure) -> tuple[float, float]:
        """Return the chance that one audit finds gaming, and misattribution, under ``levers``.

        The team prices the audit's own model with the counts it expects: its last period's
        tickets and changes, touched at the candidate's intensities.

        Parameters
        ----------
        levers : LeverSet
            The levers priced.
        audit : AuditExposure
            The plan's audit and the team's last period.

        Returns
        -------
        gaming, misattribution : float
            Per audit: a ticket or emergency-change finding, and a root-cause finding (0 when
            the plan has no root-cause audit).
        """
        if levers.gaming() == 0:
            return 0.0, 0.0
        n, r = audit.sample_size, audit.recognition
        intensities = {lever: levers[lever] for lever in REPORTING_LEVERS}
        population, affected = ticket_exposure(audit.eligible, intensities)
        p_tickets = finding_probability(population, affected, n, r)
        mix = self.change_mix
        reviewed, unjustified = emergency_exposure(
            audit.changes, mix.normal, mix.emergency, levers["emergency_abuse"]
        )
        p_changes = finding_probability(reviewed, unjustified, n, r)
        gaming = 1 - (1 - p_tickets) * (1 - p_changes)
        if not audit.root_cause_audit:
            return gaming, 0.0
        eligible = audit.eligible
        recorded = population - eligible["underreporting"] * levers["underreporting"]
        blamed = eligible["misattribution"] * levers["misattribution"]
        return gaming, finding_probability(recorded, blamed, n, r)

    @staticmethod
    def overturned(levers: LeverSet, audit: AuditExposure) -> float:
        """Return the chance that a vendor's joint review overturns one of the team's claims.

        Under a penalty-sharing clause the vendor pays for what it is blamed for, so it checks
        the blame against its outage records; each misattributed incident is overturned with
        ``audit.overturn``, independently, and one overturned is enough for a finding. The
        team expects to misattribute its eligible incidents at the candidate's intensity.

        Parameters
        ----------
        levers : LeverSet
            The levers priced.
        audit : AuditExposure
            The team's last period and the vendors' dispute chance.

        Returns
        -------
        float
            Chance of at least one overturned attribution in a period.
        """
        blamed = audit.eligible.get("misattribution", 0.0) * levers["misattribution"]
        if audit.overturn <= 0 or blamed <= 0:
            return 0.0
        return 1 - (1 - audit.overturn) ** blamed

    def effort(self, levers: LeverSet) -> float:
        """Return the cost of the operational levers, as a share of the team's pay.

        Moving reliability work, change pace or care away from the team's usual ways costs
        ``effort_cost_pct`` per squared unit; doing less is cheaper than doing more (slowing
        change down only meets delivery pressure, cutting care saves work and its cost comes
        later, as failures). Diligence above the team's own standard costs
        ``diligence_cost_pct`` at full diligence, quadratic in between.
        """
        total = 0.0
        for lever in REALLOCATION_LEVERS:
            gap = levers[lever] - self.natural[lever]
            weight = LESS_WORK_COST if lever in LESS_WORK_WHEN_LOWER and gap < 0 else 1.0
            total += weight * gap**2
        diligence = levers["diligence"] - self.natural["diligence"]
        return (
            self.settings.effort_cost_pct * total + self.settings.diligence_cost_pct * diligence**2
        ) / 100

    def revises(self, agent) -> bool:
        """Draw whether the team revises its levers this period (it may stay out of inertia)."""
        return agent.rng.random() >= self.settings.inertia

    def choose(self, agent, options: list, utilities: list[float]):
        """Pick among moves that beat staying (options[0]) by a logit rule (team or vendor)."""
        stay = utilities[0]
        better = [i for i, u in enumerate(utilities) if u > stay + 1e-9 * (1 + abs(stay))]
        if not better:
            return agent.levers
        pool = [0, *better]
        gains = np.array([utilities[i] - stay for i in pool])
        temperature = self.settings.logit_temperature * gains.max()
        weights = np.exp((gains - gains.max()) / temperature)
        pick = agent.rng.random() * weights.sum()
        index = min(int(np.searchsorted(np.cumsum(weights), pick, side="right")), len(pool) - 1)
        return options[pool[index]]
