"""Batches: same results on every executor, resumable from the cache, failures kept apart."""

import json
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest

import toolkit.experiments.batch as batch
from toolkit.cli import main
from toolkit.experiments import run_batch
from toolkit.experiments.batch import RUN_FILES

from .conftest import SCENARIOS

SMALL = str(SCENARIOS / "small.yaml")
PLANS = ["no_incentive", "mttr_only"]
VOLATILE = ["wall_time_seconds", "cached"]


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    out = tmp_path_factory.mktemp("pooled")
    return run_batch([SMALL], PLANS, 2, out, workers=2, progress=False)


def test_every_combination_runs_with_its_files(pooled):
    assert pooled.failures == []
    assert len(pooled.runs) == 4
    assert set(zip(pooled.runs["plan"], pooled.runs["seed"], strict=True)) == {
        (plan, seed) for plan in PLANS for seed in (0, 1)
    }
    for directory in pooled.runs["directory"]:
        assert directory.startswith("runs/small-") and directory.endswith(("seed=0", "seed=1"))
        for name in RUN_FILES:
            assert (pooled.directory / directory / name).is_file()
    summary = pd.read_parquet(pooled.directory / "summary.parquet")
    assert list(summary["plan"]) == sorted(PLANS) and (summary["seeds"] == 2).all()
    none = summary.set_index("plan").loc["no_incentive"]
    assert none["risk_aversion_vs_reference"] == 0 and none["liability_p90"] == 0
    assert (summary["liability_p50"] <= summary["liability_p90"]).all()
    comparisons = pd.read_parquet(pooled.directory / "comparisons.parquet")
    assert set(comparisons["plan"]) == {"mttr_only"} and (comparisons["pairs"] == 2).all()
    ranking = pd.read_parquet(pooled.directory / "ranking.parquet").set_index("plan")
    assert set(ranking.index) == set(PLANS)  # by net value: one scenario, so mean = worst
    net = summary.set_index("plan")["net_value"]
    assert ranking["mean"].to_dict() == pytest.approx(net.to_dict())
    assert ranking.loc[net.idxmax(), "rank_mean"] == 1
    manifest = json.loads((pooled.directory / "manifest.json").read_text())
    assert manifest["executor"] == {"kind": "local", "workers": 2, "scheduler": None}
    assert set(manifest["inputs"]) == {"scenario:small", "plan:no_incentive", "plan:mttr_only"}
    assert "summary.parquet" in manifest["outputs"] and manifest["versions"]["pandas"]
    no_plan = pooled.runs[pooled.runs["plan"] == "no_incentive"]
    assert (no_plan["gaming_index"] == 0).all() and (no_plan["total_awards"] == 0).all()


def test_one_worker_and_two_workers_agree(pooled, tmp_path):
    alone = run_batch([SMALL], PLANS, 2, tmp_path, workers=1, progress=False)
    pd.testing.assert_frame_equal(
        alone.runs.drop(columns=VOLATILE), pooled.runs.drop(columns=VOLATILE)
    )


def test_a_rerun_takes_everything_from_the_cache_and_redoes_only_what_is_missing(pooled):
    again = run_batch([SMALL], PLANS, 2, pooled.directory, workers=1, progress=False)
    assert again.stats["cached"] == 4 and again.stats["computed"] == 0
    pd.testing.assert_frame_equal(
        again.runs.drop(columns=VOLATILE), pooled.runs.drop(columns=VOLATILE)
    )
    # a run interrupted before its rename leaves only a staging directory: it is redone
    victim = pooled.directory / pooled.runs["directory"].iloc[-1]
    staging = victim.with_name(victim.name + ".tmp-999")
    victim.rename(staging)
    resumed = run_batch([SMALL], PLANS, 2, pooled.directory, workers=1, progress=False)
    assert resumed.stats["computed"] == 1 and resumed.stats["cached"] == 3
    assert victim.is_dir() and not staging.exists()


def test_a_failing_run_is_reported_and_the_others_finish(tmp_path, monkeypatch):
    real = batch.PlanLoop

    class Flaky(real):
        def run(self, progress=None):
            if self.seed == 1:
                raise RuntimeError("disk on fire")
            return super().run(progress)

    monkeypatch.setattr(batch, "PlanLoop", Flaky)
    result = run_batch([SMALL], ["no_incentive"], 2, tmp_path, workers=1, progress=False)
    assert list(result.runs["seed"]) == [0]
    [failure] = result.failures
    assert failure["seed"] == 1 and failure["plan"] == "no_incentive"
    assert "disk on fire" in failure["error"]
    recorded = json.loads((tmp_path / "batch.json").read_text())
    assert recorded["failures"][0]["seed"] == 1


def test_cli_batch_refuses_a_bad_plan_before_running(tmp_path, capsys):
    args = ["batch", SMALL, "--plans", "mttr_onyl", "--seeds", "1", "--out", str(tmp_path / "b")]
    assert main(args) == 2
    assert "mttr_only" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_cli_batch_prints_its_stats_and_net_values(pooled, capsys):
    args = ["batch", SMALL, "--plans", *PLANS, "--seeds", "2", "--out", str(pooled.directory)]
    assert main([*args, "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "4 runs (0 computed, 4 from cache, 0 failed) on 1 local worker in" in out
    assert "Net value against no_incentive on the same seeds" in out
    summary = pd.read_parquet(pooled.directory / "summary.parquet").set_index("plan")
    comparisons = pd.read_parquet(pooled.directory / "comparisons.parquet")
    net = comparisons[comparisons["metric"] == "net_value"].set_index("plan")
    plan_table = out.split("Summary per scenario and plan in")[0]  # the vendor table follows
    rows = [line.split() for line in plan_table.splitlines() if line.startswith("   small")]
    assert [row[1] for row in rows] == list(summary["net_value"].sort_values(ascending=False).index)
    for row in rows:  # scenario plan seeds net [low, high] gaming awards
        plan = row[1]
        assert row[3] == f"{summary.loc[plan, 'net_value']:,.0f}"
        interval = (
            f"[{net.loc[plan, 'ci_low']:,.0f}, {net.loc[plan, 'ci_high']:,.0f}]"
            if plan in net.index
            else "-"
        )
        assert " ".join(row[4:-2]) == interval
        assert row[-2] == f"{summary.loc[plan, 'gaming_index']:.1f}"
        assert row[-1] == f"{summary.loc[plan, 'total_awards']:,.0f}"
    vendors = pd.read_parquet(pooled.directory / "vendors.parquet")
    vendor_table = out.split("Vendor SLA per supplier")[1].split("Vendor SLA results per run")[0]
    vendor_rows = [row for row in map(str.split, vendor_table.splitlines()) if row[:1] == ["small"]]
    suppliers = vendors["vendor_id"].where(
        vendors["subcontractor_id"].isna(), vendors["vendor_id"] + "/" + vendors["subcontractor_id"]
    )
    assert len(vendor_rows) == len(vendors.assign(s=suppliers).groupby(["plan", "s"]))
    for _, plan, supplier, misses_true, *_ in vendor_rows:
        runs = vendors[(vendors["plan"] == plan) & (suppliers == supplier)]
        assert misses_true == f"{runs['misses_true'].mean():.1f}"


def test_another_reference_plan_is_compared_with(pooled, tmp_path, capsys):
    out = tmp_path / "b"
    shutil.copytree(pooled.directory, out)
    args = ["batch", SMALL, "--plans", *PLANS, "--seeds", "2", "--out", str(out), "--workers", "1"]
    assert main([*args, "--reference", "mttr_only"]) == 0
    assert "Net value against mttr_only on the same seeds" in capsys.readouterr().out
    assert json.loads((out / "manifest.json").read_text())["reference"] == "mttr_only"
    summary = pd.read_parquet(out / "summary.parquet").set_index("plan")
    before = pd.read_parquet(pooled.directory / "summary.parquet").set_index("plan")
    assert summary.loc["mttr_only", "net_value"] == 0
    assert summary.loc["no_incentive", "net_value"] == pytest.approx(
        -before.loc["mttr_only", "net_value"]
    )
    assert set(pd.read_parquet(out / "comparisons.parquet")["plan"]) == {"no_incentive"}


def test_a_reference_outside_the_batch_is_refused_naming_its_plans(tmp_path, capsys):
    out = tmp_path / "b"
    args = ["batch", SMALL, "--plans", *PLANS, "--seeds", "1", "--out", str(out)]
    assert main([*args, "--reference", "balanced"]) == 2
    error = capsys.readouterr().err
    assert "reference plan 'balanced' is not in the batch" in error
    assert "no_incentive, mttr_only" in error and len(error.strip().splitlines()) == 1
    assert not out.exists()


def test_without_no_incentive_a_batch_has_no_reference_unless_given(pooled, tmp_path, capsys):
    out = tmp_path / "b"
    shutil.copytree(pooled.directory, out)
    result = run_batch([SMALL], ["mttr_only"], 2, out, workers=1, progress=False)
    assert result.reference is None and "net_value" not in result.runs
    assert not (out / "comparisons.parquet").exists() and not (out / "ranking.parquet").exists()
    args = ["batch", SMALL, "--plans", "mttr_only", "--seeds", "2", "--out", str(out)]
    assert main([*args, "--workers", "1"]) == 0
    assert "No reference plan in the batch, so no net value" in capsys.readouterr().out
    given = run_batch([SMALL], ["mttr_only"], 2, out, reference="mttr_only", progress=False)
    assert given.reference == "mttr_only" and (given.runs["net_value"] == 0).all()


def test_a_dask_cluster_gives_the_same_results(pooled, tmp_path):
    dask = run_batch([SMALL], PLANS, 2, tmp_path, workers=2, progress=False, executor="dask")
    assert dask.failures == [] and dask.stats["executor"] == "dask"
    pd.testing.assert_frame_equal(
        dask.runs.drop(columns=VOLATILE), pooled.runs.drop(columns=VOLATILE)
    )


def test_a_batch_runs_on_the_process_pool_from_a_notebook(pooled, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    from toolkit.report.render import python_kernel

    out = tmp_path / "from-notebook"
    code = (
        "from toolkit.experiments import run_batch\n"
        f"result = run_batch([{SMALL!r}], {PLANS!r}, 2, {str(out)!r}, workers=2)\n"
        "assert result.failures == [] and result.stats['workers'] == 2\n"
        "print(len(result.runs), 'runs')"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    with python_kernel() as kernel:
        NotebookClient(notebook, kernel_name=kernel, timeout=300).execute()
    outputs = notebook.cells[0].outputs
    assert any(o.get("text", "").startswith("4 runs") for o in outputs)
    from_notebook = pd.read_parquet(out / "runs.parquet").drop(columns=VOLATILE)
    pd.testing.assert_frame_equal(
        from_notebook, pooled.runs.drop(columns=VOLATILE), check_like=True
    )


def test_an_existing_dask_scheduler_is_used_from_the_command_line(pooled, tmp_path):
    from distributed import LocalCluster

    out = tmp_path / "on-cluster"
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        args = ["batch", SMALL, "--plans", *PLANS, "--seeds", "2", "--out", str(out)]
        assert main([*args, "--scheduler", address]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["executor"]["kind"] == "dask"
    assert manifest["executor"]["scheduler"] == address
    on_cluster = pd.read_parquet(out / "runs.parquet").drop(columns=VOLATILE)
    pd.testing.assert_frame_equal(on_cluster, pooled.runs.drop(columns=VOLATILE), check_like=True)


def test_unknown_executor_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown executor 'spark'"):
        run_batch([SMALL], PLANS, 1, tmp_path, executor="spark")


def test_a_killed_batch_leaves_no_half_result_and_resumes(tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "toolkit", "batch", SMALL, "--plans", *PLANS]
    process = subprocess.Popen(
        [*command, "--seeds", "3", "--out", str(out), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("runs/*/*/seed=*/manifest.json")):
        time.sleep(0.05)
    process.kill()
    process.wait()
    finished = [p for p in out.glob("runs/*/*/*") if ".tmp-" not in p.name]
    assert 1 <= len(finished) < 6, "the batch should have been killed part-way"
    assert all((p / "manifest.json").is_file() for p in finished)  # nothing half-written
    resumed = run_batch([SMALL], PLANS, 3, out, workers=1, progress=False)
    assert resumed.stats["cached"] == len(finished)
    assert resumed.stats["computed"] == 6 - len(finished)
    assert not list(out.glob("runs/*/*/*.tmp-*"))


def test_the_reference_is_found_by_name_or_file():
    from toolkit.experiments.inputs import BatchError, plan_inputs, reference_plan

    plans = plan_inputs(PLANS)
    assert reference_plan(None, plans) == "no_incentive"
    assert reference_plan("mttr_only", plans) == "mttr_only"
    assert reference_plan(str(SCENARIOS / "plans" / "mttr_only.yaml"), plans) == "mttr_only"
    assert reference_plan(None, plan_inputs(["mttr_only"])) is None
    with pytest.raises(BatchError, match="give one of its plans: no_incentive, mttr_only"):
        reference_plan(str(SCENARIOS / "plans" / "balanced.yaml"), plans)


def test_a_scenario_file_is_parsed_once_and_read_again_when_it_changes(tmp_path):
    from toolkit.experiments.inputs import load_scenario_file

    path = tmp_path / "mine.yaml"
    shutil.copy(SMALL, path)
    first = load_scenario_file(path)
    assert load_scenario_file(path) is first  # the same parsed scenario, not parsed again
    path.write_text(path.read_text().replace("name: small", "name: renamed_small", 1))
    assert load_scenario_file(path).name == "renamed_small"
