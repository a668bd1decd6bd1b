"""Module 7's notebook runs whole; its checkers judge right and wrong answers both ways.

The checkers of 7.4 and 7.6 are tested with their helpers (``test_course_hris.py``,
``test_course_data_availability.py``); here the notebook's sections and the checkers of
``toolkit/course/data_pipeline.py``.
"""

import json

import nbformat
import pandas as pd
import pytest

from toolkit.config import load_scenario
from toolkit.course import data_pipeline as m7
from toolkit.course.catalogue import module
from toolkit.governance.demo import build_demo
from toolkit.governance.inputs import record_inputs
from toolkit.ingest import ingest
from toolkit.plans import load_plan
from toolkit.run.manifest import write_manifest

from .conftest import SCENARIOS

RIGHT = {f"P{p}": p for p in range(1, 5)}


@pytest.fixture(scope="module")
def executed(course):
    root, _ = course
    return nbformat.read(root / "modules" / f"{module(7).stem}.ipynb", as_version=4)


def test_every_topic_section_shows_a_result_a_paragraph_and_its_check(executed):
    from toolkit.course.sections import section_problems

    assert section_problems(executed, module(7)) == []
    checks = [
        output["data"]["text/markdown"]
        for cell in executed["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
        if "Exercise check" in output.get("data", {}).get("text/markdown", "")
    ]
    assert len(checks) == 6 and all("Not yet" in text for text in checks)


@pytest.fixture(scope="module")
def export(small_log, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    path = folder / "export.csv"
    planted = m7.servicenow_export(small_log, path, seed=3, flaws_each=2, relabelled_share=0.1)
    return path, planted, folder


def test_every_planted_flaw_is_quarantined_with_its_reason(small_log, export):
    path, planted, _ = export
    result = ingest("servicenow-table", [path])
    found = set(zip(result.quarantine["record_id"], result.quarantine["reason"], strict=True))
    assert all((r.incident_id, r.reason) in found for r in planted.itertuples())
    relabelled = planted[planted["flaw"] == "relabelled_priority"]
    assert len(relabelled) == round(0.1 * (len(small_log.incidents) - 9))
    counts = m7.quarantine_table(result).set_index("reason")["rows"]
    assert counts["unmapped_value:priority"] == len(relabelled)
    assert counts["missing_required:opened_at"] == 2 == counts["resolved_before_opened"]
    text = m7.interpret_ingestion(result, planted)
    report = result.report
    assert f"{report['rows_accepted']:,} were accepted" in text
    assert f"{len(planted)} of the {len(planted)} planted flaws were caught" in text


def test_the_priority_mapping_check_judges_both_ways(small_log, export):
    path, _, folder = export
    assert not m7.check_priority_mapping({}, path, small_log, folder / "a").met
    assert m7.check_priority_mapping(RIGHT, path, small_log, folder / "b").met
    swapped = {label: 5 - p for label, p in RIGHT.items()}
    wrong = m7.check_priority_mapping(swapped, path, small_log, folder / "c")
    assert not wrong.met and "another priority" in wrong.why
    partial = m7.check_priority_mapping({"P1": 1}, path, small_log, folder / "d")
    assert not partial.met and "still quarantined" in partial.why
    outside = m7.check_priority_mapping({**RIGHT, "P1": 9}, path, small_log, folder / "e")
    assert not outside.met and "priority_out_of_range" in outside.why
    broken = m7.check_priority_mapping({"P1": "high"}, path, small_log, folder / "f")
    assert not broken.met and "does not load" in broken.why


@pytest.fixture(scope="module")
def plan_and_world():
    world = load_scenario(SCENARIOS / "small.yaml")
    return load_plan("balanced_guarded", scenario=world), world


def _enough(years=7):
    rules = [
        {"jurisdiction": j, "record_kind": k, "years": years, "starts": "calendar_year_end"}
        for j in ("DE", "NL", "PL")
        for k in ("itsm_events", "audit_log")
    ]
    rules += [
        {"jurisdiction": j, "record_kind": "hr_file", "years": 7,
         "starts": "employment_end_calendar_year"}
        for j in ("DE", "NL")
    ]  # fmt: skip
    rules += [
        {"jurisdiction": "DE", "record_kind": "payroll", "years": 7, "starts": "calendar_year_end"},
        {"jurisdiction": "PL", "record_kind": "tax", "years": 7, "starts": "calendar_year_end"},
    ]
    return rules


def test_the_retention_policy_check_judges_both_ways(plan_and_world):
    plan, world = plan_and_world
    # balanced_guarded on small: the one cohort (2026) is clawable to 2033-12-31, seven years
    # after the end of 2026
    assert m7.check_retention_policy(_enough(), plan, world).met
    short = m7.check_retention_policy(_enough(6), plan, world)
    assert not short.met and "deleted too early" in short.why
    long = m7.check_retention_policy(_enough(9), plan, world)
    assert not long.met and "longer than any award needs" in long.why
    assert not m7.check_retention_policy([], plan, world).met
    bad = m7.check_retention_policy([{"jurisdiction": "DE", "years": 3}], plan, world)
    assert not bad.met and "not valid" in bad.why


def test_the_retention_paragraph_follows_the_check(plan_and_world):
    from toolkit.compliance.retention import retention_check

    plan, world = plan_and_world
    check = retention_check(plan, world)
    text = m7.interpret_retention(check)
    assert "needed for up to 8 years" in text and f"{len(check.summary())} record kinds" in text
    fixed = retention_check(plan, world, m7.policy_of(_enough()))
    assert "keeps every record long enough" in m7.interpret_retention(fixed)


def test_access_is_scoped_and_pseudonymised_by_role(tmp_path):
    gov, _ = build_demo(tmp_path / "gov.db")
    matrix = m7.access_matrix(gov)
    assert matrix.loc["hr-anna", "people"] == "all" and matrix.loc["audit-lu", "people"] == "all"
    assert matrix.loc["fin-cara", "people"] == "all, pseudonymised"
    assert matrix.loc["vendor-mo", "adjustments"] == "-"
    assert " of " in matrix.loc["lead-apps", "people"]
    assert "pseudonymised" in matrix.loc["lead-apps", "people"]
    text = m7.interpret_access(matrix)
    assert text.startswith("hr-anna and audit-lu see people by name")
    assert "lead-apps and vendor-mo see only their own" in text


@pytest.mark.parametrize(
    ("rights", "met", "why"),
    [
        (["view_all"], True, "changes nothing"),
        (["view_all", "view_identities"], False, "sees names"),
        (["view_team"], False, "cannot see every team"),
        (["view_all", "approve"], False, "may also approve"),
        (["view_all", "read_everything"], False, "Unknown rights"),
    ],
)
def test_the_analyst_rights_check_judges_both_ways(rights, met, why):
    check = m7.check_analyst_rights(rights)
    assert check.met is met and why in check.why


@pytest.fixture
def run(tmp_path):
    """A run directory as lti writes it: two tables and a manifest with their checksums."""
    folder = tmp_path / "run"
    folder.mkdir()
    paths = []
    for name in ("awards", "kpis"):
        path = folder / f"{name}.parquet"
        pd.DataFrame({"team_id": ["apps", "ops"], "value": [1.5, 2.5]}).to_parquet(path)
        paths.append(path)
    write_manifest(folder, {"command": "simulate", "inputs": {}}, paths)
    return folder


def test_the_tampered_file_check_judges_both_ways(run, tmp_path):
    copy, changed = m7.tampered_run(run, tmp_path / "copy", seed=0)
    other = ({"awards.parquet", "kpis.parquet"} - {changed}).pop()
    assert m7.check_tampered_file(copy, changed).met
    assert "still matches" in m7.check_tampered_file(copy, other).why
    assert not m7.check_tampered_file(copy, None).met
    assert "has no file" in m7.check_tampered_file(copy, "nosuch.parquet").why
    assert "verifies" in m7.check_tampered_file(run, changed).why  # the original is intact


def test_input_entries_name_each_recorded_result(run, tmp_path):
    gov, _ = build_demo(tmp_path / "gov.db")
    before = len(m7.input_entries(gov))
    record_inputs(gov.engine, "audit-lu", run)
    table = m7.input_entries(gov)
    assert len(table) == before + 1
    last = table.iloc[-1]
    manifest = json.loads((run / "manifest.json").read_text())
    assert last["action"] == "input.simulate" and last["outputs"] == len(manifest["outputs"])
    assert "all 2 of its output files match" in m7.interpret_inputs(table, run)
