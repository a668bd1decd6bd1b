"""Retention: a policy shorter than the plan's horizon of need is flagged by the right amount.

Every date below is worked out by hand from the small scenario's calendar (quarters from
2025-01-01, eight of them) and the plan written here.
"""

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from toolkit.cli.main import main
from toolkit.compliance import retention as rt
from toolkit.compliance.jurisdictions import (
    RECORD_KINDS,
    load_jurisdictions,
    load_rules,
    rules_directory,
)
from toolkit.config import ConfigError
from toolkit.config.loading import validate_mapping
from toolkit.config.plan import Plan
from toolkit.config.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "scenarios" / "small.yaml"
T = pd.Timestamp


def _plan(**changes) -> Plan:
    """One-year cliff from period 2, half deferred a year, two years of clawback lookback."""
    data = {
        "name": "retention_case",
        "description": "hand-computed retention case",
        "performance_period_years": 1,
        "default_target_award_pct": 10.0,
        "vesting": {"schedule": "cliff", "deferral_share": 0.5, "deferral_years": 1},
        "clawback": {"triggers": ["gaming_detected"], "lookback_years": 2, "recovery": 1.0},
    }
    data.update(changes)
    return Plan.model_validate(data)


def _scenario(countries: dict[str, str] | None = None) -> Scenario:
    data = yaml.safe_load(SMALL.read_text())
    for team in data["organisation"]["teams"]:
        for person in team["people"]:
            person["country"] = (countries or {}).get(person["id"], person["country"])
    return validate_mapping(Scenario, data, SMALL)


def _policy(tmp_path, rules, name="p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"name": "test", "description": "a test", "rules": rules}))
    return path


def _people(scenario, country):
    return sorted(
        p.id for t in scenario.organisation.teams for p in t.people if p.country == country
    )


@pytest.fixture(scope="module")
def small():
    return _scenario()


def test_the_plan_needs_each_period_until_the_lookback_after_its_last_payment(small):
    needs = rt.plan_needs(_plan(), small).set_index("period")
    # cohort of 2025Q3: window 2025Q3-2026Q2, deferred half paid 2027Q2, clawable to 2029-06-30
    # cohort of 2026Q3: window 2026Q3-2027Q2, deferred half paid 2028Q2, clawable to 2030-06-30
    assert needs.loc[["2025Q1", "2025Q2"], "needed_until"].isna().all()
    for period in ("2025Q3", "2025Q4", "2026Q1", "2026Q2"):
        assert needs.loc[period, "needed_until"] == T("2029-06-30"), period
    for period in ("2026Q3", "2026Q4"):  # the second cohort pays last
        assert needs.loc[period, "needed_until"] == T("2030-06-30"), period
        assert needs.loc[period, "tranches"] == 2
    plain = rt.plan_needs(_plan(clawback=None, vesting={"schedule": "cliff"}), small)
    assert plain.set_index("period").loc["2025Q3", "needed_until"] == T("2026-06-30")


def test_graded_tranches_are_needed_until_their_own_payment():
    plan = _plan(
        performance_period_years=2,
        vesting={"schedule": "graded"},
        clawback={"triggers": ["gaming_detected"], "lookback_years": 1, "recovery": 1.0},
    )
    needs = rt.plan_needs(plan, _scenario()).set_index("period")
    # first tranche 2025Q3-2026Q2 paid 2026-06-30; the second (and the next cohort's first)
    # 2026Q3-2027Q2 paid 2027-06-30; one year of lookback after each
    assert needs.loc["2025Q3", "needed_until"] == T("2027-06-30")
    assert needs.loc["2026Q2", "needed_until"] == T("2027-06-30")
    assert needs.loc["2026Q3", "needed_until"] == T("2028-06-30")


def test_a_policy_shorter_than_the_lookback_is_flagged_with_its_shortfall(small, tmp_path):
    path = _policy(
        tmp_path, [{"jurisdiction": "DE", "record_kind": "itsm_events", "years": 3,
                    "starts": "record"}]
    )  # fmt: skip
    check = rt.retention_check(_plan(), small, rt.load_policy(path))
    flagged = check.too_early[
        (check.too_early["record_kind"] == "itsm_events")
        & (check.too_early["jurisdiction"] == "DE")
        & (check.too_early["needed_by"] == "plan")
    ].set_index("period")
    # 2026Q2 ends 2026-06-30 and is kept to 2029-06-30, exactly as long as it is needed
    assert list(flagged.index) == ["2025Q3", "2025Q4", "2026Q1", "2026Q3", "2026Q4"]
    # 2025Q3 ends 2025-09-30: kept to 2028-09-30, needed to 2029-06-30: Oct..Jun = 273 days
    assert flagged.loc["2025Q3", "kept_until"] == T("2028-09-30")
    assert flagged.loc["2025Q3", "needed_until"] == T("2029-06-30")
    assert flagged.loc["2025Q3", "shortfall_days"] == 31 + 30 + 31 + 31 + 28 + 31 + 30 + 31 + 30
    # 2026Q4 ends 2026-12-31: kept to 2029-12-31, needed to 2030-06-30: Jan..Jun = 181 days
    assert flagged.loc["2026Q4", "shortfall_days"] == 31 + 28 + 31 + 30 + 31 + 30
    assert flagged.loc["2026Q4", "rule_from"] == "policy"
    de = _people(small, "DE")
    assert flagged.loc["2025Q3", "people_affected"] == len(de) == 4
    assert flagged.loc["2025Q3", "person_ids"] == ",".join(
        p.id for t in small.organisation.teams for p in t.people if p.country == "DE"
    )
    worst = check.summary().set_index(["record_kind", "jurisdiction", "needed_by"])
    assert worst.loc[("itsm_events", "DE", "plan"), "shortfall_days"] == 273
    assert worst.loc[("itsm_events", "DE", "plan"), "periods"] == 5


def test_a_policy_long_enough_is_not_flagged_to_the_day(small, tmp_path):
    def flagged(years, months, starts="record"):
        rule = {"jurisdiction": "NL", "record_kind": "audit_log", "years": years,
                "months": months, "starts": starts}  # fmt: skip
        check = rt.retention_check(_plan(), small, rt.load_policy(_policy(tmp_path, [rule])))
        rows = check.too_early
        return rows[(rows["record_kind"] == "audit_log") & (rows["jurisdiction"] == "NL")]

    # 2025Q3 (ends 2025-09-30) and 2026Q3 (ends 2026-09-30) need exactly 3 years 9 months
    assert flagged(3, 9).empty
    assert flagged(5, 0).empty
    assert flagged(4, 0, "calendar_year_end").empty  # 2025-12-31 + 4 y covers 2029-06-30
    short = flagged(3, 8).set_index("period")
    assert list(short.index) == ["2025Q3", "2026Q3"]
    assert (short["shortfall_days"] == 30).all()  # May 31 to June 30


def test_the_statutory_minimum_is_a_floor_for_the_policy(small, tmp_path):
    rule = {"jurisdiction": "DE", "record_kind": "payroll", "years": 3, "starts": "record"}
    check = rt.retention_check(_plan(), small, rt.load_policy(_policy(tmp_path, [rule])))
    rows = check.too_early
    statute = rows[(rows["needed_by"] == "statute") & (rows["record_kind"] == "payroll")]
    first = statute.set_index("period").loc["2025Q1"]
    # § 41 EStG: to the end of the sixth calendar year after 2025; the policy keeps to 2028-03-31
    assert first["needed_until"] == T("2031-12-31") and first["kept_until"] == T("2028-03-31")
    assert first["shortfall_days"] == (T("2031-12-31") - T("2028-03-31")).days
    assert set(statute["jurisdiction"]) == {"DE"} and len(statute) == 8
    # unlisted records keep the statutory minimum and say so
    nl = check.calendar[(check.calendar["jurisdiction"] == "NL")]
    assert set(nl["policy_from"]) == {"statutory minimum"}


def test_the_calendar_counts_from_the_tax_year_and_the_plans_need(tmp_path):
    scenario = _scenario({"p04": "GB", "w02": "IN"})
    check = rt.retention_check(_plan(), scenario)
    cal = check.calendar.set_index(["jurisdiction", "record_kind", "period"])
    # PAYE: three years after the tax year ending 5 April
    assert cal.loc[("GB", "payroll", "2025Q1"), "statutory_until"] == T("2028-04-05")
    assert cal.loc[("GB", "payroll", "2025Q2"), "statutory_until"] == T("2029-04-05")
    assert cal.loc[("GB", "payroll", "2025Q1"), "earliest_deletion"] == T("2028-04-06")
    # 2025Q3 is needed by the award until 2029-06-30, after its statutory 2029-04-05
    assert cal.loc[("GB", "payroll", "2025Q3"), "earliest_deletion"] == T("2029-07-01")
    # Companies Act 2013 s. 128(5): eight financial years after the one ending 31 March
    assert cal.loc[("IN", "tax", "2025Q1"), "statutory_until"] == T("2033-03-31")
    assert cal.loc[("IN", "tax", "2025Q2"), "statutory_until"] == T("2034-03-31")
    # Poland: ten years from the end of the year employment ends (here: the period's year)
    assert cal.loc[("PL", "hr_file", "2026Q4"), "statutory_until"] == T("2036-12-31")
    # the Dutch authority's two years after leaving is a maximum the plan's need exceeds
    conflicts = check.conflicts.set_index(["jurisdiction", "record_kind", "period"])
    nl = conflicts.loc[("NL", "hr_file", "2025Q3")]
    assert nl["allowed_until"] == T("2027-09-30") and nl["needed_until"] == T("2029-06-30")
    assert nl["enforcement_status"] == "guidance"
    assert set(cal.index.get_level_values("record_kind")) == set(RECORD_KINDS)


def test_people_without_awards_need_nothing_kept_for_the_plan(small):
    check = rt.retention_check(_plan(default_target_award_pct=0.0), small)
    assert check.calendar["needed_until"].isna().all()
    assert set(check.too_early["needed_by"]) <= {"statute"}


def test_a_country_without_rules_is_refused(tmp_path):
    with pytest.raises(ValueError, match="people in FR, which have no jurisdiction rules"):
        rt.retention_check(_plan(), _scenario({"p01": "FR"}))


@pytest.mark.parametrize(
    ("rule", "where", "reason"),
    [
        ({"jurisdiction": "DE", "record_kind": "payroll", "yeras": 3, "starts": "record"},
         "rules[0].yeras", "did you mean 'years'"),
        ({"jurisdiction": "DE", "record_kind": "payrol", "years": 3, "starts": "record"},
         "rules[0].record_kind", "'payroll'"),
        ({"jurisdiction": "DE", "record_kind": "payroll", "years": -1, "starts": "record"},
         "rules[0].years", "greater than or equal to 0"),
        ({"jurisdiction": "DE", "record_kind": "payroll", "years": 3, "starts": "hire"},
         "rules[0].starts", "calendar_year_end"),
        ({"jurisdiction": "UK", "record_kind": "payroll", "years": 3, "starts": "record"},
         "rules[0].jurisdiction", "the United Kingdom is GB"),
        ({"jurisdiction": "FR", "record_kind": "payroll", "years": 3, "starts": "record"},
         "rules[0].jurisdiction", "no jurisdiction rules for FR"),
    ],
)  # fmt: skip
def test_bad_policy_files_are_refused_naming_file_field_and_reason(tmp_path, rule, where, reason):
    path = _policy(tmp_path, [rule])
    with pytest.raises(ConfigError) as error:
        rt.load_policy(path)
    text = str(error.value)
    assert f"{path}: {where}: " in text and reason in text


def test_a_rule_given_twice_is_refused(tmp_path):
    rule = {"jurisdiction": "DE", "record_kind": "payroll", "years": 3, "starts": "record"}
    with pytest.raises(ConfigError, match="payroll in DE is given twice"):
        rt.load_policy(_policy(tmp_path, [rule, {**rule, "years": 4}]))


def test_every_shipped_rule_is_cited_dated_and_covers_each_record_kind():
    rules = load_rules()
    countries = load_jurisdictions()
    assert list(countries) == ["DE", "NL", "PL", "IN", "US", "GB"]
    minimum = {(r.jurisdiction, r.record_kind) for r in rules if r.rule_kind == "retention_minimum"}
    assert minimum == {(c, k) for c in countries for k in RECORD_KINDS}
    assert all(r.url.startswith("https://") and r.source for r in rules)
    checked = [r for r in rules if r.last_checked is not None]
    assert checked and all(r.last_checked.isoformat() == "2026-12-03" for r in checked)
    assert any(r.last_checked is None for r in rules)  # unchecked rows say so


def _copy_rules(tmp_path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(rules_directory(), folder, ignore=shutil.ignore_patterns("*.py", "__py*"))
    return folder


def _edit(path: Path, line: int, column: str, value: str) -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0])
    rows[line - 2][column] = value
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("value", "six", "line 2.value: must be a number"),
        ("value", "2.5", "line 2.value: must be whole months"),
        ("rule_kind", "retention_minimun", "line 2.rule_kind: must be one of retention_minimum"),
        ("last_checked", "03.12.2026", "line 2.last_checked: must be a date YYYY-MM-DD"),
        ("enforcement_status", "enforced", "line 2.enforcement_status: must be one of"),
        ("url", "", "line 2.url: must not be empty"),
        ("jurisdiction", "NL", "line 2.jurisdiction: must be DE"),
        ("record_kind", "tax", "line 3: retention_minimum of tax is given twice (also on line 2)"),
    ],
)
def test_bad_jurisdiction_files_are_refused_naming_line_and_field(tmp_path, column, value, reason):
    folder = _copy_rules(tmp_path)
    _edit(folder / "DE.csv", 2, column, value)
    if column == "value" and value == "2.5":
        _edit(folder / "DE.csv", 2, "unit", "months")
    with pytest.raises(ConfigError) as error:
        load_rules(folder)
    assert str(folder / "DE.csv") in str(error.value) and reason in str(error.value)


def test_a_jurisdiction_file_with_a_wrong_header_or_unlisted_country_is_refused(tmp_path):
    folder = _copy_rules(tmp_path)
    (folder / "FR.csv").write_text((folder / "DE.csv").read_text())
    with pytest.raises(ConfigError, match="FR is not listed in jurisdictions.csv"):
        load_rules(folder)
    (folder / "FR.csv").unlink()
    text = (folder / "US.csv").read_text().replace("enforcement_status", "status", 1)
    (folder / "US.csv").write_text(text)
    with pytest.raises(ConfigError, match="US.csv: header: must be .*missing enforcement_status"):
        load_rules(folder)


def test_the_command_writes_tables_report_and_manifest_and_refuses_bad_input(tmp_path, capsys):
    out = tmp_path / "out"
    policy = ROOT / "scenarios" / "retention" / "example_policy.yaml"
    argv = ["compliance", "retention", "--scenario", "small", "--plan", "balanced_guarded"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "deleted too early" in capsys.readouterr().out
    for name in rt_tables():
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.csv").is_file()
    report = (out / "retention.md").read_text()
    assert "Not legal advice" in report and "| itsm_events | DE | plan |" in report
    summary = pd.read_parquet(out / "summary.parquet")
    assert (summary["shortfall_days"] > 0).all() and not summary.empty
    assert main([*argv, "--policy", str(policy), "--out", str(tmp_path / "ok")]) == 0
    assert pd.read_parquet(tmp_path / "ok" / "summary.parquet").empty
    bad = _policy(tmp_path, [{"jurisdiction": "DE", "record_kind": "payroll", "starts": "x"}])
    capsys.readouterr()
    assert main([*argv, "--policy", str(bad), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: rules[0].years: " in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()
    assert main([*argv[:4], "--plan", "mttr_only", "--out", str(out)]) == 2  # another result
    assert "another `lti compliance retention` result" in capsys.readouterr().err


def rt_tables():
    from toolkit.cli.compliance_commands import RETENTION_TABLES

    return RETENTION_TABLES
