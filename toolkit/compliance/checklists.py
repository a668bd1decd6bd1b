"""Review checklists of a plan: what legal, the works councils, payroll and records must sign.

A plan that pays people in several countries needs, before it starts, the same questions
answered in each of them. :func:`build_checklists` answers them from the plan, the scenario's
people and the jurisdiction rules (:mod:`toolkit.compliance.jurisdictions`):

``countries``
    Every country the scenario employs people in, with headcount and award holders (people
    whose grade has a target award above 0), whether the rules cover it and which rule kinds
    it lacks. A country without a rules file is listed as ``uncovered``, never skipped, and
    every other table gives it a row saying so.
``legal_sign_off``
    Every discretionary clause of the plan (:func:`discretionary_clauses`: targets and
    baselines, counter-metric cuts, gates, the funding pool, the cap, deferral, malus,
    clawback, leaver rules, audits, the late-data rule) in every country with award holders,
    beside that country's review point for the clause's kind (``discretion``,
    ``forfeiture`` or ``clawback``) and who signs.
``works_council``
    Per country, the duty towards employee representatives before the plan is introduced
    and its lead time, and ``start_consultation_by`` = the plan's start minus the lead time.
    The plan's start is the first day of its first scored period (period
    ``start_after_periods`` of the scenario's horizon) unless ``start`` is given; a lead
    time in months is counted back in calendar months, one in weeks or days in days.
``tax_classification``
    Per country and payment type: income-tax classification, the event that makes it
    taxable (grant, vest or payment), social-security treatment and when contributions fall
    due, with the moments that event happens in this plan.
``retention_calendar``
    :func:`toolkit.compliance.retention.calendar_summary` of
    :func:`~toolkit.compliance.retention.retention_check` on the covered countries, with the
    statutory minimum's source beside each row.

Every table carries :data:`~toolkit.compliance.jurisdictions.DISCLAIMER` (in a column and in
``attrs``) and each row the source, address, ``last_checked`` and enforcement status of the
rule it rests on. Not legal advice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from html import escape

import pandas as pd

from toolkit.compliance.jurisdictions import (
    CLAUSES,
    DISCLAIMER,
    PAYMENT_KINDS,
    RULE_KINDS,
    UNCHECKED,
    Jurisdiction,
    Rule,
    canonical_code,
    load_jurisdictions,
    load_rules,
)
from toolkit.compliance.pay_gap_html import STYLE
from toolkit.compliance.retention import (
    FREQUENCY,
    RETENTION_KINDS,
    RetentionPolicy,
    calendar_summary,
    markdown_table,
    retention_check,
)
from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario

UNCOVERED = "uncovered"
CITATION = ("source", "url", "last_checked", "enforcement_status")
RULE_FRAME_COLUMNS = (
    "jurisdiction", "rule_kind", "record_kind", "value", "unit", "starts", *CITATION, "note",
)  # fmt: skip
# who signs a clause of each review kind, per country
SIGNERS = {
    "discretion": "employment counsel ({country}); plan owner",
    "forfeiture": "employment counsel ({country}); plan owner",
    "clawback": "employment counsel ({country}); payroll ({country})",
}


@dataclass(frozen=True)
class Checklists:
    """The review checklists of a plan on a scenario (see the module docstring).

    Attributes
    ----------
    countries, legal_sign_off, works_council, tax_classification, retention_calendar
        The tables, each with a ``disclaimer`` column and ``attrs["disclaimer"]``.
    settings : dict
        Plan, scenario, the start counted back from, countries covered and uncovered.
    """

    countries: pd.DataFrame
    legal_sign_off: pd.DataFrame
    works_council: pd.DataFrame
    tax_classification: pd.DataFrame
    retention_calendar: pd.DataFrame
    settings: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return the tables by name, in the order of the checklist."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "settings"}


def _checked(rule: Rule | None) -> str:
    return rule.last_checked.isoformat() if rule and rule.last_checked else UNCHECKED


def _citation(rule: Rule | None, prefix: str = "") -> dict[str, str]:
    """Return a rule's source, address, check date and status (blank-cited when absent)."""
    if rule is None:
        values = ("no rule in the jurisdiction files", "", UNCHECKED, "")
    else:
        values = (rule.source, rule.url, _checked(rule), rule.enforcement_status)
    return {f"{prefix}{name}": value for name, value in zip(CITATION, values, strict=True)}


def rules_frame(kind: str, rules: Sequence[Rule] | None = None) -> pd.DataFrame:
    """Return the rules of one kind as a table, one row per country and record kind.

    Parameters
    ----------
    kind : str
        A rule kind of :data:`~toolkit.compliance.jurisdictions.RULE_KINDS`.
    rules : sequence of Rule, optional
        The rules to pick from; the shipped ones by default.

    Returns
    -------
    DataFrame
        ``jurisdiction, rule_kind, record_kind, value, unit, starts, source, url,
        last_checked, enforcement_status, note`` (``last_checked`` an ISO date or
        ``unchecked``) and ``disclaimer``.

    Raises
    ------
    ValueError
        For an unknown kind.
    """
    if kind not in RULE_KINDS:
        raise ValueError(f"unknown rule kind {kind!r}; known: {', '.join(RULE_KINDS)}")
    chosen = [r for r in (load_rules() if rules is None else rules) if r.rule_kind == kind]
    rows = [
        {
            "jurisdiction": r.jurisdiction,
            "rule_kind": r.rule_kind,
            "record_kind": r.record_kind,
            "value": r.value,
            "unit": r.unit,
            "starts": r.starts,
            **_citation(r),
            "note": r.note,
        }
        for r in chosen
    ]
    return _stamped(pd.DataFrame(rows, columns=list(RULE_FRAME_COLUMNS)))


def _stamped(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["disclaimer"] = DISCLAIMER
    frame.attrs["disclaimer"] = DISCLAIMER
    return frame


def _percent(share: float) -> str:
    return f"{share * 100:g} %"


def discretionary_clauses(plan: Plan) -> pd.DataFrame:
    """Return every clause of the plan whose effect a court may review, with its review kind.

    Parameters
    ----------
    plan : Plan
        The plan.

    Returns
    -------
    DataFrame
        ``clause`` (the plan's field), ``review`` (a key of
        :data:`~toolkit.compliance.jurisdictions.CLAUSES`) and ``detail`` (what the plan
        says, in words). Leaver rules are always listed: without a ``leavers`` block the
        plan applies the defaults of :class:`toolkit.config.plan.Leavers`.
    """
    rows: list[tuple[str, str, str]] = []

    def add(clause: str, review: str, detail: str) -> None:
        rows.append((clause, review, detail))

    if plan.metrics:
        moving = sorted({m.baseline.policy for m in plan.metrics if m.basis == "improvement"})
        baselines = f"; baselines: {', '.join(moving)}" if moving else ""
        add("metrics", "discretion", f"{len(plan.metrics)} KPI(s) with targets, weights and "
            f"payout curves set by the plan{baselines}")  # fmt: skip
    for i, counter in enumerate(plan.counter_metrics):
        action = counter.action
        if counter.multiplier is not None:
            action += f" x{counter.multiplier:g}"
        elif counter.metric is not None:
            action += f" ({counter.metric})"
        review = "discretion" if counter.action == "audit" else "forfeiture"
        add(f"counter_metrics[{i}]", review, f"{counter.kpi} watched: {action}")
    for i, gate in enumerate(plan.gates):
        add(f"gates[{i}]", "forfeiture", f"award 0 when {gate.kpi} reaches {gate.at_least:g}")
    if plan.funding is not None:
        add("funding", "discretion", f"awards paid out of a pool ({plan.funding.basis})")
    if plan.cap is not None:
        add("cap", "discretion", "all awards scaled down pro rata when a year's total exceeds "
            f"{plan.cap.pct_of_personnel_cost:g} % of base salaries")  # fmt: skip
    vesting = plan.vesting
    if vesting.deferral_share > 0:
        add("vesting.deferral", "forfeiture", f"{_percent(vesting.deferral_share)} of each "
            f"vested amount held {vesting.deferral_years} year(s) before payment")  # fmt: skip
    if plan.malus is not None:
        add("malus", "forfeiture", f"{_percent(plan.malus.reduction)} of unvested and deferred "
            f"awards forfeited on {', '.join(plan.malus.triggers)}")  # fmt: skip
    if plan.clawback is not None:
        back = plan.clawback
        add("clawback", "clawback", f"{_percent(back.recovery)} of payments of the last "
            f"{back.lookback_years} year(s) recovered on {', '.join(back.triggers)}")  # fmt: skip
    leavers = plan.leaver_rules
    bad = "unvested awards" + (" and deferred amounts" if leavers.bad.forfeit_deferred else "")
    defaults = "" if plan.leavers is not None else " (the plan's defaults)"
    add("leavers", "forfeiture", f"good leavers ({', '.join(leavers.good_reasons)}): "
        f"{leavers.good.treatment}; every other leaver forfeits {bad}{defaults}")  # fmt: skip
    audit = plan.audit
    if audit.probability_per_period > 0 or audit.root_cause_audit:
        add("audit", "discretion", f"audits (chance {audit.probability_per_period:g} per team "
            "and period) find the gaming that triggers malus and clawback")  # fmt: skip
    late = plan.late_data
    add("late_data", "forfeiture" if late.missing == "zero" else "discretion",
        f"late data scored {late.policy}; data missing after {late.missing_after_periods} "
        f"period closes scored {late.missing}")  # fmt: skip
    return pd.DataFrame(rows, columns=["clause", "review", "detail"])


def plan_start(plan: Plan, scenario: Scenario) -> dt.date:
    """Return the first day of the plan's first scored period on the scenario's horizon."""
    freq = FREQUENCY[scenario.horizon.period]
    first = pd.Period(pd.Timestamp(scenario.horizon.start), freq=freq)
    return (first + plan.start_after_periods).start_time.date()


def counted_back(start: dt.date, rule: Rule) -> dt.date:
    """Return ``start`` minus a lead-time rule's period (calendar months, or days)."""
    day = pd.Timestamp(start)
    if rule.months is not None:
        return (day - pd.DateOffset(months=rule.months)).date()
    return (day - pd.Timedelta(days=rule.days or 0)).date()


def _people(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    rows = []
    for team in scenario.organisation.teams:
        for person in team.people:
            pct = plan.target_award_pct.get(person.grade, plan.default_target_award_pct)
            rows.append((canonical_code(person.country), person.id, pct > 0))
    frame = pd.DataFrame(rows, columns=["jurisdiction", "person_id", "holder"])
    return frame.groupby("jurisdiction", sort=False).agg(
        headcount=("person_id", "size"), award_holders=("holder", "sum")
    )


def _countries(
    people: pd.DataFrame, known: dict[str, Jurisdiction], rules: Sequence[Rule]
) -> pd.DataFrame:
    order = [c for c in known if c in people.index] + sorted(set(people.index) - set(known))
    rows = []
    for code in order:
        kinds = {r.rule_kind for r in rules if r.jurisdiction == code}
        covered = code in known
        rows.append(
            {
                "jurisdiction": code,
                "name": known[code].name if covered else "",
                "headcount": int(people.loc[code, "headcount"]),
                "award_holders": int(people.loc[code, "award_holders"]),
                "coverage": "covered" if covered else UNCOVERED,
                "kinds_missing": ", ".join(k for k in RULE_KINDS if k not in kinds),
                "source": known[code].source if covered else f"no rules file for {code}",
            }
        )
    return pd.DataFrame(rows)


def _index(rules: Sequence[Rule]) -> dict[tuple[str, str, str], Rule]:
    return {(r.jurisdiction, r.rule_kind, r.record_kind): r for r in rules}


def _value(rule: Rule | None, covered: bool) -> str:
    return rule.value if rule is not None else ("no rule" if covered else UNCOVERED)


def _sign_off(clauses: pd.DataFrame, countries: list[str], known, rules) -> pd.DataFrame:
    found = _index(rules)
    rows = []
    for clause in clauses.itertuples(index=False):
        for code in countries:
            rule = found.get((code, "discretion_review", clause.review))
            rows.append(
                {
                    "clause": clause.clause,
                    "review": clause.review,
                    "detail": clause.detail,
                    "jurisdiction": code,
                    "review_point": _value(rule, code in known),
                    **_citation(rule),
                    "note": rule.note if rule else "",
                    "signed_by": SIGNERS[clause.review].format(country=code),
                    "signed_on": "",
                }
            )
    return pd.DataFrame(rows)


def _works_council(people, countries, known, rules, start: dt.date) -> pd.DataFrame:
    found = _index(rules)
    rows = []
    for code in countries:
        duty = found.get((code, "works_council", "variable_pay"))
        lead = found.get((code, "works_council_lead_time", "variable_pay"))
        rows.append(
            {
                "jurisdiction": code,
                "award_holders": int(people.loc[code, "award_holders"]),
                "duty": _value(duty, code in known),
                "lead_time": lead.value if lead else "",
                "lead_time_unit": lead.unit if lead else "",
                "plan_start": start,
                "start_consultation_by": counted_back(start, lead) if lead else None,
                **_citation(duty),
                **_citation(lead, "lead_time_"),
                "note": " ".join(r.note for r in (duty, lead) if r is not None and r.note),
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("plan_start", "start_consultation_by"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def _plan_events(plan: Plan) -> dict[str, str]:
    """Return when each taxable event happens in this plan, in words."""
    vesting = plan.vesting
    vest = (
        f"each year of the {plan.performance_period_years}-year performance period (graded)"
        if vesting.schedule == "graded"
        else f"the end of the {plan.performance_period_years}-year performance period (cliff)"
    )
    pay = f"at vesting ({vest})"
    if vesting.deferral_share > 0:
        pay += (f"; {_percent(vesting.deferral_share)} deferred, paid {vesting.deferral_years} "
                "year(s) later")  # fmt: skip
    return {
        "grant": f"every {plan.grant_every_years} year(s) from the plan's start",
        "vest": vest,
        "payment": pay,
    }


def _tax(countries, known, rules, plan: Plan) -> pd.DataFrame:
    found = _index(rules)
    events = _plan_events(plan)
    rows = []
    for code in countries:
        for payment in PAYMENT_KINDS:
            tax = found.get((code, "tax_timing", payment))
            social = found.get((code, "social_security", payment))
            rows.append(
                {
                    "jurisdiction": code,
                    "payment": payment,
                    "classification": _value(tax, code in known),
                    "taxed_at": tax.starts if tax else "",
                    "in_this_plan": events.get(tax.starts, "") if tax else "",
                    **_citation(tax),
                    "note": tax.note if tax else "",
                    "social_security": _value(social, code in known),
                    "contributions_at": social.starts if social else "",
                    **_citation(social, "social_security_"),
                    "social_security_note": social.note if social else "",
                }
            )
    return pd.DataFrame(rows)


def _retention(plan, scenario, covered, rules, known, policy) -> pd.DataFrame:
    """Return the retention calendar of the covered countries, with each minimum's source."""
    teams = [
        team.model_copy(
            update={"people": [p for p in team.people if canonical_code(p.country) in covered]}
        )
        for team in scenario.organisation.teams
    ]
    kept = [team for team in teams if team.people]
    organisation = scenario.organisation.model_copy(update={"teams": kept})
    columns = ["jurisdiction", "record_kind", "first_period", "delete_first_from", "last_period",
               "delete_last_from", "policy_deletes_last_on", "kept_by", *CITATION]  # fmt: skip
    if not kept:
        return pd.DataFrame(columns=columns)
    within = scenario.model_copy(update={"organisation": organisation})
    retention_rules = [r for r in rules if r.rule_kind in RETENTION_KINDS]
    check = retention_check(plan, within, policy, retention_rules, known)
    calendar = calendar_summary(check)
    found = _index(retention_rules)
    cited = [
        _citation(found.get((row.jurisdiction, "retention_minimum", row.record_kind)))
        for row in calendar.itertuples(index=False)
    ]
    return pd.concat([calendar, pd.DataFrame(cited, columns=list(CITATION))], axis=1)[columns]


def build_checklists(
    scenario: Scenario,
    plan: Plan,
    rules: Sequence[Rule] | None = None,
    start: dt.date | str | None = None,
    policy: RetentionPolicy | None = None,
    jurisdictions: dict[str, Jurisdiction] | None = None,
) -> Checklists:
    """Build the review checklists of a plan for the countries of the scenario's people.

    Parameters
    ----------
    scenario : Scenario
        The organisation (its people's countries and grades) and the horizon.
    plan : Plan
        The plan: its discretionary clauses, target awards, vesting and start.
    rules : sequence of Rule, optional
        Jurisdiction rules of every kind (:func:`load_rules` by default).
    start : date or ISO string, optional
        The day the plan takes effect, counted back from for the works-council lead time;
        by default the first day of its first scored period (:func:`plan_start`).
    policy : RetentionPolicy, optional
        The organisation's retention policy for the calendar (the statutory minimum by
        default).
    jurisdictions : dict, optional
        The countries with rules (:func:`load_jurisdictions` by default).

    Returns
    -------
    Checklists
        The five tables; see the module docstring.
    """
    known = jurisdictions if jurisdictions is not None else load_jurisdictions()
    rules = list(rules) if rules is not None else load_rules()
    begins = plan_start(plan, scenario) if start is None else pd.Timestamp(start).date()
    people = _people(scenario, plan)
    countries = _countries(people, known, rules)
    paid = [c for c in countries["jurisdiction"] if people.loc[c, "award_holders"] > 0]
    covered = [c for c in paid if c in known]
    clauses = discretionary_clauses(plan)
    uncovered = [c for c in countries["jurisdiction"] if c not in known]
    settings = {
        "plan": plan.name,
        "scenario": scenario.name,
        "plan_start": begins.isoformat(),
        "start_given": start is not None,
        "countries": list(countries["jurisdiction"]),
        "uncovered": uncovered,
        "clauses": len(clauses),
        "review_kinds": dict(CLAUSES),
        "disclaimer": DISCLAIMER,
    }
    return Checklists(
        countries=_stamped(countries),
        legal_sign_off=_stamped(_sign_off(clauses, paid, known, rules)),
        works_council=_stamped(_works_council(people, paid, known, rules, begins)),
        tax_classification=_stamped(_tax(paid, known, rules, plan)),
        retention_calendar=_stamped(_retention(plan, scenario, covered, rules, known, policy)),
        settings=settings,
    )


TITLES = {
    "countries": "Countries of the plan's people",
    "legal_sign_off": "Legal sign-off of discretionary clauses",
    "works_council": "Works-council and employee-representative procedure",
    "tax_classification": "Tax and social-security classification",
    "retention_calendar": "Retention calendar of the plan's records",
}
SHORT = ("url", "note", "social_security_note", "disclaimer")  # left to the CSV files


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a table without addresses, notes and disclaimer, dates as ISO days."""
    drop = [c for c in frame.columns if c in SHORT or c.endswith("_url")]
    shown = frame.drop(columns=drop).astype(object)
    return shown.map(lambda v: v.date().isoformat() if isinstance(v, pd.Timestamp) else v)


def _lead(checklists: Checklists) -> str:
    s = checklists.settings
    uncovered = (
        f" No rules cover {', '.join(s['uncovered'])}: those rows say {UNCOVERED} and need a "
        "lawyer there." if s["uncovered"] else ""
    )  # fmt: skip
    start = "given" if s["start_given"] else "the first day of its first scored period"
    return (
        f"Plan {s['plan']} on scenario {s['scenario']}; the plan starts {s['plan_start']} "
        f"({start}). {s['clauses']} discretionary clause(s).{uncovered}"
    )


def checklists_markdown(checklists: Checklists) -> str:
    """Render the checklists as one Markdown document, disclaimer first and last.

    Parameters
    ----------
    checklists : Checklists
        A result of :func:`build_checklists`.

    Returns
    -------
    str
        The document; addresses and notes are in the tables' CSV files.
    """
    lines = [f"# Review checklist: plan {checklists.settings['plan']}", "", f"*{DISCLAIMER}*",
             "", _lead(checklists), ""]  # fmt: skip
    for name, frame in checklists.tables().items():
        lines += [f"## {TITLES[name]}", ""] + markdown_table(_shown(frame)) + [""]
    lines += [f"Addresses and notes of every row: the tables' CSV files. {DISCLAIMER}", ""]
    return "\n".join(lines)


def checklists_html(checklists: Checklists) -> str:
    """Render the checklists as one self-contained HTML page (no scripts, no links out)."""
    title = f"Review checklist: plan {checklists.settings['plan']}"
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>",
        f"<p class='note'>{escape(DISCLAIMER)}</p><p>{escape(_lead(checklists))}</p>",
    ]
    for name, frame in checklists.tables().items():
        parts.append(f"<h2>{escape(TITLES[name])}</h2>")
        parts.append(_shown(frame).to_html(index=False, na_rep="", border=0))
    parts.append(f"<p class='note'>{escape(DISCLAIMER)}</p></body></html>")
    return "".join(parts)
