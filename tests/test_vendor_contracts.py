"""Vendor contracts as scenario data: strict refusals, and runs that do not read them."""

import copy

import pandas as pd
import pytest
import yaml

from toolkit.config import load_scenario
from toolkit.config.errors import ConfigError
from toolkit.config.loading import validate_mapping
from toolkit.config.scenario import Scenario, SubcontractorContract, VendorContract
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop

from .conftest import SCENARIOS


@pytest.fixture()
def data():
    """A fresh, valid small scenario mapping to mutate."""
    return yaml.safe_load((SCENARIOS / "small.yaml").read_text())


def _cloudco(data) -> dict:
    return data["organisation"]["vendors"][0]


def _problems(data) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        validate_mapping(Scenario, data, "x.yaml")
    return [(p.path, p.reason) for p in caught.value.problems]


def test_shipped_scenarios_carry_contracts():
    for name in ("default", "small"):
        scenario = load_scenario(SCENARIOS / f"{name}.yaml")
        for vendor in scenario.organisation.vendors:
            assert isinstance(vendor.contract, VendorContract), vendor.id
            assert vendor.contract.availability.target_pct == pytest.approx(
                100 * vendor.sla_availability_target
            )
            assert vendor.reporting.late_outage_start == 0
            for sub in vendor.subcontractors:
                assert isinstance(sub.contract, SubcontractorContract)
    periods = {
        v.id: v.contract.period
        for v in load_scenario(SCENARIOS / "default.yaml").organisation.vendors
    }
    assert periods == {"cloudco": "month", "netlink": "month", "fincore": "quarter"}


def test_a_misspelt_contract_key_is_named_with_its_path(data):
    contract = _cloudco(data)["contract"]
    contract["credit_cap"] = contract.pop("credit_cap_pct")
    problems = dict(_problems(data))
    path = "organisation.vendors[0].contract"
    assert "credit_cap_pct" in " ".join(r for p, r in problems.items() if p.startswith(path))


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        (
            lambda c: c.update(period="week"),
            "organisation.vendors[0].contract.period",
            "month",
        ),
        (
            lambda c: c["availability"]["credit_bands"].reverse(),
            "organisation.vendors[0].contract.availability.credit_bands",
            "strictly increasing",
        ),
        (
            lambda c: c["availability"]["credit_bands"][2].update(credit_pct=1),
            "organisation.vendors[0].contract.availability.credit_bands",
            "smaller credit_pct",
        ),
        (
            lambda c: c.update(credit_cap_pct=120),
            "organisation.vendors[0].contract.credit_cap_pct",
            "100",
        ),
        (
            lambda c: c["response"].update(target_hours={}),
            "organisation.vendors[0].contract.response.target_hours",
            "at least 1",
        ),
        (
            lambda c: c["response"]["target_hours"].update({5: 2}),
            "organisation.vendors[0].contract.response.target_hours.5",
            "",
        ),
        (
            lambda c: c["gain_share"].update(vendor_share_pct=-5),
            "organisation.vendors[0].contract.gain_share.vendor_share_pct",
            "0",
        ),
        (
            lambda c: c["data_deliveries"][0].update(content="everything"),
            "organisation.vendors[0].contract.data_deliveries[0].content",
            "sla_report",
        ),
        (
            lambda c: c.update(monthly_fee="40000"),
            "organisation.vendors[0].contract.monthly_fee",
            "number",
        ),
    ],
)
def test_bad_contract_values_are_refused_with_path_and_reason(data, change, where, says):
    change(_cloudco(data)["contract"])
    problems = _problems(data)
    assert any(p == where and says in r for p, r in problems), problems


def test_a_contract_contradicting_the_vendor_target_is_refused(data):
    _cloudco(data)["contract"]["availability"]["target_pct"] = 99.5
    ((path, reason),) = _problems(data)
    assert path == "organisation.vendors[0]"
    assert "contradicts sla_availability_target 0.999" in reason


def test_a_subcontractor_contract_has_no_response_terms(data):
    sub = _cloudco(data)["subcontractors"][0]["contract"]
    sub["response"] = copy.deepcopy(_cloudco(data)["contract"]["response"])
    problems = _problems(data)
    where = "organisation.vendors[0].subcontractors[0].contract"
    assert any(p.startswith(where) for p, _ in problems)


def test_the_vendor_reporting_lever_is_a_probability(data):
    _cloudco(data)["reporting"] = {"late_outage_start": 1.5}
    ((path, _),) = _problems(data)
    assert path == "organisation.vendors[0].reporting.late_outage_start"


def test_a_gain_share_scope_outside_the_vendors_services_is_refused(data, tmp_path):
    _cloudco(data)["contract"]["gain_share"]["services"] = ["payments", "laptops"]
    path = tmp_path / "scope.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    ((problem),) = caught.value.problems
    assert problem.path == "organisation.vendors[0].contract.gain_share.services[1]"
    assert "'laptops' does not depend on vendor 'cloudco'" in problem.reason
    assert str(path) in str(caught.value)


def _without_contracts(data) -> Scenario:
    bare = copy.deepcopy(data)
    for vendor in bare["organisation"]["vendors"]:
        vendor.pop("contract")
        for sub in vendor.get("subcontractors", []):
            sub.pop("contract", None)
    return validate_mapping(Scenario, bare, "bare.yaml")


def test_contracts_and_the_vendor_lever_leave_every_run_result_unchanged(data):
    """The world and the plan never read a contract: the run is identical without one."""
    with_contracts = validate_mapping(Scenario, data, "x.yaml")
    gaming_vendor = copy.deepcopy(data)
    for vendor in gaming_vendor["organisation"]["vendors"]:
        vendor["reporting"] = {"late_outage_start": 0.9}
    runs = [
        PlanLoop(scenario, load_plan("mttr_only", scenario=scenario), 3).run()
        for scenario in (
            with_contracts,
            _without_contracts(data),
            validate_mapping(Scenario, gaming_vendor, "g.yaml"),
        )
    ]
    first = runs[0]
    assert len(first.truth.outages) > 0 and first.awards["granted"].sum() > 0
    for other in runs[1:]:
        for table in ("incidents", "changes", "outages"):
            pd.testing.assert_frame_equal(getattr(first.truth, table), getattr(other.truth, table))
            pd.testing.assert_frame_equal(
                getattr(first.reported, table), getattr(other.reported, table)
            )
        pd.testing.assert_frame_equal(first.awards, other.awards)
        pd.testing.assert_frame_equal(first.behaviour, other.behaviour)
