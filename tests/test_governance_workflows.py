"""Governance workflows on SQLite and PostgreSQL: rights, separation of duties, routing,
contest windows, overrides with a quorum, scoped views; every refusal logged."""

from __future__ import annotations

from datetime import date

import pytest

from toolkit.governance import Governance, GovernanceError, RefusedError, entries, verify

PEOPLE = [
    ("hr-anna", "Anna", ["hr"], None, None),
    ("itg-ben", "Ben", ["it_governance"], None, None),
    ("fin-cara", "Cara", ["finance"], None, None),
    ("cfo-dan", "Dan", ["cfo"], None, None),
    ("cio-eva", "Eva", ["cio"], None, None),
    ("board-1", "Fay", ["review_board"], None, None),
    ("board-2", "Gus", ["review_board"], None, None),
    ("board-3", "Hal", ["review_board"], "apps", None),
    ("lead-apps", "Ida", ["team_lead"], "apps", None),
    ("lead-ops", "Jon", ["team_lead"], "ops", None),
    ("hr-apps", "Kim", ["hr"], "apps", None),
    ("audit-lu", "Lu", ["auditor"], None, None),
    ("vendor-mo", "Mo", ["vendor_rep"], None, "cloudco"),
]


@pytest.fixture
def gov(database):
    ledger = Governance.open(database)
    first, *others = PEOPLE
    ledger.add_person("system", *first)
    for person in others:
        ledger.add_person("hr-anna", *person)
    return ledger


def _refusals(gov) -> list[tuple[str, str]]:
    return [(e.actor, e.action) for e in entries(gov.engine) if e.action.startswith("refused.")]


def test_small_adjustments_need_hr_and_it_governance(gov):
    number = gov.propose("fin-cara", "apps", "2026Q1", 2_500, "data_error", "INC-7 mis-timed")
    assert gov.approve("hr-anna", number) == "proposed"
    with pytest.raises(RefusedError, match="needs it_governance; cfo-dan is cfo"):
        gov.approve("cfo-dan", number)  # the CFO is not on the routing of small sums
    assert gov.approve("itg-ben", number, "checked the records") == "approved"
    with pytest.raises(RefusedError, match="already approved"):
        gov.approve("cfo-dan", number)
    view = gov.view("audit-lu", "adjustments")
    assert view.loc[0, "status"] == "approved" and view.loc[0, "proposed_by"] == "fin-cara"


def test_routing_by_money_and_editable_as_data(gov):
    middle = gov.propose("fin-cara", "ops", "2026Q1", -20_000, "scope_change", "team split")
    with pytest.raises(RefusedError, match="needs cfo/cio"):
        gov.approve("hr-anna", middle)
    assert gov.approve("cio-eva", middle) == "approved"  # CFO or CIO
    large = gov.propose("fin-cara", "ops", "2026Q2", 60_000, "misattribution", "RCA-12")
    assert gov.approve("cfo-dan", large) == "proposed"
    assert gov.approve("cio-eva", large) == "approved"  # both above the higher threshold
    with pytest.raises(RefusedError, match="may not edit_routing"):
        gov.set_routing("hr-anna", [(0, [["hr"]])])
    gov.set_routing("cfo-dan", [(0, [["hr"]]), (5_000, [["cfo"], ["cio"]])])
    assert gov.routing() == [(0.0, [["hr"]]), (5_000.0, [["cfo"], ["cio"]])]
    routed = gov.propose("fin-cara", "ops", "2026Q3", 6_000, "data_error", "INC-9")
    with pytest.raises(RefusedError, match="needs cfo and cio"):
        gov.approve("hr-anna", routed)
    for bad in ([(100, [["hr"]])], [(0, [["hr"]]), (0, [["cfo"]])], [(0, [["nobody"]])]):
        with pytest.raises(RefusedError):
            gov.set_routing("cfo-dan", bad)


def test_every_separation_of_duties_violation_is_refused_and_logged(gov):
    own = gov.propose("hr-anna", "ops", "2026Q1", 1_000, "data_error", "INC-1")
    with pytest.raises(RefusedError, match="what they proposed"):
        gov.approve("hr-anna", own)
    personal = gov.propose("fin-cara", "ops", "2026Q1", 1_000, "data_error", "x", "itg-ben")
    with pytest.raises(RefusedError, match="pays themselves"):
        gov.approve("itg-ben", personal)
    team = gov.propose("fin-cara", "apps", "2026Q1", 1_000, "data_error", "INC-2")
    with pytest.raises(RefusedError, match="their own team"):
        gov.approve("hr-apps", team)
    with pytest.raises(RefusedError, match="may not approve"):
        gov.approve("lead-ops", team)
    with pytest.raises(RefusedError, match="may not propose"):
        gov.propose("lead-apps", "apps", "2026Q1", 9_999, "data_error", "please")
    gov.approve("hr-anna", team)
    with pytest.raises(RefusedError, match="already signed"):
        gov.approve("hr-anna", team)
    with pytest.raises(RefusedError, match="unknown person"):
        gov.approve("nobody", team)
    for bad in (
        dict(amount=0),
        dict(amount=float("inf")),
        dict(reason_code="because"),
        dict(evidence=" "),
    ):
        args = dict(amount=1.0, reason_code="data_error", evidence="e") | bad
        with pytest.raises(RefusedError):
            gov.propose("fin-cara", "ops", "2026Q1", **args)
    refused = _refusals(gov)
    assert ("hr-anna", "refused.approve") in refused and ("itg-ben", "refused.approve") in refused
    assert ("lead-apps", "refused.propose") in refused and len(refused) == 11
    assert verify(gov.engine).ok
    statuses = gov.view("audit-lu", "adjustments").set_index("adjustment_id")["status"]
    assert statuses.to_dict() == {own: "proposed", personal: "proposed", team: "proposed"}


def test_a_rejection_changes_nothing_but_its_status_and_needs_a_reason(gov):
    number = gov.propose("fin-cara", "ops", "2026Q1", 3_000, "data_error", "INC-3")
    with pytest.raises(RefusedError, match="needs its reason"):
        gov.reject("itg-ben", number, " ")
    assert gov.reject("itg-ben", number, "records were right") == "rejected"
    with pytest.raises(RefusedError, match="already rejected"):
        gov.approve("hr-anna", number)


def test_contests_inside_their_window_only_and_each_ends_decided(gov):
    issued = date(2026, 4, 10)
    statement = gov.issue_statement("itg-ben", "apps", "2026Q1", 12_000, 14, on=issued)
    with pytest.raises(RefusedError, match=r"closed on 2026-04-24 \(14 days after 2026-04-10\)"):
        gov.contest("lead-apps", statement, "MTTR includes vendor time", on=date(2026, 4, 25))
    with pytest.raises(RefusedError, match="own team's or vendor's"):
        gov.contest("lead-ops", statement, "not mine", on=date(2026, 4, 12))
    contest = gov.contest("lead-apps", statement, "MTTR includes vendor time", on=date(2026, 4, 24))
    with pytest.raises(RefusedError, match="they or their team filed"):
        gov.decide_contest("board-3", contest, "upheld", "fair", on=date(2026, 5, 1))
    with pytest.raises(RefusedError, match="'upheld' or 'dismissed'"):
        gov.decide_contest("board-1", contest, "maybe", "unsure")
    gov.decide_contest("board-1", contest, "upheld", "vendor time excluded", on=date(2026, 5, 2))
    with pytest.raises(RefusedError, match="already upheld"):
        gov.decide_contest("board-2", contest, "dismissed", "late change")
    vendor = gov.issue_statement("itg-ben", "ops", "2026Q1", 0, 10, on=issued, vendor="cloudco")
    assert gov.contest("vendor-mo", vendor, "outage start misreported", on=issued) > contest
    assert ("lead-apps", "refused.contest") in _refusals(gov)


def test_override_needs_its_quorum_of_board_members_outside_the_team(gov):
    with pytest.raises(RefusedError, match="circumstance must be one of"):
        gov.propose_override("board-1", "apps", "2026Q1", 5_000, "bad luck", "x", 2)
    with pytest.raises(RefusedError, match="quorum must be between 1 and the 1"):
        gov.propose_override("board-1", "apps", "2026Q1", 5_000, "merger", "merged", 2)
    number = gov.propose_override(
        "board-1", "ops", "2026Q1", 5_000, "regulatory_incident", "regulator froze changes", 2
    )
    with pytest.raises(RefusedError, match="their own proposal"):
        gov.vote_override("board-1", number, True)
    with pytest.raises(RefusedError, match="may not vote_override"):
        gov.vote_override("cfo-dan", number, True)
    assert gov.vote_override("board-2", number, True) == "proposed"
    assert gov.vote_override("board-3", number, True) == "approved"
    lost = gov.propose_override("board-1", "ops", "2026Q2", 1_000, "merger", "merged", 2)
    assert gov.vote_override("board-2", lost, False) == "rejected"  # 2 of 2 out of reach


def test_views_are_scoped_by_role_and_pseudonymised_without_the_right(gov):
    gov.propose("fin-cara", "apps", "2026Q1", 1_000, "data_error", "INC-1")
    gov.propose("fin-cara", "ops", "2026Q1", 1_000, "data_error", "INC-2")
    gov.issue_statement("itg-ben", "ops", "2026Q1", 0, 10, vendor="cloudco")
    gov.issue_statement("itg-ben", "apps", "2026Q1", 0, 10)
    assert len(gov.view("audit-lu", "adjustments")) == 2
    team = gov.view("lead-apps", "adjustments")
    assert list(team["team_id"]) == ["apps"]
    assert team.loc[0, "proposed_by"].startswith("person-")  # no right to identities
    assert team.loc[0, "proposed_by"] == gov.view("lead-apps", "adjustments").loc[0, "proposed_by"]
    vendor = gov.view("vendor-mo", "statements")
    assert list(vendor["vendor_id"]) == ["cloudco"]
    with pytest.raises(RefusedError, match="may not view approvals"):
        gov.view("lead-apps", "approvals")
    people = gov.view("lead-apps", "people")
    assert "name" not in people and set(people["team_id"]) == {"apps"}
    assert ("lead-apps", "refused.view") in _refusals(gov)


def test_people_are_registered_only_by_those_allowed(gov):
    with pytest.raises(RefusedError, match="may not manage_people"):
        gov.add_person("system", "x", "X", ["auditor"])  # system only until HR exists
    with pytest.raises(RefusedError, match="unknown roles"):
        gov.add_person("hr-anna", "y", "Y", ["chief"])
    with pytest.raises(RefusedError, match="already registered"):
        gov.add_person("hr-anna", "cfo-dan", "Dan", ["cfo"])


def test_the_workflows_from_the_command_line(tmp_path, capsys):
    from toolkit.cli import main

    db = ["--db", str(tmp_path / "gov.db")]
    people = [
        ["hr-anna", "--name", "Anna", "--role", "hr", "--as", "system"],
        ["itg-ben", "--name", "Ben", "--role", "it_governance", "--as", "hr-anna"],
        ["lead-apps", "--name", "Ida", "--role", "team_lead", "--team", "apps", "--as", "hr-anna"],
        ["board-1", "--name", "Fay", "--role", "review_board", "--as", "hr-anna"],
        ["board-2", "--name", "Gus", "--role", "review_board", "--as", "hr-anna"],
    ]
    assert main(["gov", "person", *people[0], *db]) == 2  # no database yet
    assert "lti gov init" in capsys.readouterr().err
    assert main(["gov", "init", *db]) == 0
    for person in people:
        assert main(["gov", "person", *person, *db]) == 0
    propose = ["--team", "apps", "--period", "2026Q1", "--amount", "1500"]
    evidence = ["--reason", "data_error", "--evidence", "INC-7", "--as", "hr-anna"]
    assert main(["gov", "propose", *propose, *evidence, *db]) == 0
    assert main(["gov", "approve", "1", "--as", "hr-anna", *db]) == 2
    assert "nobody approves what they proposed" in capsys.readouterr().err
    assert main(["gov", "approve", "1", "--as", "itg-ben", *db]) == 0
    assert main(["gov", "approve", "9", "--as", "itg-ben", *db]) == 2
    assert "there is no adjustment 9" in capsys.readouterr().err
    statement = ["--team", "apps", "--period", "2026Q1", "--amount", "8000", "--window-days", "7"]
    assert main(["gov", "statement", *statement, "--on", "2026-04-01", "--as", "itg-ben", *db]) == 0
    late = ["1", "--grounds", "vendor time", "--on", "2026-04-09", "--as", "lead-apps"]
    assert main(["gov", "contest", *late, *db]) == 2
    assert "closed on 2026-04-08" in capsys.readouterr().err
    assert main(["gov", "contest", *late[:4], "2026-04-08", "--as", "lead-apps", *db]) == 0
    decide = ["1", "--outcome", "dismissed", "--reason", "in scope", "--as", "board-1"]
    assert main(["gov", "decide", *decide, *db]) == 0
    override = ["--team", "apps", "--period", "2026Q1", "--amount", "500"]
    circumstance = ["--circumstance", "merger", "--description", "merged", "--quorum", "1"]
    assert main(["gov", "override", *override, *circumstance, "--as", "board-1", *db]) == 0
    assert main(["gov", "vote", "1", "approve", "--as", "board-2", *db]) == 0
    assert "override 1: approved" in capsys.readouterr().out
    assert main(["gov", "show", "adjustments", "--as", "lead-apps", *db]) == 0
    shown = capsys.readouterr().out
    # signed by IT governance; the HR group awaits an HR member other than its proposer
    assert "proposed" in shown and "hr-anna" not in shown and "person-" in shown
    out = tmp_path / "adjustments.csv"
    assert main(["gov", "show", "adjustments", "--as", "hr-anna", "--csv", str(out), *db]) == 0
    assert "hr-anna" in out.read_text()
    assert main(["gov", "verify", *db]) == 0


SHARED = {"payments": ["apps", "ops"], "k8s": ["ops", "apps"]}  # owner first


def test_attribution_disputes_go_to_the_parties_the_rule_names(gov):
    gov.add_person("hr-anna", "lead-sec", "Sol", ["team_lead"], "sec")
    owner = gov.file_dispute(
        "lead-ops", "ops", "2026Q1", 800, "owner", {"payments": ["apps", "ops"]}, "INC-4 ours?"
    )
    parties = gov.view("audit-lu", "disputes").set_index("dispute_id").loc[owner, "parties"]
    assert parties == '["apps", "ops"]'  # under owner, the service's owner answers
    with pytest.raises(RefusedError, match="disputes with nobody"):
        gov.file_dispute(
            "lead-apps", "apps", "2026Q2", 1, "owner", {"payments": ["apps", "ops"]}, "x"
        )
    shared = gov.file_dispute("lead-apps", "apps", "2026Q1", 1_200, "shapley", SHARED, "credit")
    with pytest.raises(RefusedError, match="dispute only for a team among"):
        gov.file_dispute("lead-sec", "apps", "2026Q1", 5, "equal", SHARED, "not mine")
    with pytest.raises(RefusedError, match="speaks for no party"):
        gov.take_position("lead-sec", shared, True, "split 50/50")
    assert gov.take_position("lead-apps", shared, True, "split 50/50") == "open"
    assert gov.take_position("lead-ops", shared, True, "split 50/50") == "settled"
    escalated = gov.file_dispute("lead-ops", "ops", "2026Q2", 3_000, "equal", SHARED, "equal?")
    assert gov.take_position("lead-ops", escalated, False) == "escalated"
    with pytest.raises(RefusedError, match="already escalated"):
        gov.take_position("lead-apps", escalated, True, "ops keeps it")
    with pytest.raises(RefusedError, match="outside the parties' teams"):
        gov.decide_dispute("board-3", escalated, "apps pays 40 %", "tickets handled")
    assert (
        gov.decide_dispute("board-1", escalated, "apps pays 40 %", "tickets handled") == "decided"
    )
    # team leads see the disputes their team is party to, and only those
    assert set(gov.view("lead-apps", "disputes")["dispute_id"]) == {owner, shared, escalated}
    assert gov.view("lead-sec", "disputes").empty


def test_vendor_disputes_are_reviewed_jointly_by_hr_and_the_vendor(gov):
    number = gov.file_dispute(
        "vendor-mo", "ops", "2026Q1", 4_000, "owner", {"k8s": ["ops"]}, "outage start", "cloudco"
    )
    assert list(gov.view("vendor-mo", "disputes")["dispute_id"]) == [number]
    assert gov.take_position("lead-ops", number, False) == "escalated"
    with pytest.raises(RefusedError, match="jointly"):
        gov.decide_dispute("board-1", number, "vendor pays half", "logs")
    with pytest.raises(RefusedError, match="jointly"):
        gov.decide_dispute("hr-apps", number, "vendor pays half", "logs")  # HR inside a team
    assert gov.decide_dispute("hr-anna", number, "vendor pays half", "logs") == "joint_review"
    with pytest.raises(RefusedError, match="the hr side has signed"):
        gov.decide_dispute("hr-anna", number, "vendor pays half", "again")
    with pytest.raises(RefusedError, match="must agree"):
        gov.decide_dispute("vendor-mo", number, "vendor pays nothing", "our logs")
    assert gov.decide_dispute("vendor-mo", number, "vendor pays half", "agreed") == "decided"
    decided = gov.view("audit-lu", "disputes").set_index("dispute_id").loc[number]
    assert decided["decided_by"] == "hr:hr-anna+vendor:vendor-mo"
    assert verify(gov.engine).ok


def test_disputes_from_the_command_line(tmp_path, capsys):
    from toolkit.cli import main

    db = ["--db", str(tmp_path / "gov.db")]
    ledger = Governance.open(tmp_path / "gov.db")
    first, *others = PEOPLE
    ledger.add_person("system", *first)
    for person in others:
        ledger.add_person("hr-anna", *person)
    filed = ["--team", "ops", "--period", "2026Q1", "--at-stake", "900", "--rule", "equal"]
    grounds = ["--service", "payments=apps,ops", "--grounds", "shared tickets"]
    assert main(["gov", "dispute", *filed, *grounds, "--as", "lead-ops", *db]) == 0
    assert main(["gov", "position", "1", "disagree", "--as", "lead-apps", *db]) == 0
    assert "escalated" in capsys.readouterr().out
    decide = ["1", "--outcome", "50/50", "--reason", "equal rule", "--as", "board-1"]
    assert main(["gov", "decide-dispute", *decide, *db]) == 0
    bad = ["--service", "payments", "--grounds", "x", "--as", "lead-ops"]
    assert main(["gov", "dispute", *filed, *bad, *db]) == 2
    assert "SERVICE=OWNER" in capsys.readouterr().err


def test_an_export_holds_what_the_actor_may_see(gov, tmp_path):
    from toolkit.governance.export import export_ledger

    gov.propose("fin-cara", "apps", "2026Q1", 1_000, "data_error", "INC-1")
    gov.propose("fin-cara", "ops", "2026Q1", 1_000, "data_error", "INC-2")
    full = {p.name for p in export_ledger(gov, "audit-lu", tmp_path / "audit")}
    assert {"adjustments.csv", "approvals.csv", "audit_log.jsonl", "export.json"} <= full
    lead = {p.name for p in export_ledger(gov, "lead-apps", tmp_path / "lead")}
    assert "audit_log.jsonl" not in lead and "approvals.csv" not in lead
    rows = (tmp_path / "lead" / "adjustments.csv").read_text()
    assert "apps" in rows and ",ops," not in rows and "fin-cara" not in rows  # pseudonymised
    with pytest.raises(GovernanceError, match="not empty"):
        export_ledger(gov, "lead-apps", tmp_path / "audit")
    assert [e.action for e in entries(gov.engine)][-2:] == ["ledger.exported"] * 2
    assert verify(gov.engine).ok


def test_disputes_reach_the_agenda_and_the_decision_log(gov):
    from toolkit.governance.settlement import agenda, decision_log

    open_one = gov.file_dispute("lead-ops", "ops", "2026Q1", 700, "equal", SHARED, "credit")
    escalated = gov.file_dispute("lead-ops", "ops", "2026Q2", 2_000, "equal", SHARED, "split")
    gov.take_position("lead-apps", escalated, False)
    settled = gov.file_dispute("lead-apps", "apps", "2026Q3", 300, "equal", SHARED, "share")
    gov.take_position("lead-apps", settled, True, "60/40")
    gov.take_position("lead-ops", settled, True, "60/40")
    items = agenda(gov, "audit-lu").set_index("item")["waiting_for"]
    assert items[f"dispute:{escalated}"] == "review_board decision"
    assert items[f"dispute:{open_one}"] == "the parties' positions"
    assert f"dispute:{settled}" not in items
    log = decision_log(gov, "audit-lu").set_index("item")
    assert log.loc[f"dispute:{settled}", "status"] == "settled"
    assert log.loc[f"dispute:{settled}", "detail"] == "share -> 60/40"
    lead_view = agenda(gov, "lead-apps")["item"]
    assert set(lead_view) == {f"dispute:{open_one}", f"dispute:{escalated}"}  # apps is a party
