"""Scenario models: an IT organisation, its environment, the horizon and the seed.

Every field carries a description with its unit; ``scenarios/README.md`` explains them by
example. Cross-references (a service owned by a team that does not exist) are checked by
:func:`toolkit.config.loading.check_scenario_references`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from toolkit.config.base import StrictModel

Priority = Literal[1, 2, 3, 4]
PRIORITIES = (1, 2, 3, 4)
Tier = Literal[1, 2, 3, 4]
# The id the KPI tables use for "every team" and "every service": no real id may take it.
AGGREGATE_ID = "ALL"
# Money, durations and rates are bounded so that awards and pools stay finite whatever a plan
# multiplies them by, times stay inside what pandas timestamps hold, and runs end.
MAX_MONEY_PER_YEAR = 1e9
MAX_BUDGET_PER_YEAR = 1e12
MAX_HOURS = 8766.0  # one year
MAX_DAYS = 365.25
MAX_EVENTS_PER_YEAR = 1e6
MAX_SEED = 2**63 - 1  # seeds are stored in 64-bit integer columns
# A run's events (late resolutions, closures, vesting and deferred payments up to twenty years
# on) may fall after its horizon; these round dates keep them all inside the range of pandas
# timestamps (1677-09-21 to 2262-04-11).
EARLIEST_DATE = dt.date(1700, 1, 1)
LATEST_DATE = dt.date(2200, 1, 1)


def _not_aggregate(value: str) -> str:
    if value == AGGREGATE_ID:
        raise ValueError(
            f"{AGGREGATE_ID!r} is reserved: KPI tables use it for every team or every service"
        )
    return value


def _within_pandas(value: dt.date) -> dt.date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(
            f"must lie between {EARLIEST_DATE} and {LATEST_DATE}, the dates a run's "
            "timestamps can hold"
        )
    return value


Identifier = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="Identifier: letters, digits, '_', '.', '-'; not 'ALL'.",
    ),
    AfterValidator(_not_aggregate),
]
Date = Annotated[dt.date, Field(strict=False), AfterValidator(_within_pandas)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Hours = Annotated[float, Field(gt=0, le=MAX_HOURS)]
Month = Annotated[int, Field(ge=1, le=12, description="Calendar month, 1 (January) to 12.")]


def _check_shares(shares: dict, what: str) -> dict:
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} shares must sum to 1 (they sum to {total:.4g})")
    return shares


class Horizon(StrictModel):
    """When the simulated organisation starts, how long it runs and how time is cut."""

    start: Date = Field(
        description="First day of the horizon (YYYY-MM-DD); all timestamps count from it."
    )
    years: int = Field(ge=1, le=30, description="Length of the horizon in years.")
    period: Literal["month", "quarter", "year"] = Field(
        description="Incentive and reporting period: month, quarter or year."
    )

    @model_validator(mode="after")
    def _end_within_pandas(self) -> Horizon:
        end = self.start.replace(year=self.start.year + self.years, day=min(self.start.day, 28))
        if end > LATEST_DATE:
            raise ValueError(
                f"ends after {LATEST_DATE} ({self.start} plus {self.years} years), the last "
                "date a run's timestamps can hold"
            )
        return self


class BusinessUnit(StrictModel):
    """A business unit that consumes services and is charged for their incentives."""

    id: Identifier
    name: str = Field(min_length=1, description="Display name.")


class Person(StrictModel):
    """A person in a team: who is paid, and who equal-pay and jurisdiction rules look at."""

    id: Identifier
    role: str = Field(min_length=1, description="Job role, e.g. engineer, team lead.")
    grade: str = Field(min_length=1, description="Pay grade; target awards are set per grade.")
    country: str = Field(
        pattern=r"^[A-Z]{2}$", description="Country of employment, ISO 3166-1 alpha-2 (e.g. DE)."
    )
    gender: Literal["female", "male", "nonbinary", "undisclosed"] = Field(
        description="Gender as recorded by HR, for equal-pay analysis."
    )
    base_salary: float = Field(
        gt=0, le=MAX_MONEY_PER_YEAR, description="Annual base salary in the scenario currency."
    )


class Team(StrictModel):
    """A team that owns services, handles their incidents and makes their changes."""

    id: Identifier
    name: str = Field(min_length=1, description="Display name.")
    capacity: int = Field(
        ge=1, le=1000, description="Incidents the team can work on at once (parallel handlers)."
    )
    people: list[Person] = Field(min_length=1, description="The team's members.")
    integrity: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="How much gaming costs the team in self-respect: 0 games whenever it pays, "
        "1 only for large gains (scales the integrity cost of gaming).",
    )
    risk_aversion: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="Relative (CRRA) risk aversion over pay: 0 risk neutral, 1 log utility.",
    )


class Service(StrictModel):
    """An IT service: where incidents happen and changes are made."""

    id: Identifier
    name: str = Field(min_length=1, description="Display name.")
    business_unit: Identifier = Field(description="Id of the business unit the service serves.")
    owning_team: Identifier = Field(description="Id of the team that owns and supports it.")
    criticality: Tier = Field(description="Criticality tier, 1 (most critical) to 4.")
    complexity: float = Field(
        gt=0, le=20, description="Relative complexity, 1 = typical; scales the incident rate."
    )
    platform_age_years: float = Field(
        ge=0, le=60, description="Age of the platform in years at the start of the horizon."
    )
    annual_budget: float = Field(
        ge=0, le=MAX_BUDGET_PER_YEAR, description="Annual run budget in the scenario currency."
    )
    vendor_dependencies: list[Identifier] = Field(
        default_factory=list, description="Ids of vendors whose outages take this service down."
    )
    supporting_teams: list[Identifier] = Field(
        default_factory=list,
        description="Ids of further teams that handle this shared service's incidents "
        "(each incident goes to the owner or a supporting team with equal chance).",
    )


SlaPeriod = Literal["month", "quarter"]
Percent = Annotated[float, Field(ge=0, le=100)]


class CreditBand(StrictModel):
    """One band of a service-credit scale: a shortfall from the target and what it costs."""

    shortfall_from_pct: float = Field(
        ge=0,
        le=100,
        description="Shortfall below the target, in percentage points, from which the band "
        "applies (0: any shortfall at all).",
    )
    credit_pct: Percent = Field(
        description="Credit the supplier owes, as % of its fees for the SLA period."
    )


class Bonus(StrictModel):
    """A bonus for beating a target by a margin."""

    above_target_pct: float = Field(
        ge=0,
        le=100,
        description="Attainment above the target, in percentage points, that earns the bonus.",
    )
    bonus_pct: Percent = Field(description="Bonus the customer pays, as % of the period's fees.")


def _check_bands(bands: list[CreditBand]) -> list[CreditBand]:
    starts = [band.shortfall_from_pct for band in bands]
    credits = [band.credit_pct for band in bands]
    if any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
        raise ValueError("credit bands must be listed by strictly increasing shortfall_from_pct")
    if any(b < a for a, b in zip(credits, credits[1:], strict=False)):
        raise ValueError("a larger shortfall may not cost a smaller credit_pct than a smaller one")
    return bands


Bands = Annotated[list[CreditBand], AfterValidator(_check_bands)]


class AvailabilityTerms(StrictModel):
    """Availability SLA: the share of the period the supplier's dependent services are up."""

    target_pct: float = Field(
        gt=0, le=100, description="Availability target in % of the SLA period's hours."
    )
    credit_bands: Bands = Field(
        default_factory=list, description="Service credits per band of shortfall (none: none)."
    )
    bonus: Bonus | None = Field(default=None, description="Bonus for beating the target.")


class TimeTerms(StrictModel):
    """Response or resolution SLA: the share of the supplier's incidents handled in time."""

    target_hours: dict[Priority, Hours] = Field(
        min_length=1,
        description="Time limit in hours per priority 1..4; priorities left out are not measured.",
    )
    required_pct: float = Field(
        gt=0,
        le=100,
        description="Share of the measured incidents, in %, that must be within their limit.",
    )
    credit_bands: Bands = Field(
        default_factory=list, description="Service credits per band of shortfall (none: none)."
    )
    bonus: Bonus | None = Field(default=None, description="Bonus for beating the target.")


class SlaTerms(StrictModel):
    """The service levels a supplier owes, how they are measured and what a miss costs."""

    period: SlaPeriod = Field(description="SLA measurement period: month or quarter.")
    monthly_fee: float = Field(
        ge=0,
        le=MAX_MONEY_PER_YEAR,
        description="Fees for the supplier's services in the scenario currency per month; "
        "credits and bonuses are shares of the fees of an SLA period.",
    )
    availability: AvailabilityTerms
    credit_cap_pct: Percent = Field(
        description="Most credits of one SLA period may add up to, in % of its fees."
    )
    bonus_cap_pct: Percent = Field(
        default=0.0, description="Most bonuses of one SLA period may add up to, in % of its fees."
    )


class SubcontractorContract(SlaTerms):
    """The terms a vendor holds its subcontractor to (back-to-back, usually looser)."""


class GainShare(StrictModel):
    """Gain-share: the vendor keeps a share of verified cost savings against a baseline."""

    vendor_share_pct: Percent = Field(description="Vendor's share of each verified saving, in %.")
    baseline_annual_cost: float = Field(
        gt=0,
        le=MAX_BUDGET_PER_YEAR,
        description="Cost baseline in scope, in the scenario currency per year, savings are "
        "measured against.",
    )
    services: list[Identifier] = Field(
        default_factory=list,
        description="Services in scope; empty: every service that depends on the vendor.",
    )
    min_saving: float = Field(
        default=0.0,
        ge=0,
        le=MAX_BUDGET_PER_YEAR,
        description="Smallest saving shared, in the scenario currency (materiality threshold).",
    )
    cap_pct_of_baseline: Percent = Field(
        description="Most the vendor may earn in a year, in % of the baseline."
    )


class DataDelivery(StrictModel):
    """Data the vendor must hand over, and by when."""

    id: Identifier
    content: Literal["incidents", "outages", "changes", "sla_report"] = Field(
        description="What is delivered: a table of the event log, or the SLA report."
    )
    due_days_after_period_end: int = Field(
        ge=0, le=365, description="Days after the end of each SLA period the delivery is due."
    )
    completeness_pct: float = Field(
        gt=0, le=100, description="Share of the period's records the delivery must hold, in %."
    )


PenaltyRule = Literal["proportional", "primary_owner", "capped"]
PRIMARY_SHARE = 0.5  # under primary_owner the vendor bears a penalty when its share exceeds this


class PenaltySharing(StrictModel):
    """How the penalty of an incident with vendor and internal contribution is shared.

    A joint failure is an incident on a service of the vendor's that one of its outages
    overlapped, or that the record attributes to it. Its contribution is the share of the
    incident's open time the vendor's outage covered (see :mod:`toolkit.metrics.joint_failures`).
    """

    rule: PenaltyRule = Field(
        description="proportional: each side pays its contribution; primary_owner: the larger "
        "contributor (the vendor above half) pays all; capped: proportional, with the vendor's "
        "total per SLA period capped at cap_pct of its fees, the rest falling to the customer."
    )
    penalty_per_incident: dict[Priority, Annotated[float, Field(ge=0, le=1e9)]] = Field(
        description="Penalty a joint failure carries, in the scenario currency per incident, "
        "per priority 1..4 (every priority needs one: none is valued at nothing by omission)."
    )
    cap_pct: Percent | None = Field(
        default=None,
        description="Under capped only: most the vendor pays in one SLA period, in % of its fees.",
    )

    @field_validator("penalty_per_incident")
    @classmethod
    def _every_priority(cls, value: dict) -> dict:
        missing = [p for p in PRIORITIES if p not in value]
        if missing:
            raise ValueError(
                f"no penalty for priorities {missing}; give one for each of {list(PRIORITIES)}"
            )
        return value

    @model_validator(mode="after")
    def _cap_with_capped_only(self) -> PenaltySharing:
        if self.rule == "capped" and self.cap_pct is None:
            raise ValueError("rule 'capped' needs cap_pct, the vendor's cap in % of its fees")
        if self.rule != "capped" and self.cap_pct is not None:
            raise ValueError(f"cap_pct applies to rule 'capped' only, not {self.rule!r}")
        return self


class VendorContract(SlaTerms):
    """A vendor's contract: SLA terms, credits and bonuses, gain-share and data deliveries."""

    response: TimeTerms | None = Field(
        default=None,
        description="Response SLA on incidents attributed to the vendor (opening to the "
        "vendor's acknowledgement; unmeasured on logs without one, the simulated log included).",
    )
    resolution: TimeTerms | None = Field(
        default=None,
        description="Resolution SLA on incidents attributed to the vendor (start to end of the "
        "vendor outage that explains the incident: the restoration of its cause).",
    )
    gain_share: GainShare | None = Field(default=None, description="Gain-share on savings.")
    data_deliveries: list[DataDelivery] = Field(
        default_factory=list, description="Data the vendor must deliver and by when."
    )
    penalty_sharing: PenaltySharing | None = Field(
        default=None,
        description="Penalty sharing on joint failures; none: the customer's plan alone decides "
        "(an internal-only exclusion rule).",
    )


class VendorReporting(StrictModel):
    """How the vendor reports its own outages: the vendor's reporting lever (default honest)."""

    late_outage_start: Probability = Field(
        default=0.0,
        description="Chance, per outage, that the vendor reports its start late (the clock "
        "starts when the customer chased it, not when the service fell over).",
    )


class VendorBehaviour(StrictModel):
    """How a vendor responds to its contract between periods; absent: the vendor never adapts.

    Like a team under a plan (``environment.behaviour.adaptation`` sets the step, candidates,
    inertia and logit noise for both), the vendor weighs candidate levers (effort, reporting
    late outage starts, contesting the customer's attributions) by what its contract would
    charge it on its last period, against effort, integrity and detection costs.
    """

    outage_rate_effect: float = Field(
        default=1.0,
        ge=0,
        le=5,
        description="The vendor's own outage rate scales as exp(-effect x effort), effort 0..1.",
    )
    outage_duration_effect: float = Field(
        default=0.5,
        ge=0,
        le=5,
        description="Its outages' durations scale as exp(-effect x effort), effort 0..1.",
    )
    effort_cost_pct: float = Field(
        default=10.0,
        ge=0,
        le=100,
        description="Cost of full effort, in % of the period's fees (quadratic in effort).",
    )
    integrity: Probability = Field(
        default=0.7, description="Scales the integrity cost of gaming, as a team's integrity."
    )
    integrity_cost_pct: float = Field(
        default=5.0,
        ge=0,
        le=100,
        description="Cost of reporting every outage late, in % of the period's fees, for "
        "integrity 1 (scales with integrity and intensity).",
    )
    risk_aversion: float = Field(
        default=1.0, ge=0, le=10, description="Relative (CRRA) risk aversion over the fees."
    )
    audit_probability: Probability = Field(
        default=0.25,
        description="Chance per period that the customer checks the vendor's outage report "
        "against its own tickets.",
    )
    audit_sample_size: int = Field(
        default=5, ge=1, le=1000, description="Outage events such a check samples."
    )
    audit_recognition: Probability = Field(
        default=0.8, description="Chance a sampled late-reported outage is recognised."
    )
    gaming_penalty_pct: float = Field(
        default=10.0,
        ge=0,
        le=100,
        description="What a finding of late-reported outages costs, in % of the period's fees.",
    )
    contest_cost_per_incident: float = Field(
        default=100.0,
        ge=0,
        le=1e6,
        description="Cost to the vendor of disputing one attribution, in the scenario currency.",
    )
    contest_success: Probability = Field(
        default=0.9,
        description="Chance that disputing an attribution no outage of the vendor explains "
        "overturns it (the customer's record then shows the incident's own cause).",
    )


class Subcontractor(StrictModel):
    """A vendor's own supplier; its outages reach services through the vendor."""

    id: Identifier
    name: str = Field(min_length=1, description="Display name.")
    outage_rate_per_year: float = Field(
        ge=0, le=MAX_EVENTS_PER_YEAR, description="Outages per year (Poisson)."
    )
    mean_outage_hours: float = Field(
        gt=0, le=MAX_HOURS, description="Mean outage duration in hours."
    )
    contract: SubcontractorContract | None = Field(
        default=None, description="The vendor's terms with this subcontractor."
    )


class Vendor(StrictModel):
    """An external supplier whose outages cause incidents on dependent services."""

    id: Identifier
    name: str = Field(min_length=1, description="Display name.")
    sla_availability_target: float = Field(
        gt=0, le=1, description="Contracted availability as a fraction, e.g. 0.995."
    )
    outage_rate_per_year: float = Field(
        ge=0, le=MAX_EVENTS_PER_YEAR, description="Outages per year (Poisson)."
    )
    mean_outage_hours: float = Field(
        gt=0, le=MAX_HOURS, description="Mean outage duration in hours."
    )
    subcontractors: list[Subcontractor] = Field(
        default_factory=list, description="The vendor's suppliers."
    )
    contract: VendorContract | None = Field(
        default=None, description="SLA terms, credits, gain-share and data deliveries."
    )
    reporting: VendorReporting = Field(
        default_factory=VendorReporting, description="How the vendor reports its outages."
    )
    behaviour: VendorBehaviour | None = Field(
        default=None,
        description="How the vendor adapts to its contract; none: its levers stay as given.",
    )

    @model_validator(mode="after")
    def _one_availability_target(self) -> Vendor:
        if self.contract is not None:
            contracted = self.contract.availability.target_pct
            if abs(contracted - 100 * self.sla_availability_target) > 1e-9:
                raise ValueError(
                    f"contract.availability.target_pct {contracted} contradicts "
                    f"sla_availability_target {self.sla_availability_target}; give the same "
                    "target in both (a share there, a percentage here)"
                )
        if self.behaviour is not None and self.contract is None:
            raise ValueError(
                "behaviour needs a contract: a vendor adapts to what its contract charges it"
            )
        return self


class Organisation(StrictModel):
    """Who is there: business units, services, teams and vendors."""

    business_units: list[BusinessUnit] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    teams: list[Team] = Field(min_length=1)
    vendors: list[Vendor] = Field(default_factory=list)


class Lognormal(StrictModel):
    """Lognormal work time: the right-skewed shape real resolution times have."""

    distribution: Literal["lognormal"]
    median_hours: float = Field(gt=0, le=MAX_HOURS, description="Median in hours.")
    sigma: float = Field(gt=0, le=4, description="Standard deviation of the log (unitless).")

    @property
    def mean_hours(self) -> float:
        """Mean in hours."""
        return self.median_hours * math.exp(self.sigma**2 / 2)


class Exponential(StrictModel):
    """Exponential work time: memoryless, as in textbook M/M/c queues."""

    distribution: Literal["exponential"]
    mean_hours: float = Field(gt=0, le=MAX_HOURS, description="Mean in hours.")


WorkTime = Annotated[Lognormal | Exponential, Field(discriminator="distribution")]


class IncidentDynamics(StrictModel):
    """How often incidents arrive, how long they take and what happens after."""

    base_rate_per_service_per_year: float = Field(
        gt=0,
        le=MAX_EVENTS_PER_YEAR,
        description="Incidents per service per year at complexity 1, age 0 and multiplier 1.",
    )
    complexity_exponent: float = Field(
        default=1.0, ge=0, le=5, description="Rate scales as complexity ** exponent (unitless)."
    )
    age_effect_per_year: float = Field(
        default=0.0,
        ge=-1,
        le=1,
        description="Rate scales as exp(effect * platform age in years); per year of age.",
    )
    tier_multiplier: dict[Tier, Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=lambda: {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0},
        description="Rate multiplier per criticality tier (unitless); missing tiers use 1.",
    )
    priority_mix: dict[Priority, Probability] = Field(
        description="Share of incidents opened at each priority, 1 (highest) to 4; sums to 1."
    )
    work_time: dict[Priority, WorkTime] = Field(
        description="Hands-on resolution time per priority, in hours, once a handler starts."
    )
    sla_target_hours: dict[Priority, Hours] = Field(
        description="Resolution SLA per priority in hours, from opening to resolution; every "
        "priority 1..4 needs one, since the record may move incidents between priorities."
    )
    reopen_probability: Probability = Field(
        description="Chance a resolved incident is reopened (per resolution)."
    )
    reopen_delay_hours: float = Field(
        default=24.0, gt=0, le=MAX_HOURS, description="Mean hours between resolution and reopening."
    )
    reopen_work_fraction: float = Field(
        default=0.5, gt=0, le=1, description="Share of the original work time a reopen needs."
    )
    reassignment_probability: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="Chance of each further reassignment before the owning team gets it.",
    )
    reassignment_delay_hours: float = Field(
        default=2.0, ge=0, le=MAX_HOURS, description="Mean hours lost per reassignment."
    )
    closure_delay_hours: float = Field(
        default=72.0,
        ge=0,
        le=MAX_HOURS,
        description="Hours from resolution to closure (confirmation window).",
    )
    swarm_priorities: list[Priority] = Field(
        default_factory=lambda: [1],
        description="Priorities worked at once without queueing (major-incident process).",
    )

    @field_validator("priority_mix")
    @classmethod
    def _mix_sums_to_one(cls, value: dict) -> dict:
        return _check_shares(value, "priority_mix")


class CsatModel(StrictModel):
    """Customer satisfaction survey on resolution, scored 1 to 5.

    Besides what IT controls (breaches, reopens), factors beyond its control move the score:
    the season, vendor outages and the business unit's mood. Each is observable in the log
    (:mod:`toolkit.events.covariates`), so an analyst can adjust for it.
    """

    response_rate: Probability = Field(description="Share of resolved incidents with a survey.")
    base_score: float = Field(ge=1, le=5, description="Mean score of an incident on time.")
    breach_penalty: float = Field(default=1.0, ge=0, le=4, description="Points lost on SLA breach.")
    reopen_penalty: float = Field(default=0.8, ge=0, le=4, description="Points lost per reopen.")
    noise_sd: float = Field(default=0.8, ge=0, le=4, description="Standard deviation in points.")
    month_effect: dict[Month, Annotated[float, Field(ge=-2, le=2)]] = Field(
        default_factory=dict,
        description="Points added to the score of an incident resolved in each calendar month "
        "1..12 (business seasonality: negative in busy months, when users are harsher); "
        "missing months add 0.",
    )
    vendor_outage_penalty: float = Field(
        default=0.0,
        ge=0,
        le=4,
        description="Points lost by an incident opened on a service while one of its vendors "
        "is in an outage there (users blame IT for the vendor).",
    )
    business_unit_effect: dict[Identifier, Annotated[float, Field(ge=-2, le=2)]] = Field(
        default_factory=dict,
        description="Points added to the score of an incident on a service of each business "
        "unit (the unit's mood); missing units add 0.",
    )

    @property
    def has_external_factors(self) -> bool:
        """Tell whether any factor beyond IT's control moves the scores."""
        return (
            any(self.month_effect.values())
            or self.vendor_outage_penalty > 0
            or any(self.business_unit_effect.values())
        )


class ChangeMix(StrictModel):
    """Share of changes by type; sums to 1."""

    standard: Probability = Field(description="Pre-approved, low-risk changes.")
    normal: Probability = Field(description="Changes that wait for the change advisory board.")
    emergency: Probability = Field(description="Urgent changes that skip the CAB queue.")
    unauthorized: Probability = Field(default=0.0, description="Changes made without a record.")


class ChangeFailure(StrictModel):
    """Probability that a change of each type fails in production."""

    standard: Probability
    normal: Probability
    emergency: Probability
    unauthorized: Probability = 0.3


class ChangeWork(StrictModel):
    """Mean hands-on engineering hours that implementing a change of each type takes.

    The hours occupy the owning team's capacity, so change work competes with incidents.
    """

    standard: float = Field(default=2.0, ge=0, le=MAX_HOURS, description="Routine change.")
    normal: float = Field(default=8.0, ge=0, le=MAX_HOURS, description="CAB-reviewed change.")
    emergency: float = Field(default=4.0, ge=0, le=MAX_HOURS, description="Urgent fix.")
    unauthorized: float = Field(default=2.0, ge=0, le=MAX_HOURS, description="Unrecorded change.")


class ChangeDynamics(StrictModel):
    """How teams change their services, and how changes fail."""

    rate_per_service_per_year: float = Field(
        ge=0, le=MAX_EVENTS_PER_YEAR, description="Changes per service per year."
    )
    mix: ChangeMix
    cab_lead_time_days: float = Field(
        gt=0,
        le=MAX_DAYS,
        description="Mean days a normal change waits for CAB approval and its slot.",
    )
    standard_lead_time_days: float = Field(
        default=1.0, ge=0, le=MAX_DAYS, description="Mean days from request to a standard change."
    )
    emergency_lead_time_hours: float = Field(
        default=4.0,
        ge=0,
        le=MAX_HOURS,
        description="Mean hours from request to an emergency change.",
    )
    failure_probability: ChangeFailure
    incidents_per_failed_change: float = Field(
        ge=1, le=50, description="Mean incidents a failed change causes (at least one)."
    )
    engineering_hours: ChangeWork = Field(
        default_factory=ChangeWork,
        description="Mean hands-on hours of the owning team per change, by type (0: no work).",
    )
    cab_capacity_per_week: int | None = Field(
        default=None,
        ge=1,
        le=10000,
        description="Normal changes the weekly CAB meeting can approve, organisation-wide; "
        "the rest wait for the next meeting. Omit for no limit (approval after the lead time).",
    )

    @field_validator("mix")
    @classmethod
    def _mix_sums_to_one(cls, value: ChangeMix) -> ChangeMix:
        _check_shares(value.model_dump(), "mix")
        return value


class ExternalAttacks(StrictModel):
    """Attacks from outside (e.g. DDoS) that take a random service down."""

    rate_per_year: float = Field(
        ge=0, le=MAX_EVENTS_PER_YEAR, description="Attacks per year across the organisation."
    )
    mean_outage_hours: float = Field(
        gt=0, le=MAX_HOURS, description="Mean outage duration in hours."
    )
    priority: Priority = Field(default=1, description="Priority of the incident an attack opens.")


class LeverEffects(StrictModel):
    """How the teams' operational levers change what really happens."""

    baseline_reliability_effort: float = Field(
        default=0.2,
        ge=0,
        lt=1,
        description="Share of capacity spent on reliability work (problem management, "
        "hardening) before any plan; the rest goes to delivery.",
    )
    reliability_effect: float = Field(
        default=1.5,
        ge=0,
        le=10,
        description="Incident rates scale as exp(-effect x (effort - baseline effort)).",
    )
    reliability_lag_periods: float = Field(
        default=2.0,
        ge=0,
        le=20,
        description="Mean lag, in periods, before reliability work shows in incident rates.",
    )
    baseline_change_care: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Care (testing, review) teams put into changes before any plan, 0..1; "
        "the scenario's failure probabilities and lead times hold at this level.",
    )
    care_failure_reduction: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="Change failure probability scales as 1 - reduction x (care - baseline care).",
    )
    care_lead_time_increase: float = Field(
        default=1.0,
        ge=0,
        le=2,
        description="Change lead times scale as 1 + increase x (care - baseline care).",
    )
    care_pace_effect: float = Field(
        default=0.3,
        ge=0,
        le=2,
        description="Change requests scale as 1 - effect x (care - baseline care): "
        "careful changes take more of the team's time.",
    )
    diligence_work_reduction: float = Field(
        default=0.25,
        ge=0,
        le=0.5,
        description="Hands-on incident work scales as 1 - reduction x diligence: full diligence "
        "(1, against the team's own standard 0) diagnoses and fixes faster.",
    )
    diligence_recurrence_reduction: float = Field(
        default=0.15,
        ge=0,
        le=0.5,
        description="Internal incident rates scale as 1 - reduction x diligence: fixes that find "
        "the root cause stop the same fault coming back.",
    )


class Adaptation(StrictModel):
    """How teams revise their levers between periods (bounded rationality)."""

    step: float = Field(
        default=0.2, gt=0, le=0.5, description="Size of one lever move, as a share of its range."
    )
    candidates: int = Field(
        default=12, ge=1, le=50, description="Candidate moves a team considers per period."
    )
    inertia: Probability = Field(
        default=0.25, description="Chance a team does not revise its levers in a period."
    )
    logit_temperature: float = Field(
        default=0.1,
        gt=0,
        le=10,
        description="Noise of the logit choice among improving moves, as a share of the "
        "largest utility gain (small: nearly always the best move).",
    )
    effort_cost_pct: float = Field(
        default=4.0,
        ge=0,
        le=100,
        description="Yearly cost, as % of the team's base salaries, of moving an operational "
        "lever by 1 from its natural level (quadratic in the move).",
    )
    diligence_cost_pct: float = Field(
        default=10.0,
        ge=0,
        le=100,
        description="Yearly cost, as % of the team's base salaries, of full diligence "
        "(quadratic: half diligence costs a quarter of it).",
    )
    joint_move_share: Probability = Field(
        default=0.5,
        description="Share of candidate moves that change two levers at once.",
    )
    discount_per_year: float = Field(
        default=0.15,
        ge=0,
        lt=1,
        description="Yearly rate at which a team discounts awards of later periods (share).",
    )
    integrity_cost_pct: float = Field(
        default=5.0,
        ge=0,
        le=100,
        description="Yearly cost, as % of base salaries, of a gaming lever at full intensity "
        "for a team of integrity 1 (scales with integrity and intensity); people forgo most "
        "of what lying gains them (Abeler, Nosenzo & Raymond 2019).",
    )


class Behaviour(StrictModel):
    """Lever effects and adaptation; defaults describe a typical organisation."""

    levers: LeverEffects = Field(default_factory=LeverEffects)
    adaptation: Adaptation = Field(default_factory=Adaptation)


class Environment(StrictModel):
    """The dynamics the organisation lives in."""

    incidents: IncidentDynamics
    csat: CsatModel
    changes: ChangeDynamics
    attacks: ExternalAttacks
    behaviour: Behaviour = Field(default_factory=Behaviour)


MAX_MONEY_PER_EVENT = 1e9  # bounds every figure of business impact, per hour or per change


def _every_key(value: dict, keys: tuple, what: str) -> dict:
    missing = [key for key in keys if key not in value]
    if missing:
        raise ValueError(
            f"no entry for {what} {missing}; every one of {list(keys)} needs a value, so that "
            "no event is valued at nothing by omission"
        )
    return value


Money = Annotated[float, Field(ge=0, le=MAX_MONEY_PER_EVENT)]


class BusinessImpact(StrictModel):
    """What the true outcomes cost or are worth to the business, in the scenario currency.

    The defaults are anchored in published downtime-cost surveys and scaled to the size of the
    shipped scenarios' service budgets; ``scenarios/README.md`` gives every anchor and the rule.
    """

    downtime_cost_per_hour: dict[Tier, Money] = Field(
        default_factory=lambda: {1: 15000.0, 2: 4000.0, 3: 800.0, 4: 150.0},
        description="Cost of one hour a service is down (outage or priority-1 incident, "
        "overlaps counted once), per criticality tier 1..4; currency per hour.",
    )
    unlisted_service_tier: Tier = Field(
        default=4,
        description="Tier a service takes when the log gives it no criticality (e.g. an "
        "ingested log without a service list).",
    )
    open_incident_cost_per_hour: dict[Priority, Money] = Field(
        default_factory=lambda: {1: 500.0, 2: 100.0, 3: 20.0, 4: 5.0},
        description="Cost of one hour an incident stays open (opening to resolution), per "
        "priority 1..4, on top of any downtime; currency per hour.",
    )
    failed_change_cost: Money = Field(
        default=2000.0,
        description="Cost of one failed change (rollback and rework), on top of the incidents "
        "it causes; currency per change.",
    )
    change_value: dict[Literal["standard", "normal", "emergency", "unauthorized"], Money] = Field(
        default_factory=lambda: {
            "standard": 500.0,
            "normal": 4000.0,
            "emergency": 2000.0,
            "unauthorized": 0.0,
        },
        description="Value to the business of one change implemented without failing, per "
        "change type; currency per change.",
    )

    @field_validator("downtime_cost_per_hour")
    @classmethod
    def _every_tier(cls, value: dict) -> dict:
        return _every_key(value, (1, 2, 3, 4), "tiers")

    @field_validator("open_incident_cost_per_hour")
    @classmethod
    def _every_priority(cls, value: dict) -> dict:
        return _every_key(value, PRIORITIES, "priorities")

    @field_validator("change_value")
    @classmethod
    def _every_type(cls, value: dict) -> dict:
        return _every_key(value, ("standard", "normal", "emergency", "unauthorized"), "types")


class FeedDelay(StrictModel):
    """How many days after a period's end a feed's data for it is delivered (lognormal).

    Most exports come in a few days after the period closes, a few take much longer (a
    survey tool's quarterly extract, a vendor's service report): the right-skewed shape a
    lognormal has.
    """

    median_days: float = Field(
        gt=0, le=MAX_DAYS, description="Median delivery delay in days after the period's end."
    )
    sigma: float = Field(
        default=0.5, ge=0, le=3, description="Standard deviation of the log (unitless); 0 fixed."
    )


class FeedSupplier(StrictModel):
    """The vendor a feed comes from, and which of its contract's deliveries carries it."""

    vendor: Identifier = Field(description="Id of the vendor that delivers the feed.")
    content: Literal["incidents", "outages", "changes", "sla_report"] = Field(
        description="The contract's data delivery (``data_deliveries[].content``) it arrives in."
    )


class DataFeed(StrictModel):
    """A data source the plan's KPIs are computed from, with its processing deadline (SLA).

    A period's data for the KPIs listed arrives ``delay`` days after the period's end; the
    incentive run for the period is due ``deadline_days`` after its end. Data later than the
    deadline is late: the plan's ``late_data`` rule says how such a period is scored. With
    ``missing_probability`` a period's delivery never comes. A feed a vendor supplies is bound
    by its contract's data-sharing clause: a complete delivery due on a day arrives by then
    (:func:`toolkit.run.data_availability.clause_due_days`).
    """

    id: Identifier
    name: str = Field(min_length=1, description="Display name, e.g. 'ITSM incident export'.")
    kpis: list[str] = Field(
        min_length=1, description="KPI names (from `lti kpis --list`) computed from this feed."
    )
    deadline_days: float = Field(
        ge=0, le=MAX_DAYS, description="Processing deadline: days after the period's end."
    )
    delay: FeedDelay = Field(description="Delivery delay distribution, in days.")
    missing_probability: Probability = Field(
        default=0.0, description="Chance a period's delivery never arrives (per period)."
    )
    supplier: FeedSupplier | None = Field(
        default=None,
        description="The vendor delivering the feed under its contract; none: an internal feed.",
    )

    @field_validator("kpis")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"KPIs repeat: {value}")
        return value


class Scenario(StrictModel):
    """A whole scenario: organisation, environment, horizon and seed."""

    name: str = Field(min_length=1, description="Short name.")
    description: str = Field(min_length=1, description="What the scenario represents.")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    horizon: Horizon
    seed: int = Field(ge=0, le=2**63 - 1, description="Default random seed; a run may override it.")
    organisation: Organisation
    environment: Environment
    business_impact: BusinessImpact = Field(
        default_factory=BusinessImpact,
        description="Money values of downtime, open incidents, failed and delivered changes.",
    )
    data_feeds: list[DataFeed] = Field(
        default_factory=list,
        description="Data sources with deadlines; none: every period's data is on time.",
    )

    def fingerprint(self) -> str:
        """SHA-256 of the validated content: equal scenarios share it, whatever their layout.

        A scenario without data feeds keeps the fingerprint it had before feeds existed.
        """
        content = self.model_dump(mode="json")
        if not content["data_feeds"]:
            del content["data_feeds"]
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
