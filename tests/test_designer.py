"""The plan designer: its state, its comparison runner and its widgets, without a browser."""

import multiprocessing
import shutil
import threading
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.cli import main
from toolkit.experiments.batch import run_batch
from toolkit.experiments.executors import BatchCancelledError
from toolkit.plans import load_plan
from toolkit.run.loop import PlanLoop
from toolkit.run.summary import summarise
from toolkit.widgets import Comparison, DesignerState, PlanDesigner
from toolkit.widgets.state import convert_curve, parse_path

from .conftest import SCENARIOS

SMALL = SCENARIOS / "small.yaml"


@pytest.fixture
def state():
    return DesignerState("careful", SMALL)


def test_edits_save_as_a_diff_that_loads_back_to_the_same_plan(state, tmp_path, capsys):
    state.edit("metrics[0].weight", 0.5)
    state.edit("metrics[1].curve.target.level", 0.9985)
    state.edit("vesting.deferral_share", 0.25)
    state.edit("cap", None)
    state.edit("audit.probability_per_period", 0.35)
    state.edit("target_award_pct.G4", 16)
    assert state.valid, state.messages
    path = state.save(tmp_path)
    document = yaml.safe_load(path.read_text())
    assert document["extends"] == "careful"
    # only what changed, and changed mappings only by the keys that changed
    assert set(document) == {
        "name",
        "description",
        "extends",
        "metrics",
        "vesting",
        "cap",
        "audit",
        "target_award_pct",
    }
    assert document["vesting"] == {"deferral_share": 0.25}
    assert document["cap"] is None
    loaded = load_plan(path, scenario=state.scenario)
    assert loaded.fingerprint() == state.plan.fingerprint()
    assert loaded.metrics[0].weight == 0.5 and loaded.cap is None
    assert loaded.target_award_pct["G4"] == 16 and loaded.target_award_pct["G5"] == 18
    assert main(["validate", str(path), "--scenario", str(SMALL)]) == 0
    assert "ok" in capsys.readouterr().out


def test_a_plan_file_start_is_saved_beside_the_diff_so_extends_finds_it(tmp_path):
    own = tmp_path / "mine"
    own.mkdir()
    shutil.copy(SCENARIOS / "plans" / "balanced.yaml", own / "house_plan.yaml")
    text = (own / "house_plan.yaml").read_text().replace("name: balanced", "name: house_plan")
    (own / "house_plan.yaml").write_text(text)
    state = DesignerState(own / "house_plan.yaml", SMALL)
    assert state.parent_name == "house_plan"
    state.edit("metrics[0].weight", 0.7)
    path = state.save(tmp_path / "out")
    assert (tmp_path / "out" / "house_plan.yaml").is_file()
    assert load_plan(path, scenario=state.scenario).fingerprint() == state.plan.fingerprint()


def test_an_invalid_edit_gives_the_fields_message_and_keeps_the_last_valid_plan(state):
    state.edit("metrics[0].weight", 0.4)
    result = state.edit("metrics[0].weight", -1)
    assert not result.valid
    assert "greater than 0" in result.messages["metrics[0].weight"]
    assert state.plan.metrics[0].weight == 0.4  # the last valid plan
    bad_curve = state.edit("metrics[1].curve.target.level", 0.9999)  # above the maximum
    assert "strictly increasing" in bad_curve.messages["metrics[1].curve"]
    state.edit("metrics[0].weight", 0.4)
    state.edit("metrics[1].curve.target.level", 0.998)
    assert state.valid and state.messages == {}
    typo = state.edit("metrics[0].kpi", "mttr_mean_hour")
    assert "did you mean 'mttr_mean_hours'" in typo.messages["metrics[0].kpi"]


def test_an_edit_the_scenario_cannot_run_is_refused_with_the_scenarios_reason(state):
    # small has 2 years of quarters: a plan starting after 8 periods never starts
    result = state.edit("start_after_periods", 8)
    assert "scenario 'small' has 8" in result.messages["start_after_periods"]
    assert state.plan.start_after_periods == 4


def test_the_edited_plan_needs_a_name_of_its_own(state, tmp_path):
    assert "its own name" in state.edit("name", "careful").messages["name"]
    assert "library plan" in state.edit("name", "balanced").messages["name"]
    assert "letters, digits" in state.edit("name", "../escape").messages["name"]
    with pytest.raises(ValueError, match="fix them first"):
        state.save(tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written
    assert state.edit("name", "careful_v2").valid


def test_field_paths_parse_and_refuse_malformed_ones(state):
    assert parse_path("metrics[2].curve.target.level") == ["metrics", 2, "curve", "target", "level"]
    with pytest.raises(ValueError, match="malformed"):
        parse_path("metrics[x]")
    result = state.edit("gates[7].at_least", 3)
    assert "no item 7" in result.messages["gates[7].at_least"]


def test_a_cancelled_comparison_stops_its_workers_and_publishes_nothing(tmp_path):
    comparison = Comparison(
        tmp_path, SMALL, ["careful", "balanced"], seeds=(1, 2), edited="careful", workers=2
    )
    comparison.start()
    time.sleep(0.5)  # the workers are in their first runs (each takes seconds)
    comparison.cancel()
    assert comparison.wait(timeout=30)
    assert comparison.status == "cancelled"
    assert comparison.result is None
    assert multiprocessing.active_children() == []
    batch = tmp_path / "batch"
    assert not (batch / "manifest.json").exists()
    assert not (batch / "runs.parquet").exists()
    assert not list(batch.glob("runs/*/*/*.tmp-*"))  # no half-written run
    assert not list(batch.glob(".staging-*"))


def test_a_batch_cancelled_before_its_first_run_computes_and_publishes_nothing(tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(BatchCancelledError):
        run_batch(
            [SMALL], ["no_incentive"], [1], tmp_path, workers=1, progress=False, cancel=cancel
        )
    assert not list(tmp_path.glob("runs/*/*/*")) and not (tmp_path / "manifest.json").exists()


@pytest.fixture(scope="module")
def designer(tmp_path_factory):
    return PlanDesigner(
        scenario="small", plan="careful", seeds=(0,), workdir=tmp_path_factory.mktemp("designer")
    )


def test_the_widget_tree_carries_the_classes_the_served_app_relies_on(designer):
    def classes(widget):
        found = set(getattr(widget, "_dom_classes", ()))
        for child in getattr(widget, "children", ()):
            found |= classes(child)
        return found

    assert {"lti-designer", "lti-weight", "lti-run", "lti-cancel", "lti-progress"} <= classes(
        designer.ui
    )
    assert {"lti-results", "lti-frontier", "lti-message"} <= classes(designer.ui)
    assert len(designer.weights) == len(designer.state.plan.metrics)
    assert "application/vnd.jupyter.widget-view+json" in designer._repr_mimebundle_()


def test_widgets_edit_the_state_and_show_its_messages_beside_the_field(designer):
    designer.weights[0].value = -1
    assert "greater than 0" in designer.messages["metrics[0].weight"].value
    assert designer.state.plan.metrics[0].weight == 0.25
    designer.weights[0].value = 0.3
    assert designer.messages["metrics[0].weight"].value == ""
    assert designer.state.plan.metrics[0].weight == 0.3
    designer.fields["metrics[1].curve.target.level"].value = 0.9999
    assert "strictly" in designer.messages["metrics[1].curve"].value
    designer.fields["metrics[1].curve.target.level"].value = 0.998
    designer.fields["metrics[1].curve.kind"].value = "brackets"
    designer.fields["metrics[1].curve.brackets"].value = "0.995:50, 0.998:100, 0.9993:140"
    assert designer.state.plan.metrics[1].curve.brackets[-1].payout_pct == 140
    designer.fields["metrics[1].curve.brackets"].value = "0.995:50, oops"
    assert designer.messages["metrics[1].curve.brackets"].value != ""
    designer.fields["metrics[1].curve.kind"].value = "linear"
    assert designer.state.valid, designer.state.messages
    assert designer.state.plan.metrics[1].curve.maximum.payout_pct == 140
    designer.fields["cap"].value = False
    assert designer.state.plan.cap is None
    designer.fields["cap"].value = True
    assert designer.state.plan.cap.pct_of_personnel_cost == 35
    assert designer.state.valid


def test_a_curve_switched_to_brackets_and_back_pays_at_the_same_points(state):
    linear = state.value("metrics[1].curve")
    state.edit("metrics[1].curve", convert_curve(linear, "brackets"))
    assert state.valid, state.messages
    brackets = state.plan.metrics[1].curve
    assert brackets.direction == "higher"
    assert [b.level for b in brackets.brackets] == [0.995, 0.998, 0.9995]
    state.edit("metrics[1].curve", convert_curve(state.value("metrics[1].curve"), "linear"))
    assert state.value("metrics[1].curve") == linear


def test_picking_another_plan_starts_again_from_it(tmp_path):
    designer = PlanDesigner(scenario="small", plan="careful", workdir=tmp_path)
    designer.plan_picker.value = "mttr_only"
    assert designer.state.start.name == "mttr_only"
    assert len(designer.weights) == len(designer.state.plan.metrics) == 1
    designer.weights[0].value = 0
    assert "greater than 0" in designer.messages["metrics[0].weight"].value


def test_a_comparison_from_the_widgets_shows_results_that_match_the_plan_in_memory(designer):
    designer.weights[0].value = 0.35
    designer.run_button.click()
    assert designer.comparison.wait(timeout=300)
    assert designer.comparison.status == "done", designer.comparison.error
    assert "<table" in designer.results.value and "careful_edited" in designer.results.value
    assert "<img" in designer.frontier.value and 'alt="Frontier' in designer.frontier.value
    assert designer.progress.value == designer.progress.max == 2
    result = designer.comparison.result
    table = result.table.set_index("plan")
    assert list(result.table["role"]) == ["edited", "reference"]
    assert table.loc["no_incentive", "net_value"] == 0
    # one seed pair gives a net value but no interval, as lti batch says
    assert np.isnan(table.loc["careful_edited", "net_value_low"])
    assert "no interval: one seed" in designer.results.value
    frontier = result.frontier.set_index("plan")
    assert (
        frontier.loc["careful_edited", "award_cost"] == table.loc["careful_edited", "total_awards"]
    )
    periods = designer.state.scenario.horizon.years * 4
    assert set(result.levers.groupby(["plan", "lever"]).size()) == {periods}
    assert set(result.levers["lever"]) == {
        "reliability_effort",
        "change_rate",
        "change_care",
        "diligence",
        "gaming",
    }
    row = result.runs.set_index("plan").loc["careful_edited"]
    in_memory = summarise(PlanLoop(designer.state.scenario, designer.state.plan, 0).run())
    assert row["total_awards"] == pytest.approx(in_memory["total_awards"], rel=1e-12)
    assert row["business_loss"] == pytest.approx(in_memory["business_loss"], rel=1e-12)
    # the same plan, scenario and seed again: read from the cache, not recomputed
    designer.run_button.click()
    assert designer.comparison.wait(timeout=300)
    assert designer.comparison.result.batch.stats["cached"] == 2
    saved = designer.save()
    assert saved.parent == designer.workdir / "plans" and saved.is_file()
    # lti batch on the saved file finds the designer's runs under the same key: same results
    out = designer.workdir / "batch"
    argv = ["batch", str(SMALL), "--plans", str(saved), "no_incentive", "--seeds", "1"]
    assert main([*argv, "--out", str(out), "--workers", "1"]) == 0
    runs = pd.read_parquet(out / "runs.parquet").set_index("plan")
    assert runs["cached"].all()
    assert runs.loc["careful_edited", "total_awards"] == row["total_awards"]


def test_the_designer_stays_editable_during_a_run_and_its_cancel_stops_it(designer):
    designer.weights[0].value = 0.45  # a plan not in the cache yet
    comparison = designer.run()
    assert comparison.running and designer.run_button.disabled
    designer.weights[0].value = 0.4  # edits go on while it runs
    assert designer.state.plan.metrics[0].weight == 0.4
    designer.cancel_button.click()
    assert comparison.wait(timeout=30)
    assert comparison.status == "cancelled"
    assert "Cancelled" in designer.status.value
    assert not designer.run_button.disabled and designer.cancel_button.disabled
    assert multiprocessing.active_children() == []
