"""House rules checked on every run: lint, format, licence, packaging and dependency bounds."""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from toolkit import resources

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PROJECT["tool"]["setuptools"]
UPPER = ("<", "<=", "==", "~=")


def _ruff() -> list[str]:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed; install the project with its test extra")
    return [found]


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff(args):
    result = subprocess.run(_ruff() + args, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(
        r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", requirement.strip()
    ).groups()
    return canonicalize_name(name), spec.replace(" ", "")


def _requirements() -> dict[str, str]:
    """Every dependency of pyproject.toml, the test extra's too, with its version bounds."""
    project = PROJECT["project"]
    return dict(map(_split, project["dependencies"] + project["optional-dependencies"]["test"]))


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pinned = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    assert all(len(pin) == 2 for pin in pinned), "constraints.txt holds NAME==VERSION lines only"
    return {canonicalize_name(name): version.strip() for name, version in pinned}


def test_environment_yml_names_the_same_dependencies_and_bounds_as_pyproject():
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    listed = [d for d in conda if isinstance(d, str) and not d.startswith(("python", "pip"))]
    assert dict(map(_split, listed)) == _requirements()
    python = next(d for d in conda if isinstance(d, str) and d.startswith("python"))
    assert python.removeprefix("python") == PROJECT["project"]["requires-python"]


def test_every_dependency_is_bounded_below_its_next_untested_release():
    unbounded = [
        name
        for name, spec in _requirements().items()
        if not any(s.operator in UPPER for s in SpecifierSet(spec))
    ]
    assert not unbounded, f"no upper bound on {unbounded}"


def test_constraints_pin_every_dependency_within_its_bounds():
    pins = _pins()
    for name, spec in _requirements().items():
        assert name in pins, f"constraints.txt pins no version of {name}"
        assert SpecifierSet(spec).contains(pins[name]), f"{name}=={pins[name]} is outside {spec}"
    assert canonicalize_name(PROJECT["project"]["name"]) not in pins


@pytest.mark.parametrize("target", [".venv/.installed", ".venv/.installed-test"])
def test_make_installs_the_tested_versions(target):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    installs = [
        line for line in dry.stdout.splitlines() if "pip install" in line and " -e " in line
    ]
    assert installs and all(" -c constraints.txt " in line for line in installs), dry.stdout


def test_licence_file_is_the_licence_pyproject_declares():
    assert PROJECT["project"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.splitlines()[0] == "MIT License"
    assert "Copyright (c) 2026 The LTI-ITSM toolkit authors" in text
    words = " ".join(text.split())
    for sentence in (
        "Permission is hereby granted, free of charge, to any person obtaining a copy of this "
        'software and associated documentation files (the "Software"), to deal in the Software '
        "without restriction",
        "The above copyright notice and this permission notice shall be included in all copies "
        "or substantial portions of the Software.",
        'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND',
    ):
        assert sentence in words


def _dotted(base: str, relative: Path) -> str:
    return ".".join([base, *relative.parts]) if relative.parts else base


def _directories_with_files(top: Path):
    """Yield ``top`` and its directories that hold files, except caches and hidden ones."""
    for directory in [top, *sorted(p for p in top.rglob("*") if p.is_dir())]:
        parts = directory.relative_to(top).parts
        if any(part == "__pycache__" or part.startswith(".") for part in parts):
            continue
        if any(p.is_file() for p in directory.iterdir()):
            yield directory


def test_every_directory_of_the_package_and_its_shipped_files_is_a_listed_package():
    sources = {"toolkit": "toolkit", **SETUPTOOLS["package-dir"]}
    found = {
        _dotted(package, directory.relative_to(ROOT / source))
        for package, source in sources.items()
        for directory in _directories_with_files(ROOT / source)
    }
    assert set(SETUPTOOLS["packages"]) == found


def test_the_build_maps_exactly_the_directories_the_toolkit_looks_for():
    mapped = {
        f"toolkit.{resources.SHIPPED}.{directory.replace('/', '.')}": directory
        for directory in resources.SHIPPED_DIRECTORIES
    }
    assert SETUPTOOLS["package-dir"] == mapped
    # Run from this checkout, the toolkit reads the files where they are, not a copy.
    assert resources.SHIPPED_ROOT == ROOT
    assert resources.PLANS_DIR == ROOT / "scenarios" / "plans"
    assert resources.REPORT_NOTEBOOK.is_file()
    assert resources.template_notebooks_directory() == ROOT / "notebooks" / "templates"
    assert sorted(resources.MAPPINGS_DIR.glob("*.yaml"))
