"""Decisions into money and the record: adjusted cash flows, the decision log and the agenda."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from toolkit.governance import Governance, entries
from toolkit.governance.settlement import (
    agenda,
    apply_decisions,
    as_html,
    as_markdown,
    decision_log,
)

PEOPLE = [
    ("hr-anna", "Anna", ["hr"], None),
    ("hr-bo", "Bo", ["hr"], None),
    ("itg-ben", "Ben", ["it_governance"], None),
    ("fin-cara", "Cara", ["finance"], None),
    ("cfo-dan", "Dan", ["cfo"], None),
    ("board-1", "Fay", ["review_board"], None),
    ("board-2", "Gus", ["review_board"], None),
    ("lead-apps", "Ida", ["team_lead"], "apps"),
    ("audit-lu", "Lu", ["auditor"], None),
]
CASHFLOWS = pd.DataFrame(
    {
        "period": ["2026Q4", "2026Q4", "2026Q4", "2026Q4"],
        "person_id": ["a1", "a2", "o1", "a1"],
        "team_id": ["apps", "apps", "ops", "apps"],
        "cohort": ["2026Q1"] * 4,
        "kind": ["pay", "pay", "pay", "vest"],
        "amount": [3_000.0, 1_000.0, 2_000.0, 3_000.0],
    }
)


@pytest.fixture
def gov(database):
    ledger = Governance.open(database)
    for i, (person, name, roles, team) in enumerate(PEOPLE):
        ledger.add_person("system" if i == 0 else "hr-anna", person, name, roles, team)
    return ledger


def test_an_approved_adjustment_changes_exactly_the_award_it_names(gov):
    approved = gov.propose("fin-cara", "apps", "2026Q4", 2_000, "data_error", "INC-7")
    gov.approve("hr-anna", approved)
    gov.approve("itg-ben", approved)
    rejected = gov.propose("fin-cara", "ops", "2026Q4", 900, "data_error", "INC-8")
    gov.reject("itg-ben", rejected, "records were right")
    gov.propose("fin-cara", "ops", "2026Q4", 500, "data_error", "INC-9")  # still proposed
    paid = apply_decisions(CASHFLOWS, gov)
    pays = paid[paid["kind"].isin(["pay", "adjustment"])].groupby("team_id")["amount"].sum()
    assert pays.to_dict() == {"apps": 6_000.0, "ops": 2_000.0}  # only apps moved, by 2,000
    added = paid[paid["kind"] == "adjustment"].set_index("person_id")["amount"]
    assert added.to_dict() == {"a1": 1_500.0, "a2": 500.0}  # in proportion to what each was paid
    assert set(paid.loc[paid["kind"] == "adjustment", "decision"]) == {
        f"adjustment:{approved} approved by hr-anna, itg-ben"
    }
    assert (paid.loc[: len(CASHFLOWS) - 1, "decision"] == "").all()
    pd.testing.assert_frame_equal(paid.iloc[: len(CASHFLOWS)].drop(columns="decision"), CASHFLOWS)


def test_an_approved_override_is_paid_and_one_to_a_person_goes_to_them(gov):
    override = gov.propose_override("board-1", "ops", "2026Q4", -800, "merger", "merged", 1)
    gov.vote_override("board-2", override, True)
    personal = gov.propose("fin-cara", "apps", "2026Q4", 300, "data_error", "INC-1", "a2")
    gov.approve("hr-anna", personal)
    gov.approve("itg-ben", personal)
    paid = apply_decisions(CASHFLOWS, gov)
    changes = paid[paid["decision"] != ""].set_index("person_id")
    assert changes.loc["o1", "kind"] == "override" and changes.loc["o1", "amount"] == -800
    assert changes.loc["a2", "amount"] == 300
    assert "override:1 approved by board-2" in set(changes["decision"])


def test_the_decision_log_and_the_agenda(gov, tmp_path):
    done = gov.propose("fin-cara", "apps", "2026Q4", 2_000, "data_error", "INC-7")
    gov.approve("hr-anna", done)
    gov.approve("itg-ben", done)
    waiting = gov.propose("fin-cara", "apps", "2026Q4", 20_000, "misattribution", "RCA-3")
    half = gov.propose("fin-cara", "apps", "2026Q3", 4_000, "data_error", "INC-2")
    gov.approve("hr-bo", half)
    statement = gov.issue_statement("itg-ben", "apps", "2026Q4", 9_000, 10, on=date(2026, 12, 1))
    gov.contest("lead-apps", statement, "vendor time", on=date(2026, 12, 2))
    gov.propose_override("board-1", "ops", "2026Q4", 700, "disaster", "flood", 1)
    log = decision_log(gov, "audit-lu")
    assert list(log["item"]) == [f"adjustment:{done}"] and log.loc[0, "status"] == "approved"
    items = agenda(gov, "audit-lu", on=date(2026, 12, 10))
    assert list(items["item"]) == [
        f"adjustment:{waiting}",
        "contest:1",
        f"adjustment:{half}",
        "override:1",
    ]  # the largest sums first
    waiting_for = items.set_index("item")["waiting_for"]
    assert waiting_for[f"adjustment:{waiting}"] == "cfo/cio"
    assert waiting_for[f"adjustment:{half}"] == "it_governance"
    assert items.set_index("item").loc["contest:1", "days_open"] == 8
    markdown = as_markdown(items, "Steering committee, 10 December 2026")
    assert markdown.startswith("# Steering committee") and "| contest:1 |" in markdown
    page = as_html(items.assign(detail="<script>alert(1)</script>"), "Agenda <b>")
    assert "<script>" not in page and "&lt;script&gt;" in page and "Agenda &lt;b&gt;" in page
    team_view = agenda(gov, "lead-apps", on=date(2026, 12, 10))
    assert set(team_view["team_id"]) <= {"apps"}


def test_agenda_decisions_and_settlement_from_the_command_line(tmp_path, capsys):
    from toolkit.cli import main

    db = ["--db", str(tmp_path / "gov.db")]
    gov = Governance.open(tmp_path / "gov.db")
    for i, (person, name, roles, team) in enumerate(PEOPLE):
        gov.add_person("system" if i == 0 else "hr-anna", person, name, roles, team)
    number = gov.propose("fin-cara", "apps", "2026Q4", 2_000, "data_error", "INC-7")
    gov.approve("hr-anna", number)
    gov.approve("itg-ben", number)
    gov.propose("fin-cara", "ops", "2026Q4", 30_000, "scope_change", "team split")
    agenda_md = tmp_path / "agenda.md"
    assert main(["gov", "agenda", "--as", "audit-lu", "--out", str(agenda_md), *db]) == 0
    assert "adjustment:2" in agenda_md.read_text() and "cfo/cio" in agenda_md.read_text()
    log_html = tmp_path / "decisions.html"
    assert main(["gov", "decisions", "--as", "audit-lu", "--out", str(log_html), *db]) == 0
    assert "adjustment:1" in log_html.read_text() and "<script" not in log_html.read_text()
    run = tmp_path / "run"
    run.mkdir()
    CASHFLOWS.to_parquet(run / "cashflows.parquet")
    (run / "manifest.json").write_text('{"command": "batch-run", "seed": 1}')
    settled = tmp_path / "settled.csv"
    assert main(["gov", "settle", str(run), "--out", str(settled), "--as", "fin-cara", *db]) == 0
    table = pd.read_csv(settled, keep_default_na=False)
    assert table.loc[table["kind"] == "adjustment", "amount"].sum() == 2_000
    actions = [e.action for e in entries(gov.engine)]
    assert actions[-2:] == ["input.batch-run", "settlement.computed"]  # what it used, and did
    capsys.readouterr()
    for argv, message in [
        (["gov", "agenda", "--as", "audit-lu", "--out", str(tmp_path / "a.txt")], ".md or .html"),
        (["gov", "settle", str(tmp_path), "--out", str(settled), "--as", "x"], "no readable cash"),
        (["gov", "agenda", "--as", "nobody", "--out", str(agenda_md)], "unknown person"),
    ]:
        assert main([*argv, *db]) == 2, argv
        assert message in capsys.readouterr().err


def test_the_worked_example_plays_every_workflow_once(tmp_path, capsys):
    from toolkit.cli import main
    from toolkit.governance import entries, verify
    from toolkit.governance.demo import build_demo

    gov, signed = build_demo(tmp_path / "demo.db")
    adjustments = gov.view("audit-lu", "adjustments").set_index("adjustment_id")["status"]
    assert adjustments.to_dict() == {1: "approved", 2: "approved", 3: "rejected"}
    contests = gov.view("audit-lu", "contests")
    assert sorted(contests["status"]) == ["open", "upheld"]
    assert list(gov.view("audit-lu", "overrides")["status"]) == ["approved"]
    refused = [e.action for e in entries(gov.engine) if e.action.startswith("refused.")]
    assert refused == ["refused.approve", "refused.contest"]
    assert verify(gov.engine, signed).ok and signed.signed_by == "audit-lu"
    paid = apply_decisions(
        CASHFLOWS.assign(period="2026Q1", team_id=["apps", "apps", "ops", "apps"]), gov
    )
    assert set(paid.loc[paid["decision"] != "", "kind"]) == {"adjustment", "override"}
    assert main(["gov", "demo", "--db", str(tmp_path / "demo.db")]) == 2
    assert "empty governance database" in capsys.readouterr().err
