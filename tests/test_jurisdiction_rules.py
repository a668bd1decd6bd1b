"""Jurisdiction rules beyond retention: tax timing, social security, works councils, review points.

The shipped rows are checked for what every row must have (a source, an address, a check date
or ``unchecked``, an enforcement status apart from the rule) and for the values a reader can
check by hand against the statute cited; malformed rows are refused naming file, line, field.
"""

import csv
import shutil
from pathlib import Path

import pytest

from toolkit.compliance import jurisdictions as jr
from toolkit.config import ConfigError

NEW_KINDS = (
    "tax_timing",
    "social_security",
    "works_council",
    "works_council_lead_time",
    "discretion_review",
)


@pytest.fixture(scope="module")
def rules():
    return jr.load_rules()


def test_every_country_has_each_new_kind_once_per_record_kind(rules):
    countries = list(jr.load_jurisdictions())
    for kind in NEW_KINDS:
        accepts = jr.RULE_KINDS[kind]
        found = [(r.jurisdiction, r.record_kind) for r in rules if r.rule_kind == kind]
        expected = {(c, k) for c in countries for k in accepts.record_kind}
        assert set(found) == expected and len(found) == len(expected), kind


def test_each_row_is_cited_and_keeps_its_status_apart_from_the_rule(rules):
    for rule in (r for r in rules if r.rule_kind in NEW_KINDS):
        assert rule.source and rule.url.startswith("https://"), rule
        assert rule.enforcement_status in jr.ENFORCEMENT
        assert rule.last_checked is None or rule.last_checked.isoformat() == "2026-12-03"
    checked = {(r.jurisdiction, r.rule_kind) for r in rules if r.last_checked is not None}
    # the rows compared with the statute text: § 87 BetrVG, Art. 77^2 KP, s. 18 ITEPA (HMRC)
    assert {("DE", "works_council"), ("PL", "works_council_lead_time"),
            ("GB", "tax_timing")} <= checked  # fmt: skip


def test_the_encodings_of_tax_timing_and_contributions(rules):
    tax = {r.jurisdiction: r for r in rules if r.rule_kind == "tax_timing"}
    assert {r.starts for r in tax.values()} <= set(jr.TAXED_AT)
    assert tax["DE"].starts == "payment" and tax["IN"].starts == "vest"  # § 11 EStG; s. 15
    assert all(r.value == "employment_income" and r.unit == "" for r in tax.values())
    social = {r.jurisdiction: r for r in rules if r.rule_kind == "social_security"}
    assert social["US"].starts == "vest"  # FICA special timing rule, 26 U.S.C. 3121(v)(2)
    assert social["DE"].value == "due_capped" and social["GB"].value == "due_uncapped"


def test_works_council_duties_and_lead_times(rules):
    duty = {r.jurisdiction: r for r in rules if r.rule_kind == "works_council"}
    assert duty["DE"].value == "co_determination" and "§ 87 Abs. 1 Nr. 10" in duty["DE"].source
    assert duty["NL"].value == "consent" and "Art. 27" in duty["NL"].source
    assert {duty["US"].value, duty["GB"].value} == {"none"}
    assert all((r.value == "none") == (r.enforcement_status == "none") for r in duty.values())
    lead = {r.jurisdiction: r for r in rules if r.rule_kind == "works_council_lead_time"}
    assert (lead["PL"].days, lead["PL"].unit) == (14, "weeks")  # two weeks, Art. 77^2 § 6 KP
    assert (lead["IN"].days, lead["IN"].months) == (21, None)
    assert (lead["DE"].months, lead["DE"].enforcement_status) == (3, "guidance")
    assert lead["US"].days == 0 and lead["US"].enforcement_status == "none"


def test_review_points_cite_the_local_standard(rules):
    kept = [r for r in rules if r.rule_kind == "discretion_review"]
    review = {(r.jurisdiction, r.record_kind): r for r in kept}
    assert "§ 315 BGB" in review["DE", "discretion"].value
    assert "Braganza" in review["GB", "discretion"].value
    assert "7:613" in review["NL", "discretion"].value
    assert "Labor Code § 221" in review["US", "clawback"].value


def _copy(tmp_path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(jr.rules_directory(), folder, ignore=shutil.ignore_patterns("*.py", "__py*"))
    return folder


def _line_of(path: Path, kind: str, record_kind: str) -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if (row["rule_kind"], row["record_kind"]) == (kind, record_kind):
                return line
    raise AssertionError(f"no {kind} of {record_kind} in {path}")


def _set(path: Path, line: int, **values: str) -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0])
    rows[line - 2].update(values)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(
    ("kind", "record_kind", "values", "reason"),
    [
        ("tax_timing", "cash_lti", {"starts": "grant_date"}, "starts: must be one of grant, vest"),
        ("tax_timing", "cash_lti", {"value": "wages"}, "value: must be one of employment_income"),
        ("tax_timing", "cash_lti", {"unit": "years"}, "unit: must be empty for tax_timing"),
        ("tax_timing", "cash_lti", {"record_kind": "shares"}, "record_kind: must be one of cash"),
        ("social_security", "cash_lti", {"value": "capped"}, "value: must be one of due_uncapped"),
        ("works_council", "variable_pay", {"value": "veto"}, "value: must be one of co_determin"),
        ("works_council", "variable_pay", {"enforcement_status": "none"},
         "enforcement_status: must be none exactly when value is none"),
        ("works_council", "variable_pay", {"starts": "payment"}, "starts: must be empty"),
        ("works_council_lead_time", "variable_pay", {"unit": "years"}, "unit: must be one of days"),
        ("works_council_lead_time", "variable_pay", {"value": "2.5"},
         "value: must be a whole number of months from 0 to 24"),
        ("works_council_lead_time", "variable_pay", {"value": "30"}, "from 0 to 24 (got '30')"),
        ("works_council_lead_time", "variable_pay", {"enforcement_status": "none"},
         "value: must be 0 when enforcement_status is none"),
        ("discretion_review", "clawback", {"value": ""}, "value: must not be empty"),
        ("discretion_review", "clawback", {"record_kind": "discretion"},
         "discretion_review of discretion is given twice"),
        ("discretion_review", "clawback", {"record_kind": "malus"},
         "record_kind: must be one of discretion"),
    ],
)  # fmt: skip
def test_malformed_rows_are_refused_naming_file_line_and_field(
    tmp_path, kind, record_kind, values, reason
):
    folder = _copy(tmp_path)
    path = folder / "DE.csv"
    line = _line_of(path, kind, record_kind)
    _set(path, line, **values)
    with pytest.raises(ConfigError) as error:
        jr.load_rules(folder)
    text = str(error.value)
    assert str(path) in text and f"line {line}" in text and reason in text, text


def test_loading_one_kind_and_an_unknown_kind(rules):
    lead = jr.load_rules(kind="works_council_lead_time")
    assert [r.rule_kind for r in lead] == ["works_council_lead_time"] * 6
    with pytest.raises(ValueError, match="unknown rule kind 'tax'"):
        jr.load_rules(kind="tax")
