"""The package map's dependencies flow one way: nothing lower imports anything higher."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "toolkit"

# Each package's level, lowest first: a package may import its own level and the ones below.
LEVELS = {
    "config": 0,
    "events": 0,
    "resources": 0,
    "sim": 1,
    "metrics": 1,
    "ingest": 1,
    "plans": 2,
    "behaviour": 3,
    "finance": 4,
    "governance": 4,
    "compliance": 4,
    "people": 4,
    "run": 5,
    "experiments": 6,
    "report": 7,
    "course": 7,
    "widgets": 7,
    "cli": 7,
}

# Imports upwards that exist and are known: the award ledger applies the pools and caps of
# `finance` when awards vest, and the annual review's batch reuses the report's review of a run.
KNOWN = {
    ("plans/ledger.py", "toolkit.finance.caps"),
    ("plans/ledger.py", "toolkit.finance.pools"),
    ("experiments/reviews.py", "toolkit.report.review"),
}


def _imports(path: Path) -> list[str]:
    """Return the toolkit modules a file imports, at any depth of its code."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [name for name in found if name.startswith("toolkit.")]


def _upward_imports() -> set[tuple[str, str]]:
    upward = set()
    for path in ROOT.rglob("*.py"):
        package = path.relative_to(ROOT).parts[0].removesuffix(".py")
        if package not in LEVELS:
            continue
        for name in _imports(path):
            target = name.split(".")[1]
            if LEVELS.get(target, -1) > LEVELS[package]:
                upward.add((path.relative_to(ROOT).as_posix(), name))
    return upward


def test_every_package_of_the_toolkit_has_a_level():
    packages = {p.name.removesuffix(".py") for p in ROOT.iterdir() if not p.name.startswith("_")}
    packages -= {"shipped", "py.typed"}
    packages = {p for p in packages if (ROOT / p).is_dir() or (ROOT / f"{p}.py").is_file()}
    assert packages <= set(LEVELS), sorted(packages - set(LEVELS))


def test_no_package_imports_a_higher_one_beyond_the_known_exceptions():
    upward = _upward_imports()
    assert upward - KNOWN == set(), sorted(upward - KNOWN)
    assert KNOWN - upward == set(), "a known exception is gone: remove it from KNOWN"


@pytest.mark.parametrize(
    "source", ["from toolkit.run import run_scenario\n", "import toolkit.cli\n"]
)
def test_an_upward_import_is_seen(tmp_path, source):
    module = tmp_path / "probe.py"
    module.write_text(source, encoding="utf-8")
    assert _imports(module) and LEVELS[_imports(module)[0].split(".")[1]] > LEVELS["plans"]
