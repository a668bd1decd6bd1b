"""Module 8's helpers: its paragraphs follow the numbers; its checkers judge both ways.

The archive calendar (8.5) is checked against dates worked out by hand from the jurisdiction
files and the plan; the Art. 10 example roster (8.6) against the structure planted in it, on
several seeds.
"""

import pandas as pd
import pytest

from toolkit.compliance.pay_conventions import PayGapConventions
from toolkit.compliance.pay_gap import pay_gap_report
from toolkit.compliance.pay_people import validate_people
from toolkit.compliance.retention import retention_check
from toolkit.config import load_scenario
from toolkit.course import compliance_review as m8
from toolkit.plans import load_plan

from .conftest import SCENARIOS


# -- 8.5 ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def plan_and_world():
    world = load_scenario(SCENARIOS / "small.yaml")
    return load_plan("balanced_guarded", scenario=world), world


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
    broken = {**BY_HAND, "PL": {**BY_HAND["PL"], "audit_log": "soon"}}
    check = m8.check_archive_dates(broken, archive)
    assert not check.met and "audit_log in PL" in check.why


# -- 8.6 ---------------------------------------------------------------------------------------
CONVENTIONS = PayGapConventions(category="category", criteria=("tenure",), bootstrap_replicates=99)


def _assessment(seed, conventions=CONVENTIONS):
    roster = validate_people(m8.example_roster(seed), conventions)
    return pay_gap_report(roster, conventions)


@pytest.mark.parametrize("seed", range(5))
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
