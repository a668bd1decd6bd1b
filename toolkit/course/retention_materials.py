"""The retention calendar (course topics 7.2 and 8.5): when each period's records may go.

Blank, it is the form a records manager fills in: the statutory minimum and maximum periods of
every country the toolkit has rules for, with their sources, check dates and enforcement
status, and blank rows for the plan's horizon of need and the deletion dates. Filled from a
batch, it checks the batch's plan on its scenario (:func:`toolkit.compliance.retention.
retention_check`) with the organisation's policy or the statutory minimum, and lists for each
country and record kind the first day each period's records may be deleted, what the policy
would delete too early and where the plan needs records beyond a data-protection maximum.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.compliance.jurisdictions import DISCLAIMER, RECORD_KINDS, load_rules
from toolkit.compliance.retention import (
    RETENTION_KINDS,
    RetentionCheck,
    calendar_summary,
    load_policy,
    retention_check,
    rules_table,
)
from toolkit.config import ConfigError
from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.course.documents import (
    BLANK,
    Document,
    MaterialsError,
    batch_of,
    default_plan,
    resolve_plan,
)

TITLE = "Retention calendar (course topics 7.2 and 8.5)"


def iso_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the frame with timestamps as ISO dates (blank when missing)."""
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[column]):
            shown[column] = shown[column].dt.strftime("%Y-%m-%d").fillna("")
    return shown


def statutory_table() -> pd.DataFrame:
    """Return every shipped retention rule without its address, for a document's table."""
    table = rules_table([r for r in load_rules() if r.rule_kind in RETENTION_KINDS])
    return table.drop(columns=["url"]).rename(columns={"years": "years (0: no period)"})


def batch_plan(results_dir: str | Path, plan: str = "") -> tuple[Scenario, Plan] | None:
    """Return a batch's scenario (as it ran) and one of its plans, or None without a batch.

    Parameters
    ----------
    results_dir : str or Path
        A batch directory, or ``""`` for the blank materials.
    plan : str
        A plan the batch holds (by name); ``""`` takes its first plan besides the reference.

    Returns
    -------
    tuple or None
        The scenario and the plan.

    Raises
    ------
    MaterialsError
        If the batch's scenario file is gone or changed, or the plan is unknown.
    """
    batch = batch_of(results_dir)
    if batch is None:
        return None
    name = plan or default_plan(results_dir)
    scenario = batch.scenario_model(batch.scenarios[0])
    if scenario is None:
        raise MaterialsError(
            f"{batch.directory}: cannot read scenario {batch.scenarios[0]!r} as the batch ran it "
            "(its file is gone or changed)"
        )
    return scenario, batch.plan_model(name) or resolve_plan(name)


def check_from_batch(
    results_dir: str | Path, plan: str = "", policy: str | Path = ""
) -> RetentionCheck | None:
    """Return the retention check of a batch's plan on its scenario, or None without a batch.

    Parameters
    ----------
    results_dir : str or Path
        A batch directory, or ``""`` for the blank calendar.
    plan : str
        A plan the batch holds (by name); ``""`` takes its first plan besides the reference.
    policy : str or Path
        A retention policy file; ``""`` keeps the statutory minimum.

    Returns
    -------
    RetentionCheck or None
        The check.

    Raises
    ------
    MaterialsError
        If the batch's scenario file is gone or changed, the plan is unknown or the policy is
        refused (its reasons given).
    """
    found = batch_plan(results_dir, plan)
    if found is None:
        return None
    scenario, model = found
    try:
        own = load_policy(policy) if str(policy) else None
    except ConfigError as error:
        raise MaterialsError(f"policy: {error}") from None
    try:
        return retention_check(model, scenario, own)
    except ValueError as error:
        raise MaterialsError(str(error)) from None


def calendar_document(check: RetentionCheck | None) -> Document:
    """Return the retention calendar: blank with the statutory table, or filled from a check."""
    doc = Document(TITLE)
    doc.paragraph(
        "Every record an award depends on must be kept until the last clawback of every award "
        "scored, held or paid in its period, and at least for its country's statutory minimum; "
        "personal data must not be kept beyond what its purpose needs. The calendar gives, per "
        "country and kind of record, the first day each period's records may be deleted. "
        + DISCLAIMER
    )
    doc.heading("The plan's horizon of need")
    if check is None:
        doc.blanks(
            [
                "Plan",
                "Performance period (years) and vesting (cliff or graded)",
                "Deferral (years)",
                "Clawback lookback after payment (years)",
                "Records of a period needed until (performance + deferral + lookback)",
                "Countries of the plan's people",
            ]
        )
    else:
        s = check.settings
        performance = f"{s['performance_period_years']} years, {s['vesting']}"
        doc.table(
            pd.DataFrame(
                [
                    ("Plan / scenario", f"{s['plan']} / {s['scenario']}"),
                    ("Retention policy", s["policy"]),
                    ("Performance period", performance),
                    ("Deferral", f"{s['deferral_years']} years"),
                    ("Clawback lookback after payment", f"{s['clawback_lookback_years']} years"),
                    ("Records needed for up to", f"{s['need_years_at_most']} years"),
                    ("Countries", ", ".join(s["countries"])),
                ],
                columns=["item", "value"],
            )
        )
    doc.heading("Calendar")
    if check is None:
        columns = ["country", "record kind", "period", "statutory minimum until",
                   "plan needs until", "policy keeps until", "may be deleted from",
                   "must be deleted by", "owner"]  # fmt: skip
        kinds = list(RECORD_KINDS)
        doc.table(pd.DataFrame([[BLANK, kind] + [BLANK] * 7 for kind in kinds], columns=columns))
    else:
        doc.paragraph(
            "First and last period of the horizon per country and kind of record: the first day "
            "its records may be deleted (after the statutory minimum and the plan's need), and "
            "the day the policy deletes the last period's records."
        )
        doc.table(iso_dates(calendar_summary(check)))
    doc.heading("Deleted too early")
    if check is None:
        doc.blanks(["Record kind and country", "People affected", "Kept until", "Needed until"])
    elif check.too_early.empty:
        doc.paragraph("Nothing: the policy keeps every record as long as awards and law need.")
    else:
        doc.table(iso_dates(check.summary()))
    doc.heading("Needed beyond a data-protection maximum")
    if check is None:
        doc.blanks(["Record kind and country", "Maximum and its source", "How it is resolved"])
    elif check.conflicts.empty:
        doc.paragraph("None: no record is needed beyond a maximum the rules name.")
    else:
        first = check.conflicts.drop_duplicates(["record_kind", "jurisdiction"])
        doc.paragraph(
            "For a person who leaves at the end of the period. Keep only what the award needs "
            "(contract, award letters), pseudonymised where possible, and record why."
        )
        doc.table(iso_dates(first))
    doc.heading("Statutory periods")
    doc.paragraph(
        "From the toolkit's jurisdiction files (toolkit/compliance/jurisdictions/, where each "
        "row's address is); 'unchecked' rows have not been compared with their source."
    )
    doc.table(statutory_table())
    doc.heading("Sign-off")
    doc.blanks(["Records manager", "Data protection officer", "Legal (per country)", "Date"])
    return doc
