"""Incentive plan models: how reported KPIs become awards, and how awards are paid.

A plan is data. It may ``extends:`` another plan and override fields, like a reform over a
baseline (see :func:`toolkit.plans.load_plan`). KPI names are checked against the KPI
catalogue when a plan is loaded, since configuration sits below the metrics layer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from toolkit.config.base import StrictModel
from toolkit.config.scenario import MAX_MONEY_PER_YEAR, Date, Probability, Tier

RootCause = Literal["internal", "change", "vendor", "external", "unknown"]
Percent = Annotated[float, Field(ge=0, le=1000)]


class CurvePoint(StrictModel):
    """A point of a scoring curve: at this level the metric pays this share of target."""

    level: float = Field(description="KPI level (basis 'level') or fractional improvement.")
    payout_pct: Percent = Field(description="Payout as % of the metric's target award.")


class LinearCurve(StrictModel):
    """Threshold / target / maximum, linear between; nothing below threshold, capped above."""

    kind: Literal["linear"]
    threshold: CurvePoint
    target: CurvePoint
    maximum: CurvePoint

    @model_validator(mode="after")
    def _monotone(self) -> LinearCurve:
        levels = [self.threshold.level, self.target.level, self.maximum.level]
        rising = levels[0] < levels[1] < levels[2]
        falling = levels[0] > levels[1] > levels[2]
        if not (rising or falling):
            raise ValueError(
                "threshold, target and maximum levels must be strictly increasing or "
                f"strictly decreasing (got {levels})"
            )
        pays = [self.threshold.payout_pct, self.target.payout_pct, self.maximum.payout_pct]
        if not pays[0] <= pays[1] <= pays[2]:
            raise ValueError(f"payouts must not fall from threshold to maximum (got {pays})")
        return self


class BracketCurve(StrictModel):
    """Explicit brackets: the payout of the last bracket whose level is reached."""

    kind: Literal["brackets"]
    direction: Literal["higher", "lower"] = Field(
        description="Whether levels are reached from below ('higher') or from above ('lower')."
    )
    brackets: list[CurvePoint] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> BracketCurve:
        levels = [b.level for b in self.brackets]
        wanted = sorted(levels, reverse=self.direction == "lower")
        if levels != wanted or len(set(levels)) != len(levels):
            order = "increasing" if self.direction == "higher" else "decreasing"
            raise ValueError(f"bracket levels must be strictly {order} (got {levels})")
        return self


Curve = Annotated[LinearCurve | BracketCurve, Field(discriminator="kind")]


class Baseline(StrictModel):
    """What a metric is compared with when its basis is an improvement."""

    policy: Literal["fixed", "rolling", "ratchet"] = Field(
        default="fixed",
        description="fixed: the mean of the pre-plan periods; rolling: the previous window; "
        "ratchet: the best of these so far (targets only get harder).",
    )
    window_periods: int = Field(default=4, ge=1, le=40, description="Periods in the window.")


class DefectPenalty(StrictModel):
    """Post-implementation defects netted against delivery: speed pays only for what holds.

    Each incident linked to one of the team's changes and opened by ``window_days`` after its
    implementation takes ``per_incident`` changes off the period's change throughput, which
    never falls below 0 (see the ``change_caused_incidents`` KPI).
    """

    window_days: float = Field(
        gt=0,
        le=365,
        description="Days after implementation within which a linked incident is the change's "
        "defect (ITIL early-life support: about 14).",
    )
    per_incident: float = Field(
        gt=0,
        le=100,
        description="Changes a defect takes off the throughput counted (1: a change that "
        "caused one incident counts for nothing).",
    )


class Metric(StrictModel):
    """One rewarded KPI."""

    kpi: str = Field(min_length=1, description="A KPI name from `lti kpis --list`.")
    weight: float = Field(gt=0, description="Relative weight in the composite score.")
    basis: Literal["level", "improvement"] = Field(
        default="improvement",
        description="Score the KPI's level, or its fractional improvement over the baseline "
        "in the KPI's better direction.",
    )
    curve: Curve
    normalisation: Literal["none", "expected_volume", "service_baseline"] = Field(
        default="none",
        description="none; expected_volume: observed / expected from a Poisson GLM on "
        "complexity, age and criticality; service_baseline: each service against its own "
        "baseline.",
    )
    exclude_root_causes: list[RootCause] = Field(
        default_factory=list, description="Incidents with these root causes are not measured."
    )
    tolerance: float = Field(
        default=0.0, ge=0, le=1, description="SLA tolerance band as a fraction of the target."
    )
    baseline: Baseline = Field(default_factory=Baseline)
    defect_penalty: DefectPenalty | None = Field(
        default=None,
        description="For change_throughput only: count delivery net of the incidents the "
        "team's changes caused soon after implementation.",
    )


class Trigger(StrictModel):
    """When a counter-metric fires; give exactly one condition."""

    rise_pct_over_baseline: float | None = Field(
        default=None, gt=0, description="Fires when the KPI rises this % over its baseline."
    )
    above: float | None = Field(default=None, description="Fires when the KPI exceeds this.")
    below: float | None = Field(default=None, description="Fires when the KPI falls below this.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        given = [
            k for k in ("rise_pct_over_baseline", "above", "below") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of rise_pct_over_baseline, above, below (got {given or 'none'})"
            )
        return self


class CounterMetric(StrictModel):
    """A KPI watched for gaming signatures, and what happens when it fires."""

    kpi: str = Field(min_length=1, description="The watched KPI.")
    trigger: Trigger
    action: Literal["multiplier", "zero_metric", "zero_award", "audit"]
    multiplier: float | None = Field(
        default=None, ge=0, le=1, description="Award multiplier, for action 'multiplier'."
    )
    metric: str | None = Field(
        default=None, description="The rewarded KPI to zero, for action 'zero_metric'."
    )
    baseline: Baseline = Field(default_factory=Baseline)

    @model_validator(mode="after")
    def _action_arguments(self) -> CounterMetric:
        if (self.action == "multiplier") != (self.multiplier is not None):
            raise ValueError("'multiplier' is required for action 'multiplier' and only there")
        if (self.action == "zero_metric") != (self.metric is not None):
            raise ValueError("'metric' is required for action 'zero_metric' and only there")
        return self


class Gate(StrictModel):
    """A disqualification rule: the team's award for the year is zero when it fires."""

    kpi: str = Field(min_length=1, description="A count KPI, e.g. unauthorized_count.")
    at_least: float = Field(gt=0, description="Disqualify when the year's total reaches this.")


class Funding(StrictModel):
    """Where the money comes from: the pool awards are paid out of."""

    basis: Literal["service_budget", "headcount"]
    budget_share_pct: float = Field(
        default=0.0, ge=0, le=100, description="% of owned services' annual budget (per year)."
    )
    criticality_multiplier: dict[Tier, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: {1: 1.5, 2: 1.2, 3: 1.0, 4: 0.8},
        description="Pool multiplier by service criticality tier.",
    )
    amount_per_head: float = Field(
        default=0.0,
        ge=0,
        le=MAX_MONEY_PER_YEAR,
        description="Pool per person per year, in the scenario currency.",
    )

    @model_validator(mode="after")
    def _basis_amount(self) -> Funding:
        if self.basis == "service_budget" and self.budget_share_pct == 0:
            raise ValueError("basis 'service_budget' needs budget_share_pct > 0")
        if self.basis == "headcount" and self.amount_per_head == 0:
            raise ValueError("basis 'headcount' needs amount_per_head > 0")
        return self


class Cap(StrictModel):
    """An upper limit on a year's awards; all awards scale pro rata when it binds."""

    pct_of_personnel_cost: float = Field(gt=0, le=200, description="% of annual base salaries.")


class Vesting(StrictModel):
    """When granted awards become the person's."""

    schedule: Literal["cliff", "graded"] = Field(
        description="cliff: all at the end of the performance period; graded: equal yearly "
        "tranches over it."
    )
    deferral_share: Probability = Field(
        default=0.0, description="Share of each vested amount held back before payment."
    )
    deferral_years: int = Field(default=0, ge=0, le=10, description="Years a deferral is held.")

    @model_validator(mode="after")
    def _deferral(self) -> Vesting:
        if self.deferral_share > 0 and self.deferral_years == 0:
            raise ValueError("deferral_share > 0 needs deferral_years >= 1")
        return self


Consequence = Literal["gaming_detected", "gate_breach", "misattribution_detected"]


class Malus(StrictModel):
    """Reduction of unvested (and deferred) awards when a trigger is found before vesting."""

    triggers: list[Consequence] = Field(min_length=1)
    reduction: Probability = Field(description="Share of the unvested amount forfeited.")


class Clawback(StrictModel):
    """Recovery of paid awards when a trigger is found after payment."""

    triggers: list[Consequence] = Field(min_length=1)
    lookback_years: int = Field(ge=1, le=10, description="How far back payments are recovered.")
    recovery: Probability = Field(description="Share of the paid amounts recovered.")


class Audit(StrictModel):
    """Random audits of a sample of the reported tickets against the truth.

    See :mod:`toolkit.behaviour.detection` for the model both the audit and the teams use.
    """

    probability_per_period: Probability = Field(
        default=0.0, description="Chance each team is audited in a period."
    )
    detection_power: Probability = Field(
        default=0.8,
        description="Chance the auditor recognises the evidence on a sampled gamed ticket "
        "(per-ticket recognition).",
    )
    sample_size: int = Field(
        default=25,
        ge=1,
        le=1000,
        description="Tickets an audit draws at random from the team's tickets of the period "
        "(and emergency changes a post-implementation review draws); all when fewer.",
    )
    root_cause_audit: bool = Field(
        default=False,
        description="Audits also check vendor and external attributions against outage records.",
    )


# The leaver reasons an HR roster may give (its ``leaver_reason`` column).
LeaverReason = Literal[
    "retirement",
    "ill_health",
    "death",
    "redundancy",
    "disability",
    "transfer_of_undertaking",
    "mutual_agreement",
    "resignation",
    "dismissal_misconduct",
    "dismissal_performance",
    "end_of_contract",
]
LEAVER_REASONS = get_args(LeaverReason)
GOOD_LEAVER_REASONS = LEAVER_REASONS[:6]  # the default good-leaver reasons, retirement to TUPE


class GoodLeaver(StrictModel):
    """What a good leaver keeps of the awards not yet vested when they leave."""

    treatment: Literal["pro_rata", "keep", "forfeit"] = Field(
        default="pro_rata",
        description="pro_rata: keep the share of the cohort's performance window served "
        "(whole periods up to the leaving period); keep: all of it; forfeit: none of it.",
    )
    keep_deferred: bool = Field(
        default=True, description="Deferred amounts already vested are still paid."
    )


class BadLeaver(StrictModel):
    """What a bad leaver loses: all unvested awards, and optionally deferred amounts."""

    forfeit_deferred: bool = Field(
        default=False,
        description="Also forfeit vested amounts still held in deferral when they leave.",
    )


class Leavers(StrictModel):
    """Good- and bad-leaver rules: what happens to a leaver's awards.

    The default (no ``leavers:`` block) is the market norm of UK and EU LTI plans: retirement,
    ill health, death, disability, redundancy and a transfer of undertaking are good-leaver
    reasons, kept pro rata to service; every other reason (resignation, dismissal, end of
    contract, mutual agreement) makes a bad leaver, who forfeits unvested awards and keeps
    deferred ones.
    """

    good_reasons: list[LeaverReason] = Field(
        default_factory=lambda: list(GOOD_LEAVER_REASONS),
        description="Leaver reasons (HR roster's leaver_reason) that make a good leaver; "
        "every other reason makes a bad leaver.",
    )
    good: GoodLeaver = Field(default_factory=GoodLeaver)
    bad: BadLeaver = Field(default_factory=BadLeaver)

    @model_validator(mode="after")
    def _distinct(self) -> Leavers:
        repeated = sorted({r for r in self.good_reasons if self.good_reasons.count(r) > 1})
        if repeated:
            raise ValueError(f"good_reasons repeat {repeated}")
        return self


class LateData(StrictModel):
    """What the plan does with a period whose data misses its feed's deadline.

    ``provisional``: the period is scored at the deadline on the last known value (the
    team's last final score, or 100 % of target before any) and trued up in the ledger when
    the data arrives. ``hold``: the period scores nothing at the deadline and accrues when
    the data arrives. Data not in by ``missing_after_periods`` period closes after the
    period's own is missing, and ``missing`` decides: ``last_known`` makes the last known
    value final, ``zero`` scores the period 0.
    """

    policy: Literal["provisional", "hold"] = Field(
        default="provisional",
        description="provisional: score on the last known value and true up; hold: wait.",
    )
    missing: Literal["last_known", "zero"] = Field(
        default="last_known",
        description="Final score of a period whose data never arrives: the last known value or 0.",
    )
    missing_after_periods: int = Field(
        default=2,
        ge=1,
        le=8,
        description="Period closes after its own by which a period's data must be in; later "
        "it is missing.",
    )


class Provenance(StrictModel):
    """Who wrote a plan and on what authority."""

    author: str = Field(min_length=1)
    approved_on: Date | None = None
    source: str | None = Field(default=None, description="Policy document or decision reference.")


class Plan(StrictModel):
    """A long-term incentive plan: metrics, rules, money and consequences."""

    name: str = Field(min_length=1, description="Short name; plan files are named after it.")
    description: str = Field(min_length=1, description="What the plan is meant to show.")
    extends: str | None = Field(
        default=None, description="Name of the plan this one overrides (a reform over it)."
    )
    provenance: Provenance | None = None
    start_after_periods: int = Field(
        default=2,
        ge=1,
        le=40,
        description="Periods measured before the plan starts; they set the fixed baseline and "
        "teams do not respond to the plan yet.",
    )
    performance_period_years: int = Field(
        default=3, ge=1, le=10, description="Years a grant's performance is measured over."
    )
    grant_every_years: int = Field(
        default=1,
        ge=1,
        le=10,
        description="Years between grants; shorter than the "
        "performance period makes cohorts overlap.",
    )
    target_award_pct: dict[str, Percent] = Field(
        default_factory=dict, description="Target award per grant as % of base salary, by grade."
    )
    default_target_award_pct: Percent = Field(
        default=0.0, description="Target award % for grades not listed."
    )
    metrics: list[Metric] = Field(default_factory=list)
    attribution: Literal["owner", "equal", "contribution", "shapley"] = Field(
        default="owner",
        description="How a shared service's score is credited to the teams working on it.",
    )
    counter_metrics: list[CounterMetric] = Field(default_factory=list)
    gates: list[Gate] = Field(default_factory=list)
    funding: Funding | None = None
    cap: Cap | None = None
    vesting: Vesting = Field(default_factory=lambda: Vesting(schedule="cliff"))
    malus: Malus | None = None
    clawback: Clawback | None = None
    audit: Audit = Field(default_factory=Audit)
    leavers: Leavers | None = Field(
        default=None,
        description="Good- and bad-leaver rules applied to the awards of people HR says left; "
        "absent means the defaults of Leavers (see leaver_rules).",
    )

    late_data: LateData = Field(
        default_factory=LateData,
        description="How a period whose data is late or missing is scored and paid.",
    )

    @property
    def leaver_rules(self) -> Leavers:
        """Return the plan's leaver rules, or the documented defaults when it gives none.

        An absent block is kept absent (not filled in), so plans written before the rules
        existed keep their fingerprint and their cached runs.
        """
        return self.leavers if self.leavers is not None else Leavers()

    def fingerprint(self) -> str:
        """SHA-256 of the validated content.

        A plan that keeps the default late-data rule, or gives no leaver rules, keeps the
        fingerprint it had before those rules existed.
        """
        content = self.model_dump(mode="json")
        if content["late_data"] == LateData().model_dump(mode="json"):
            del content["late_data"]
        if content["leavers"] is None:
            del content["leavers"]
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
