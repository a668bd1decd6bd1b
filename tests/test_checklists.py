"""Review checklists: every discretionary clause beside each country's review point, dated.

Hand-checked on the small scenario (DE, NL, PL; quarters from 2025-01-01): a plan starting
after the default two pre-plan periods starts on 2025-07-01; the lead times are the shipped
rows' (DE 3 months, NL 2 months, PL 2 weeks).
"""

import datetime as dt

import pandas as pd
import pytest
import yaml

from toolkit.cli.main import main
from toolkit.compliance import checklists as cl
from toolkit.compliance.jurisdictions import DISCLAIMER, load_jurisdictions, load_rules
from toolkit.compliance.retention import calendar_summary, retention_check
from toolkit.config.plan import Plan

from .test_retention import _scenario  # the small scenario with people moved


def _plan(**changes) -> Plan:
    data = {
        "name": "checklist_case",
        "description": "hand-checked checklist case",
        "default_target_award_pct": 10.0,
    }
    data.update(changes)
    return Plan.model_validate(data)


CLAWBACK = {"triggers": ["gaming_detected"], "lookback_years": 2, "recovery": 1.0}


@pytest.fixture(scope="module")
def small():
    return _scenario()


def _rule(country, kind, record_kind):
    (rule,) = [
        r
        for r in load_rules(kind=kind)
        if (r.jurisdiction, r.record_kind) == (country, record_kind)
    ]
    return rule


def test_a_clawback_on_german_people_is_signed_off_against_the_german_review_point(small):
    found = cl.build_checklists(small, _plan(clawback=CLAWBACK))
    rows = found.legal_sign_off.set_index(["clause", "jurisdiction"])
    rule = _rule("DE", "discretion_review", "clawback")
    row = rows.loc[("clawback", "DE")]
    assert row["review"] == "clawback" and row["review_point"] == rule.value
    assert row["source"] == rule.source and row["last_checked"] == "unchecked"
    assert "100 % of payments of the last 2 year(s)" in row["detail"]
    assert row["signed_by"] == "employment counsel (DE); payroll (DE)"
    assert sorted(j for c, j in rows.index if c == "clawback") == ["DE", "NL", "PL"]


def test_only_the_clauses_the_plan_has_are_listed(small):
    plain = cl.discretionary_clauses(_plan())
    # no metrics, guards or pool: the leaver defaults and the late-data rule remain
    assert list(plain["clause"]) == ["leavers", "late_data"]
    assert "(the plan's defaults)" in plain.loc[0, "detail"]
    guarded = cl.discretionary_clauses(
        _plan(
            clawback=CLAWBACK,
            malus={"triggers": ["gate_breach"], "reduction": 0.5},
            cap={"pct_of_personnel_cost": 15},
            gates=[{"kpi": "unauthorized_count", "at_least": 5}],
            vesting={"schedule": "cliff", "deferral_share": 0.4, "deferral_years": 2},
            late_data={"missing": "zero"},
        )
    ).set_index("clause")
    assert list(guarded.index) == ["gates[0]", "cap", "vesting.deferral", "malus", "clawback",
                                   "leavers", "late_data"]  # fmt: skip
    assert guarded.loc["cap", "review"] == "discretion"
    assert guarded.loc["late_data", "review"] == "forfeiture"  # missing data scores 0
    assert guarded.loc["malus", "detail"] == (
        "50 % of unvested and deferred awards forfeited on gate_breach"
    )


def test_consultation_starts_the_lead_time_before_the_plan(small):
    default = cl.build_checklists(small, _plan()).works_council.set_index("jurisdiction")
    assert (default["plan_start"] == pd.Timestamp("2025-07-01")).all()  # period 2 of quarters
    assert default.loc["DE", "start_consultation_by"] == pd.Timestamp("2025-04-01")
    given = cl.build_checklists(small, _plan(), start="2026-03-31").works_council
    given = given.set_index("jurisdiction")
    assert given.loc["DE", "start_consultation_by"] == pd.Timestamp("2025-12-31")  # 3 months
    assert given.loc["NL", "start_consultation_by"] == pd.Timestamp("2026-01-31")  # 2 months
    assert given.loc["PL", "start_consultation_by"] == pd.Timestamp("2026-03-17")  # 14 days
    assert given.loc["DE", "duty"] == "co_determination"
    assert given.loc["PL", "lead_time_last_checked"] == "2026-12-03"


def test_a_country_without_rules_is_listed_as_uncovered_not_skipped():
    scenario = _scenario({"p01": "FR", "a01": "FR"})
    found = cl.build_checklists(scenario, _plan(clawback=CLAWBACK))
    countries = found.countries.set_index("jurisdiction")
    assert countries.loc["FR", "coverage"] == "uncovered"
    assert countries.loc["FR", "headcount"] == 2
    assert found.settings["uncovered"] == ["FR"]
    sign_off = found.legal_sign_off.set_index(["clause", "jurisdiction"])
    assert sign_off.loc[("clawback", "FR"), "review_point"] == "uncovered"
    assert sign_off.loc[("clawback", "FR"), "last_checked"] == "unchecked"
    council = found.works_council.set_index("jurisdiction")
    assert council.loc["FR", "duty"] == "uncovered" and pd.isna(
        council.loc["FR", "start_consultation_by"]
    )
    assert found.tax_classification.set_index("jurisdiction").loc["FR", "classification"] == (
        "uncovered"
    )
    assert set(found.retention_calendar["jurisdiction"]) == {"DE", "NL", "PL"}


def test_countries_without_award_holders_are_counted_but_need_no_sign_off(small):
    grades = {"G3": 0.0, "G4": 0.0, "G5": 0.0, "G6": 0.0}  # only the G7 leads (DE, NL) hold
    found = cl.build_checklists(small, _plan(target_award_pct={**grades, "G7": 10.0},
                                             default_target_award_pct=0.0))  # fmt: skip
    countries = found.countries.set_index("jurisdiction")
    assert countries.loc["PL", "award_holders"] == 0 and countries.loc["PL", "headcount"] == 4
    assert set(found.legal_sign_off["jurisdiction"]) == {"DE", "NL"}
    assert list(found.works_council["jurisdiction"]) == ["DE", "NL"]


def test_the_tax_table_places_the_taxed_event_in_this_plan(small):
    plan = _plan(vesting={"schedule": "cliff", "deferral_share": 0.4, "deferral_years": 2})
    tax = cl.build_checklists(small, plan).tax_classification.set_index("jurisdiction")
    rule = _rule("DE", "tax_timing", "cash_lti")
    assert tax.loc["DE", "taxed_at"] == rule.starts == "payment"
    assert "40 % deferred, paid 2 year(s) later" in tax.loc["DE", "in_this_plan"]
    assert tax.loc["DE", "social_security"] == "due_capped"
    assert (
        tax.loc["DE", "social_security_source"] == _rule("DE", "social_security", "cash_lti").source
    )


def test_the_retention_calendar_is_the_retention_checks(small):
    plan = _plan(clawback=CLAWBACK)
    found = cl.build_checklists(small, plan).retention_calendar
    expected = calendar_summary(retention_check(plan, small))
    pd.testing.assert_frame_equal(found[list(expected.columns)], expected)
    assert (found["source"] != "").all() and found["last_checked"].notna().all()


def test_every_table_carries_the_disclaimer_and_each_row_its_source(small):
    found = cl.build_checklists(small, _plan(clawback=CLAWBACK))
    assert set(found.tables()) == {"countries", "legal_sign_off", "works_council",
                                   "tax_classification", "retention_calendar"}  # fmt: skip
    for name, table in found.tables().items():
        assert not table.empty, name
        assert table.attrs["disclaimer"] == DISCLAIMER and (table["disclaimer"] == DISCLAIMER).all()
        assert table["source"].str.len().gt(0).all(), name
        if name != "countries":
            assert table["last_checked"].notna().all(), name
    assert DISCLAIMER in cl.checklists_markdown(found)
    assert "<script" not in cl.checklists_html(found).lower()


def test_a_rule_kind_missing_for_a_country_says_no_rule(small):
    rules = [r for r in load_rules() if not (r.jurisdiction == "PL" and
                                             r.rule_kind == "works_council")]  # fmt: skip
    found = cl.build_checklists(small, _plan(), rules=rules, jurisdictions=load_jurisdictions())
    council = found.works_council.set_index("jurisdiction")
    assert council.loc["PL", "duty"] == "no rule"
    assert council.loc["PL", "source"] == "no rule in the jurisdiction files"
    assert "works_council" in found.countries.set_index("jurisdiction").loc["PL", "kinds_missing"]


def test_rules_frame_gives_one_kind_with_its_citation():
    frame = cl.rules_frame("works_council_lead_time")
    assert list(frame.columns[:11]) == list(cl.RULE_FRAME_COLUMNS)
    assert list(frame["jurisdiction"]) == ["DE", "NL", "PL", "IN", "US", "GB"]
    assert frame.set_index("jurisdiction").loc["PL", "unit"] == "weeks"
    with pytest.raises(ValueError, match="unknown rule kind"):
        cl.rules_frame("tax")


def test_the_command_writes_every_table_the_checklist_and_a_manifest(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["compliance", "checklist", "--scenario", "small", "--plan", "balanced_guarded"]
    assert main([*argv, "--start", "2026-03-31", "--out", str(out)]) == 0
    assert "Not legal advice" in capsys.readouterr().out
    for name in cl.Checklists.__dataclass_fields__:
        if name == "settings":
            continue
        csv = pd.read_csv(out / f"{name}.csv")
        parquet = pd.read_parquet(out / f"{name}.parquet")
        assert len(csv) == len(parquet) > 0 and (csv["disclaimer"] == DISCLAIMER).all()
    council = pd.read_parquet(out / "works_council.parquet").set_index("jurisdiction")
    assert council.loc["DE", "start_consultation_by"] == pd.Timestamp("2025-12-31")
    text = (out / "checklist.md").read_text()
    assert DISCLAIMER in text and "| clawback | clawback |" in text
    assert (out / "checklist.html").is_file() and (out / "manifest.json").is_file()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}{s}" for n in cl.TITLES for s in (".csv", ".parquet")]
        + ["checklist.md", "checklist.html", "manifest.json"]
    )


def test_the_command_refuses_bad_input_with_exit_2_and_writes_nothing(tmp_path, capsys):
    argv = ["compliance", "checklist", "--scenario", "small", "--plan", "balanced_guarded"]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--start", "31.03.2026", "--out", str(tmp_path / "a")])
    assert stop.value.code == 2 and "must be a date YYYY-MM-DD" in capsys.readouterr().err
    bad = tmp_path / "policy.yaml"
    bad.write_text(yaml.safe_dump({"name": "p", "description": "d", "rules": [{"x": 1}]}))
    assert main([*argv, "--policy", str(bad), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err
    assert main([*argv[:4], "--plan", "no_such_plan", "--out", str(tmp_path / "c")]) == 2
    assert not any((tmp_path / d).exists() for d in "abc")
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 0
    assert main([*argv, "--start", "2026-03-31", "--out", str(out)]) == 2  # another result
    assert "another `lti compliance checklist` result" in capsys.readouterr().err


def test_the_checklists_are_deterministic(small):
    plan = _plan(clawback=CLAWBACK)
    first, second = cl.build_checklists(small, plan), cl.build_checklists(small, plan)
    for name, table in first.tables().items():
        pd.testing.assert_frame_equal(table, second.tables()[name])
    assert cl.plan_start(plan, small) == dt.date(2025, 7, 1)
