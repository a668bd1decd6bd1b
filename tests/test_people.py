"""People data: roster and payroll readers, leaver rules, reconciliation and ``lti people``."""

import json
from pathlib import Path

import pandas as pd
import pytest

from toolkit.cli.main import main
from toolkit.config import ConfigError, load_scenario
from toolkit.config.plan import Leavers
from toolkit.experiments.batch import RunSpec, execute
from toolkit.ingest import IngestError
from toolkit.ingest.people import read_payroll, read_roster
from toolkit.people import KINDS, planted_exports, reconcile_people
from toolkit.plans import load_plan
from toolkit.plans.leavers import apply_leaver_rules, classify_leavers

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "people"
SMALL = str(ROOT / "scenarios" / "small.yaml")
PLAN = str(DATA / "one_year.yaml")


@pytest.fixture(scope="module")
def small():
    return load_scenario(SMALL)


@pytest.fixture(scope="module")
def plan(small):
    return load_plan(PLAN, scenario=small)


@pytest.fixture(scope="module")
def exports():
    return read_roster(DATA / "roster.csv"), read_payroll(DATA / "payroll.csv")


@pytest.fixture(scope="module")
def ledger():
    return pd.read_csv(DATA / "awards.csv"), pd.read_csv(DATA / "cashflows.csv")


@pytest.fixture(scope="module")
def fixture_result(exports, ledger, small, plan):
    roster, payroll = exports
    return reconcile_people(roster.table, payroll.table, small, plan, *ledger)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    row = execute(RunSpec(SMALL, PLAN, 0), str(out))
    return out / row["directory"]


def test_bad_rows_are_quarantined_with_reason_line_and_values_and_none_lost(exports):
    roster, payroll = exports
    assert roster.quarantine[["line", "record_id", "reason"]].values.tolist() == [
        [9, "w02", "unparseable_number:base_salary"],
        [13, "a01", "unparseable_time:effective_date"],
        [14, "", "empty_row"],
        [18, "w01", "value_not_allowed:leaver_reason"],
        [19, "p01", "duplicate_id"],
    ]
    assert payroll.quarantine["reason"].tolist() == [
        "unparseable_time:pay_period",
        "unparseable_number:amount",
        "value_not_allowed:pay_item",
    ]
    assert json.loads(roster.quarantine["values"].iloc[0])["base_salary"] == "31k"
    for export in exports:
        count = export.accounting()
        assert count["rows_in"] == count["rows_accepted"] + count["rows_quarantined"]
    # effective-dated history: the transfer and the grade change are rows of their own
    assert roster.table.groupby("person_id").size()[["p02", "p03"]].tolist() == [2, 2]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing_column.roster.csv", "missing required column(s) 'base_salary'"),
        ("header_only.payroll.csv", "no data rows, only a header"),
        ("ragged_row.roster.csv", "a row has more fields than the header"),
        ("no_row_accepted.payroll.csv", "no row accepted"),
        ("repeated_column.roster.csv", "column(s) 'grade' repeated"),
        ("latin1.roster.csv", "not utf-8"),
        ("unbalanced_quote.roster.csv", "not readable as CSV"),
    ],
)
def test_malformed_exports_are_refused_whole_naming_the_file(name, message):
    reader = read_roster if "roster" in name else read_payroll
    with pytest.raises(IngestError) as error:
        reader(DATA / "bad" / name)
    assert str(error.value).startswith(str(DATA / "bad" / name))
    assert message in str(error.value)


def test_fixture_mismatches_and_money_by_hand(fixture_result):
    table = fixture_result.table
    found = {(k, p, c): a for k, p, c, a in table[["kind", "person_id", "cohort", "amount"]].values}
    assert found == {
        ("missing_in_hr", "a04", ""): 10000.00,  # earned 7,000 + 3,000
        ("missing_in_scenario", "n01", ""): 3300.00,  # joined after 2025Q3: 33,000 × 10 %
        ("team_differs", "p02", ""): 17000.00,  # accrued 12,000 + 5,000
        # 17,300 accrued of a 12,600 grant; G6 grants 15,400 and 76,000 grants 13,680
        ("grade_differs", "p03", ""): round(17300 / 12600 * 2800, 2),
        ("salary_differs", "p03", ""): round(17300 / 12600 * 1080, 2),
        ("leaver_with_unvested_award", "a03", "2025Q3"): 4000.00,  # bad: all unvested
        ("leaver_with_unvested_award", "a03", "2026Q3"): 1500.00,
        ("leaver_with_unvested_award", "p04", "2025Q3"): 1250.00,  # good: 3 of 4 quarters kept
        ("leaver_with_unvested_award", "p04", "2026Q3"): 2000.00,  # granted after leaving
        ("payroll_without_hr", "a04", ""): round(24 * 5083.33 + 4200, 2),
        ("missing_in_payroll", "w03", ""): 104000.00,  # 24 months of 52,000 / 12
        ("payroll_base_differs", "a02", ""): 100.00,  # 5,850 against 69,000 / 12
        ("payment_missing_in_payroll", "w01", ""): 4000.00,
        ("payment_amount_differs", "a01", ""): 100.00,
        ("payment_not_in_ledger", "w02", ""): 500.00,
    }
    summary = fixture_result.summary.set_index("kind")
    assert list(summary.index) == list(KINDS)
    assert summary.loc["leaver_with_unvested_award", "amount"] == pytest.approx(8750.0)
    assert summary["mismatches"].sum() == len(table)


def test_leaver_rules_good_pro_rata_and_bad_forfeit_to_the_cent(plan, ledger):
    awards, cashflows = ledger
    leavers = pd.DataFrame(
        {
            "person_id": ["p04", "a03"],
            "end_date": pd.to_datetime(["2026-03-31", "2025-09-30"]),
            "leaver_reason": ["retirement", "resignation"],
            "leaver_class": ["good", "bad"],
        }
    )
    adjusted, forfeitures = apply_leaver_rules(awards, cashflows, leavers, plan, 4)
    rows = forfeitures.set_index(["person_id", "cohort"])
    assert rows.loc[("p04", "2025Q3"), "service_share"] == 0.75
    assert rows.loc[("p04", "2025Q3"), "kept_unvested"] == pytest.approx(3750.00, abs=0.005)
    assert rows.loc[("p04", "2025Q3"), "paid_after_leaving"] == pytest.approx(3000.00)
    assert rows.loc[("a03", "2025Q3"), "forfeited"] == pytest.approx(4000.00, abs=0.005)
    kept = adjusted.set_index(["person_id", "cohort"])["earned_after_leaving"]
    assert kept[("p04", "2025Q3")] == pytest.approx(3750.00, abs=0.005)
    assert kept[("a03", "2026Q3")] == 0.0
    assert kept[("p02", "2025Q3")] == 12000.0  # stayers untouched
    # money is conserved: kept + forfeited = unvested at leaving, per award
    assert (
        (rows["kept_unvested"] + rows["forfeited_unvested"])
        .round(2)
        .equals(rows["unvested_at_leaving"].round(2))
    )


def test_bad_leaver_after_vesting_forfeits_deferral_only_when_the_plan_says(plan, ledger):
    awards, cashflows = ledger
    leavers = pd.DataFrame(
        {
            "person_id": ["a01"],
            "end_date": pd.to_datetime(["2026-08-15"]),  # 2026Q3: vested 2026Q2, 4,000 deferred
            "leaver_reason": ["resignation"],
            "leaver_class": ["bad"],
        }
    )
    _, kept = apply_leaver_rules(awards, cashflows, leavers, plan, 4)
    assert kept["forfeited"].tolist() == [0.0]
    strict = plan.model_copy(update={"leavers": Leavers(bad={"forfeit_deferred": True})})
    _, lost = apply_leaver_rules(awards, cashflows, leavers, strict, 4)
    assert lost["deferred_at_leaving"].tolist() == [4000.0]
    assert lost["forfeited"].tolist() == [4000.0]


def test_good_leaver_treatments_and_reason_classes(plan, ledger, exports):
    awards, cashflows = ledger
    classes = classify_leavers(exports[0].table, plan.leaver_rules)
    assert classes[["person_id", "leaver_class"]].values.tolist() == [
        ["a03", "bad"],
        ["p04", "good"],
    ]
    only_p04 = classes[classes["person_id"] == "p04"]
    for treatment, forfeited in (("keep", 0.0), ("forfeit", 7000.0), ("pro_rata", 3250.0)):
        rules = Leavers(good={"treatment": treatment})
        _, rows = apply_leaver_rules(
            awards, cashflows, only_p04, plan.model_copy(update={"leavers": rules}), 4
        )
        assert rows["forfeited"].sum() == pytest.approx(forfeited, abs=0.005)


def test_leaver_block_is_strict_and_library_plans_still_validate(tmp_path, small):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nextends: balanced\ndescription: d\n"
        "leavers: {good_reasons: [retirment], good: {treatment: pro_rata}}\n"
    )
    with pytest.raises(ConfigError) as error:
        load_plan(bad, scenario=small)
    assert "leavers.good_reasons" in str(error.value) and "bad.yaml" in str(error.value)
    typo = tmp_path / "typo.yaml"
    typo.write_text("name: typo\nextends: balanced\ndescription: d\nleavers: {god: {}}\n")
    with pytest.raises(ConfigError):
        load_plan(typo, scenario=small)
    for path in sorted((ROOT / "scenarios" / "plans").glob("*.yaml")):
        assert main(["validate", str(path)]) == 0
    assert load_plan("balanced").leavers is None  # fingerprints of existing plans unchanged
    assert load_plan("balanced").leaver_rules.good.treatment == "pro_rata"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_planted_mismatch_is_found_and_nothing_else(run_dir, small, plan, tmp_path, seed):
    awards = pd.read_parquet(run_dir / "awards.parquet")
    cashflows = pd.read_parquet(run_dir / "cashflows.parquet")
    planted = planted_exports(small, tmp_path, seed, plan=plan, awards=awards, cashflows=cashflows)
    roster, payroll = read_roster(tmp_path / "roster.csv"), read_payroll(tmp_path / "payroll.csv")
    assert roster.quarantine.empty and payroll.quarantine.empty
    result = reconcile_people(roster.table, payroll.table, small, plan, awards, cashflows)
    found = set(zip(result.table["kind"], result.table["person_id"], strict=True))
    assert found == set(zip(planted["kind"], planted["person_id"], strict=True))
    assert set(planted["kind"]) == set(KINDS) - {"currency_differs"}
    again = planted_exports(
        small, tmp_path / "again", seed, plan=plan, awards=awards, cashflows=cashflows
    )
    assert again.equals(planted)
    assert (tmp_path / "again" / "payroll.csv").read_bytes() == (
        tmp_path / "payroll.csv"
    ).read_bytes()


def test_cli_reconciles_end_to_end_and_refuses_malformed_exports(
    run_dir, small, plan, tmp_path, capsys
):
    awards = pd.read_parquet(run_dir / "awards.parquet")
    cashflows = pd.read_parquet(run_dir / "cashflows.parquet")
    planted = planted_exports(
        small, tmp_path / "in", 5, plan=plan, awards=awards, cashflows=cashflows
    )
    roster = tmp_path / "in" / "roster.csv"
    with roster.open("a") as handle:
        handle.write("x9,,apps,G4,DE,,40000,EUR,2025-13-01,2020-01-01,,\n")
    args = [
        "people",
        "reconcile",
        str(roster),
        str(tmp_path / "in" / "payroll.csv"),
        "--run",
        str(run_dir),
        "--scenario",
        SMALL,
        "--plan",
        PLAN,
    ]
    out = tmp_path / "out"
    assert main([*args, "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "people-reconcile"
    for name in ("reconciliation", "summary", "forfeitures", "awards_adjusted", "quarantine"):
        assert f"{name}.parquet" in manifest["outputs"] and f"{name}.csv" in manifest["outputs"]
    table = pd.read_parquet(out / "reconciliation.parquet")
    assert set(zip(table["kind"], table["person_id"], strict=True)) == set(
        zip(planted["kind"], planted["person_id"], strict=True)
    )
    quarantine = pd.read_csv(out / "quarantine.csv", keep_default_na=False)
    assert quarantine[["record_id", "reason"]].values.tolist() == [
        ["x9", "unparseable_time:effective_date"]
    ]
    assert manifest["inputs"][0]["rows_quarantined"] == 1
    assert "# HRIS–payroll reconciliation" in (out / "reconciliation.md").read_text()
    assert "mismatch(es)" in capsys.readouterr().out

    refused = tmp_path / "refused"
    bad = [*args[:2], str(DATA / "bad" / "missing_column.roster.csv"), *args[3:]]
    assert main([*bad, "--out", str(refused)]) == 2
    assert "missing required column(s) 'base_salary'" in capsys.readouterr().err
    assert not refused.exists()
    assert main([*args[:-1], "mttr_only", "--out", str(refused)]) == 2
    assert "another plan" in capsys.readouterr().err


@pytest.mark.parametrize(("paid", "found"), [(3000.0, None), (3100.0, 100.0)])
def test_a_leaver_paid_after_leaving_is_compared_only_when_payroll_pays(
    exports, ledger, small, plan, paid, found
):
    roster, payroll = exports
    extra = pd.DataFrame(
        {
            "line": [0],
            "person_id": ["p04"],  # retired 2026-03-31; the ledger paid 3,000 in 2026Q2
            "pay_period": [pd.Period("2026-06", freq="M")],
            "pay_item": ["lti_payment"],
            "amount": [paid],
            "currency": ["EUR"],
            "reference": ["LTI-2025Q3"],
        }
    )
    both = pd.concat([payroll.table, extra], ignore_index=True)
    table = reconcile_people(roster.table, both, small, plan, *ledger).table
    rows = table[(table["person_id"] == "p04") & table["kind"].str.startswith("payment")]
    assert rows["amount"].tolist() == ([] if found is None else [found])


def test_planted_exports_of_the_default_scenario_without_a_ledger(tmp_path):
    default = load_scenario(ROOT / "scenarios" / "default.yaml")
    plan = load_plan("balanced", scenario=default)
    planted = planted_exports(default, tmp_path, 0)
    awards = pd.DataFrame(
        {c: pd.Series(dtype=float) for c in ("granted", "accrued", "earned")}
        | {c: pd.Series(dtype=str) for c in ("person_id", "team_id", "cohort")}
    )
    cashflows = pd.DataFrame(
        {c: pd.Series(dtype=str) for c in ("period", "person_id", "team_id", "cohort", "kind")}
        | {"amount": pd.Series(dtype=float)}
    )
    roster, payroll = read_roster(tmp_path / "roster.csv"), read_payroll(tmp_path / "payroll.csv")
    result = reconcile_people(roster.table, payroll.table, default, plan, awards, cashflows)
    found = set(zip(result.table["kind"], result.table["person_id"], strict=True))
    assert found == set(zip(planted["kind"], planted["person_id"], strict=True))
    # without a ledger nothing is paid or forfeited: no payment or leaver mismatch is planted
    assert not planted["kind"].str.startswith("payment_missing|payment_amount").any()
    assert "leaver_with_unvested_award" not in set(planted["kind"])


def test_a_person_who_left_before_the_horizon_is_missing_in_hr_not_a_leaver(
    exports, ledger, small, plan
):
    roster, payroll = exports
    history = pd.DataFrame(
        {
            "line": [0, 0],
            "person_id": ["a04", "a04"],
            "name": ["", ""],
            "team_id": ["apps", "apps"],
            "grade": ["G4", "G4"],
            "country": ["DE", "DE"],
            "gender": ["male", "male"],
            "base_salary": [58000.0, 61000.0],
            "currency": ["EUR", "EUR"],
            "effective_date": pd.to_datetime(["2015-01-01", "2020-01-01"]),
            "start_date": pd.to_datetime(["2015-01-01", "2015-01-01"]),
            "end_date": pd.to_datetime([None, "2024-06-30"]),  # only the last row says so
            "leaver_reason": [None, "resignation"],
        }
    )
    both = pd.concat([roster.table, history], ignore_index=True)
    table = reconcile_people(both, payroll.table, small, plan, *ledger).table
    a04 = table[table["person_id"] == "a04"]
    assert sorted(a04["kind"]) == ["missing_in_hr", "payroll_without_hr"]
