"""Module 8's notebook runs whole; its paragraphs follow the numbers; its checkers judge both ways.

The checklists themselves are tested with :mod:`toolkit.compliance.checklists`; here what the
module makes of them: the rules under review (8.1), the clauses to sign (8.2), the tax calendar
of a cohort worked out by hand (8.3), the days the works-council procedures must start (8.4),
the archive calendar against dates worked out by hand from the jurisdiction files and the plan
(8.5), and the Art. 10 example roster against the structure planted in it, on several seeds
(8.6).
"""

import dataclasses

import nbformat
import numpy as np
import pandas as pd
import pytest

from toolkit.compliance.checklists import build_checklists, discretionary_clauses, rules_frame
from toolkit.compliance.jurisdictions import load_rules
from toolkit.compliance.pay_conventions import PayGapConventions
from toolkit.compliance.pay_gap import pay_gap_report
from toolkit.compliance.pay_people import validate_people
from toolkit.compliance.retention import retention_check
from toolkit.config import load_scenario
from toolkit.course import compliance_review as m8
from toolkit.course.catalogue import module
from toolkit.plans import load_plan

from .conftest import SCENARIOS


@pytest.fixture(scope="module")
def executed(course):
    root, _ = course
    return nbformat.read(root / "modules" / f"{module(8).stem}.ipynb", as_version=4)


def test_every_topic_section_shows_a_result_a_paragraph_and_its_check(executed):
    from toolkit.course.sections import section_problems

    assert section_problems(executed, module(8)) == []
    checks = [
        output["data"]["text/markdown"]
        for cell in executed["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
        if "Exercise check" in output.get("data", {}).get("text/markdown", "")
    ]
    assert len(checks) == 6 and all("Not yet" in text for text in checks)


@pytest.fixture(scope="module")
def plan_and_world():
    world = load_scenario(SCENARIOS / "small.yaml")
    return load_plan("balanced_guarded", scenario=world), world


@pytest.fixture(scope="module")
def checklists(plan_and_world):
    plan, world = plan_and_world
    return build_checklists(world, plan)


# -- 8.1 ---------------------------------------------------------------------------------------
def test_the_review_counts_every_applicable_rule_once(checklists):
    applicable = m8.applicable_rules(checklists)
    assert set(applicable["jurisdiction"]) == {"DE", "NL", "PL"}  # small employs no one else
    every = pd.concat([rules_frame(k) for k in ("tax_timing", "works_council")])
    assert len(applicable[applicable["rule_kind"].isin(["tax_timing", "works_council"])]) == len(
        every[every["jurisdiction"].isin(["DE", "NL", "PL"])]
    )
    table = m8.review_table(checklists, applicable)
    per_country = applicable.groupby("jurisdiction").size()
    statuses = table[["in_force", "pending", "guidance", "none"]].sum(axis=1)
    assert statuses.to_dict() == per_country.to_dict()
    unchecked = (applicable["last_checked"] == "unchecked").groupby(applicable["jurisdiction"])
    assert table["unchecked"].to_dict() == unchecked.sum().to_dict()
    text = m8.interpret_review(table, applicable)
    guidance = int(table["guidance"].sum())
    assert f"so {len(applicable)} rules of those countries apply. {guidance} of them are" in text
    assert f"and {int(table['unchecked'].sum())} have never been compared" in text
    assert "No rules cover" not in text and "Not legal advice" in text


def test_a_country_without_rules_is_named_in_the_review(plan_and_world):
    plan, world = plan_and_world
    teams = list(world.organisation.teams)
    moved = teams[0].people[0].model_copy(update={"country": "FR"})
    teams[0] = teams[0].model_copy(update={"people": [moved, *teams[0].people[1:]]})
    abroad = world.model_copy(
        update={"organisation": world.organisation.model_copy(update={"teams": teams})}
    )
    checklists = build_checklists(abroad, plan)
    applicable = m8.applicable_rules(checklists)
    table = m8.review_table(checklists, applicable)
    assert table.loc["FR", "coverage"] == "uncovered" and table.loc["FR", "in_force"] == 0
    assert "No rules cover FR" in m8.interpret_review(table, applicable)


def test_the_guidance_check_judges_both_ways(checklists):
    applicable = m8.applicable_rules(checklists)
    guidance = applicable[applicable["enforcement_status"] == "guidance"]
    right = [tuple(r) for r in guidance[["jurisdiction", "rule_kind", "record_kind"]].values]
    assert len(right) >= 2
    assert m8.check_guidance(right, applicable).met
    assert "are missing" in m8.check_guidance(right[1:], applicable).why
    law = applicable[applicable["enforcement_status"] == "in_force"].iloc[0]
    named = (law["jurisdiction"], law["rule_kind"], law["record_kind"])
    check = m8.check_guidance([*right, named], applicable)
    assert not check.met and "in_force, not guidance" in check.why
    check = m8.check_guidance(
        [*right, ("US", "works_council_lead_time", "variable_pay")], applicable
    )
    assert not check.met and "do not apply" in check.why
    assert "three parts" in m8.check_guidance(["DE"], applicable).why


# -- 8.2 ---------------------------------------------------------------------------------------
def test_each_clause_is_listed_once_with_a_signature_per_country(plan_and_world, checklists):
    plan, _ = plan_and_world
    table = m8.clause_table(checklists)
    clauses = discretionary_clauses(plan)
    assert list(table.index) == list(clauses["clause"])
    assert (table["countries"] == "DE, NL, PL").all() and (table["unsigned"] == 3).all()
    points = m8.review_points(checklists)
    assert points.shape == (3, 3) and set(points.columns) == {"DE", "NL", "PL"}
    text = m8.interpret_sign_off(checklists)
    forfeiture = (clauses["review"] == "forfeiture").sum()
    assert f"has {len(clauses)} clauses a court may review" in text
    assert f"{forfeiture} forfeiture" in text and f"{3 * len(clauses)} signatures" in text


def test_the_forfeiture_check_judges_both_ways(plan_and_world):
    _, world = plan_and_world
    careful = load_plan("careful", scenario=world)
    clauses = discretionary_clauses(careful)
    right = list(clauses.loc[clauses["review"] == "forfeiture", "clause"])
    assert {"malus", "leavers", "gates[0]"} <= set(right)
    assert m8.check_forfeiture_clauses(right, careful).met
    assert "are missing" in m8.check_forfeiture_clauses(right[:-1], careful).why
    check = m8.check_forfeiture_clauses([*right, "clawback"], careful)
    assert not check.met and "clawback of careful do(es) not take away" in check.why
    check = m8.check_forfeiture_clauses([*right, "bonus_pool"], careful)
    assert not check.met and "no clause bonus_pool" in check.why


# -- 8.3 ---------------------------------------------------------------------------------------
def test_the_tax_calendar_of_the_first_cohort_by_hand(plan_and_world, checklists):
    plan, world = plan_and_world
    # granted 2026Q1, a 3-year cliff vests at the end of 2028; 60 % is paid then and the 40 %
    # deferred 2 years at the end of 2030. DE, NL and PL tax and levy at payment.
    calendar = m8.tax_calendar(checklists, plan, world)
    for country in ("DE", "NL", "PL"):
        assert calendar.loc[country, "income_tax"].to_dict() == pytest.approx(
            {2028: 0.6, 2030: 0.4}
        )
        assert calendar.loc[country, "contributions"].to_dict() == pytest.approx(
            {2028: 0.6, 2030: 0.4}
        )
    text = m8.interpret_tax(checklists, calendar)
    assert "at payment (60 % in 2028 and 40 % in 2030 of the first cohort)" in text
    assert "taxed over up to 2 tax years" in text
    # taxed at vesting, the whole award is taxable in 2028, the deferred part included
    vest = checklists.tax_classification.assign(taxed_at="vest")
    at_vest = dataclasses.replace(checklists, tax_classification=vest)
    calendar = m8.tax_calendar(at_vest, plan, world)
    assert calendar.loc["DE", "income_tax"].loc[2028] == pytest.approx(1.0)
    assert calendar.loc["DE", "contributions"].to_dict() == pytest.approx({2028: 0.6, 2030: 0.4})
    # graded, without deferral: a third of the award each year of 2026 to 2028
    graded = plan.model_copy(
        update={
            "vesting": plan.vesting.model_copy(update={"schedule": "graded", "deferral_share": 0})
        }
    )
    calendar = m8.tax_calendar(build_checklists(world, graded), graded, world)
    assert calendar.loc["PL", "income_tax"].to_dict() == pytest.approx(
        {2026: 1 / 3, 2027: 1 / 3, 2028: 1 / 3}
    )
    assert "up to 3 tax years" in m8.interpret_tax(build_checklists(world, graded), calendar)


def test_the_early_taxation_check_follows_the_rules():
    rules = [r for r in load_rules() if r.rule_kind in ("tax_timing", "social_security")]
    early = sorted({r.jurisdiction for r in rules if r.starts != "payment"})
    assert early and "DE" not in early
    assert m8.check_early_taxation(early).met
    assert "is missing" in m8.check_early_taxation(early[1:]).why
    check = m8.check_early_taxation([*early, "DE"])
    assert not check.met and "DE: income tax and contributions only when" in check.why
    assert "cover no FR" in m8.check_early_taxation(["FR"]).why
    # a German rule taxing at vesting makes Germany one of them
    moved = [
        dataclasses.replace(r, starts="vest")
        if (r.jurisdiction, r.rule_kind) == ("DE", "tax_timing")
        else r
        for r in rules
    ]
    assert not m8.check_early_taxation(early, moved).met
    assert m8.check_early_taxation([*early, "de"], moved).met


# -- 8.4 ---------------------------------------------------------------------------------------
def _latest_start(start, country):
    """The last day to begin a procedure, counted back by hand from the lead-time rule."""
    from dateutil.relativedelta import relativedelta

    lead = next(r for r in load_rules(kind="works_council_lead_time") if r.jurisdiction == country)
    back = (
        relativedelta(months=lead.months)
        if lead.months is not None
        else relativedelta(days=lead.days)
    )
    return (pd.Timestamp(start).to_pydatetime() - back).date().isoformat()


def test_the_consultation_table_counts_the_lead_time_back(checklists):
    table = m8.consultation_table(checklists)
    assert set(table.index) == {"DE", "NL", "PL"}
    for country, row in table.iterrows():
        assert row["start_consultation_by"].date().isoformat() == _latest_start(
            "2026-01-01", country
        )
    first = table["start_consultation_by"].idxmin()
    text = m8.interpret_consultation(table)
    day = table.loc[first, "start_consultation_by"].date().isoformat()
    assert f"The first procedure to start is in {first}, by {day}" in text
    guidance = list(table.index[table["lead_time_status"] == "guidance"])
    assert (f"The lead times of {' and '.join(guidance)} are guidance" in text) == bool(guidance)
    nobody = table.assign(duty="none")
    assert "No country of the plan's people" in m8.interpret_consultation(nobody)


def test_the_consultation_check_judges_both_ways(plan_and_world):
    plan, world = plan_and_world
    right = {c: _latest_start("2027-01-01", c) for c in ("DE", "NL", "PL")}
    assert m8.check_consultation_dates(right, world, plan, "2027-01-01").met
    late = {**right, "DE": (pd.Timestamp(right["DE"]) + pd.Timedelta(days=1)).date().isoformat()}
    check = m8.check_consultation_dates(late, world, plan, "2027-01-01")
    assert not check.met and "In DE the procedure would start too late" in check.why
    early = {**right, "PL": (pd.Timestamp(right["PL"]) - pd.Timedelta(days=1)).date().isoformat()}
    check = m8.check_consultation_dates(early, world, plan, "2027-01-01")
    assert not check.met and "PL start(s) earlier" in check.why
    check = m8.check_consultation_dates({**right, "US": "2026-12-01"}, world, plan, "2027-01-01")
    assert not check.met and "US: no procedure" in check.why
    check = m8.check_consultation_dates({"DE": right["DE"]}, world, plan, "2027-01-01")
    assert not check.met and "No day" in check.why
    # the answer for the plan's start is not the answer for the change
    first = {c: _latest_start("2026-01-01", c) for c in ("DE", "NL", "PL")}
    assert not m8.check_consultation_dates(first, world, plan, "2027-01-01").met


# -- 8.5 ---------------------------------------------------------------------------------------
# balanced_guarded on small: the one cohort is granted in 2026, measured for 3 years (to the end
# of 2028), 40 % deferred 2 years (paid by the end of 2030) and clawable 3 years after that: an
# award needs 2026's records until 2033-12-31. Plan documents are kept 10 years from the end of
# the year in DE (§ 147 AO) and PL, 7 in NL; no statute keeps the audit log.
BY_HAND = {
    "DE": {"incentive_plan": "2037-01-01", "audit_log": "2034-01-01"},
    "NL": {"incentive_plan": "2034-01-01", "audit_log": "2034-01-01"},
    "PL": {"incentive_plan": "2037-01-01", "audit_log": "2034-01-01"},
}


@pytest.fixture(scope="module")
def archive(plan_and_world):
    check = retention_check(*plan_and_world)
    return m8.archive_calendar(check, m8.archive_year(check))


def test_the_archive_calendar_matches_the_dates_worked_out_by_hand(plan_and_world, archive):
    assert m8.archive_year(retention_check(*plan_and_world)) == 2026
    found = {
        (r.jurisdiction, r.record_kind): r.delete_from.date().isoformat()
        for r in archive.itertuples()
    }
    assert found == {(c, k): day for c, kinds in BY_HAND.items() for k, day in kinds.items()}
    decided = archive.set_index(["jurisdiction", "record_kind"])["decided_by"]
    assert decided["DE", "incentive_plan"] == "statute"
    assert decided["NL", "incentive_plan"] == "both"
    assert (decided.xs("audit_log", level="record_kind") == "plan").all()


def test_the_archive_paragraph_follows_the_plan(plan_and_world, archive):
    plan, world = plan_and_world
    text = m8.interpret_archive(archive, 2026)
    assert "The statute alone decides for incentive_plan in DE and incentive_plan in PL" in text
    assert "The last to go are incentive_plan in DE, from 2037-01-01" in text
    assert "No statute sets a period for audit_log in DE, audit_log in NL and audit_log" in text
    assert "Not legal advice" in text
    # without clawback the awards need 2026's records only to the end of 2030: the statute
    # decides every plan document, the awards still the audit log
    short = plan.model_copy(update={"clawback": None})
    calendar = m8.archive_calendar(retention_check(short, world), 2026)
    text = m8.interpret_archive(calendar, 2026)
    assert "statute alone decides for incentive_plan in DE, incentive_plan in NL and " in text
    audit = calendar[calendar["record_kind"] == "audit_log"]
    assert set(audit["delete_from"].dt.date.astype(str)) == {"2031-01-01"}


def test_the_archive_check_judges_both_ways(archive):
    assert m8.check_archive_dates(BY_HAND, archive).met
    early = {**BY_HAND, "DE": {**BY_HAND["DE"], "incentive_plan": "2036-12-31"}}
    check = m8.check_archive_dates(early, archive)
    assert not check.met and "incentive_plan in DE would be deleted while" in check.why
    late = {**BY_HAND, "NL": {**BY_HAND["NL"], "audit_log": "2034-01-02"}}
    check = m8.check_archive_dates(late, archive)
    assert not check.met and "audit_log in NL would be kept past" in check.why
    check = m8.check_archive_dates({"DE": BY_HAND["DE"]}, archive)
    assert not check.met and "No date" in check.why and "in PL" in check.why
    check = m8.check_archive_dates({**BY_HAND, "NL": "2034-01-01"}, archive)
    assert not check.met and "No date" in check.why and "in NL" in check.why
    broken = {**BY_HAND, "PL": {**BY_HAND["PL"], "audit_log": "soon"}}
    check = m8.check_archive_dates(broken, archive)
    assert not check.met and "audit_log in PL" in check.why


# -- 8.6 ---------------------------------------------------------------------------------------
CONVENTIONS = PayGapConventions(category="category", criteria=("tenure",), bootstrap_replicates=99)


def _assessment(seed, conventions=CONVENTIONS):
    roster = validate_people(m8.example_roster(seed), conventions)
    return pay_gap_report(roster, conventions)


@pytest.mark.parametrize("seed", range(10))
def test_the_example_roster_shows_each_outcome_of_the_art_10_assessment(seed):
    categories = _assessment(seed)["joint_pay_assessment"]["categories"]
    status = {c: e["status"] for c, e in categories.items()}
    assert status == {
        "analyst": "below_threshold",
        "developer": "unexplained_gap",
        "engineer": "explained_by_criteria",
        "lead": "too_small_to_assess",
    }
    assert (
        categories["engineer"]["gap_percent"] >= 5 > categories["engineer"]["unexplained_percent"]
    )


def test_the_roster_is_the_same_for_the_same_seed_and_has_the_planted_headcounts():
    roster = m8.example_roster(3)
    pd.testing.assert_frame_equal(roster, m8.example_roster(3))
    counts = roster.groupby(["category", "gender"]).size()
    assert counts["lead", "female"] == 1 and counts["lead", "male"] == 6
    assert roster["person_id"].is_unique


@pytest.fixture(scope="module")
def assessment():
    return _assessment(0)


def test_the_indicator_table_shows_the_report_s_gaps(assessment):
    table = m8.indicator_table(assessment).set_index("article")
    mean = assessment["gender_pay_gap"]
    assert table.loc["9(1)(a)", "value"] == pytest.approx(mean["value_percent"], abs=1e-3)
    assert table.loc["9(1)(a)", "value"] == pytest.approx(
        100 * (mean["men"] - mean["women"]) / mean["men"], abs=1e-3
    )
    assert list(table.index) == ["9(1)(a)", "9(1)(b)", "9(1)(c)", "9(1)(d)", "9(1)(e)"]


def test_the_assessment_paragraph_follows_the_criteria(assessment):
    text = m8.interpret_joint_assessment(assessment)
    developer = assessment["joint_pay_assessment"]["categories"]["developer"]["gap_percent"]
    assert f"due for developer: a gap of up to {developer:.1f} %" in text
    assert "The gap of engineer reaches the threshold but tenure explains it" in text
    assert "lead has too few women or men" in text
    # without tenure as a criterion nothing explains the engineers' gap
    bare = _assessment(0, CONVENTIONS.model_copy(update={"criteria": ()}))
    text = m8.interpret_joint_assessment(bare)
    assert "due for developer and engineer" in text and "explains it" not in text


def test_the_joint_assessment_check_judges_both_ways(assessment):
    assert m8.check_joint_assessment(["developer"], assessment).met
    check = m8.check_joint_assessment(["developer", "engineer"], assessment)
    assert not check.met and "engineer: the named criteria explain its gap" in check.why
    check = m8.check_joint_assessment(["lead"], assessment)
    assert not check.met and "person by person" in check.why
    check = m8.check_joint_assessment(["analyst", "developer"], assessment)
    assert not check.met and "below the threshold" in check.why
    check = m8.check_joint_assessment([], assessment)
    assert not check.met and "is missing" in check.why
    check = m8.check_joint_assessment(["developers"], assessment)
    assert not check.met and "no category developers" in check.why


def _plan_gaps(changes):
    """A plan comparison with the given mean-gap changes (mean, low, high) against fixed pay."""
    rows = [{"plan": "no_incentive", "seeds": 2, "gender_pay_gap": 4.0}]
    for plan, (mean, low, high) in changes.items():
        rows.append({"plan": plan, "seeds": 2, "gender_pay_gap": 4.0 + mean})
        rows[-1].update(
            {
                "gender_pay_gap_vs_reference": mean,
                "gender_pay_gap_vs_reference_low": low,
                "gender_pay_gap_vs_reference_high": high,
            }
        )
    return pd.DataFrame(rows)


def test_the_plan_gap_paragraph_names_the_plan_that_widens_the_gap_most():
    gaps = _plan_gaps({"a": (0.5, -1.0, 2.0), "b": (2.5, 1.0, 4.0), "c": (-1.0, -2.0, 0.0)})
    text = m8.interpret_plan_gaps(gaps, "no_incentive")
    assert "the mean pay gap is 4.0 % (men are paid more" in text
    assert "most towards men is b: 2.5 points over 2 seeds, clearly above zero" in text
    gaps = _plan_gaps({"a": (0.5, -1.0, 2.0)})
    assert "is a: 0.5 points over 2 seeds, not distinguishable" in m8.interpret_plan_gaps(
        gaps, "no_incentive"
    )
    gaps = _plan_gaps({"a": (-0.5, -1.0, -0.2), "c": (-1.0, -2.0, 0.0)})
    text = m8.interpret_plan_gaps(gaps, "no_incentive")
    assert "No plan moves it towards men; the one that moves it least towards women is a" in text


def test_the_plan_gaps_of_the_notebook_s_batch(course):
    root, _ = course
    batch = root / "runs" / module(8).stem / "batch"
    world = load_scenario(SCENARIOS / "small.yaml")
    gaps = m8.batch_pay_gaps(batch, world, PayGapConventions(), "no_incentive")
    fixed = gaps.set_index("plan").loc["no_incentive"]
    assert fixed["gender_pay_gap_vs_reference"] == 0 and fixed["share_women_receiving"] == 0
    # fixed pay is base salary alone: its gap is the scenario's, by hand
    women = [p.base_salary for t in world.organisation.teams for p in t.people
             if p.gender == "female"]  # fmt: skip
    men = [p.base_salary for t in world.organisation.teams for p in t.people if p.gender == "male"]
    assert fixed["gender_pay_gap"] == pytest.approx(
        100 * (np.mean(men) - np.mean(women)) / np.mean(men)
    )
    table = m8.plan_gap_table(gaps)
    assert "balanced_guarded" in table.index and "mean pay gap (%)" in table.columns
