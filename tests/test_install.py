"""A built and installed toolkit works outside the repository, with its shipped files.

The wheel is built from a copy of the source tree (so no build directory is left in the
repository), installed with ``pip --target`` into a directory of its own and run with only that
directory on ``PYTHONPATH``, from a working directory outside the repository.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from toolkit import resources
from toolkit.cli import main

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_ANYWHERE = {"__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"}
SKIPPED_AT_TOP = {".git", ".venv", "build", "dist", "runs", "reports"}
TIMEOUT = 600


def _not_source(directory: str, names: list[str]) -> set[str]:
    top = Path(directory) == ROOT
    return {
        name
        for name in names
        if name in SKIPPED_ANYWHERE
        or name.endswith(".egg-info")
        or (top and name in SKIPPED_AT_TOP)
    }


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source") / "lti-itsm-toolkit"
    shutil.copytree(ROOT, source, ignore=_not_source)
    dist = tmp_path_factory.mktemp("dist")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(source)])
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = dist.glob("*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--quiet"]
    done = _run([*command, "--target", str(target), str(wheel)])
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def _outside(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the installed ``lti`` from ``cwd`` with only the installation on the path."""
    env = {**os.environ, "PYTHONPATH": str(target)}
    return _run([sys.executable, str(target / "bin" / "lti"), *args], cwd=cwd, env=env)


def _shipped_sources() -> dict[str, Path]:
    """Map each file the wheel must hold to its source in the repository."""
    files = {}
    for path in (ROOT / "toolkit").rglob("*"):
        if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
            files[path.relative_to(ROOT).as_posix()] = path
    for pattern in ("scenarios/*.yaml", "scenarios/*/*.yaml", "scenarios/**/README.md"):
        for path in ROOT.glob(pattern):
            files[f"toolkit/shipped/{path.relative_to(ROOT).as_posix()}"] = path
    for path in (ROOT / "notebooks").rglob("*.ipynb"):  # the designer, report and course's
        if ".ipynb_checkpoints" not in path.parts:
            files[f"toolkit/shipped/{path.relative_to(ROOT).as_posix()}"] = path
    return files


def test_wheel_holds_the_package_its_shipped_files_and_the_licence(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        wanted = _shipped_sources()
        assert set(wanted) <= names, sorted(set(wanted) - names)
        for name, source in wanted.items():
            assert archive.read(name) == source.read_bytes(), name
        (licence,) = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(licence) == (ROOT / "LICENSE").read_bytes()
        metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
        assert "License-Expression: MIT" in archive.read(metadata).decode()
    assert all(name.startswith(("toolkit/", "lti_itsm_toolkit-")) for name in names)


def test_installed_toolkit_is_imported_from_the_installation(installed, tmp_path):
    probe = (
        "import json, toolkit, toolkit.resources as r; print(json.dumps([toolkit.__file__, "
        "str(r.PLANS_DIR), str(r.REPORT_NOTEBOOK), str(r.DESIGNER_NOTEBOOK), "
        "str(r.MAPPINGS_DIR), str(r.template_notebooks_directory())]))"
    )
    env = {**os.environ, "PYTHONPATH": str(installed)}
    done = _run([sys.executable, "-c", probe], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    for path in map(Path, json.loads(done.stdout)):
        assert path.is_relative_to(installed) and path.exists(), path


def test_installed_lti_runs_a_batch_by_plan_name_and_its_report_outside_the_repository(
    installed, tmp_path
):
    batch = _outside(
        installed,
        tmp_path,
        *("batch", "small", "--plans", "no_incentive", "mttr_only"),
        *("--seeds", "1", "--workers", "2", "--out", "out"),
    )
    assert batch.returncode == 0, batch.stdout + batch.stderr
    inputs = json.loads((tmp_path / "out" / "manifest.json").read_text())["inputs"]
    assert len(inputs) == 3
    for entry in inputs.values():  # the scenario and the plans were read from the installation
        assert Path(entry["path"]).is_relative_to(installed / "toolkit" / "shipped"), entry

    report = _outside(installed, tmp_path, "report", "out", "--out", "report.html")
    assert report.returncode == 0, report.stdout + report.stderr
    html = (tmp_path / "report.html").read_text()
    assert "mttr_only" in html and "no_incentive" in html
    assert {path.name for path in tmp_path.iterdir()} == {"out", "report.html", "report.ipynb"}


def test_a_shipped_scenario_is_run_by_name(tmp_path, capsys):
    assert main(["simulate", "small", "--seed", "1", "--out", str(tmp_path / "run")]) == 0
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert Path(manifest["scenario"]["path"]) == ROOT / "scenarios" / "small.yaml"


@pytest.mark.parametrize(
    ("command", "close"),
    [
        (["simulate", "smal", "--seed", "1", "--out", "run"], "did you mean 'small'?"),
        (["batch", "nosuch", "--seeds", "1", "--out", "batch"], "no shipped scenario named"),
    ],
)
def test_an_unknown_scenario_name_is_refused_with_the_shipped_ones(
    command, close, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(command)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert close in error and f"Shipped: {', '.join(resources.shipped_scenarios())}" in error
    assert not list(tmp_path.iterdir())


def test_installed_report_finds_a_batch_input_recorded_relative_to_the_repository(
    installed, tmp_path
):
    """A batch run in a checkout as ``scenarios/small.yaml`` is read from the shipped copy."""
    checkout = tmp_path / "checkout"
    (checkout / "scenarios").mkdir(parents=True)
    shipped = installed / "toolkit" / "shipped" / "scenarios" / "small.yaml"
    shutil.copy(shipped, checkout / "scenarios" / "small.yaml")
    batch = _outside(
        installed,
        checkout,
        *("batch", "scenarios/small.yaml", "--plans", "no_incentive"),
        *("--seeds", "1", "--workers", "1", "--out", "out"),
    )
    assert batch.returncode == 0, batch.stdout + batch.stderr
    shutil.rmtree(checkout / "scenarios")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = (
        "from toolkit.report import load_batch; "
        f"print(load_batch({str(checkout / 'out')!r}).currency('small'))"
    )
    env = {**os.environ, "PYTHONPATH": str(installed)}
    done = _run([sys.executable, "-c", probe], cwd=elsewhere, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "EUR"
