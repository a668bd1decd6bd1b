"""Penalty sharing on joint failures: strict clauses, hand-computed splits, contributions."""

import pandas as pd
import pytest
import yaml

from toolkit.config.errors import ConfigError
from toolkit.config.loading import validate_mapping
from toolkit.config.scenario import PenaltySharing, Scenario
from toolkit.events import EventLog
from toolkit.events.log import empty_table
from toolkit.finance.penalty_sharing import penalty_split_table, split_penalties
from toolkit.metrics.joint_failures import joint_failures

from .conftest import SCENARIOS

PENALTY = {1: 1000.0, 2: 400.0, 3: 100.0, 4: 10.0}
CLOUDCO = "organisation.vendors[0].contract.penalty_sharing"


@pytest.fixture()
def data():
    return yaml.safe_load((SCENARIOS / "small.yaml").read_text())


def _problems(data) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        validate_mapping(Scenario, data, "x.yaml")
    return {p.path: p.reason for p in caught.value.problems}


@pytest.mark.parametrize(
    ("clause", "where", "says"),
    [
        ({"rule": "capped", "penalty_per_incident": PENALTY}, CLOUDCO, "needs cap_pct"),
        (
            {"rule": "proportional", "penalty_per_incident": PENALTY, "cap_pct": 5},
            CLOUDCO,
            "'capped' only",
        ),
        (
            {"rule": "proportional", "penalty_per_incident": {1: 10, 2: 5}},
            f"{CLOUDCO}.penalty_per_incident",
            "[3, 4]",
        ),
        ({"rule": "shared", "penalty_per_incident": PENALTY}, f"{CLOUDCO}.rule", "proportional"),
        ({"rule": "capped", "penalty_per_incident": PENALTY, "cap_pct": 150}, CLOUDCO, "100"),
        (
            {"rule": "proportional", "penalty_per_incident": {**PENALTY, 2: -1}},
            f"{CLOUDCO}.penalty_per_incident",
            "0",
        ),
        ({"rule": "proportional", "penalty": PENALTY}, CLOUDCO, "penalty_per_incident"),
    ],
)
def test_bad_clauses_are_refused_with_path_and_reason(data, clause, where, says):
    data["organisation"]["vendors"][0]["contract"]["penalty_sharing"] = clause
    problems = _problems(data)
    assert any(path.startswith(where) and says in reason for path, reason in problems.items()), (
        problems
    )


def _joint() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "vendor_id": ["v", "v", "v", "v"],
            "period": ["2025-01", "2025-01", "2025-01", "2025-02"],
            "priority": [1, 2, 3, 1],
            "vendor_contribution": [0.75, 0.5, 0.2, 1.0],
        }
    )


def test_proportional_split_by_hand():
    sharing = PenaltySharing(rule="proportional", penalty_per_incident=PENALTY)
    split = split_penalties(_joint(), sharing)
    assert split["vendor_penalty"].tolist() == pytest.approx([750, 200, 20, 1000])
    assert split["internal_penalty"].tolist() == pytest.approx([250, 200, 80, 0])
    assert not split["capped"].any()


def test_primary_owner_split_by_hand():
    sharing = PenaltySharing(rule="primary_owner", penalty_per_incident=PENALTY)
    split = split_penalties(_joint(), sharing)
    # a tie (0.5) is the customer's: it owns the service
    assert split["vendor_penalty"].tolist() == pytest.approx([1000, 0, 0, 1000])
    assert split["internal_penalty"].tolist() == pytest.approx([0, 400, 100, 0])


def test_capped_split_by_hand():
    sharing = PenaltySharing(rule="capped", penalty_per_incident=PENALTY, cap_pct=10)
    fees = pd.Series(
        [5000.0, 20000.0], index=pd.MultiIndex.from_tuples([("v", "2025-01"), ("v", "2025-02")])
    )
    split = split_penalties(_joint(), sharing, fees)
    # January: proportional 750 + 200 + 20 = 970 against a cap of 500, so each part is scaled
    # by 500 / 970; February: 1000 against a cap of 2000 stands
    scale = 500 / 970
    assert split["vendor_penalty"].tolist() == pytest.approx(
        [750 * scale, 200 * scale, 20 * scale, 1000]
    )
    assert split["vendor_penalty"].iloc[:3].sum() == pytest.approx(500)
    assert (split["vendor_penalty"] + split["internal_penalty"]).tolist() == pytest.approx(
        [1000, 400, 100, 1000]
    )
    assert split["capped"].tolist() == [True, True, True, False]
    with pytest.raises(ValueError, match="fees"):
        split_penalties(_joint(), sharing)


def test_contributions_outside_the_unit_interval_are_refused():
    sharing = PenaltySharing(rule="proportional", penalty_per_incident=PENALTY)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        split_penalties(_joint().assign(vendor_contribution=1.5), sharing)


def _log(incidents: list[dict], outages: list[dict]) -> EventLog:
    start = pd.Timestamp("2025-01-01")
    inc = empty_table("incidents")
    rows = pd.DataFrame(
        [
            {
                "incident_id": f"I{i}",
                "service_id": "s",
                "team_id": "t",
                "priority": 2,
                "priority_initial": 2,
                "reopen_count": 0,
                "reassignment_count": 0,
                "on_hold_hours": 0.0,
                "sla_target_hours": 8.0,
                "sla_breached": False,
                "root_cause": "internal",
                "vendor_id": None,
                **row,
            }
            for i, row in enumerate(incidents)
        ]
    )
    for column in inc.columns:
        if column not in rows:
            rows[column] = inc[column]
    out = pd.DataFrame(
        [
            {"outage_id": f"O{i}", "source": "vendor", "vendor_id": "v", "service_id": "s", **o}
            for i, o in enumerate(outages)
        ]
    ).assign(subcontractor_id=None)
    return EventLog(
        incidents=rows[inc.columns],
        changes=empty_table("changes"),
        outages=out,
        services=empty_table("services"),
        start=start,
        end=start + pd.Timedelta(days=30),
    )


def test_contribution_is_the_share_of_open_time_the_outage_covers():
    t = pd.Timestamp("2025-01-02")
    hours = pd.Timedelta(1, "h")
    log = _log(
        [
            # opened at the outage start, resolved 2 h after its 6 h: 6 / 8
            {
                "opened_at": t,
                "resolved_at": t + 8 * hours,
                "root_cause": "vendor",
                "vendor_id": "v",
            },
            # internal incident opened 4 h into the outage, resolved 4 h later: 2 / 4
            {"opened_at": t + 4 * hours, "resolved_at": t + 8 * hours},
            # blamed on the vendor a day later, no outage: the claim stands, unsupported
            {
                "opened_at": t + 24 * hours,
                "resolved_at": t + 26 * hours,
                "root_cause": "vendor",
                "vendor_id": "v",
            },
            # internal and untouched by the outage: not a joint failure
            {"opened_at": t + 30 * hours, "resolved_at": t + 31 * hours},
        ],
        [{"start": t, "end": t + 6 * hours}],
    )
    joint = joint_failures(log, [("v", ["s"])]).set_index("incident_id")
    assert list(joint.index) == ["I0", "I1", "I2"]
    assert joint["vendor_contribution"].tolist() == pytest.approx([0.75, 0.5, 1.0])
    assert joint["supported"].tolist() == [True, True, False]
    assert joint["attributed"].tolist() == [True, False, True]


def test_a_run_splits_only_vendors_with_a_clause_and_the_parts_add_up(data, small_log):
    data["organisation"]["vendors"][0]["contract"]["penalty_sharing"] = {
        "rule": "capped",
        "penalty_per_incident": PENALTY,
        "cap_pct": 1,
    }
    scenario = Scenario.model_validate(data)
    table = penalty_split_table(scenario, small_log, small_log, seed=1)
    assert set(table["vendor_id"]) == {"cloudco"}
    assert set(table["view"]) == {"true", "reported"}
    assert (table["vendor_penalty"] + table["internal_penalty"]).to_numpy() == pytest.approx(
        table["penalty"].to_numpy()
    )
    # a cap of 1 % of a 40,000 fee: the vendor pays at most 400 a month
    per_month = table.loc[table["view"] == "true"].groupby("period")["vendor_penalty"].sum()
    assert (per_month <= 400 + 1e-6).all()
    assert table["capped"].any()
    # the record equals the truth here, so nothing is blamed without an outage
    assert table["unsupported"].sum() == 0
    empty = penalty_split_table(
        Scenario.model_validate(yaml.safe_load((SCENARIOS / "small.yaml").read_text())),
        small_log,
        small_log,
        seed=1,
    )
    assert empty.empty
