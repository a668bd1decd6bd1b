"""Module 8, legal, regulatory and labour compliance: the notebook's tables, paragraphs and checks.

The notebook ``notebooks/modules/08_compliance.ipynb`` reviews one plan on one scenario the way
a compliance officer would before it is adopted, reading the plan's review checklists
(:func:`toolkit.compliance.checklists.build_checklists`): the rules of every country where its
award holders work, by enforcement status and whether anyone checked them (8.1); the clauses a
court may review and the sign-offs they need (8.2); how each country taxes the award and in
which years the first cohort becomes taxable (8.3); the works-council procedures and the last
day each can start (8.4); the archive calendar of the plan's documents and decisions (8.5,
:mod:`toolkit.compliance.retention`); and the equal-pay impact of the plans and of a client's
pay data (8.6, :mod:`toolkit.compliance.pay_gap`). This module keeps the notebook free of
logic: a table per result, a paragraph written from its numbers, and a checker per exercise.
The jurisdiction rules are dated, cited data, not legal advice; every paragraph built on them
says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from toolkit.compliance.checklists import (
    Checklists,
    build_checklists,
    discretionary_clauses,
    rules_frame,
)
from toolkit.compliance.jurisdictions import (
    DISCLAIMER,
    ENFORCEMENT,
    RECORD_KINDS,
    RULE_KINDS,
    UNCHECKED,
    Rule,
    canonical_code,
)
from toolkit.compliance.pay_conventions import MEN, WOMEN, PayGapConventions
from toolkit.compliance.pay_gap import (
    ARTICLES,
    JOINT_ASSESSMENT,
    MEAN_GAP,
    MEDIAN_GAP,
    RECEIVING,
    VARIABLE_MEAN_GAP,
    VARIABLE_MEDIAN_GAP,
)
from toolkit.compliance.pay_gap_plans import plan_pay_gaps, run_pay_gaps
from toolkit.compliance.retention import FREQUENCY, RetentionCheck
from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.course.exercises import Check, failed, passed
from toolkit.course.wording import interval_words, listing, number, share
from toolkit.plans.loading import PERIODS_PER_YEAR

# 8.5: the records that are the plan's communications and decisions
ARCHIVED = ("incentive_plan", "audit_log")
# 8.6: the example roster of a client's pay data, per category: women, men, the men's lead in
# tenure (years; pay rises with tenure), and the women's base and variable pay as a share of
# men's at equal tenure (the part no criterion explains)
ROSTER = {
    "analyst": (15, 15, 0.0, 1.0, 1.0),
    "engineer": (15, 15, 8.0, 1.0, 1.0),
    "developer": (15, 15, 0.0, 0.92, 0.4),
    "lead": (1, 6, 0.0, 1.0, 1.0),
}
ROSTER_BASE = {"analyst": 42_000.0, "engineer": 60_000.0, "developer": 58_000.0, "lead": 90_000.0}
TENURE_RAISE = 0.02  # 8.6: base pay rises 2 % per year of tenure in the example roster
VARIABLE_SHARE = 0.10  # 8.6: target variable pay, a share of base pay
PAY_NOISE = 0.02  # 8.6: individual spread of pay around the roster's rule
GAPS = {
    MEAN_GAP: "mean pay gap",
    VARIABLE_MEAN_GAP: "mean variable-pay gap",
    MEDIAN_GAP: "median pay gap",
    VARIABLE_MEDIAN_GAP: "median variable-pay gap",
}


# -- 8.1 local labour law review -----------------------------------------------------------------
def applicable_rules(checklists: Checklists, rules: Sequence[Rule] | None = None) -> pd.DataFrame:
    """Return every jurisdiction rule of the countries where the plan has award holders.

    Parameters
    ----------
    checklists : Checklists
        The plan's review checklists (:func:`toolkit.compliance.checklists.build_checklists`).
    rules : sequence of Rule, optional
        The rules (the shipped ones by default).

    Returns
    -------
    DataFrame
        :func:`toolkit.compliance.checklists.rules_frame` of every rule kind, for those
        countries: what counsel in each country reviews.
    """
    countries = checklists.countries
    paid = set(countries.loc[countries["award_holders"] > 0, "jurisdiction"])
    frame = pd.concat([rules_frame(kind, rules) for kind in RULE_KINDS], ignore_index=True)
    return frame[frame["jurisdiction"].isin(paid)].reset_index(drop=True)


def review_table(checklists: Checklists, applicable: pd.DataFrame) -> pd.DataFrame:
    """Return per country its people and how many of its rules are law, guidance or unchecked.

    Parameters
    ----------
    checklists : Checklists
        The plan's review checklists.
    applicable : DataFrame
        :func:`applicable_rules`.

    Returns
    -------
    DataFrame
        Indexed by country: ``name``, ``headcount``, ``award_holders``, ``coverage``, then the
        rules counted by ``enforcement_status`` and ``unchecked`` (never compared with their
        source).
    """
    countries = checklists.countries.set_index("jurisdiction")
    table = countries[["name", "headcount", "award_holders", "coverage"]].copy()
    status = pd.crosstab(applicable["jurisdiction"], applicable["enforcement_status"])
    table = table.join(status.reindex(columns=list(ENFORCEMENT), fill_value=0))
    unchecked = applicable["last_checked"] == UNCHECKED
    table["unchecked"] = unchecked.groupby(applicable["jurisdiction"]).sum()
    return table.fillna(0).astype({c: int for c in [*ENFORCEMENT, "unchecked"]})


def interpret_review(table: pd.DataFrame, applicable: pd.DataFrame) -> str:
    """Say whose law applies to the plan, and how much of it is law, guidance or unchecked."""
    paid = table[table["award_holders"] > 0]
    uncovered = table[table["coverage"] != "covered"]
    guidance = applicable[applicable["enforcement_status"] == "guidance"]
    unchecked = int((applicable["last_checked"] == UNCHECKED).sum())
    worst = paid["unchecked"].idxmax() if len(paid) else None
    gaps = (
        f" No rules cover {listing(list(uncovered.index))}: a lawyer there starts from nothing."
        if len(uncovered)
        else ""
    )
    return (
        f"The plan pays {int(paid['award_holders'].sum())} award holders in "
        f"{listing(list(paid.index))}, so {len(applicable)} rules of those countries apply.{gaps} "
        f"{len(guidance)} of them are guidance (a period practice or an authority suggests, "
        f"not statute: {listing(sorted(set(guidance['rule_kind'])))}), and {unchecked} have "
        f"never been compared with their source, most in {worst} "
        f"({int(paid.loc[worst, 'unchecked'])}). Counsel in each country confirms these rows "
        f"before the plan is signed. {DISCLAIMER}"
    )


def check_guidance(answer: Sequence[Sequence[str]], applicable: pd.DataFrame) -> Check:
    """Check the learner's list of applicable rules that are guidance rather than law.

    Parameters
    ----------
    answer : sequence of (country, rule kind, record kind)
        The rules named.
    applicable : DataFrame
        :func:`applicable_rules`, marked against.

    Returns
    -------
    Check
        Met when the answer names exactly the applicable rules whose enforcement status is
        ``guidance``.
    """
    try:
        given = {tuple(str(part) for part in item) for item in answer}
    except TypeError:
        given = set()
    if any(len(item) != 3 for item in given) or (answer and not given):
        return failed(
            "8.1",
            "Each rule is named by three parts: (country, rule kind, record kind).",
            'E.g. ("DE", "retention_minimum", "payroll").',
        )
    keys = applicable[["jurisdiction", "rule_kind", "record_kind"]].itertuples(index=False)
    status = dict(zip(map(tuple, keys), applicable["enforcement_status"], strict=True))
    unknown = sorted(given - set(status))
    if unknown:
        return failed(
            "8.1",
            f"{len(unknown)} of the rules named do not apply to this plan's people "
            f"({listing([' '.join(u) for u in unknown][:3])}).",
            "Only the countries with award holders count; spell kinds as in the table.",
        )
    guidance = {key for key, value in status.items() if value == "guidance"}
    law = sorted(given - guidance)
    if law:
        return failed(
            "8.1",
            f"{listing([' '.join(k) for k in law])}: enforcement status "
            f"{listing(sorted({status[k] for k in law}))}, not guidance.",
            "Read enforcement_status, not the rule's value.",
        )
    if guidance - given:
        return failed(
            "8.1",
            f"{len(guidance - given)} applicable rule(s) that are guidance are missing.",
            "Filter the applicable rules by enforcement_status.",
        )
    return passed(
        "8.1",
        f"The {len(guidance)} applicable rules that are guidance, not law, are named: counsel "
        "decides whether to follow them.",
    )


# -- 8.2 legal sign-off on discretionary clauses -------------------------------------------------
def clause_table(checklists: Checklists) -> pd.DataFrame:
    """Return each discretionary clause of the plan once: its review kind, detail, sign-offs."""
    rows = checklists.legal_sign_off
    grouped = rows.groupby(["clause", "review", "detail"], sort=False)
    table = grouped.agg(
        countries=("jurisdiction", lambda c: ", ".join(c)),
        unsigned=("signed_on", lambda s: int((s == "").sum())),
    )
    return table.reset_index().set_index("clause")


def review_points(checklists: Checklists) -> pd.DataFrame:
    """Return the standard a court applies to each kind of clause, per country."""
    rows = checklists.legal_sign_off.drop_duplicates(["review", "jurisdiction"])
    return rows.pivot(index="review", columns="jurisdiction", values="review_point")


def interpret_sign_off(checklists: Checklists) -> str:
    """Say how many clauses need sign-off, of which kind, and how many signatures are missing."""
    table = clause_table(checklists)
    kinds = table["review"].value_counts()
    by_kind = listing([f"{n} {kind}" for kind, n in kinds.items()])
    forfeit = list(table.index[table["review"] == "forfeiture"])
    rows = checklists.legal_sign_off
    unchecked = rows.drop_duplicates(["review", "jurisdiction"])
    unchecked = unchecked[unchecked["last_checked"] == UNCHECKED]
    return (
        f"Plan {checklists.settings['plan']} has {len(table)} clauses a court may review "
        f"({by_kind}); each needs the sign-off of counsel in "
        f"{rows['jurisdiction'].nunique()} countries, {len(rows)} signatures, "
        f"{int((rows['signed_on'] == '').sum())} still missing. The forfeiture clauses "
        f"({listing(forfeit)}) take away awards not yet paid: each country's forfeiture "
        "review point applies to them. "
        f"{len(unchecked)} of the review points behind them were never compared with their "
        f"source. {DISCLAIMER}"
    )


def check_forfeiture_clauses(answer: Sequence[str], plan: Plan) -> Check:
    """Check the learner's list of a plan's clauses that forfeit unpaid awards.

    Parameters
    ----------
    answer : sequence of str
        Clause names as :func:`toolkit.compliance.checklists.discretionary_clauses` names them
        (``malus``, ``gates[0]``, ...).
    plan : Plan
        The plan whose clauses are meant.

    Returns
    -------
    Check
        Met when the answer names exactly the plan's clauses reviewed as ``forfeiture``.
    """
    clauses = discretionary_clauses(plan).set_index("clause")["review"]
    given = {str(a) for a in answer}
    unknown = sorted(given - set(clauses.index))
    if unknown:
        return failed(
            "8.2",
            f"Plan {plan.name} has no clause {listing(unknown)}.",
            "Name clauses by the plan's fields: counter_metrics[0], gates[0], malus, ...",
        )
    forfeit = set(clauses.index[clauses == "forfeiture"])
    other = sorted(given - forfeit)
    if other:
        return failed(
            "8.2",
            f"{listing(other)} of {plan.name} do(es) not take away unpaid awards.",
            "A clause that cuts, withholds or voids an award not yet paid is forfeiture.",
        )
    if forfeit - given:
        return failed(
            "8.2",
            f"{len(forfeit - given)} forfeiture clause(s) of {plan.name} are missing.",
            "Read each clause's effect: does it cut, hold back or void an award before it is paid?",
        )
    return passed(
        "8.2",
        f"The {len(forfeit)} forfeiture clauses of {plan.name} are named: "
        f"{listing(sorted(forfeit))}.",
    )


# -- 8.3 tax classification across countries -----------------------------------------------------
def _first_cohort_events(plan: Plan, scenario: Scenario) -> list[tuple[str, int, float]]:
    """Return the first cohort's grant, vest and payment events: (event, year, share)."""
    per_year = PERIODS_PER_YEAR[scenario.horizon.period]
    first = pd.Period(pd.Timestamp(scenario.horizon.start), freq=FREQUENCY[scenario.horizon.period])
    grant = plan.start_after_periods
    window = plan.performance_period_years * per_year
    length = per_year if plan.vesting.schedule == "graded" else window
    ends = [start + length - 1 for start in range(grant, grant + window, length)]
    deferred = plan.vesting.deferral_share
    later = plan.vesting.deferral_years * per_year

    def year(k: int) -> int:
        return int((first + k).end_time.year)

    events = [("grant", year(grant), 1.0)]
    for end in ends:
        events.append(("vest", year(end), 1 / len(ends)))
        events.append(("payment", year(end), (1 - deferred) / len(ends)))
        if deferred > 0:
            events.append(("payment", year(end + later), deferred / len(ends)))
    return events


def tax_calendar(checklists: Checklists, plan: Plan, scenario: Scenario) -> pd.DataFrame:
    """Return, per country and year, the share of the first cohort's award taxed and levied.

    Parameters
    ----------
    checklists : Checklists
        The plan's review checklists (each country's taxable event).
    plan, scenario : Plan, Scenario
        The plan's grant, vesting and deferral on the scenario's horizon.

    Returns
    -------
    DataFrame
        Indexed by ``jurisdiction`` and ``year``: ``income_tax`` and ``contributions``, the
        share of the cohort's award (1 = all of it) that becomes taxable, or on which
        contributions fall due, in that year.
    """
    events = pd.DataFrame(_first_cohort_events(plan, scenario), columns=["event", "year", "share"])
    rows = []
    for row in checklists.tax_classification.itertuples(index=False):
        for column, trigger in (
            ("income_tax", row.taxed_at),
            ("contributions", row.contributions_at),
        ):
            chosen = events[events["event"] == trigger]
            for item in chosen.itertuples(index=False):
                rows.append((row.jurisdiction, item.year, column, item.share))
    frame = pd.DataFrame(rows, columns=["jurisdiction", "year", "column", "share"])
    table = frame.pivot_table(
        index=["jurisdiction", "year"], columns="column", values="share", aggfunc="sum"
    )
    return table.reindex(columns=["income_tax", "contributions"]).fillna(0.0)


def interpret_tax(checklists: Checklists, calendar: pd.DataFrame) -> str:
    """Say how each country classifies the award and in which years it is taxed."""
    tax = checklists.tax_classification
    parts = []
    for (taxed, levied), group in tax.groupby(["taxed_at", "contributions_at"], sort=False):
        countries = list(group["jurisdiction"])
        years = calendar.loc[countries[0], "income_tax"]
        years = years[years > 0]
        spread = listing([f"{share(v, 0)} in {y}" for y, v in years.items()])
        parts.append(
            f"{listing(countries)} tax{'es' if len(countries) == 1 else ''} the award as "
            f"{listing(sorted(set(group['classification'])))} at {taxed} ({spread} of the "
            f"first cohort); contributions "
            f"({listing(sorted(set(group['social_security'])))}) fall due at {levied}"
        )
    years = calendar.groupby(level="jurisdiction")["income_tax"].apply(lambda s: (s > 0).sum())
    note = (
        f" The cohort is taxed over up to {int(years.max())} tax years, each part withheld at "
        "its year's rates and reported in its year's returns."
        if years.max() > 1
        else ""
    )
    return "; ".join(parts) + "." + note + f" {DISCLAIMER}"


def check_early_taxation(answer: Sequence[str], rules: Sequence[Rule] | None = None) -> Check:
    """Check the learner's list of countries that tax or levy a cash award before it is paid.

    Parameters
    ----------
    answer : sequence of str
        Country codes.
    rules : sequence of Rule, optional
        The rules marked against (the shipped ones by default).

    Returns
    -------
    Check
        Met when the answer names exactly the countries of the rules files whose income tax
        or social-security contributions fall due at grant or vesting rather than payment.
    """
    frame = pd.concat([rules_frame(kind, rules) for kind in ("tax_timing", "social_security")])
    known = set(frame["jurisdiction"])
    given = {canonical_code(str(a).upper()) for a in answer}
    unknown = sorted(given - known)
    if unknown:
        return failed(
            "8.3",
            f"The rules cover no {listing(unknown)}; they cover {listing(sorted(known))}.",
            "Use the countries' ISO codes (GB for the United Kingdom).",
        )
    early = set(frame.loc[frame["starts"] != "payment", "jurisdiction"])
    wrong = sorted(given - early)
    if wrong:
        return failed(
            "8.3",
            f"{listing(wrong)}: income tax and contributions only when the award is paid.",
            "Read taxed_at and contributions_at of every country, not only the plan's.",
        )
    if early - given:
        return failed(
            "8.3",
            f"{len(early - given)} country that taxes or levies before payment is missing.",
            "Contributions count as well as income tax.",
        )
    return passed(
        "8.3",
        f"{listing(sorted(early))} tax or levy the award before it is paid: a deferred share "
        "is taxed while it can still be lost to malus.",
    )


# -- 8.4 works councils --------------------------------------------------------------------------
def consultation_table(checklists: Checklists) -> pd.DataFrame:
    """Return per country the duty, its lead time and the day the procedure must start."""
    frame = checklists.works_council.set_index("jurisdiction")
    table = frame[["award_holders", "duty", "lead_time", "lead_time_unit", "plan_start",
                   "start_consultation_by", "enforcement_status",
                   "lead_time_enforcement_status"]].copy()  # fmt: skip
    return table.rename(columns={"lead_time_enforcement_status": "lead_time_status"})


def interpret_consultation(table: pd.DataFrame) -> str:
    """Say which countries need a procedure, of what kind, and when each must start."""
    needed = table[table["duty"] != "none"]
    if needed.empty:
        return (
            f"No country of the plan's people has employee representatives to consult. {DISCLAIMER}"
        )
    first = needed["start_consultation_by"].idxmin()
    start = needed["plan_start"].iloc[0]
    months = (start - needed.loc[first, "start_consultation_by"]).days / 30.44
    duties = listing([f"{duty} in {c}" for c, duty in needed["duty"].items()])
    guidance = list(needed.index[needed["lead_time_status"] == "guidance"])
    soft = (
        f" The lead times of {listing(guidance)} are guidance, not statute: time to reach an "
        "agreement, or a ruling, before the start."
        if guidance
        else ""
    )
    return (
        f"Before the plan starts on {start.date().isoformat()} the employee representatives "
        f"must be involved: {duties}. The first procedure to start is in {first}, by "
        f"{needed.loc[first, 'start_consultation_by'].date().isoformat()}, about "
        f"{months:.0f} months ahead.{soft} Co-determination, consent and agreement mean the "
        "representatives must agree before the plan applies; consultation and information "
        f"only that they are heard or told. {DISCLAIMER}"
    )


def check_consultation_dates(
    answer: Mapping[str, str], scenario: Scenario, plan: Plan, start: str
) -> Check:
    """Check the learner's latest start days of the procedures for a change taking effect later.

    Parameters
    ----------
    answer : mapping
        Country → the latest day its procedure may start (``"YYYY-MM-DD"``).
    scenario, plan : Scenario, Plan
        Whose people and countries.
    start : str
        The day the change takes effect (``"YYYY-MM-DD"``).

    Returns
    -------
    Check
        Met when every country with a procedure has its latest start day and no other country
        is named.
    """
    table = consultation_table(build_checklists(scenario, plan, start=start))
    due = table.loc[table["duty"] != "none", "start_consultation_by"]
    extra = sorted(set(answer) - set(due.index))
    if extra:
        return failed(
            "8.4",
            f"{listing(extra)}: no procedure is due there for this plan's people.",
            "Name only the countries with a duty other than none.",
        )
    late, early, missing = [], [], []
    for country, latest in due.items():
        given = _day(answer.get(country))
        if given is None:
            missing.append(country)
        elif given > latest.date():
            late.append(country)
        elif given < latest.date():
            early.append(country)
    if missing:
        return failed("8.4", f"No day (YYYY-MM-DD) for {listing(missing)}.", "Give every country.")
    if late:
        return failed(
            "8.4",
            f"In {listing(late)} the procedure would start too late for a change on {start}.",
            "Count the lead time back from the day the change takes effect.",
        )
    if early:
        return failed(
            "8.4",
            f"In time everywhere, but {listing(early)} start(s) earlier than the latest day.",
            "Months are counted back in calendar months, weeks and days in days.",
        )
    return passed(
        "8.4",
        f"Every procedure ({listing(list(due.index))}) starts on the last day that leaves its "
        f"lead time before {start}.",
    )


# -- 8.5 archiving for statutory periods ---------------------------------------------------------
def archive_year(check: RetentionCheck) -> int:
    """Return the first calendar year whose records an award needs (the first cohort's year)."""
    needed = check.needs[check.needs["needed_until"].notna()]
    if needed.empty:
        return int(check.needs["period_end"].iloc[0].year)
    return int(needed["period_end"].iloc[0].year)


def archive_calendar(check: RetentionCheck, year: int | None = None) -> pd.DataFrame:
    """Return, per country and archived record kind, until when a year's records are kept.

    Parameters
    ----------
    check : RetentionCheck
        The retention check of the plan (:func:`toolkit.compliance.retention.retention_check`).
    year : int, optional
        The calendar year whose records are archived (the first year an award needs by default).

    Returns
    -------
    DataFrame
        ``jurisdiction``, ``record_kind``, ``statutory_until`` and ``needed_until`` (the latest
        of the year's periods), ``decided_by`` (``statute``, ``plan`` or ``both`` when they fall
        on the same day) and ``delete_from`` (the first day both allow).
    """
    year = archive_year(check) if year is None else year
    calendar = check.calendar[
        check.calendar["record_kind"].isin(ARCHIVED)
        & (check.calendar["period_end"].dt.year == year)
    ]
    rows = []
    for (country, kind), group in calendar.groupby(["jurisdiction", "record_kind"], sort=True):
        statute = group["statutory_until"].max()
        plan = group["needed_until"].max()
        if pd.isna(plan) or statute > plan:
            decided = "statute"
        else:
            decided = "both" if statute == plan else "plan"
        rows.append(
            {
                "jurisdiction": country,
                "record_kind": kind,
                "statutory_until": statute,
                "needed_until": plan,
                "decided_by": decided,
                "delete_from": group["earliest_deletion"].max(),
            }
        )
    return pd.DataFrame(rows)


def archive_figure(calendar: pd.DataFrame, year: int) -> plt.Figure:
    """Plot, per country and record kind, how long the statute and the plan keep a year's records.

    Parameters
    ----------
    calendar : DataFrame
        :func:`archive_calendar`.
    year : int
        The year archived: bars start at its end.

    Returns
    -------
    Figure
        Horizontal bars in years after the end of ``year``: the statute's and the plan's.
    """
    start = pd.Timestamp(year, 12, 31)
    labels = [f"{r.jurisdiction} {r.record_kind}" for r in calendar.itertuples()]
    statute = (calendar["statutory_until"] - start).dt.days.clip(lower=0) / 365.25
    plan = (calendar["needed_until"] - start).dt.days.fillna(0).clip(lower=0) / 365.25
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(labels) + 1.2))
    rows = np.arange(len(labels))
    ax.barh(rows - 0.2, statute, height=0.4, label="statutory minimum")
    ax.barh(rows + 0.2, plan, height=0.4, label="the plan's awards (clawback)")
    ax.set_yticks(rows, labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"years kept after the end of {year}")
    ax.set_title(f"Archive of {year}'s plan documents and decisions")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def interpret_archive(calendar: pd.DataFrame, year: int) -> str:
    """Say which rule decides how long each country keeps the plan's records, and until when."""
    statute = calendar[calendar["decided_by"] == "statute"]
    plan = calendar[calendar["decided_by"].isin(["plan", "both"])]
    longest = calendar.loc[calendar["delete_from"].idxmax()]
    kinds = {k: RECORD_KINDS[k] for k in ARCHIVED}
    unruled = calendar[calendar["statutory_until"] <= pd.Timestamp(year, 12, 31)]

    def names(frame: pd.DataFrame) -> str:
        return listing([f"{r.record_kind} in {r.jurisdiction}" for r in frame.itertuples()])

    free = (
        f" No statute sets a period for {names(unruled)}: without the awards' need it could "
        "go at once, so the organisation's own policy must keep it."
        if len(unruled)
        else ""
    )
    return (
        f"The plan's records ({kinds['incentive_plan']}) and its "
        f"decisions ({kinds['audit_log']}) of {year} are kept in "
        f"{calendar['jurisdiction'].nunique()} countries. The statute alone decides for "
        f"{names(statute)}; the awards' clawback decides (or ties) for {names(plan)}. The "
        f"last to go are {longest['record_kind']} in {longest['jurisdiction']}, from "
        f"{longest['delete_from'].date().isoformat()}.{free} {DISCLAIMER}"
    )


def _day(value: object) -> dt.date | None:
    try:
        day = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    return None if pd.isna(day) else day.date()


def check_archive_dates(answer: Mapping[str, Mapping[str, str]], calendar: pd.DataFrame) -> Check:
    """Check the learner's deletion dates: the first day statute and plan both allow, per record.

    Parameters
    ----------
    answer : mapping
        Country → record kind → the first day the year's records may be deleted
        (``"YYYY-MM-DD"``).
    calendar : DataFrame
        :func:`archive_calendar`, which the answer is marked against.

    Returns
    -------
    Check
        Met when every country and record kind of the calendar has its date right.
    """
    early, late, missing = [], [], []
    for row in calendar.itertuples():
        kinds = answer.get(row.jurisdiction, {})
        given = _day(kinds.get(row.record_kind)) if isinstance(kinds, Mapping) else None
        name = f"{row.record_kind} in {row.jurisdiction}"
        if given is None:
            missing.append(name)
        elif given < row.delete_from.date():
            early.append(name)
        elif given > row.delete_from.date():
            late.append(name)
    if missing:
        return failed(
            "8.5",
            f"No date (YYYY-MM-DD) for {listing(missing)}.",
            "Give a date for every country and record kind in the calendar.",
        )
    if early:
        return failed(
            "8.5",
            f"{listing(early)} would be deleted while the statute or an award still needs it.",
            "Take the later of the statutory period and the last clawback, then the next day.",
        )
    if late:
        return failed(
            "8.5",
            f"{listing(late)} would be kept past the first lawful day of deletion; personal "
            "data is kept only as long as its purpose needs.",
            "Count the statutory period from where its rule says (the end of the year).",
        )
    return passed(
        "8.5",
        f"Every one of the {len(calendar)} records is deleted on the first day both the "
        "statute and the awards allow.",
    )


# -- 8.6 equal pay impact ------------------------------------------------------------------------
def batch_pay_gaps(
    batch_dir: str | Path, scenario: Scenario, conventions: PayGapConventions, reference: str
) -> pd.DataFrame:
    """Return the pay gaps each plan of a batch creates, against the reference plan.

    Parameters
    ----------
    batch_dir : str or Path
        A batch made on ``scenario`` (its ``runs.parquet`` and run directories).
    scenario : Scenario
        The batch's scenario: its people and their base pay.
    conventions : PayGapConventions
        How pay is counted.
    reference : str
        The plan compared with, seed by seed (fixed pay).

    Returns
    -------
    DataFrame
        :func:`toolkit.compliance.pay_gap_plans.plan_pay_gaps` of the batch's runs.
    """
    folder = Path(batch_dir)
    runs = pd.read_parquet(folder / "runs.parquet")
    tables = [
        (
            {"scenario": run.scenario, "plan": run.plan, "seed": int(run.seed)},
            pd.read_parquet(folder / run.directory / "awards.parquet"),
            pd.read_parquet(folder / run.directory / "cashflows.parquet"),
        )
        for run in runs.itertuples(index=False)
    ]
    return plan_pay_gaps(run_pay_gaps(scenario, tables, conventions), reference)


def plan_gap_table(gaps: pd.DataFrame) -> pd.DataFrame:
    """Return per plan the mean and variable-pay gaps and their change against the reference."""
    columns = {"plan": "plan", "seeds": "seeds"}
    for key in (MEAN_GAP, VARIABLE_MEAN_GAP):
        columns[key] = f"{GAPS[key]} (%)"
        columns[f"{key}_vs_reference"] = f"{GAPS[key]} vs reference (points)"
    columns["share_women_receiving"] = "women receiving"
    columns["share_men_receiving"] = "men receiving"
    return gaps[list(columns)].rename(columns=columns).round(2).set_index("plan")


def interpret_plan_gaps(gaps: pd.DataFrame, reference: str) -> str:
    """Say which plan widens the mean pay gap against the reference, with its interval."""
    others = gaps[gaps["plan"] != reference]
    if others.empty:
        return f"The batch has no plan beside {reference} to compare."
    change = f"{MEAN_GAP}_vs_reference"
    worst = others.loc[others[change].idxmax()]
    base = gaps.loc[gaps["plan"] == reference, MEAN_GAP].iloc[0]
    direction = "men" if base > 0 else "women"
    words = interval_words(worst[f"{change}_low"], worst[f"{change}_high"])
    lead = (
        "The plan that moves it most towards men is"
        if worst[change] > 0
        else "No plan moves it towards men; the one that moves it least towards women is"
    )
    return (
        f"Under {reference} the mean pay gap is {number(base, 1)} % "
        f"({direction} are paid more on average). {lead} "
        f"{worst['plan']}: {number(worst[change], 1)} points over {int(worst['seeds'])} seeds, "
        f"{words}. A positive change widens a gap in men's favour (or narrows one in women's); "
        f"a plan designer reads it beside the plan's net value before adopting the plan."
    )


def example_roster(seed: int = 0) -> pd.DataFrame:
    """Return a client's people table with known structure, for the Art. 10 exercise.

    Four categories of workers (:data:`ROSTER`): one with equal pay, one whose gap the men's
    longer tenure explains, one whose women are paid less at equal tenure (mostly in variable
    pay), and one with a single woman. Pay is the roster's rule times a small individual
    spread (:data:`PAY_NOISE`).

    Parameters
    ----------
    seed : int
        Seed of the individual spread and tenures.

    Returns
    -------
    DataFrame
        ``person_id``, ``gender``, ``category``, ``tenure`` (years), ``base_pay``,
        ``variable_pay``, as a people CSV holds them.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for category, (women, men, lead, base_share, variable_share) in ROSTER.items():
        for gender, count in ((WOMEN, women), (MEN, men)):
            for _ in range(count):
                tenure = rng.uniform(1.0, 9.0) + (lead if gender == MEN else 0.0)
                base = ROSTER_BASE[category] * (1 + TENURE_RAISE * tenure)
                variable = base * VARIABLE_SHARE * rng.uniform(0.8, 1.2)
                if gender == WOMEN:
                    base, variable = base * base_share, variable * variable_share
                spread = rng.normal(1.0, PAY_NOISE)
                rows.append(
                    {
                        "person_id": f"e{len(rows) + 1:03d}",
                        "gender": gender,
                        "category": category,
                        "tenure": round(tenure, 1),
                        "base_pay": round(base * spread, 2),
                        "variable_pay": round(variable * spread, 2),
                    }
                )
    return pd.DataFrame(rows)


def indicator_table(report: dict) -> pd.DataFrame:
    """Return the Art. 9(1) gap indicators of a report: article, value or why not shown.

    Parameters
    ----------
    report : dict
        :func:`toolkit.compliance.pay_gap.pay_gap_report`.

    Returns
    -------
    DataFrame
        One row per gap indicator and one for the share receiving variable pay: ``article``,
        ``indicator``, ``women``, ``men``, ``value`` (percent) and ``status``.
    """
    rows = []
    for key, name in GAPS.items():
        entry = report[key]
        rows.append(
            {
                "article": ARTICLES[key],
                "indicator": name,
                "women": entry.get("women", np.nan),
                "men": entry.get("men", np.nan),
                "value": entry["value_percent"] if entry["value_percent"] is not None else np.nan,
                "status": entry["status"],
            }
        )
    receiving = report[RECEIVING]
    rows.append(
        {
            "article": ARTICLES[RECEIVING],
            "indicator": "share receiving variable pay",
            "women": receiving["women"].get("share_receiving", np.nan),
            "men": receiving["men"].get("share_receiving", np.nan),
            "value": np.nan,
            "status": "reported" if "share_receiving" in receiving["women"] else "suppressed",
        }
    )
    return pd.DataFrame(rows).round(3)


def joint_assessment_table(report: dict) -> pd.DataFrame:
    """Return the Art. 10 assessment per category: gap, unexplained part, status and flag."""
    rows = []
    for category, entry in report[JOINT_ASSESSMENT]["categories"].items():
        interval = entry.get("unexplained_interval_percent") or [np.nan, np.nan]
        rows.append(
            {
                "category": category,
                "women": entry["n_women"],
                "men": entry["n_men"],
                "gap (%)": entry["gap_percent"],
                "unexplained (%)": entry.get("unexplained_percent", np.nan),
                "interval low": interval[0],
                "interval high": interval[1],
                "status": entry["status"],
                "joint assessment": entry["flag"],
            }
        )
    return pd.DataFrame(rows).set_index("category").round(2)


def interpret_joint_assessment(report: dict) -> str:
    """Say what the indicators and the Art. 10 assessment of a people table show."""
    mean = report[MEAN_GAP]
    variable = report[VARIABLE_MEAN_GAP]
    categories = report[JOINT_ASSESSMENT]["categories"]
    by_status: dict[str, list[str]] = {}
    for category, entry in categories.items():
        by_status.setdefault(entry["status"], []).append(category)
    criteria = listing(report[JOINT_ASSESSMENT]["criteria"])
    gap = (
        f"The mean pay gap is {number(mean['value_percent'], 1)} % and the mean variable-pay "
        f"gap {number(variable['value_percent'], 1)} %"
        if mean["status"] == variable["status"] == "reported"
        else "The organisation-wide gaps are not shown (too few women or men)"
    )
    parts = [f"{gap}, over {report['population']['workers']} workers."]
    flagged = sorted(report[JOINT_ASSESSMENT]["categories_flagged"])
    if flagged:
        largest = max(categories[c]["gap_percent"] for c in flagged)
        parts.append(
            f"A joint pay assessment is due for {listing(flagged)}: a gap of up to "
            f"{number(largest, 1)} % that {criteria} does not explain."
        )
    if by_status.get("explained_by_criteria"):
        parts.append(
            f"The gap of {listing(by_status['explained_by_criteria'])} reaches the threshold "
            f"but {criteria} explains it: no joint assessment, provided the criterion is "
            "objective and gender-neutral."
        )
    if by_status.get("below_threshold"):
        parts.append(f"{listing(by_status['below_threshold'])}: below the threshold.")
    if by_status.get("too_small_to_assess"):
        parts.append(
            f"{listing(by_status['too_small_to_assess'])} has too few women or men for a "
            "figure to be shown: its pay is compared person by person instead."
        )
    return " ".join(parts)


def check_joint_assessment(answer: Sequence[str], report: dict) -> Check:
    """Check the learner's list of categories for which a joint pay assessment is due.

    Parameters
    ----------
    answer : sequence of str
        Category names.
    report : dict
        The people table's :func:`~toolkit.compliance.pay_gap.pay_gap_report`, marked against.

    Returns
    -------
    Check
        Met when the answer names exactly the categories the Art. 10 flag raises.
    """
    categories = report[JOINT_ASSESSMENT]["categories"]
    given = {str(a) for a in answer}
    unknown = sorted(given - set(categories))
    if unknown:
        return failed(
            "8.6",
            f"The roster has no category {listing(unknown)}; it has {listing(list(categories))}.",
            "Use the categories of the table.",
        )
    due = set(report[JOINT_ASSESSMENT]["categories_flagged"])
    wrong = sorted(given - due)
    if wrong:
        reasons = {
            "below_threshold": "its gap is below the threshold",
            "explained_by_criteria": "the named criteria explain its gap",
            "too_small_to_assess": "it is too small for a figure: compare its pay person by person",
        }
        why = "; ".join(f"{c}: {reasons.get(categories[c]['status'], 'not due')}" for c in wrong)
        return failed("8.6", f"Not due for {listing(wrong)} ({why}).", "Read the status column.")
    missed = sorted(due - given)
    if missed:
        return failed(
            "8.6",
            f"{len(missed)} category with an unexplained gap of at least "
            f"{report['conventions']['threshold_percent']['value']:g} % is missing.",
            "Look for a gap the criteria leave unexplained.",
        )
    return passed(
        "8.6",
        f"A joint pay assessment is due for {listing(sorted(due))} and for no other category.",
    )
