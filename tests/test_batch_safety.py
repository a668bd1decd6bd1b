"""Batches stay inside --out, refuse ambiguity, publish whole, trust only intact caches, stop."""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import toolkit
import toolkit.experiments.batch as batch
import toolkit.experiments.cache as cache
from toolkit.cli import main
from toolkit.experiments import run_batch, summarise_batch
from toolkit.experiments.batch import HEADLINE, RUN_TABLES
from toolkit.experiments.cache import code_fingerprint
from toolkit.experiments.directory import LOCK
from toolkit.experiments.inputs import BatchError
from toolkit.plans import load_plan
from toolkit.plans.loading import PLANS_DIR
from toolkit.report.data import load_batch
from toolkit.run.manifest import file_sha256
from toolkit.run.outputs import OutputError

from .conftest import ROOT, SCENARIOS

SMALL = SCENARIOS / "small.yaml"
MTTR = PLANS_DIR / "mttr_only.yaml"


def renamed(source: Path, target: Path, name: str) -> Path:
    """Copy a YAML file, giving it another ``name:`` (quoted, so any text is allowed)."""
    text = re.sub(r"(?m)^name: .*$", lambda _: f"name: {json.dumps(name)}", source.read_text())
    target.write_text(text)
    return target


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple]:
    """Every path under ``root`` (but ``skip``) with its size and modification time."""
    found = {}
    for path in root.rglob("*"):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        stat = path.lstat()
        found[str(path)] = (path.is_dir(), stat.st_size, stat.st_mtime_ns)
    return found


def published(out: Path) -> dict[str, str]:
    """The hash of every file a batch publishes at the top of its directory."""
    return {p.name: file_sha256(p) for p in out.iterdir() if p.is_file() and p.name != LOCK}


def strict_json(path: Path):
    def refuse(constant):
        raise AssertionError(f"{path} holds {constant}")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    """A batch of one run, to be copied by tests that damage or extend it."""
    out = tmp_path_factory.mktemp("one") / "b"
    result = run_batch([SMALL], ["mttr_only"], 1, out, workers=1, progress=False)
    return result


@pytest.mark.parametrize(
    ("scenario_name", "plan_name"),
    [
        ("{victim}", "../../../victim"),
        ("../..", "{victim}"),
        ("a/b/../../..", "x/../../y\\z"),
    ],
)
def test_names_that_are_paths_never_lead_outside_out(tmp_path, scenario_name, plan_name):
    victim = tmp_path / "victim"
    for name in ("seed=0", "p/seed=0", "x/p/seed=0"):
        (victim / name).mkdir(parents=True, exist_ok=True)
        (victim / name / "keep.txt").write_text("mine")
    scenario_name = scenario_name.format(victim=victim)
    plan_name = plan_name.format(victim=victim)
    scenario = renamed(SMALL, tmp_path / "scenario.yaml", scenario_name)
    plan = renamed(MTTR, tmp_path / "plan.yaml", plan_name)
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    result = run_batch([scenario], [plan], 1, out, workers=1, progress=False)
    assert result.failures == []
    assert snapshot(tmp_path, skip=out) == before
    for path in out.rglob("*"):
        assert out.resolve() in path.resolve().parents
    [row] = result.runs.itertuples()
    assert (row.scenario, row.plan) == (scenario_name, plan_name)  # names shown as written
    parts = Path(row.directory).parts
    assert len(parts) == 4 and parts[0] == "runs" and ".." not in parts
    assert all("/" not in part and not part.startswith(".") for part in parts)
    loaded = load_batch(out, reference=plan_name)  # the report finds the run where it is
    assert len(loaded.run_table("kpis")) > 0


def test_plan_variants_are_written_inside_their_directory_under_any_name(tmp_path):
    from toolkit.experiments.derived import as_plan, variant, write_plan

    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    names = ["../../escaped", "/tmp/abs", "x/../../y\\z", "..", "mttr_only"]
    written = [write_plan(variant(as_plan("mttr_only"), n, "d"), inner) for n in names]
    assert {path.parent for path in written} == {inner} and len(set(written)) == len(names)
    assert sorted(tmp_path.rglob("*.yaml")) == sorted(written)
    assert [load_plan(path).name for path in written] == names


def test_a_link_in_the_batch_directory_that_leads_out_of_it_is_not_followed(one_run, tmp_path):
    out = tmp_path / "b"
    shutil.copytree(one_run.directory, out)
    [run_dir] = one_run.runs["directory"]
    elsewhere = tmp_path / "elsewhere"
    shutil.move(out / run_dir, elsewhere)
    (out / run_dir).symlink_to(elsewhere)
    (elsewhere / "kpis.parquet").write_text("damaged")
    before = snapshot(elsewhere)
    result = run_batch([SMALL], ["mttr_only"], 1, out, workers=1, progress=False)
    [failure] = result.failures
    assert "leads out of it" in failure["error"] and snapshot(elsewhere) == before


def test_a_run_directory_that_leads_out_of_the_batch_is_refused_by_the_report(one_run, tmp_path):
    from toolkit.report.data import ReportError

    out = tmp_path / "b"
    shutil.copytree(one_run.directory, out)
    runs = pd.read_parquet(out / "runs.parquet")
    runs.assign(directory="../../elsewhere").to_parquet(out / "runs.parquet", index=False)
    with pytest.raises(ReportError, match="not a path inside the batch directory"):
        load_batch(out, reference="mttr_only")


def test_one_file_listed_twice_is_refused_under_any_spelling(tmp_path):
    link = tmp_path / "linked.yaml"
    link.symlink_to(SMALL)
    spellings = [
        [SMALL, SCENARIOS / "." / "small.yaml"],
        [SMALL, SCENARIOS.parent / "scenarios" / ".." / "scenarios" / "small.yaml"],
        [SMALL, link],
    ]
    for scenarios in spellings:
        with pytest.raises(BatchError, match="listed twice") as refused:
            run_batch(scenarios, ["mttr_only"], 1, tmp_path / "out", progress=False)
        assert str(scenarios[1]) in str(refused.value)
    for plans in (["mttr_only", "mttr_only"], ["mttr_only", str(MTTR)]):
        with pytest.raises(BatchError, match="plan file .*mttr_only.yaml is listed twice"):
            run_batch([SMALL], plans, 1, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_two_inputs_of_one_name_are_refused_naming_both_files(tmp_path, capsys):
    copy = renamed(MTTR, tmp_path / "copy.yaml", "mttr_only")
    args = ["batch", str(SMALL), "--plans", "mttr_only", str(copy), "--seeds", "1"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "two plans are named 'mttr_only'" in line and str(MTTR) in line and str(copy) in line
    other = renamed(SMALL, tmp_path / "other.yaml", "small")
    with pytest.raises(BatchError, match="two scenarios are named 'small'") as refused:
        run_batch([SMALL, other], ["mttr_only"], 1, tmp_path / "out", progress=False)
    assert str(SMALL) in str(refused.value) and str(other) in str(refused.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seeds": 0}, "seeds must be at least 1"),
        ({"seeds": -2}, "seeds must be at least 1"),
        ({"seeds": []}, "no seeds to run"),
        ({"seeds": [0, 1, 1]}, r"seeds listed more than once: \[1\]"),
        ({"seeds": [-1]}, "seeds must be non-negative integers"),
        ({"plans": []}, "no plans to run"),
        ({"plans": "mttr_only"}, "plans must be a list"),
        ({"scenarios": []}, "no scenarios to run"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"workers": -1}, "workers must be at least 1"),
    ],
)
def test_a_batch_of_nothing_or_of_bad_counts_is_refused(tmp_path, changes, message):
    arguments = {"scenarios": [SMALL], "plans": ["mttr_only"], "seeds": 1, "workers": 1}
    arguments.update(changes)
    with pytest.raises(BatchError, match=message):
        run_batch(out=tmp_path / "out", progress=False, **arguments)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--seeds", "-3"], "--seeds must be at least 1"),
        (["--seeds", "1", "--workers", "0"], "--workers must be at least 1"),
        (["--seeds", "1", "--workers", "-2"], "--workers must be at least 1"),
    ],
)
def test_the_command_refuses_bad_counts_in_one_line(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main(["batch", str(SMALL), "--plans", "mttr_only", *extra, "--out", str(out)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert message in line and not out.exists()


def test_a_plan_that_does_not_fit_a_scenario_is_refused_before_any_run(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["batch", str(SCENARIOS / "mmc.yaml"), "--plans", "mttr_only", "change_safety"]
    assert main([*args, "--seeds", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "change_safety.yaml" in err and "scenario 'mmc'" in err and "Traceback" not in err
    assert not out.exists()


def test_an_empty_plan_library_is_an_error_not_a_batch_of_nothing(tmp_path, capsys, monkeypatch):
    import toolkit.plans

    monkeypatch.setattr(toolkit.plans, "library_plans", lambda *args: [])
    out = tmp_path / "out"
    assert main(["batch", str(SMALL), "--seeds", "1", "--out", str(out)]) == 2
    assert "no plans given" in capsys.readouterr().err and not out.exists()


def test_summary_rows_count_distinct_seeds():
    rows = [
        {"scenario": "s", "plan": plan, "seed": seed, **dict.fromkeys(HEADLINE, 1.0)}
        for plan, seeds in (("a", (0, 1, 1)), ("b", (0, 1, 2, 3)))
        for seed in seeds
    ]
    summary = summarise_batch(pd.DataFrame(rows)).set_index("plan")
    assert summary.loc["a", "seeds"] == 2 and summary.loc["b", "seeds"] == 4


def test_an_out_holding_another_result_is_refused_unless_forced(tmp_path, capsys):
    out = tmp_path / "sim"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"command": "simulate"}))
    (out / "kpis.parquet").write_text("a run of lti simulate")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    args = ["batch", str(SMALL), "--plans", "mttr_only", "--seeds", "1", "--workers", "1"]
    for target, reason in ((out, "lti simulate"), (foreign, "no lti command wrote")):
        before = snapshot(tmp_path)
        assert main([*args, "--out", str(target)]) == 2
        [line] = capsys.readouterr().err.splitlines()
        assert reason in line and "--force" in line
        assert snapshot(tmp_path) == before
    assert main([*args, "--out", str(afile)]) == 2
    assert "is a file" in capsys.readouterr().err and afile.read_text() == "not a directory"
    assert main([*args, "--out", str(afile / "below")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main([*args, "--out", str(out), "--force"]) == 0
    assert not (out / "kpis.parquet").exists()
    assert strict_json(out / "manifest.json")["command"] == "batch"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_out_is_refused_before_any_work(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            run_batch([SMALL], ["mttr_only"], 1, locked / "out", workers=1, progress=False)
    finally:
        locked.chmod(0o700)


def test_tables_appear_whole_or_not_at_all(one_run, tmp_path, monkeypatch):
    out = tmp_path / "b"
    shutil.copytree(one_run.directory, out)
    before = published(out)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(batch, "robust_ranking", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_batch([SMALL], ["no_incentive", "mttr_only"], 1, out, workers=1, progress=False)
    assert published(out) == before
    assert not list(out.glob(".staging-*"))
    monkeypatch.undo()
    result = run_batch([SMALL], ["no_incentive", "mttr_only"], 1, out, workers=1, progress=False)
    manifest = strict_json(out / "manifest.json")
    assert set(manifest["outputs"]) == {
        "runs.parquet",
        "summary.parquet",
        "comparisons.parquet",
        "ranking.parquet",
        "vendors.parquet",
        "vendor_behaviour.parquet",
        "penalty_split.parquet",
        "batch.json",
    }
    for name, digest in manifest["outputs"].items():
        assert file_sha256(out / name) == digest
    assert set(manifest["runs"]) == set(result.runs["directory"])
    for directory, digest in manifest["runs"].items():
        assert file_sha256(out / directory / "manifest.json") == digest
    recorded = pd.read_parquet(out / "runs.parquet")
    assert list(recorded["directory"]) == list(result.runs["directory"])
    # a later batch without the reference leaves no comparisons of the earlier one behind
    run_batch([SMALL], ["mttr_only"], 1, out, workers=1, progress=False)
    assert not (out / "comparisons.parquet").exists()
    assert "comparisons.parquet" not in strict_json(out / "manifest.json")["outputs"]


def test_undefined_numbers_are_null_in_json_and_nan_again_from_the_cache(tmp_path, monkeypatch):
    real = batch._headline
    monkeypatch.setattr(
        batch, "_headline", lambda *args: {**real(*args), "gender_gap_awards": float("nan")}
    )
    fresh = run_batch([SMALL], ["mttr_only"], 1, tmp_path, workers=1, progress=False)
    [run_dir] = fresh.runs["directory"]
    recorded = strict_json(tmp_path / run_dir / "manifest.json")
    assert recorded["headline"]["gender_gap_awards"] is None
    strict_json(tmp_path / "batch.json")
    strict_json(tmp_path / "manifest.json")
    again = run_batch([SMALL], ["mttr_only"], 1, tmp_path, workers=1, progress=False)
    assert again.stats["cached"] == 1 and np.isnan(again.runs["gender_gap_awards"].iloc[0])
    volatile = ["wall_time_seconds", "cached"]
    pd.testing.assert_frame_equal(
        again.runs.drop(columns=volatile), fresh.runs.drop(columns=volatile)
    )


@pytest.mark.parametrize("damage", ["truncate", "edit", "delete"])
def test_a_damaged_cache_entry_is_computed_again(one_run, tmp_path, damage):
    out = tmp_path / "b"
    shutil.copytree(one_run.directory, out)
    [run_dir] = one_run.runs["directory"]
    victim = out / run_dir / "kpis.parquet"
    original = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(original[: len(original) // 2])
    elif damage == "edit":
        victim.write_bytes(original[:-9] + bytes([original[-9] ^ 1]) + original[-8:])
    else:
        victim.unlink()
    again = run_batch([SMALL], ["mttr_only"], 1, out, workers=1, progress=False)
    assert again.stats["computed"] == 1 and again.stats["cached"] == 0
    recorded = strict_json(out / run_dir / "manifest.json")
    for name in RUN_TABLES:
        assert file_sha256(out / run_dir / name) == recorded["outputs"][name]
    intact = run_batch([SMALL], ["mttr_only"], 1, out, workers=1, progress=False)
    assert intact.stats["cached"] == 1


def test_a_change_of_code_never_reuses_results(one_run, tmp_path, monkeypatch):
    out = tmp_path / "b"
    shutil.copytree(one_run.directory, out)
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "another-build")
    again = run_batch([SMALL], ["mttr_only"], 1, out, workers=1, progress=False)
    assert again.stats["computed"] == 1
    assert (
        strict_json(out / again.runs["directory"].iloc[0] / "manifest.json")["key"]
        != (
            strict_json(one_run.directory / one_run.runs["directory"].iloc[0] / "manifest.json")[
                "key"
            ]
        )
    )


def test_the_code_fingerprint_follows_the_package_source(tmp_path, monkeypatch):
    real = code_fingerprint()
    copy = tmp_path / "toolkit"
    shutil.copytree(
        Path(toolkit.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(toolkit, "__file__", str(copy / "__init__.py"))
    first = code_fingerprint.__wrapped__()
    assert first == real  # the copy is the same source, found through the package's location
    (copy / "sim" / "extra.py").write_text("# a change\n")
    second = code_fingerprint.__wrapped__()
    (copy / "sim" / "extra.py").unlink()
    (copy / "__init__.py").write_text((copy / "__init__.py").read_text() + "\n")
    third = code_fingerprint.__wrapped__()
    assert len({first, second, third}) == 3


# `lti batch` in which every run but those of seed 0 first waits two minutes (without using
# the CPU): runs are surely under way when the batch is stopped, and a batch that waited for
# its workers instead of stopping them would take minutes to end.
SLOW_BATCH = """
import sys, time
import toolkit.experiments.batch as batch
from toolkit.cli import main

class Slow(batch.PlanLoop):
    def run(self, progress=None):
        if self.seed > 0:
            time.sleep(120)
        return super().run(progress)

batch.PlanLoop = Slow
sys.exit(main(sys.argv[1:]))
"""


def _start_batch(out: Path, workers: int, seeds: int) -> subprocess.Popen:
    command = [sys.executable, "-c", SLOW_BATCH, "batch", str(SMALL)]
    command += ["--plans", "no_incentive", "mttr_only", "--seeds", str(seeds)]
    return subprocess.Popen(
        [*command, "--workers", str(workers), "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal would give it
    )


def _wait_for(condition, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the batch did not get going"
        time.sleep(0.05)


def _finished(out: Path) -> list[Path]:
    """The runs of a batch directory that are complete (renamed into place)."""
    found = out.glob("runs/*/*/seed=*/manifest.json")
    return sorted(path for path in found if ".tmp-" not in path.parent.name)


def _descendants(pid: int) -> set[tuple[int, str]]:
    """Every process below ``pid``, each with its start time (so a reused pid is not it)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            started = _started(child)
            if started is not None:
                found |= {(child, started), *_descendants(child)}
    return found


def _started(pid: int) -> str | None:
    """Return a process's start time, or None if it is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


@pytest.mark.parametrize(
    ("stop", "name"),
    [
        (lambda process: process.send_signal(signal.SIGTERM), "SIGTERM"),
        (lambda process: os.killpg(process.pid, signal.SIGINT), "SIGINT"),  # Ctrl-C
    ],
    ids=["sigterm", "ctrl-c"],
)
def test_a_stopped_batch_stops_its_workers_and_writes_nothing_afterwards(tmp_path, stop, name):
    out = tmp_path / "out"
    process = _start_batch(out, workers=2, seeds=3)
    workers: set[tuple[int, str]] = set()
    try:
        _wait_for(lambda: _finished(out), process)
        time.sleep(0.5)  # both workers are now in runs of seeds 1 and 2
        workers = _descendants(process.pid)
        finished = _finished(out)
        assert len(workers) >= 2
        stop(process)
        _, error = process.communicate(timeout=30)
    finally:
        process.kill()
        for pid, started in workers:  # a failed stop must not leave them behind
            if _started(pid) == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    assert process.returncode == 128 + signal.Signals[name], error
    assert f"stopped by {name}" in error and "resume" in error and "Traceback" not in error, error
    deadline = time.monotonic() + 10
    while any(_started(pid) == started for pid, started in workers):
        assert time.monotonic() < deadline, f"workers survive: {workers}"
        time.sleep(0.05)
    assert not list(out.glob("runs/*/*/*.tmp-*"))  # half-written runs are gone
    assert _finished(out) == finished
    files = snapshot(out)
    time.sleep(2)
    assert snapshot(out) == files
    assert not (out / "manifest.json").exists()  # the stopped batch published nothing


def test_a_second_batch_on_the_same_out_is_refused_naming_the_first(tmp_path, capsys):
    out = tmp_path / "out"
    first = _start_batch(out, workers=1, seeds=2)
    try:
        _wait_for(lambda: (out / LOCK).is_file() and (out / LOCK).read_text().strip(), first)
        args = ["batch", str(SMALL), "--plans", "mttr_only", "--seeds", "1", "--workers", "1"]
        assert main([*args, "--out", str(out)]) == 2
        [line] = capsys.readouterr().err.splitlines()
        assert f"another `lti batch` (pid {first.pid})" in line
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    resumed = run_batch([SMALL], ["mttr_only"], 1, out, workers=1, progress=False)
    assert resumed.failures == []
