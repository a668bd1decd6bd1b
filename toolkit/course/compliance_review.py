"""Module 8, legal, regulatory and labour compliance: the notebook's tables, paragraphs and checks.

The notebook ``notebooks/modules/08_compliance.ipynb`` reviews one plan on one scenario the way
a compliance officer would before it is adopted: the archive calendar of the plan's documents
and decisions in every country its people work in (8.5, :mod:`toolkit.compliance.retention`),
and the equal-pay impact of the plan and of a client's pay data (8.6,
:mod:`toolkit.compliance.pay_gap`). This module keeps the notebook free of logic: a table per
result, a paragraph written from its numbers, and a checker per exercise. The jurisdiction
rules are dated, cited data, not legal advice; every paragraph built on them says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from toolkit.compliance.jurisdictions import DISCLAIMER, RECORD_KINDS
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
from toolkit.compliance.retention import RetentionCheck
from toolkit.config.scenario import Scenario
from toolkit.course.exercises import Check, failed, passed
from toolkit.course.wording import interval_words, listing, number

# 8.5: the records that are the plan's communications and decisions
ARCHIVED = ("incentive_plan", "audit_log")
# 8.6: the example roster of a client's pay data, per category: women, men, the men's lead in
# tenure (years; pay rises with tenure), and the women's base and variable pay as a share of
# men's at equal tenure (the part no criterion explains)
ROSTER = {
    "analyst": (8, 8, 0.0, 1.0, 1.0),
    "engineer": (10, 10, 8.0, 1.0, 1.0),
    "developer": (10, 10, 0.0, 0.95, 0.5),
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
        given = _day(answer.get(row.jurisdiction, {}).get(row.record_kind))
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
    return (
        f"Under {reference} the mean pay gap is {number(base, 1)} % "
        f"({direction} are paid more on average). The plan that moves it most towards men is "
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
