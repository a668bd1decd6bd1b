"""Outputs that appear whole or not at all: staging, refusals, strict JSON, safe path ids.

The first half tests :mod:`toolkit.run.outputs` itself; the second, how ``lti simulate``,
``lti ingest`` and ``lti kpis`` use it.
"""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.config.scenario import BusinessImpact
from toolkit.run.outputs import (
    OutputError,
    check_output_dir,
    finite,
    path_id,
    staged_directory,
    sweep_stale,
    write_json,
)

from .conftest import ROOT, SCENARIOS

SMALL = SCENARIOS / "small.yaml"
JIRA = ROOT / "tests" / "data" / "ingest" / "jira_export.csv"
BAD_TABLE = ROOT / "tests" / "data" / "ingest" / "servicenow_table_bad.csv"


def strict(text: str):
    """Parse JSON, refusing NaN and Infinity (which Python's json accepts by default)."""

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def hidden_beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def manifest_of(out: Path, command: str, **record) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "manifest.json", {"command": command, "outputs": {}, **record})


# --- staged_directory ---------------------------------------------------------------------------


def test_staging_replaces_the_old_directory_only_when_complete(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with staged_directory(out) as staging:
        assert staging.parent == out.parent and staging.name.startswith(".run.staging-")
        (staging / "new.txt").write_text("new")
        assert sorted(p.name for p in out.iterdir()) == ["old.txt"]  # untouched meanwhile
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert hidden_beside(out) == []


@pytest.mark.parametrize("existed", [True, False])
def test_a_failure_in_the_block_leaves_the_old_directory_or_nothing(tmp_path, existed):
    out = tmp_path / "run"
    if existed:
        out.mkdir()
        (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), staged_directory(out) as staging:
        (staging / "half.txt").write_text("half")
        raise RuntimeError("writer failed")
    if existed:
        assert [p.name for p in out.iterdir()] == ["old.txt"]
        assert (out / "old.txt").read_text() == "old"
    else:
        assert not out.exists()
    assert hidden_beside(out) == []


def test_a_failed_final_rename_puts_the_old_directory_back(tmp_path, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    real = os.replace

    def failing(source, target):
        if Path(source).name.startswith(".run.staging-"):
            raise OSError("disk full")
        return real(source, target)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="disk full"), staged_directory(out) as staging:
        (staging / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert hidden_beside(out) == []


@pytest.mark.parametrize("name", ["run", "run[1]", "r*n?"])
def test_stale_staging_of_a_dead_process_is_swept_and_a_live_ones_kept(tmp_path, name):
    out = tmp_path / name
    dead = tmp_path / f".{name}.staging-{dead_pid()}-deadbeef"
    live = tmp_path / f".{name}.staging-{os.getppid()}-cafecafe"
    other = tmp_path / ".another.staging-1-00000000"
    for directory in (dead, live, other):
        directory.mkdir()
    with staged_directory(out) as staging:
        (staging / "new.txt").write_text("new")
    assert not dead.exists()
    assert live.exists() and other.exists()


def test_a_retired_copy_is_put_back_when_the_process_died_between_renames(tmp_path):
    out = tmp_path / "run"
    retired = tmp_path / ".run.retired-0123abcd"
    retired.mkdir()
    (retired / "old.txt").write_text("old")
    sweep_stale(out)
    assert (out / "old.txt").read_text() == "old" and not retired.exists()
    again = tmp_path / ".run.retired-4567ef01"
    again.mkdir()
    sweep_stale(out)  # out exists now: the retired copy is only a leftover
    assert not again.exists() and (out / "old.txt").exists()


# --- check_output_dir ---------------------------------------------------------------------------


def test_a_new_or_empty_directory_is_accepted(tmp_path):
    assert check_output_dir(tmp_path / "new" / "deeper", "simulate") == tmp_path / "new" / "deeper"
    (tmp_path / "empty").mkdir()
    assert check_output_dir(tmp_path / "empty", "simulate", {"seed": 1}) == tmp_path / "empty"


@pytest.mark.parametrize("where", ["out", "parent"])
def test_a_file_in_the_way_is_refused(tmp_path, where):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" if where == "out" else tmp_path / "file" / "run"
    with pytest.raises(OutputError, match="is a file"):
        check_output_dir(out, "simulate", force=True)


def test_a_broken_symlink_is_refused(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    with pytest.raises(OutputError, match="broken symbolic link"):
        check_output_dir(tmp_path / "link", "simulate")


@pytest.mark.parametrize("exists", [True, False])
def test_an_unwritable_place_is_refused(tmp_path, monkeypatch, exists):
    locked = tmp_path / "locked"
    locked.mkdir()
    out = locked if exists else locked / "run"
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != locked and real(path, mode))
    with pytest.raises(OutputError, match="not writable"):
        check_output_dir(out, "simulate", force=True)


def test_files_no_command_wrote_are_refused_unless_forced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"no manifest.json.*--force"):
        check_output_dir(tmp_path, "simulate")
    assert check_output_dir(tmp_path, "simulate", force=True) == tmp_path


def test_another_kind_of_result_is_refused_unless_forced(tmp_path):
    manifest_of(tmp_path, "ingest")
    with pytest.raises(OutputError, match=r"result of `lti ingest`, not of `lti simulate`"):
        check_output_dir(tmp_path, "simulate")
    assert check_output_dir(tmp_path, "simulate", force=True) == tmp_path


def test_another_run_is_refused_by_its_identity_and_the_same_run_accepted(tmp_path):
    manifest_of(tmp_path, "simulate", seed=3, plan={"fingerprint": "abc"})
    same = {"seed": 3, "plan.fingerprint": "abc"}
    assert check_output_dir(tmp_path, "simulate", same) == tmp_path
    with pytest.raises(OutputError, match=r"seed differs: 3 there, 4 here"):
        check_output_dir(tmp_path, "simulate", {**same, "seed": 4})
    with pytest.raises(OutputError, match=r"plan.fingerprint differs: 'abc' there, 'xyz' here"):
        check_output_dir(tmp_path, "simulate", {**same, "plan.fingerprint": "xyz"})
    assert check_output_dir(tmp_path, "simulate", {"seed": 4}, force=True) == tmp_path
    assert check_output_dir(tmp_path, "simulate", None) == tmp_path  # no identity: any result


def test_files_a_result_does_not_list_are_refused_unless_forced(tmp_path):
    manifest_of(tmp_path, "ingest")
    (tmp_path / "calibrated.yaml").write_text("name: mine\n")
    with pytest.raises(OutputError, match=r"does not list \(calibrated.yaml\)"):
        check_output_dir(tmp_path, "ingest", {})
    assert check_output_dir(tmp_path, "ingest", {}, force=True) == tmp_path


def test_inputs_the_working_and_home_directory_are_never_replaced(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    (run / "export.csv").write_text("a\n1\n")
    with pytest.raises(OutputError, match="holds the input .*export.csv"):
        check_output_dir(run, "ingest", force=True, inputs=[run / "export.csv"])
    monkeypatch.chdir(run)
    with pytest.raises(OutputError, match="holds the working directory"):
        check_output_dir(tmp_path, "ingest", force=True)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HOME", str(run))
    with pytest.raises(OutputError, match="holds your home"):
        check_output_dir(tmp_path, "ingest", force=True)


# --- strict JSON --------------------------------------------------------------------------------


def test_write_json_writes_strict_json_with_null_for_non_finite_numbers(tmp_path):
    data = {
        "nan": math.nan,
        "inf": math.inf,
        "ninf": -math.inf,
        "numpy": np.float32("nan"),
        "nested": [{"x": np.float64("inf")}, (1.5, np.int64(2))],
        "fine": 0.25,
    }
    path = write_json(tmp_path / "out.json", data)
    parsed = strict(path.read_text())
    assert parsed == {
        "fine": 0.25,
        "inf": None,
        "nan": None,
        "nested": [{"x": None}, [1.5, 2]],
        "ninf": None,
        "numpy": None,
    }
    assert finite({"a": [math.nan]}) == {"a": [None]}


def test_write_json_refuses_what_json_cannot_hold_and_keeps_the_old_file(tmp_path):
    path = write_json(tmp_path / "out.json", {"version": 1})
    with pytest.raises(TypeError):
        write_json(path, {"version": 2, "bad": {1, 2}})
    assert strict(path.read_text()) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary left


# --- path_id ------------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "",
    ".",
    "..",
    "...",
    "../../etc/passwd",
    "/etc/passwd",
    "..\\..\\windows\\system32",
    "C:\\Users",
    "~",
    "~root",
    "$HOME",
    ".hidden",
    "-rf",
    "--force",
    "a/../../b",
    "a..b",
    "a/./b",
    "\x00",
    "name\x00.yaml",
    "line\nbreak",
    "tab\there",
    " ",
    "   ",
    "ünïcödé",
    "名前",
    "\u202e/evil",
    "CON",
    "NUL.txt",
    "<script>alert(1)</script>",
    "a" * 300,
    "." * 300,
    "x" + "/" * 100 + "y",
    "ALL",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_path_id_is_always_one_safe_component(name, tmp_path):
    for fingerprint in ("abcdef0123456789abcdef", "", "../../", "ZZZ"):
        ident = path_id(name, fingerprint)
        assert ident and ident.isascii() and ident.isprintable()
        assert "/" not in ident and "\\" not in ident and os.sep not in ident
        assert ".." not in ident and not ident.startswith((".", "-"))
        assert Path(ident).name == ident and len(ident) <= 64
        assert (tmp_path / ident).parent == tmp_path


def test_path_id_keeps_same_named_inputs_apart():
    assert path_id("plan", "aaaa1111") != path_id("plan", "bbbb2222")
    assert path_id("mttr_only", "3fa2c91b0d4e99") == "mttr_only-3fa2c91b0d4e"


# --- lti simulate -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("simulated") / "run"
    assert main(["simulate", str(SMALL), "--seed", "2", "--out", str(out)]) == 0
    return out


def copy_of(run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(run, out)
    return out


def no_simulation(monkeypatch):
    """Make any simulation fail loudly: a refusal must come before it."""

    def refuse(*args, **kwargs):
        raise AssertionError("the simulation started before the output was checked")

    monkeypatch.setattr("toolkit.run.simulation.PlanLoop", refuse)


def test_simulate_writes_strict_json_and_the_same_run_may_be_repeated(simulated, tmp_path):
    for name in ("summary.json", "manifest.json"):
        strict((simulated / name).read_text())
    out = copy_of(simulated, tmp_path)
    assert main(["simulate", str(SMALL), "--seed", "2", "--out", str(out)]) == 0
    assert strict((out / "manifest.json").read_text())["seed"] == 2
    assert hidden_beside(out) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "3"], "seed differs: 2 there, 3 here"),
        (["--seed", "2", "--plan", "mttr_only"], "plan.fingerprint differs"),
    ],
    ids=["seed", "plan"],
)
def test_simulate_refuses_another_run_before_simulating(
    simulated, tmp_path, monkeypatch, capsys, args, message
):
    out = copy_of(simulated, tmp_path)
    before = (out / "manifest.json").read_bytes()
    no_simulation(monkeypatch)
    assert main(["simulate", str(SMALL), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "--force" in err and str(out) in err
    assert (out / "manifest.json").read_bytes() == before


def test_simulate_with_force_replaces_another_run(simulated, tmp_path):
    out = copy_of(simulated, tmp_path)
    assert main(["simulate", str(SMALL), "--seed", "4", "--out", str(out), "--force"]) == 0
    assert strict((out / "manifest.json").read_text())["seed"] == 4


@pytest.mark.parametrize("case", ["file", "under-a-file", "ingest-result", "foreign-files"])
def test_simulate_refuses_an_unfit_out_before_simulating(tmp_path, monkeypatch, capsys, case):
    out = tmp_path / "out"
    if case == "file":
        out.write_text("x")
    elif case == "under-a-file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out"
    elif case == "ingest-result":
        manifest_of(out, "ingest")
    else:
        out.mkdir()
        (out / "thesis.tex").write_text("mine")
    no_simulation(monkeypatch)
    assert main(["simulate", str(SMALL), "--out", str(out)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"lti simulate: {out}")


def test_simulate_never_replaces_the_directory_holding_its_scenario(tmp_path, monkeypatch, capsys):
    scenario = tmp_path / "small.yaml"
    shutil.copy(SMALL, scenario)
    no_simulation(monkeypatch)
    assert main(["simulate", str(scenario), "--out", str(tmp_path), "--force"]) == 2
    assert "holds the input" in capsys.readouterr().err
    assert scenario.is_file()


@pytest.mark.parametrize("existed", [True, False])
def test_a_simulation_failing_mid_write_leaves_nothing_half_written(
    simulated, tmp_path, monkeypatch, existed
):
    from toolkit.run import run_scenario

    out = copy_of(simulated, tmp_path) if existed else tmp_path / "run"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr("toolkit.run.simulation.write_manifest", broken)
    with pytest.raises(RuntimeError, match="disk gone"):
        run_scenario(SMALL, 2, out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # the old run, byte for byte, or nothing at all
    assert out.exists() == existed
    assert hidden_beside(out) == []


def test_undefined_figures_are_null_with_a_reason(tmp_path, small_scenario):
    # lti simulate refuses a plan that never starts within the horizon; a library user who
    # runs the loop without that check still gets a summary that is strict JSON.
    from toolkit.plans import load_plan
    from toolkit.run.loop import PlanLoop
    from toolkit.run.summary import summarise

    plan = tmp_path / "late.yaml"
    plan.write_text(
        "name: late_start\ndescription: starts after the horizon\n"
        "extends: no_incentive\nstart_after_periods: 8\n"
    )
    run = PlanLoop(small_scenario, load_plan(plan), 1).run()
    out = tmp_path / "run"
    out.mkdir()
    write_json(out / "summary.json", summarise(run))
    summary = strict((out / "summary.json").read_text())
    assert summary["true_health"] is None and summary["gaming_index"] is None
    assert summary["total_awards"] == 0
    assert "no plan periods" in summary["undefined"]["true_health"]
    assert set(summary["undefined"]) == {
        "true_health",
        "gaming_index",
        "risk_aversion_index",
        "reported_score_mean",
        "true_score_mean",
        "gaming_levers_mean",
        "business_loss",
        "business_loss_parts",
        "delivery_value",
    }


def test_a_defined_summary_has_numbers_and_no_reasons(simulated):
    summary = strict((simulated / "summary.json").read_text())
    assert summary["undefined"] == {}
    assert summary["true_health"] > 0 and summary["total_awards"] == 0


# --- lti ingest ---------------------------------------------------------------------------------


def ingest_argv(out: Path, *extra: str, export: Path = JIRA) -> list[str]:
    return [
        "ingest",
        "jira" if export == JIRA else "servicenow-table",
        str(export),
        "--out",
        str(out),
        *extra,
    ]


def no_parsing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the export was parsed before the output was checked")

    monkeypatch.setattr("toolkit.ingest.ingest", refuse)


def test_ingest_again_of_the_same_files_replaces_its_result(tmp_path):
    out = tmp_path / "out"
    assert main(ingest_argv(out)) == 0
    (out / "reported" / "incidents.parquet").write_bytes(b"spoilt")  # listed: replaced whole
    assert main(ingest_argv(out)) == 0
    assert len(pd.read_parquet(out / "reported" / "incidents.parquet")) == 3
    strict((out / "manifest.json").read_text())
    strict((out / "ingest_report.json").read_text())


@pytest.mark.parametrize("case", ["file", "simulate-result", "other-files", "unlisted-file"])
def test_ingest_refuses_an_unfit_out_before_parsing(tmp_path, monkeypatch, capsys, case):
    out = tmp_path / "out"
    expected = {
        "file": "is a file",
        "simulate-result": "result of `lti simulate`",
        "other-files": "inputs_sha256 differs",
        "unlisted-file": "does not list (calibrated.yaml)",
    }[case]
    if case == "file":
        out.write_text("x")
    elif case == "simulate-result":
        manifest_of(out, "simulate")
    else:
        assert main(ingest_argv(out, export=JIRA if case == "unlisted-file" else BAD_TABLE)) == 0
        capsys.readouterr()
    if case == "unlisted-file":
        (out / "calibrated.yaml").write_text("name: x\n")
    no_parsing(monkeypatch)
    assert main(ingest_argv(out)) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"lti ingest: {out}") and expected in line
    if case == "file":
        assert main(ingest_argv(out, "--force")) == 2
    else:  # forced, the check passes and parsing starts
        with pytest.raises(AssertionError, match="parsed before"):
            main(ingest_argv(out, "--force"))


def test_ingest_never_replaces_the_directory_holding_its_export(tmp_path, capsys):
    export = tmp_path / "export.csv"
    shutil.copy(JIRA, export)
    argv = ["ingest", "jira", str(export), "--out", str(tmp_path), "--force"]
    assert main(argv) == 2
    assert "holds the input" in capsys.readouterr().err and export.is_file()


@pytest.mark.parametrize("existed", [True, False])
def test_an_ingest_failing_mid_write_leaves_nothing_half_written(tmp_path, monkeypatch, existed):
    out = tmp_path / "out"
    if existed:
        assert main(ingest_argv(out)) == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    from toolkit.ingest import pipeline

    real = pipeline.write_ingested

    def half(result, directory):
        real(result, directory)
        raise OSError("disk full")

    monkeypatch.setattr("toolkit.ingest.write_ingested", half)
    assert main(ingest_argv(out)) == 2
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before and out.exists() == existed
    assert hidden_beside(out) == []


# --- lti kpis -----------------------------------------------------------------------------------


@pytest.fixture()
def ingested(tmp_path):
    out = tmp_path / "out"
    assert main(ingest_argv(out)) == 0
    return out


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda out: (out / "manifest.json").unlink(), "manifest.json: missing"),
        (lambda out: (out / "manifest.json").write_text("{half"), "manifest.json: unreadable"),
        (lambda out: (out / "quarantine.parquet").unlink(), "quarantine.parquet: listed in"),
        (
            lambda out: (out / "reported" / "incidents.parquet").write_bytes(b"changed"),
            "incidents.parquet: SHA-256 differs",
        ),
    ],
    ids=["no-manifest", "bad-manifest", "missing-output", "changed-output"],
)
def test_kpis_refuses_an_incomplete_result_naming_the_file(ingested, capsys, spoil, message):
    spoil(ingested)
    assert main(["kpis", str(ingested)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("lti kpis: ") and message in line
    assert not (ingested / "kpis.parquet").exists()


def test_kpis_records_its_file_in_the_manifest_atomically(ingested):
    from toolkit.run.manifest import file_sha256, verify_manifest

    assert main(["kpis", str(ingested), "--period", "month"]) == 0
    manifest = strict((ingested / "manifest.json").read_text())
    assert manifest["outputs"]["kpis.parquet"] == file_sha256(ingested / "kpis.parquet")
    assert manifest["kpis"]["period"] == "month"
    assert verify_manifest(ingested) == manifest  # still complete, so kpis runs again
    assert main(["kpis", str(ingested)]) == 0
    assert sorted(p.name for p in ingested.iterdir() if p.name.startswith(".")) == []


def test_kpis_leaves_the_manifest_whole_if_its_update_fails(ingested, monkeypatch, capsys):
    before = (ingested / "manifest.json").read_bytes()
    real = os.fdopen

    class Failing:
        """A stream that writes half of what it is given, then fails."""

        def __init__(self, *args, **kwargs):
            self.stream = real(*args, **kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stream.close()

        def write(self, text):
            self.stream.write(text[: len(text) // 2])
            raise OSError("disk full")

    monkeypatch.setattr(os, "fdopen", Failing)
    assert main(["kpis", str(ingested)]) == 2
    assert "disk full" in capsys.readouterr().err
    assert (ingested / "manifest.json").read_bytes() == before
    assert [p.name for p in ingested.iterdir() if p.name.startswith(".")] == []


def test_kpis_refuses_a_non_finite_sla_tolerance(ingested, capsys):
    with pytest.raises(SystemExit):
        main(["kpis", str(ingested), "--sla-tolerance", "nan"])
    assert "finite fraction" in capsys.readouterr().err


# --- summary figures ----------------------------------------------------------------------------


def fake_run(failed_changes: list[int], score: float):
    """A run of four quarters, the plan active in the last two: only failed changes happen."""
    from types import SimpleNamespace

    from toolkit.behaviour.levers import GAMING_LEVERS
    from toolkit.events import EventLog
    from toolkit.events.log import TABLES, empty_table

    periods = ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    when = [
        pd.Period(period).to_timestamp() + pd.Timedelta(days=40)
        for period, count in zip(periods, failed_changes, strict=True)
        for _ in range(count)
    ]
    changes = empty_table("changes").reindex(range(len(when)))
    changes = changes.assign(
        change_id=[f"c{i}" for i in range(len(when))],
        type="normal",
        submitted_at=pd.Series(when, dtype="datetime64[ns]"),
        implemented_at=pd.Series(when, dtype="datetime64[ns]"),
        cab_reviewed=True,
        failed=True,
    )
    tables = {table: empty_table(table) for table in TABLES}
    truth = EventLog(
        **{**tables, "changes": changes.astype(tables["changes"].dtypes.to_dict())},
        start=pd.Timestamp("2025-01-01"),
        end=pd.Timestamp("2026-01-01"),
    )
    behaviour = pd.DataFrame(
        {
            "period": periods,
            "score_pct": score,
            "true_score_pct": 50.0,
            "change_rate": 0.9,
            **dict.fromkeys(GAMING_LEVERS, 0.0),
        }
    )
    return SimpleNamespace(
        plan=SimpleNamespace(start_after_periods=2, name="p"),
        scenario=SimpleNamespace(
            name="s",
            currency="EUR",
            business_impact=BusinessImpact(),
            horizon=SimpleNamespace(period="quarter"),
        ),
        seed=1,
        truth=truth,
        behaviour=behaviour,
        awards=pd.DataFrame({"earned": [100.0], "paid": [50.0]}),
    )


def test_a_health_ratio_that_is_not_finite_is_undefined_with_its_reason(tmp_path):
    from toolkit.run.summary import summarise

    summary = summarise(fake_run([0, 0, 1, 1], 60.0))  # nothing lost before the plan
    assert math.isnan(summary["true_health"])
    assert "no finite ratio" in summary["undefined"]["true_health"]
    assert summary["gaming_index"] == pytest.approx(10.0)
    assert summary["business_loss"] == pytest.approx(2 * BusinessImpact().failed_change_cost)
    written = strict(write_json(tmp_path / "summary.json", summary).read_text())
    assert written["true_health"] is None and "true_health" in written["undefined"]
    assert "cost_per_health" not in written


def test_every_figure_without_a_number_has_a_reason():
    from toolkit.run.summary import summarise

    summary = summarise(fake_run([2, 2, 1, 1], math.nan))  # scores never computed
    assert summary["true_health"] == pytest.approx(200.0)  # half the loss per period
    assert math.isnan(summary["gaming_index"])
    assert set(summary["undefined"]) == {"gaming_index", "reported_score_mean"}
    assert summary["business_loss"] == pytest.approx(2 * BusinessImpact().failed_change_cost)
    assert summary["delivery_value"] == 0
