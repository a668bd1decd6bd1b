"""Compliance templates (course topics 8.1 to 8.4 and 8.6): sign-off, works council, tax, equal pay.

Four documents, each blank (the rules of every country the toolkit covers, with rows to fill
in) or filled from a batch's plan on its scenario (:func:`toolkit.compliance.checklists.
build_checklists`, as ``lti compliance checklist`` does):

- the **legal sign-off checklist**: every discretionary clause of the plan beside each
  country's review point, with who signs;
- the **works-council consultation brief**: per country the duty, its lead time and the day
  consultation must start;
- the **tax classification table**: per country how a cash award is taxed, when, and its
  social-security treatment;
- the **equal-pay report**: the Art. 9(1) indicators, the Art. 10 flag and the four-fifths
  rule (:func:`toolkit.compliance.pay_gap.pay_gap_report`) on an example roster, the people of
  the default scenario (or the batch's scenario) with variable pay at the plan's target award,
  every convention printed.

Not legal advice: every document says so, and gives each rule's source and check date.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.compliance.checklists import Checklists, build_checklists, rules_frame
from toolkit.compliance.jurisdictions import CLAUSES, DISCLAIMER
from toolkit.compliance.pay_conventions import PayGapConventions
from toolkit.compliance.pay_gap import (
    ARTICLES,
    BANDS,
    BY_CATEGORY,
    FOUR_FIFTHS_RULE,
    JOINT_ASSESSMENT,
    MEAN_GAP,
    MEDIAN_GAP,
    QUARTILES,
    RECEIVING,
    VARIABLE_MEAN_GAP,
    VARIABLE_MEDIAN_GAP,
    pay_gap_report,
)
from toolkit.compliance.pay_people import validate_people
from toolkit.config import load_scenario
from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario
from toolkit.course.documents import BLANK, Document, resolve_plan
from toolkit.course.retention_materials import batch_plan, iso_dates
from toolkit.resources import shipped_scenario

EXAMPLE_SCENARIO = "default"
EXAMPLE_PLAN = "balanced_guarded"
CITED = ["source", "last_checked", "enforcement_status"]


def checklists_from_batch(results_dir: str | Path, plan: str = "") -> Checklists | None:
    """Return the checklists of a batch's plan on its scenario, or None without a batch.

    Parameters
    ----------
    results_dir : str or Path
        A batch directory, or ``""`` for the blank documents.
    plan : str
        A plan the batch holds; ``""`` takes its first plan besides the reference.

    Returns
    -------
    Checklists or None
        The checklists.
    """
    found = batch_plan(results_dir, plan)
    return None if found is None else build_checklists(*found)


def _opening(title: str, purpose: str, found: Checklists | None) -> Document:
    """Return a document with its title, purpose and disclaimer, and what it was built for."""
    doc = Document(title)
    doc.paragraph(f"{purpose} {DISCLAIMER}")
    if found is None:
        doc.blanks(["Plan", "Scenario (organisation)", "Plan takes effect on"])
        return doc
    s = found.settings
    uncovered = f"No rules cover {', '.join(s['uncovered'])}: ask a lawyer there. "
    doc.paragraph(
        f"Plan {s['plan']} on scenario {s['scenario']}, taking effect {s['plan_start']}. "
        + (uncovered if s["uncovered"] else "")
    )
    return doc


def sign_off_document(found: Checklists | None) -> Document:
    """Return the legal sign-off checklist: blank, or filled from a plan's checklists."""
    doc = _opening(
        "Legal sign-off of discretionary clauses (course topics 8.1 and 8.2)",
        "Every clause of an incentive plan that lets the employer decide, reduce or take back "
        "pay is reviewed in each country the plan pays in, against that country's standard for "
        "such clauses, before the plan is announced.",
        found,
    )
    doc.heading("Clauses and review points")
    if found is None:
        kinds = pd.DataFrame(list(CLAUSES.items()), columns=["review", "covers"])
        doc.table(kinds)
        doc.table(
            pd.DataFrame(
                [[BLANK, kind, BLANK, BLANK, BLANK, BLANK] for kind in CLAUSES],
                columns=[
                    "clause of the plan",
                    "review",
                    "country",
                    "review point",
                    "signed by",
                    "signed on",
                ],
            )
        )
    else:
        shown = found.legal_sign_off[
            [
                "clause",
                "review",
                "detail",
                "jurisdiction",
                "review_point",
                *CITED,
                "signed_by",
                "signed_on",
            ]
        ]
        doc.table(shown.replace({"signed_on": {"": BLANK}}))
    doc.heading("Review points per country")
    doc.table(rules_frame("discretion_review")[["jurisdiction", "record_kind", "value", *CITED]])
    doc.heading("Sign-off")
    doc.blanks(["Plan owner", "Employment counsel (per country)", "Payroll", "Date"])
    return doc


def works_council_document(found: Checklists | None) -> Document:
    """Return the works-council consultation brief: blank, or filled from the checklists."""
    doc = _opening(
        "Works-council consultation brief (course topic 8.4)",
        "Introducing or changing variable pay needs, country by country, the employee "
        "representatives' co-determination, consent, agreement, consultation or information "
        "before the plan takes effect; consultation must start at least the lead time before.",
        found,
    )
    doc.heading("Duties and the day to start")
    if found is None:
        duties = rules_frame("works_council")[["jurisdiction", "value", *CITED]]
        lead = rules_frame("works_council_lead_time")[
            ["jurisdiction", "value", "unit", "enforcement_status"]
        ]
        table = duties.rename(columns={"value": "duty"}).merge(
            lead.rename(columns={"value": "lead_time", "enforcement_status": "lead_time_status"}),
            on="jurisdiction",
        )
        table["start consultation by (plan start - lead time)"] = BLANK
        doc.table(table)
    else:
        doc.table(
            iso_dates(
                found.works_council[
                    [
                        "jurisdiction",
                        "award_holders",
                        "duty",
                        "lead_time",
                        "lead_time_unit",
                        "plan_start",
                        "start_consultation_by",
                        *CITED,
                        "lead_time_enforcement_status",
                    ]
                ]
            )
        )
    doc.heading("The brief to the representatives")
    doc.blanks(
        [
            "What is introduced or changed (metrics, targets, award sizes, vesting, guards)",
            "Employees and sites affected",
            "Representative body and contact",
            "Documents given (plan, review of discretionary clauses, equal-pay impact)",
            "Consultation meetings (dates)",
            "Outcome (agreement, consent, opinion, notice given) and date",
        ]
    )
    return doc


def tax_document(found: Checklists | None) -> Document:
    """Return the tax classification table: blank, or filled from the checklists."""
    doc = _opening(
        "Tax and social-security classification of the award (course topic 8.3)",
        "How each country taxes a cash incentive award, on which event (grant, vesting or "
        "payment) and whether social-security contributions are due, capped or not. Payroll "
        "confirms each row before the first payment.",
        found,
    )
    doc.heading("Classification")
    if found is None:
        tax = rules_frame("tax_timing")[["jurisdiction", "record_kind", "value", "starts", *CITED]]
        social = rules_frame("social_security")[
            ["jurisdiction", "record_kind", "value", "starts", "last_checked"]
        ]
        table = tax.rename(
            columns={"record_kind": "payment", "value": "classification", "starts": "taxed_at"}
        ).merge(
            social.rename(
                columns={
                    "record_kind": "payment",
                    "value": "social_security",
                    "starts": "contributions_at",
                    "last_checked": "social_security_last_checked",
                }
            ),
            on=["jurisdiction", "payment"],
        )
        table["confirmed by payroll"] = BLANK
        doc.table(table)
    else:
        doc.table(
            found.tax_classification[
                [
                    "jurisdiction",
                    "payment",
                    "classification",
                    "taxed_at",
                    "in_this_plan",
                    *CITED,
                    "social_security",
                    "contributions_at",
                    "social_security_last_checked",
                ]
            ]
        )
    doc.heading("Sign-off")
    doc.blanks(["Payroll (per country)", "Tax adviser", "Date"])
    return doc


def example_people(scenario: Scenario, plan: Plan) -> pd.DataFrame:
    """Return the scenario's people with variable pay at the plan's target award.

    Parameters
    ----------
    scenario : Scenario
        Its people: gender, grade, country and base salary.
    plan : Plan
        Its target award per grade (% of base salary).

    Returns
    -------
    DataFrame
        ``person_id, gender, grade, country, base_pay, variable_pay``: what the plan pays
        at target, before performance, pool, cap, malus or clawback.
    """
    rows = [
        {
            "person_id": person.id,
            "gender": person.gender,
            "grade": person.grade,
            "country": person.country,
            "base_pay": person.base_salary,
            "variable_pay": person.base_salary
            * plan.target_award_pct.get(person.grade, plan.default_target_award_pct)
            / 100,
        }
        for team in scenario.organisation.teams
        for person in team.people
    ]
    return pd.DataFrame(rows)


def equal_pay_example(results_dir: str | Path = "", plan: str = "") -> tuple[dict, str]:
    """Return the pay-gap report of the example roster and a sentence saying what it is.

    Parameters
    ----------
    results_dir : str or Path
        A batch directory (its scenario and plan), or ``""`` for the default scenario with
        the ``balanced_guarded`` plan.
    plan : str
        A plan the batch holds, or a plan name for the blank example.

    Returns
    -------
    tuple
        The report (:func:`toolkit.compliance.pay_gap.pay_gap_report`) and its description.
    """
    found = batch_plan(results_dir, plan)
    if found is None:
        found = (
            load_scenario(shipped_scenario(EXAMPLE_SCENARIO)),
            resolve_plan(plan or EXAMPLE_PLAN),
        )
    scenario, model = found
    year = scenario.horizon.start.year
    conventions = PayGapConventions(reference_year=year)
    people = validate_people(example_people(scenario, model), conventions, "example roster")
    text = (
        f"Example: the {len(people)} people of scenario {scenario.name} with variable pay at "
        f"plan {model.name}'s target award (% of base salary by grade), before performance, "
        f"pool, cap, malus and clawback; reference year {year}. For a run's or a batch's "
        "awards use `lti compliance pay-gap`."
    )
    return pay_gap_report(people, conventions, year), text


def _percent(entry: dict) -> str:
    if entry.get("status") != "reported" or entry.get("value_percent") is None:
        return f"{entry.get('status', '')}: {entry.get('reason', '')}".rstrip(": ")
    return f"{entry['value_percent']:.1f} %"


def _share(value) -> str:
    return "" if value is None else f"{value * 100:.1f} %"


def equal_pay_document(report: dict, description: str) -> Document:
    """Return the equal-pay report: every Art. 9(1) indicator, Art. 10, four-fifths, conventions."""
    doc = Document("Equal-pay report (course topic 8.6)")
    doc.paragraph(
        "Gaps are relative to men's pay: (men - women) / men x 100, positive when men are paid "
        "more; a figure over fewer women or men than the minimum group size is suppressed. "
        + report["not_legal_advice"]
    )
    doc.paragraph(description)
    people = report["population"]
    doc.table(
        pd.DataFrame(
            [
                (
                    people["workers"],
                    people["women"],
                    people["men"],
                    sum(people["other_genders"].values()),
                )
            ],
            columns=["workers", "women", "men", "other genders"],
        )
    )
    doc.paragraph(people["other_genders_treatment"])
    doc.heading("Art. 9(1)(a)-(d): gaps in pay and in variable pay")
    rows = [
        (
            ARTICLES[key],
            key.replace("_", " "),
            report[key]["n_women"],
            report[key]["n_men"],
            _percent(report[key]),
        )
        for key in (MEAN_GAP, VARIABLE_MEAN_GAP, MEDIAN_GAP, VARIABLE_MEDIAN_GAP)
    ]
    doc.table(pd.DataFrame(rows, columns=["article", "indicator", "women", "men", "gap"]))
    receiving = report[RECEIVING]
    doc.heading("Art. 9(1)(e): workers receiving variable pay")
    doc.table(
        pd.DataFrame(
            [
                (g, receiving[g]["n"], _share(receiving[g].get("share_receiving")))
                for g in ("women", "men")
            ],
            columns=["group", "workers", "receiving"],
        )
    )
    bands = report[QUARTILES]
    doc.heading("Art. 9(1)(f): quartile pay bands")
    doc.paragraph(report["conventions"]["quartile_ties"]["meaning"])
    doc.table(
        pd.DataFrame(
            [
                (
                    band,
                    bands[band]["n"],
                    bands[band]["n_women"],
                    bands[band]["n_men"],
                    _share(bands[band].get("share_women")),
                    _share(bands[band].get("share_men")),
                )
                for band in BANDS
            ],
            columns=["band", "workers", "women", "men", "share women", "share men"],
        )
    )
    categories = {k: v for k, v in report[BY_CATEGORY].items() if k != "article"}
    doc.heading("Art. 9(1)(g): gap per category, basic and variable pay")
    doc.table(
        pd.DataFrame(
            [
                (
                    name,
                    parts["pay"]["n_women"],
                    parts["pay"]["n_men"],
                    _percent(parts["ordinary_basic_wage_or_salary"]),
                    _percent(parts["complementary_or_variable_components"]),
                    _percent(parts["pay"]),
                )
                for name, parts in categories.items()
            ],
            columns=["category", "women", "men", "basic pay gap", "variable pay gap", "pay gap"],
        )
    )
    joint = report[JOINT_ASSESSMENT]
    doc.heading("Art. 10: joint pay assessment")
    doc.paragraph(
        f"Rule: {joint['rule']}. Flagged: {', '.join(joint['categories_flagged']) or 'none'}."
    )
    doc.table(
        pd.DataFrame(
            [
                (
                    name,
                    c["status"],
                    "" if c.get("gap_percent") is None else f"{c['gap_percent']:.1f} %",
                    ""
                    if c.get("unexplained_percent") is None
                    else f"{c['unexplained_percent']:.1f} %",
                )
                for name, c in joint["categories"].items()
            ],
            columns=["category", "status", "gap", "unexplained"],
        )
    )
    rule = report[FOUR_FIFTHS_RULE]
    doc.heading("US four-fifths rule on receiving an award")
    doc.paragraph(f"{rule['rule']}; selection: {rule['selection']}.")
    doc.table(
        pd.DataFrame(
            [
                (
                    g,
                    v["n"],
                    v["status"],
                    _share(v.get("rate")),
                    "" if v.get("impact_ratio") is None else f"{v['impact_ratio']:.2f}",
                    "" if v.get("fisher_p_value") is None else f"{v['fisher_p_value']:.3f}",
                )
                for g, v in rule["groups"].items()
            ],
            columns=["group", "workers", "status", "rate", "impact ratio", "Fisher p"],
        )
    )
    doc.heading("Conventions")
    doc.table(
        pd.DataFrame(
            [(name, str(c["value"]), c["meaning"]) for name, c in report["conventions"].items()],
            columns=["convention", "value", "meaning"],
        )
    )
    doc.heading("Sign-off")
    doc.blanks(["Prepared by", "Reviewed with the employee representatives", "Date"])
    return doc
