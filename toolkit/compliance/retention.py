"""Retention for multi-year vesting: every record an award depends on, kept long enough.

An award granted today is scored on this year's tickets, vests after the performance period,
is partly held back for the deferral and may be clawed back for years after it is paid. The
records behind it (ITSM events, award calculations, payroll, tax and personnel records, the
audit log) must outlive all of that; data-protection law in turn forbids keeping personal data
longer than its purpose needs. :func:`retention_check` puts the plan's need beside the
organisation's retention policy and the statutory periods of every country its people work in.

**What the plan needs.** With ``P`` periods of performance, vesting tranches as in
:mod:`toolkit.plans.ledger` (one per cohort for a cliff, one per plan year for graded vesting),
``D`` periods of deferral (when a share is deferred) and a clawback lookback of ``L`` years, a
tranche whose window starts in period ``s`` and ends in ``e`` pays last at the end of period
``r = e + D`` and can be clawed back until ``L`` years after that. A record of period ``k`` is
needed by every tranche being earned, held or paid in it (``s <= k <= r``), so it is needed
until ``end(r) + L years`` of the latest such tranche: at most performance + deferral + lookback
after the end of its own period. Periods before the first grant feed no award.

**What is kept.** A rule keeps a record for its months counted from where the rule says
(:data:`toolkit.compliance.jurisdictions.STARTS`): the end of the record's period, of its
calendar or tax year, or the end of employment (taken as the end of the period: a person may
leave then, so that is all the rule guarantees). The policy's rule is used where it gives one,
the statutory minimum elsewhere; a policy below the statutory minimum is flagged as well.

Nothing here is legal advice (:data:`toolkit.compliance.jurisdictions.DISCLAIMER`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from toolkit.compliance.jurisdictions import (
    ALIASES,
    DISCLAIMER,
    RECORD_KINDS,
    STARTS,
    Jurisdiction,
    Rule,
    canonical_code,
    load_jurisdictions,
    load_rules,
)
from toolkit.config.base import StrictModel
from toolkit.config.errors import ConfigError, Problem
from toolkit.config.loading import validate_mapping
from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.config.yaml_strict import read_yaml_mapping
from toolkit.plans.loading import PERIODS_PER_YEAR

RecordKind = Literal[tuple(RECORD_KINDS)]  # type: ignore[valid-type]
Starts = Literal[STARTS]  # type: ignore[valid-type]
FREQUENCY = {"month": "M", "quarter": "Q", "year": "Y"}
DAYS_PER_YEAR = 365.25
RETENTION_KINDS = ("retention_minimum", "retention_maximum")
FINDING_COLUMNS = (
    "record_kind", "jurisdiction", "period", "period_end", "needed_by", "people_affected",
    "person_ids", "kept_until", "needed_until", "shortfall_days", "shortfall_years", "rule_from",
)  # fmt: skip
CALENDAR_COLUMNS = (
    "jurisdiction", "record_kind", "period", "period_end", "statutory_until", "needed_until",
    "policy_until", "policy_from", "earliest_deletion", "latest_deletion", "deleted_on",
)  # fmt: skip
CONFLICT_COLUMNS = (
    "record_kind", "jurisdiction", "period", "needed_until", "allowed_until", "excess_days",
    "enforcement_status", "source",
)  # fmt: skip


class PolicyRule(StrictModel):
    """How long the organisation keeps one kind of record in one country."""

    jurisdiction: str = Field(
        pattern=r"^[A-Z]{2}$", description="Country, ISO 3166-1 alpha-2 (GB for the UK)."
    )
    record_kind: RecordKind
    years: int = Field(ge=0, le=100, description="Whole years kept.")
    months: int = Field(default=0, ge=0, le=11, description="Months kept beyond the years.")
    starts: Starts = Field(description="What the period is counted from.")
    note: str | None = Field(default=None, description="Why, or which procedure deletes it.")


class RetentionPolicy(StrictModel):
    """The organisation's own retention schedule; unlisted records keep the statutory minimum."""

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    rules: list[PolicyRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _once_each(self) -> RetentionPolicy:
        seen = set()
        for rule in self.rules:
            key = (rule.jurisdiction, rule.record_kind)
            if key in seen:
                raise ValueError(f"{rule.record_kind} in {rule.jurisdiction} is given twice")
            seen.add(key)
        return self


def load_policy(
    path: str | Path, jurisdictions: dict[str, Jurisdiction] | None = None
) -> RetentionPolicy:
    """Load a retention policy file strictly.

    Parameters
    ----------
    path : str or Path
        A YAML file: ``name``, ``description`` and ``rules``, each rule a ``jurisdiction``,
        ``record_kind``, ``years`` (and ``months``), ``starts`` and an optional ``note``.
    jurisdictions : dict, optional
        The countries with rules (:func:`load_jurisdictions` by default); a policy naming
        another is refused, so a typo never becomes a country nobody works in.

    Returns
    -------
    RetentionPolicy
        The policy.

    Raises
    ------
    ConfigError
        Naming the file, the key path and the reason.
    """
    data = read_yaml_mapping(path)
    policy = validate_mapping(RetentionPolicy, data, path)
    known = jurisdictions if jurisdictions is not None else load_jurisdictions()
    problems = []
    for i, rule in enumerate(policy.rules):
        if rule.jurisdiction in known:
            continue
        hint = (
            f"; the United Kingdom is {ALIASES[rule.jurisdiction]}"
            if rule.jurisdiction in ALIASES
            else ""
        )
        problems.append(
            Problem(
                f"rules[{i}].jurisdiction",
                f"no jurisdiction rules for {rule.jurisdiction}{hint} (known: "
                f"{', '.join(known)}; add its file to toolkit/compliance/jurisdictions/)",
            )
        )
    if problems:
        raise ConfigError(path, problems)
    return policy


@dataclass(frozen=True)
class Kept:
    """A retention period as the check uses it: months from a starting point, and its origin."""

    months: int
    starts: str
    origin: str  # "policy" or "statutory minimum" (or "statutory maximum")
    rule: Rule | None = None


@dataclass
class RetentionCheck:
    """The result of :func:`retention_check`.

    Attributes
    ----------
    needs : DataFrame
        Per period of the horizon: ``period``, ``period_end``, ``tranches`` depending on it
        and ``needed_until`` (NaT when no award depends on it).
    too_early : DataFrame
        Every (record kind, country, period) whose records would be deleted before they are
        needed, ``needed_by`` ``plan`` (the award) or ``statute`` (the statutory minimum),
        with the people affected, ``kept_until``, ``needed_until`` and the shortfall.
    calendar : DataFrame
        Per country, record kind and period: the dates the statute, the plan and the policy
        keep it until, the earliest lawful deletion that also serves the plan, the latest
        where a maximum applies, and the day the policy deletes it.
    conflicts : DataFrame
        Records the plan needs beyond a data-protection maximum (for a person who left at the
        end of the period).
    rules : list of Rule
        The statutory rules used, with their sources.
    settings : dict
        The plan's horizon of need and the policy's name.
    """

    needs: pd.DataFrame
    too_early: pd.DataFrame
    calendar: pd.DataFrame
    conflicts: pd.DataFrame
    rules: list[Rule] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Return one row per record kind, country and need: the worst period's shortfall."""
        columns = [
            "record_kind", "jurisdiction", "needed_by", "periods", "people_affected",
            "first_period", "kept_until", "needed_until", "shortfall_days", "shortfall_years",
        ]  # fmt: skip
        if self.too_early.empty:
            return pd.DataFrame(columns=columns)
        rows = []
        keys = ["record_kind", "jurisdiction", "needed_by"]
        for key, group in self.too_early.groupby(keys, sort=False):
            worst = group.loc[group["shortfall_days"].idxmax()]
            rows.append(
                {
                    **dict(zip(keys, key, strict=True)),
                    "periods": len(group),
                    "people_affected": int(group["people_affected"].max()),
                    "first_period": group["period"].iloc[0],
                    "kept_until": worst["kept_until"],
                    "needed_until": worst["needed_until"],
                    "shortfall_days": int(worst["shortfall_days"]),
                    "shortfall_years": float(worst["shortfall_years"]),
                }
            )
        return pd.DataFrame(rows, columns=columns)


def _fiscal_end(day: pd.Timestamp, month_day: tuple[int, int]) -> pd.Timestamp:
    """Return the last day of the tax year holding ``day``."""
    end = pd.Timestamp(day.year, *month_day)
    return end if end >= day else pd.Timestamp(day.year + 1, *month_day)


def kept_until(
    period_end: pd.Timestamp, kept: Kept, fiscal_year_end: tuple[int, int] = (12, 31)
) -> pd.Timestamp:
    """Return the last day a record of a period is kept under a retention period.

    Parameters
    ----------
    period_end : Timestamp
        The last day of the record's period (the record's date).
    kept : Kept
        Months and where they are counted from (:data:`STARTS`); employment is taken to end
        with the period, the earliest a person may leave.
    fiscal_year_end : tuple of int
        Month and day the country's tax year ends, for ``fiscal_year_end``.

    Returns
    -------
    Timestamp
        The day it may be deleted after.

    Examples
    --------
    >>> kept_until(pd.Timestamp("2027-03-31"), Kept(72, "calendar_year_end", "statute"))
    Timestamp('2033-12-31 00:00:00')
    """
    if kept.starts in ("record", "employment_end"):
        start = period_end
    elif kept.starts in ("calendar_year_end", "employment_end_calendar_year"):
        start = pd.Timestamp(period_end.year, 12, 31)
    elif kept.starts == "fiscal_year_end":
        start = _fiscal_end(period_end, fiscal_year_end)
    else:
        raise ValueError(f"unknown starting point {kept.starts!r}; known: {', '.join(STARTS)}")
    end = start + pd.DateOffset(months=kept.months)
    if start.is_month_end:  # the end of a month plus months is the end of a month
        end = end + pd.offsets.MonthEnd(0)
    return pd.Timestamp(end)


def _periods(scenario: Scenario) -> pd.DataFrame:
    """Return the horizon's periods: label and last day, as the run cuts them."""
    freq = FREQUENCY[scenario.horizon.period]
    start = pd.Timestamp(scenario.horizon.start)
    end = start + pd.DateOffset(years=scenario.horizon.years)
    spans = pd.period_range(start, end - pd.Timedelta(days=1), freq=freq)
    return pd.DataFrame(
        {
            "period": [str(span) for span in spans],
            "period_end": [span.end_time.normalize() for span in spans],
        }
    )


def _tranches(plan: Plan, horizon: int, periods_per_year: int) -> list[tuple[int, int, int]]:
    """Return each tranche's first and last window period and its last payment period.

    Cohorts and tranches are cut as :class:`toolkit.plans.ledger.AwardLedger` cuts them;
    windows may run past the horizon.
    """
    window = plan.performance_period_years * periods_per_year
    step = plan.grant_every_years * periods_per_year
    graded = plan.vesting.schedule == "graded"
    length = periods_per_year if graded else window
    deferral = plan.vesting.deferral_years * periods_per_year
    deferral = deferral if plan.vesting.deferral_share > 0 else 0
    found = []
    for grant in range(plan.start_after_periods, horizon, step):
        for first in range(grant, grant + window, length):
            last = first + length - 1
            found.append((first, last, last + deferral))
    return found


def plan_needs(plan: Plan, scenario: Scenario) -> pd.DataFrame:
    """Return, per period of the horizon, until when an award needs that period's records.

    Parameters
    ----------
    plan : Plan
        Performance period, grants, vesting, deferral and clawback lookback.
    scenario : Scenario
        The horizon (start, length, period).

    Returns
    -------
    DataFrame
        ``period``, ``period_end``, ``tranches`` (how many tranches are earned, held or paid
        in it) and ``needed_until`` (NaT when none is).
    """
    periods = _periods(scenario)
    periods_per_year = PERIODS_PER_YEAR[scenario.horizon.period]
    horizon = len(periods)
    freq = FREQUENCY[scenario.horizon.period]
    first_period = pd.Period(pd.Timestamp(scenario.horizon.start), freq=freq)
    lookback = plan.clawback.lookback_years if plan.clawback is not None else 0
    tranches = _tranches(plan, horizon, periods_per_year)
    needed = []
    counts = []
    for k in range(horizon):
        paying = [paid for first, _, paid in tranches if first <= k <= paid]
        counts.append(len(paying))
        if not paying:
            needed.append(pd.NaT)
            continue
        paid_end = (first_period + max(paying)).end_time.normalize()
        needed.append(kept_until(paid_end, Kept(12 * lookback, "record", "plan")))
    periods["tranches"] = counts
    periods["needed_until"] = pd.Series(needed, dtype="datetime64[ns]")
    return periods


def _people(scenario: Scenario, plan: Plan) -> dict[str, list[str]]:
    """Return, per country, the people who hold awards (a target award above 0)."""
    found: dict[str, list[str]] = {}
    for team in scenario.organisation.teams:
        for person in team.people:
            pct = plan.target_award_pct.get(person.grade, plan.default_target_award_pct)
            country = canonical_code(person.country)
            found.setdefault(country, [])
            if pct > 0:
                found[country].append(person.id)
    return found


def _statutory(rules: Sequence[Rule], kind: str) -> dict[tuple[str, str], Kept]:
    return {
        (r.jurisdiction, r.record_kind): Kept(r.months, r.starts, f"statutory {kind}", r)
        for r in rules
        if r.rule_kind == f"retention_{kind}"
    }


def _days(later: pd.Timestamp, earlier: pd.Timestamp) -> int:
    return int((later - earlier) / pd.Timedelta(days=1))


def retention_check(
    plan: Plan,
    scenario: Scenario,
    policy: RetentionPolicy | None = None,
    rules: Sequence[Rule] | None = None,
    jurisdictions: dict[str, Jurisdiction] | None = None,
) -> RetentionCheck:
    """Check a retention policy against what the plan's awards need, country by country.

    Parameters
    ----------
    plan : Plan
        The incentive plan: grants, vesting, deferral and clawback lookback.
    scenario : Scenario
        The organisation (the countries of its people) and the horizon whose records are
        checked.
    policy : RetentionPolicy, optional
        The organisation's retention schedule; without one (or where it is silent) records
        are kept for the statutory minimum.
    rules, jurisdictions : optional
        Statutory rules and countries (:func:`load_rules`, :func:`load_jurisdictions` by
        default).

    Returns
    -------
    RetentionCheck
        What would be deleted too early, the retention calendar and conflicts with
        data-protection maxima.

    Raises
    ------
    ValueError
        If the scenario employs people in a country with no jurisdiction rules.
    """
    countries = jurisdictions if jurisdictions is not None else load_jurisdictions()
    rules = list(rules) if rules is not None else load_rules()
    people = _people(scenario, plan)
    missing = sorted(set(people) - set(countries))
    if missing:
        raise ValueError(
            f"scenario {scenario.name!r} employs people in {', '.join(missing)}, which have no "
            f"jurisdiction rules (known: {', '.join(countries)}); add their files to "
            "toolkit/compliance/jurisdictions/"
        )
    minimum, maximum = _statutory(rules, "minimum"), _statutory(rules, "maximum")
    own = {
        (r.jurisdiction, r.record_kind): Kept(12 * r.years + r.months, r.starts, "policy")
        for r in (policy.rules if policy is not None else [])
    }
    needs = plan_needs(plan, scenario)
    findings, calendar, conflicts = [], [], []
    for country in sorted(people):
        holders = people[country]
        everyone = [p.id for t in scenario.organisation.teams for p in t.people
                    if canonical_code(p.country) == country]  # fmt: skip
        fiscal = countries[country].fiscal_year_end
        for kind in RECORD_KINDS:
            statute = minimum.get((country, kind), Kept(0, "record", "no statutory minimum"))
            kept = own.get((country, kind), statute)
            limit = maximum.get((country, kind))
            for row in needs.itertuples(index=False):
                end = row.period_end
                statutory_until = kept_until(end, statute, fiscal)
                policy_until = kept_until(end, kept, fiscal)
                latest = kept_until(end, limit, fiscal) if limit is not None else pd.NaT
                needed = row.needed_until if holders else pd.NaT
                earliest = max(d for d in (statutory_until, needed) if pd.notna(d))
                calendar.append(
                    (country, kind, row.period, end, statutory_until, needed, policy_until,
                     kept.origin, earliest + pd.Timedelta(days=1),
                     latest + pd.Timedelta(days=1) if pd.notna(latest) else pd.NaT,
                     policy_until + pd.Timedelta(days=1))
                )  # fmt: skip
                for by, until, who in (("plan", needed, holders), ("statute", statutory_until,
                                                                   everyone)):  # fmt: skip
                    if pd.isna(until) or policy_until >= until or not who:
                        continue
                    short = _days(until, policy_until)
                    findings.append(
                        (kind, country, row.period, end, by, len(who), ",".join(who),
                         policy_until, until, short, round(short / DAYS_PER_YEAR, 3), kept.origin)
                    )  # fmt: skip
                if limit is not None and pd.notna(needed) and needed > latest:
                    conflicts.append(
                        (kind, country, row.period, needed, latest, _days(needed, latest),
                         limit.rule.enforcement_status, limit.rule.source)
                    )  # fmt: skip
    lookback = plan.clawback.lookback_years if plan.clawback is not None else 0
    deferral = plan.vesting.deferral_years if plan.vesting.deferral_share > 0 else 0
    settings = {
        "plan": plan.name,
        "scenario": scenario.name,
        "policy": policy.name if policy is not None else "statutory minimum",
        "performance_period_years": plan.performance_period_years,
        "vesting": plan.vesting.schedule,
        "deferral_years": deferral,
        "clawback_lookback_years": lookback,
        "need_years_at_most": plan.performance_period_years + deferral + lookback,
        "countries": sorted(people),
    }
    used = [r for r in rules if r.jurisdiction in people and r.rule_kind in RETENTION_KINDS]
    return RetentionCheck(
        needs=needs,
        too_early=_frame(findings, FINDING_COLUMNS),
        calendar=_frame(calendar, CALENDAR_COLUMNS),
        conflicts=_frame(conflicts, CONFLICT_COLUMNS),
        rules=used,
        settings=settings,
    )


def _frame(rows: list[tuple], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    for column in columns:
        if column.endswith(("_until", "_end", "_deletion", "_on")):
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame


def rules_table(rules: Sequence[Rule]) -> pd.DataFrame:
    """Return the rules as a table, one row each, with source, check date and status."""
    return pd.DataFrame(
        [
            {
                "jurisdiction": r.jurisdiction,
                "rule_kind": r.rule_kind,
                "record_kind": r.record_kind,
                "years": round(r.years, 2),
                "starts": r.starts,
                "source": r.source,
                "url": r.url,
                "last_checked": r.last_checked.isoformat() if r.last_checked else "unchecked",
                "enforcement_status": r.enforcement_status,
            }
            for r in rules
        ]
    )


def _date(value: object) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def markdown_table(frame: pd.DataFrame) -> list[str]:
    """Return a table as Markdown lines (dates as ISO days, ``|`` in cells as ``/``)."""
    if frame.empty:
        return ["(none)"]
    shown = frame.astype(object).map(lambda v: _date(v) if isinstance(v, pd.Timestamp) else v)
    header = "| " + " | ".join(str(c) for c in shown.columns) + " |"
    lines = [header, "|" + " --- |" * len(shown.columns)]
    for row in shown.itertuples(index=False):
        cells = ["" if (isinstance(v, float) and np.isnan(v)) else str(v) for v in row]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return lines


def retention_markdown(check: RetentionCheck) -> str:
    """Render the check as a Markdown report: need, shortfalls, conflicts, sources.

    Parameters
    ----------
    check : RetentionCheck
        A result of :func:`retention_check`.

    Returns
    -------
    str
        The report, which says it is not legal advice.
    """
    s = check.settings
    summary = check.summary()
    lines = [
        f"# Retention check: plan {s['plan']} on {s['scenario']}",
        "",
        f"*{DISCLAIMER}*",
        "",
        f"Policy: {s['policy']}. The plan measures performance over "
        f"{s['performance_period_years']} year(s) ({s['vesting']} vesting), defers for "
        f"{s['deferral_years']} year(s) and claws back for {s['clawback_lookback_years']} "
        f"year(s) after payment, so a period's records are needed for up to "
        f"{s['need_years_at_most']} years after it ends. Countries: {', '.join(s['countries'])}.",
        "",
        "## Deleted too early",
        "",
    ]
    if summary.empty:
        lines.append("Nothing: every record is kept as long as the awards and the law need it.")
    else:
        lines += markdown_table(summary)
    lines += ["", "## Needed beyond a data-protection maximum", ""]
    lines += markdown_table(check.conflicts.drop_duplicates(["record_kind", "jurisdiction"]))
    lines += ["", "## Rules used", ""]
    lines += markdown_table(rules_table(check.rules).drop(columns=["url"]))
    lines += ["", f"Sources with their addresses: `rules.csv`. {DISCLAIMER}", ""]
    return "\n".join(lines)


def calendar_summary(check: RetentionCheck) -> pd.DataFrame:
    """Return the calendar per country and record kind: first and last period's dates."""
    columns = ["jurisdiction", "record_kind", "first_period", "delete_first_from", "last_period",
               "delete_last_from", "policy_deletes_last_on", "kept_by"]  # fmt: skip
    rows = []
    for (country, kind), group in check.calendar.groupby(["jurisdiction", "record_kind"],
                                                         sort=False):  # fmt: skip
        first, last = group.iloc[0], group.iloc[-1]
        rows.append(
            (country, kind, first["period"], first["earliest_deletion"], last["period"],
             last["earliest_deletion"], last["deleted_on"], last["policy_from"])
        )  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
