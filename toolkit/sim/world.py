"""The simulated IT organisation: services, teams, vendors and attackers in one SimPy run.

Time runs in hours from the scenario's start date. Each source of work is a generator
process with its own random stream (:mod:`toolkit.sim.streams`): incident arrivals per
service, change requests per service, outages per vendor and subcontractor, and attacks.
Incidents queue for the handling team by priority; so does the hands-on work of implementing
a change, which ranks with priority 3 incidents (see ``CHANGE_QUEUE_KEY``). The result is the *true*
:class:`~toolkit.events.EventLog`: what really happened.

Teams' levers (:class:`~toolkit.sim.levers.WorldLevers`) may change at period boundaries.
Arrival processes are driven by a unit-rate Poisson stream mapped through the integrated
intensity, so a lever that changes a rate moves arrivals in time but keeps their sequence:
runs that differ only in levers share their random numbers.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Generator
from itertools import accumulate

import numpy as np
import pandas as pd
import simpy
from scipy.special import ndtri

from toolkit.config.scenario import Exponential, Scenario, Service, Subcontractor, Vendor
from toolkit.events import EventLog, conform, period_bounds
from toolkit.events.covariates import business_unit_of, survey_month, vendor_outage_at_open
from toolkit.events.schema import text
from toolkit.sim.levers import (
    WorldLevers,
    care_factors,
    change_pace,
    diligence_factors,
    natural_levers,
)
from toolkit.sim.streams import hash_ids, poisson, stream, uniforms

HOURS_PER_YEAR = 8766.0  # 365.25 days
SYMPTOM_DELAY_HOURS = 2.0  # mean time from a failed change to the incidents it causes
EMERGENCY_JUSTIFICATION = "urgent: restore or protect service"
# Change work waits behind every priority 1-2 incident (their queue keys stay below 3 even
# with cherry-picking) and is served first come first served with priority 3 tickets, ahead
# of priority 4: a change is booked work, but an outage or a degraded service comes first.
CHANGE_QUEUE_KEY = 3.0


class IncidentRecord:
    """The state of one incident while the world runs."""

    __slots__ = (
        "incident_id",
        "service_id",
        "team_id",
        "priority",
        "root_cause",
        "change_id",
        "vendor_id",
        "opened",
        "responded",
        "resolved",
        "reopens",
        "reassignments",
        "queue_key",
        "done",
    )

    def __init__(
        self, incident_id, service, team_id, priority, root_cause, change_id, vendor_id, opened
    ):
        self.incident_id = incident_id
        self.service_id = service.id
        self.team_id = team_id
        self.priority = priority
        self.root_cause = root_cause
        self.change_id = change_id
        self.vendor_id = vendor_id
        self.opened = opened
        self.responded = math.nan
        self.resolved = math.nan
        self.reopens = 0
        self.reassignments = 0
        self.done = False


FIXED_TEXT = ("incident_id", "service_id", "team_id", "root_cause", "change_id", "vendor_id")
FIXED_NUMBERS = {"opened": float, "priority": np.int64, "reassignments": np.int64}
CHANGING_NUMBERS = {"responded": float, "resolved": float, "reopens": np.int64}


class IncidentColumns:
    """Incident records as columns, each converted once; unfinished ones are read again.

    An incident's ids, opening, priority and reassignments are set when it is recorded; its
    response, resolution and reopens change until its handling ends (``done``). Period by
    period the loop asks for the log, so rebuilding every column each time would cost more
    than the simulation itself.
    """

    def __init__(self) -> None:
        self.count = 0
        self.text = {name: np.empty(0, dtype=object) for name in FIXED_TEXT}
        self.numbers = {
            name: np.empty(0, dtype=dtype)
            for name, dtype in {**FIXED_NUMBERS, **CHANGING_NUMBERS}.items()
        }
        self.hashed = np.empty(0, dtype=np.uint64)
        self.pending = np.empty(0, dtype=np.int64)  # rows whose handling had not ended

    def update(self, records: list[IncidentRecord]) -> None:
        """Convert the records added since the last update and re-read unfinished ones."""
        new = records[self.count :]
        for name in FIXED_TEXT:
            values = np.array([getattr(r, name) for r in new], dtype=object)
            self.text[name] = np.concatenate([self.text[name], values])
        added = hash_ids(self.text["incident_id"][self.count :])
        self.hashed = np.concatenate([self.hashed, added])
        for name, dtype in FIXED_NUMBERS.items():
            values = np.fromiter((getattr(r, name) for r in new), dtype=dtype, count=len(new))
            self.numbers[name] = np.concatenate([self.numbers[name], values])
        rows = np.concatenate([self.pending, np.arange(self.count, len(records))])
        for name, dtype in CHANGING_NUMBERS.items():
            column = np.resize(self.numbers[name], len(records))
            column[rows] = np.fromiter(
                (getattr(records[i], name) for i in rows), dtype=dtype, count=len(rows)
            )
            self.numbers[name] = column
        done = np.fromiter((records[i].done for i in rows), dtype=bool, count=len(rows))
        self.pending = rows[~done]
        self.count = len(records)


class ChangeRecord:
    """The state of one change request while the world runs."""

    __slots__ = (
        "change_id",
        "service",
        "type",
        "submitted",
        "implemented",
        "failed",
        "justification",
    )

    def __init__(self, change_id, service, change_type, submitted, failed, justification):
        self.change_id = change_id
        self.service = service
        self.type = change_type
        self.submitted = submitted
        self.implemented = math.nan
        self.failed = failed
        self.justification = justification


def _work_sampler(spec) -> Callable[[random.Random], float]:
    if isinstance(spec, Exponential):
        rate = 1.0 / spec.mean_hours
        return lambda rng: rng.expovariate(rate)
    mu, sigma = math.log(spec.median_hours), spec.sigma
    return lambda rng: rng.lognormvariate(mu, sigma)


def _median_work(spec) -> float:
    return spec.mean_hours * math.log(2) if isinstance(spec, Exponential) else spec.median_hours


def _chooser(shares: dict) -> Callable[[random.Random], object]:
    """Draw a key with probability proportional to its share, using one uniform draw."""
    keys = [k for k, v in shares.items() if v > 0]
    cumulative = list(accumulate(shares[k] for k in keys))
    total = cumulative[-1]

    def choose(rng: random.Random):
        u = rng.random() * total
        for key, edge in zip(keys, cumulative, strict=True):
            if u < edge:
                return key
        return keys[-1]

    return choose


class World:
    """One run of the organisation in its own SimPy Environment.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    seed : int, optional
        Overrides the scenario's seed.

    Attributes
    ----------
    busy_hours : dict of str to float
        Hours of work each team's handlers have started on incidents and changes, so far:
        the load behind the team's utilisation.

    Examples
    --------
    >>> from toolkit.config import load_scenario
    >>> log = World(load_scenario("scenarios/small.yaml"), seed=1).run()  # doctest: +SKIP
    >>> log.incidents.root_cause.unique()  # doctest: +SKIP
    """

    def __init__(self, scenario: Scenario, seed: int | None = None):
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.env = simpy.Environment()
        self.start = pd.Timestamp(scenario.horizon.start)
        self.end = self.start + pd.DateOffset(years=scenario.horizon.years)
        self.horizon_hours = (self.end - self.start) / pd.Timedelta(hours=1)

        env_cfg = scenario.environment
        self.incident_cfg = env_cfg.incidents
        targets = self.incident_cfg.sla_target_hours
        self._targets = np.full(max(targets) + 1, np.nan)  # SLA target hours by priority
        self._targets[list(targets)] = list(targets.values())
        self.change_cfg = env_cfg.changes
        self.csat_cfg = env_cfg.csat
        self.queues = {
            team.id: simpy.PriorityResource(self.env, capacity=team.capacity)
            for team in scenario.organisation.teams
        }
        self.work_time = {p: _work_sampler(s) for p, s in self.incident_cfg.work_time.items()}
        self.median_work = {p: _median_work(s) for p, s in self.incident_cfg.work_time.items()}
        self.periods = period_bounds(self.start, self.end, scenario.horizon.period)
        self.edges = [(end - self.start) / pd.Timedelta(hours=1) for end in self.periods["end"]]
        effects = env_cfg.behaviour.levers
        self.effects = effects
        natural = natural_levers(effects)
        self.levers = {team.id: natural for team in scenario.organisation.teams}
        self.lagged_effort = {
            team.id: natural.reliability_effort for team in scenario.organisation.teams
        }
        self.incident_multiplier = dict.fromkeys(self.levers, 1.0)
        self.change_multiplier = dict.fromkeys(self.levers, 1.0)
        self.draw_priority = _chooser(self.incident_cfg.priority_mix)
        self.draw_change_type = _chooser(self.change_cfg.mix.model_dump())
        self.incidents: list[IncidentRecord] = []
        self.incident_columns = IncidentColumns()
        self.changes: list[ChangeRecord] = []
        self.busy_hours = dict.fromkeys(self.queues, 0.0)
        self.outages: list[tuple] = []
        self._outage_count = 0
        # per vendor: what its effort multiplies its own outage rate and durations by
        self.vendor_factors = {v.id: (1.0, 1.0) for v in scenario.organisation.vendors}

        for service in scenario.organisation.services:
            self.env.process(self._incident_arrivals(service))
            if self.change_cfg.rate_per_service_per_year > 0:
                self.env.process(self._change_requests(service))
        for vendor in scenario.organisation.vendors:
            self.env.process(self._supplier_outages(vendor, None))
            for subcontractor in vendor.subcontractors:
                self.env.process(self._supplier_outages(vendor, subcontractor))
        if env_cfg.attacks.rate_per_year > 0:
            self.env.process(self._attacks())
        self.cab_queue: list[simpy.Event] = []
        if self.change_cfg.cab_capacity_per_week:
            self.env.process(self._cab_meetings(self.change_cfg.cab_capacity_per_week))

    # -- incidents ---------------------------------------------------------------------

    def incident_rate_per_hour(self, service: Service) -> float:
        """Incident rate of a service at the start of the horizon (ageing raises it later)."""
        cfg = self.incident_cfg
        rate = (
            cfg.base_rate_per_service_per_year
            * service.complexity**cfg.complexity_exponent
            * math.exp(cfg.age_effect_per_year * service.platform_age_years)
            * cfg.tier_multiplier.get(service.criticality, 1.0)
        )
        return rate / HOURS_PER_YEAR

    def begin_period(self, levers: dict[str, WorldLevers]) -> None:
        """Set the teams' levers for the next period; reliability work shows with a lag."""
        effects = self.effects
        pull = 1.0 / (1.0 + effects.reliability_lag_periods)
        natural = effects.baseline_reliability_effort
        for team_id, chosen in levers.items():
            self.levers[team_id] = chosen
            lagged = self.lagged_effort[team_id]
            lagged += pull * (chosen.reliability_effort - lagged)
            self.lagged_effort[team_id] = lagged
            _, recurrence = diligence_factors(effects, chosen.diligence)
            self.incident_multiplier[team_id] = recurrence * math.exp(
                -effects.reliability_effect * (lagged - natural)
            )
            self.change_multiplier[team_id] = change_pace(
                effects, chosen.change_rate, chosen.reliability_effort, chosen.change_care
            )

    def set_vendor_factors(self, factors: dict[str, tuple[float, float]]) -> None:
        """Set, from now on, what vendors' effort multiplies their outage rate and durations by.

        An outage of the vendor's own (not its subcontractors') is prevented with chance
        1 − rate factor, decided by a draw hashed from the event (Poisson thinning: the rate
        falls by the factor), and lasts the duration factor times its drawn length. At 1 and 1
        nothing is drawn and the world is exactly as without vendor effort.
        """
        self.vendor_factors.update(factors)

    def _poisson_arrivals(
        self, clock: random.Random, intensity: Callable[[], float], growth: float, arrive
    ) -> Generator:
        """Call ``arrive()`` at the points of a Poisson process.

        Its intensity is ``intensity() * exp(growth * t)`` per hour; ``intensity()`` is read
        again at each period boundary, where levers change.
        """
        env = self.env
        t, need = 0.0, clock.expovariate(1.0)
        for edge in self.edges:
            rate = intensity()
            # work on the integrated-intensity scale: level(t) = exp(growth t), or t itself
            if growth == 0:
                scale, level, top = rate, t, edge
            else:
                scale, level, top = rate / growth, math.exp(growth * t), math.exp(growth * edge)
            while need < scale * (top - level):
                level += need / scale
                t = level if growth == 0 else math.log(level) / growth
                yield env.timeout(t - env.now)
                arrive()
                need = clock.expovariate(1.0)
            need -= scale * (top - level)
            t = edge
            if edge > env.now:
                yield env.timeout(edge - env.now)

    def _incident_arrivals(self, service: Service) -> Generator:
        """Incidents at a rate that grows with platform age and falls with reliability work."""
        draws = stream(self.seed, f"incidents/{service.id}")
        base = self.incident_rate_per_hour(service)
        multiplier = self.incident_multiplier
        owner = service.owning_team
        return self._poisson_arrivals(
            stream(self.seed, f"arrivals/{service.id}"),
            lambda: base * multiplier[owner],
            self.incident_cfg.age_effect_per_year / HOURS_PER_YEAR,
            lambda: self.open_incident(service, draws),
        )

    def open_incident(
        self,
        service: Service,
        rng: random.Random,
        root_cause: str = "internal",
        priority: int | None = None,
        change_id: str | None = None,
        vendor_id: str | None = None,
        fixed_at: float = 0.0,
    ) -> IncidentRecord:
        """Open an incident now and start its handling; all its draws come from ``rng``.

        ``fixed_at`` is the earliest time it can be resolved (the end of an outage).
        """
        cfg = self.incident_cfg
        if priority is None:
            priority = self.draw_priority(rng)
        sample = self.work_time[priority]
        work = sample(rng)
        team_id = service.owning_team
        if service.supporting_teams:
            handlers = [team_id, *service.supporting_teams]
            team_id = handlers[int(rng.random() * len(handlers))]
        # the handling team's diligence shortens the work; the draw itself stays the same
        pace, _ = diligence_factors(self.effects, self.levers[team_id].diligence)
        work *= pace
        record = IncidentRecord(
            f"INC{len(self.incidents) + 1:07d}",
            service,
            team_id,
            priority,
            root_cause,
            change_id,
            vendor_id,
            self.env.now,
        )
        delay = 0.0
        while rng.random() < cfg.reassignment_probability:
            record.reassignments += 1
            if cfg.reassignment_delay_hours > 0:
                delay += rng.expovariate(1.0 / cfg.reassignment_delay_hours)
        rework = []
        while rng.random() < cfg.reopen_probability:
            gap = rng.expovariate(1.0 / cfg.reopen_delay_hours)
            rework.append((gap, cfg.reopen_work_fraction * pace * sample(rng)))
        picking = self.levers[team_id].cherry_picking
        # cherry-picking: within a priority, shorter work goes first
        typical = self.median_work[priority]
        record.queue_key = priority + picking * work / (work + typical) if picking else priority
        self.incidents.append(record)
        handling = self._handle(record, work, rework, fixed_at)
        if delay > 0:  # the owning team gets it only after the reassignments
            self.env.timeout(delay).callbacks.append(lambda _: self.env.process(handling))
        else:
            self.env.process(handling)
        return record

    def _handle(self, record, work, rework, fixed_at) -> Generator:
        env = self.env
        queue = self.queues[record.team_id]
        pending = iter(rework)
        swarmed = record.priority in self.incident_cfg.swarm_priorities
        while True:
            if swarmed:  # a handler drops other work at once: no queue
                yield from self._work(record, work)
            else:
                with queue.request(priority=record.queue_key) as turn:
                    yield turn
                    yield from self._work(record, work)
            if fixed_at > env.now:
                yield env.timeout(fixed_at - env.now)
            record.resolved = env.now
            step = next(pending, None)
            if step is None:
                record.done = True
                return
            gap, work = step
            yield env.timeout(gap)
            record.resolved = math.nan
            record.reopens += 1

    def _work(self, record, work) -> Generator:
        if record.reopens == 0:
            record.responded = self.env.now
        self.busy_hours[record.team_id] += work
        yield self.env.timeout(work)

    # -- changes -----------------------------------------------------------------------

    def _change_requests(self, service: Service) -> Generator:
        """Make change requests at the team's pace.

        Every change draws the same numbers whatever the levers, so lever settings compare on
        common random numbers. Its engineering hours come from a stream of their own, one
        exponential draw per change scaled by its type's mean, so that setting the hours to 0
        leaves every other draw as it was.
        """
        cfg = self.change_cfg
        rng = stream(self.seed, f"changes/{service.id}")
        symptoms = stream(self.seed, f"change-incidents/{service.id}")
        work_draws = stream(self.seed, f"change-work/{service.id}")
        mean_work = cfg.engineering_hours.model_dump()
        mean_lead = {
            "standard": cfg.standard_lead_time_days * 24,
            "normal": cfg.cab_lead_time_days * 24,
            "emergency": cfg.emergency_lead_time_hours,
            "unauthorized": 0.0,
        }
        fail = cfg.failure_probability.model_dump()
        effects = self.effects
        owner = service.owning_team
        base = cfg.rate_per_service_per_year / HOURS_PER_YEAR
        multiplier = self.change_multiplier

        def request() -> None:
            levers = self.levers[owner]
            change_type = self.draw_change_type(rng)
            u_abuse, u_unjustified, u_fail = rng.random(), rng.random(), rng.random()
            unit_lead = rng.expovariate(1.0)
            unit_work = work_draws.expovariate(1.0)
            justification = EMERGENCY_JUSTIFICATION if change_type == "emergency" else None
            if change_type == "normal" and u_abuse < levers.emergency_abuse:
                change_type = "emergency"  # pushed through to skip CAB
                justification = None if u_unjustified < 0.5 else EMERGENCY_JUSTIFICATION
            failure_factor, lead_factor, _ = care_factors(effects, levers.change_care)
            lead = unit_lead * mean_lead[change_type] * lead_factor
            failed = u_fail < fail[change_type] * failure_factor
            caused = 1 + poisson(symptoms, cfg.incidents_per_failed_change - 1) if failed else 0
            onsets = sorted(symptoms.expovariate(1.0 / SYMPTOM_DELAY_HOURS) for _ in range(caused))
            record = ChangeRecord(
                f"CHG{len(self.changes) + 1:06d}",
                service,
                change_type,
                self.env.now,
                failed,
                justification,
            )
            self.changes.append(record)
            work = unit_work * mean_work[change_type]
            self.env.process(self._implement(record, lead, work, onsets, symptoms))

        return self._poisson_arrivals(
            stream(self.seed, f"change-arrivals/{service.id}"),
            lambda: base * multiplier[owner],
            0.0,
            request,
        )

    def _implement(self, record, lead, work, onsets, rng) -> Generator:
        """Wait for the lead time and approval, then do the work in the owning team's queue.

        The change counts as implemented when its work ends; its failures show from then on.
        """
        yield self.env.timeout(lead)
        if record.type == "normal" and self.change_cfg.cab_capacity_per_week:
            approval = self.env.event()
            self.cab_queue.append(approval)
            yield approval
        if work > 0:
            team_id = record.service.owning_team
            with self.queues[team_id].request(priority=CHANGE_QUEUE_KEY) as turn:
                yield turn
                self.busy_hours[team_id] += work
                yield self.env.timeout(work)
        record.implemented = self.env.now
        for onset in onsets:
            yield self.env.timeout(record.implemented + onset - self.env.now)
            self.open_incident(record.service, rng, root_cause="change", change_id=record.change_id)

    def _cab_meetings(self, capacity: int) -> Generator:
        """Approve waiting normal changes weekly, first come first served, up to capacity."""
        while True:
            yield self.env.timeout(7 * 24.0)
            approved, self.cab_queue = self.cab_queue[:capacity], self.cab_queue[capacity:]
            for approval in approved:
                approval.succeed()

    # -- outages -----------------------------------------------------------------------

    def _record_outage(self, source, vendor_id, subcontractor_id, service, duration) -> None:
        self.outages.append(
            (
                f"OUT{self._outage_count:06d}",
                source,
                vendor_id,
                subcontractor_id,
                service.id,
                self.env.now,
                self.env.now + duration,
            )
        )

    def _supplier_outages(self, vendor: Vendor, subcontractor: Subcontractor | None) -> Generator:
        supplier = subcontractor or vendor
        if supplier.outage_rate_per_year == 0:
            return
        name = f"outages/{vendor.id}" + (f"/{subcontractor.id}" if subcontractor else "")
        rng = stream(self.seed, name)
        rate = supplier.outage_rate_per_year / HOURS_PER_YEAR
        dependents = [
            s for s in self.scenario.organisation.services if vendor.id in s.vendor_dependencies
        ]
        sub_id = subcontractor.id if subcontractor else None
        events = 0
        while True:
            yield self.env.timeout(rng.expovariate(rate))
            duration = rng.expovariate(1.0 / supplier.mean_outage_hours)
            events += 1
            if subcontractor is None:
                rate_factor, duration_factor = self.vendor_factors[vendor.id]
                if rate_factor < 1.0:
                    key = np.array([f"{name}/{events}"], dtype=object)
                    if uniforms(hash_ids(key), self.seed, "vendor-effort")[0] >= rate_factor:
                        continue  # the vendor's effort prevented this outage (thinning)
                duration *= duration_factor
            self._outage_count += 1
            for service in dependents:
                self._record_outage("vendor", vendor.id, sub_id, service, duration)
                self.open_incident(
                    service,
                    rng,
                    root_cause="vendor",
                    priority=service.criticality,
                    vendor_id=vendor.id,
                    fixed_at=self.env.now + duration,
                )

    def _attacks(self) -> Generator:
        cfg = self.scenario.environment.attacks
        rng = stream(self.seed, "attacks")
        services = self.scenario.organisation.services
        rate = cfg.rate_per_year / HOURS_PER_YEAR
        while True:
            yield self.env.timeout(rng.expovariate(rate))
            service = services[rng.randrange(len(services))]
            duration = rng.expovariate(1.0 / cfg.mean_outage_hours)
            self._outage_count += 1
            self._record_outage("external", None, None, service, duration)
            self.open_incident(
                service,
                rng,
                root_cause="external",
                priority=cfg.priority,
                fixed_at=self.env.now + duration,
            )

    # -- results -----------------------------------------------------------------------

    def advance(self, until_hours: float) -> None:
        """Run the world up to ``until_hours`` (a period boundary, or the horizon)."""
        self.env.run(until=min(until_hours, self.horizon_hours))

    def run(self) -> EventLog:
        """Run to the end of the horizon and return the true event log."""
        self.advance(self.horizon_hours)
        return self.event_log()

    @functools.cached_property
    def _services(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "service_id": s.id,
                    "team_id": s.owning_team,
                    "business_unit": s.business_unit,
                    "criticality": s.criticality,
                    "complexity": s.complexity,
                    "platform_age_years": s.platform_age_years,
                }
                for s in self.scenario.organisation.services
            ]
        ).pipe(conform, "services")

    def _outage_table(self) -> pd.DataFrame:
        columns = ["outage_id", "source", "vendor_id", "subcontractor_id", "service_id"]
        rows = list(zip(*self.outages, strict=True)) or [()] * (len(columns) + 2)
        table = {name: text(list(values)) for name, values in zip(columns, rows, strict=False)}
        table["start"] = self._timestamps(np.array(rows[-2], dtype=float))
        table["end"] = self._timestamps(np.array(rows[-1], dtype=float))
        return pd.DataFrame(table)

    def _timestamps(self, hours: np.ndarray) -> np.ndarray:
        """Convert hours from the start to times, to the second; NaN (not yet) to NaT."""
        seconds = np.round(np.asarray(hours, dtype=float) * 3600.0)
        known = ~np.isnan(seconds)
        nanoseconds = np.where(known, seconds, 0).astype(np.int64) * 1_000_000_000
        times = np.datetime64(self.start, "ns") + nanoseconds.astype("timedelta64[ns]")
        return np.where(known, times, np.datetime64("NaT", "ns"))

    def event_log(self, since: float | None = None) -> EventLog:
        """Return the true event log as it stands at the current simulation time.

        Parameters
        ----------
        since : float, optional
            Hours from the start. If given, only incidents and changes that can still count from
            then on are kept: opened (submitted) since, or not resolved (implemented) before it.
            The loop reads each period this way rather than rebuilding the whole history; rows
            keep their order, so any measurement from ``since`` on matches the full log's.
        """
        now = self.env.now
        cfg, csat = self.incident_cfg, self.csat_cfg
        columns = self.incident_columns
        columns.update(self.incidents)
        number, ids = columns.numbers, columns.text
        rows = slice(None)
        if since is not None:
            resolved = number["resolved"]
            rows = np.flatnonzero(
                (number["opened"] >= since) | np.isnan(resolved) | (resolved >= since)
            )
        opened, resolved = number["opened"][rows], number["resolved"][rows]
        priority, reopens = number["priority"][rows], number["reopens"][rows]
        target = self._targets[priority]
        elapsed = np.where(np.isnan(resolved), now - opened, resolved - opened)
        breached = elapsed > target
        closed = resolved + cfg.closure_delay_hours
        closed[closed > now] = np.nan
        # survey draws keyed by incident id: the same at every period end and in every run
        hashed = columns.hashed[rows]
        surveyed = ~np.isnan(resolved) & (
            uniforms(hashed, self.seed, "csat/response") < csat.response_rate
        )
        score = (
            csat.base_score
            - csat.breach_penalty * breached
            - csat.reopen_penalty * reopens
            + csat.noise_sd * ndtri(uniforms(hashed, self.seed, "csat/noise"))
        )
        incidents = pd.DataFrame(
            {
                "incident_id": text(ids["incident_id"][rows]),
                "service_id": text(ids["service_id"][rows]),
                "team_id": text(ids["team_id"][rows]),
                "opened_at": self._timestamps(opened),
                "responded_at": self._timestamps(number["responded"][rows]),
                "resolved_at": self._timestamps(resolved),
                "closed_at": self._timestamps(closed),
                "priority": priority,
                "priority_initial": priority,
                "root_cause": text(ids["root_cause"][rows]),
                "change_id": text(ids["change_id"][rows]),
                "vendor_id": text(ids["vendor_id"][rows]),
                "reopen_count": reopens,
                "reassignment_count": number["reassignments"][rows],
                "on_hold_hours": np.zeros(len(opened)),
                "sla_target_hours": target,
                "sla_breached": breached,
            }
        )
        outages = self._outage_table()
        if csat.has_external_factors:
            score = score + self._external_csat(incidents, outages)
        incidents["csat"] = np.where(surveyed, np.clip(np.round(score), 1, 5), np.nan)
        changes = self.changes
        if since is not None:
            changes = [
                c
                for c in changes
                if c.submitted >= since or not c.implemented < since  # NaN: not yet implemented
            ]
        implemented = np.array([c.implemented for c in changes], dtype=float)
        changes = pd.DataFrame(
            {
                "change_id": text([c.change_id for c in changes]),
                "team_id": text([c.service.owning_team for c in changes]),
                "service_id": text([c.service.id for c in changes]),
                "type": text([c.type for c in changes]),
                "submitted_at": self._timestamps(np.array([c.submitted for c in changes])),
                "implemented_at": self._timestamps(implemented),
                "cab_reviewed": [c.type == "normal" for c in changes],
                "failed": [c.failed and not math.isnan(c.implemented) for c in changes],
                "justification": text([c.justification for c in changes]),
            }
        )
        return EventLog(
            incidents=incidents,
            changes=changes,
            outages=outages,
            services=self._services,
            start=self.start,
            end=min(self.end, self.start + pd.Timedelta(hours=now)),
            meta={"scenario": self.scenario.name, "seed": self.seed, "view": "truth"},
        )

    def _external_csat(self, incidents: pd.DataFrame, outages: pd.DataFrame) -> np.ndarray:
        """Points the factors beyond IT's control add to each incident's score.

        They are read from the log as an analyst would read them (:mod:`toolkit.events.
        covariates`), so what the world applies is exactly what an adjustment can observe.
        No random draw is involved: the survey noise stays the one stream it was.
        """
        csat = self.csat_cfg
        month = np.zeros(13)
        for m, effect in csat.month_effect.items():
            month[m] = effect
        points = month[survey_month(incidents)]
        if csat.vendor_outage_penalty:
            points = points - csat.vendor_outage_penalty * vendor_outage_at_open(incidents, outages)
        if csat.business_unit_effect:
            units = business_unit_of(incidents, self._services)
            effects = csat.business_unit_effect
            points = points + np.array([effects.get(u, 0.0) for u in units], dtype=float)
        return points


def simulate(scenario: Scenario, seed: int | None = None) -> EventLog:
    """Simulate a scenario and return its true event log.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (see :func:`toolkit.config.load_scenario`).
    seed : int, optional
        Overrides ``scenario.seed``. Same scenario and seed give identical logs.

    Returns
    -------
    EventLog
        What really happened over the horizon.
    """
    return World(scenario, seed).run()
