"""Find the files the toolkit ships: scenarios, plans, the designer, report and course notebooks.

The scenarios (``scenarios/``, with the plan library in ``scenarios/plans/``) and the notebooks
(``notebooks/``: the plan designer, the report in ``reports/``, the course's modules and
templates in ``modules/`` and ``templates/``) live at the top of the source repository,
where people read and edit them. Building the package maps them into ``toolkit/shipped/`` with
the same relative paths (``pyproject.toml``), so an installed toolkit finds them as package data
through :mod:`importlib.resources`; a toolkit imported from a source checkout (an editable
install, or the checkout on ``PYTHONPATH``) has no ``toolkit/shipped/`` and reads them in the
checkout. The ingest mappings are inside the package in both cases.

Nothing else in the toolkit is imported here, so every layer may use these paths.
"""

from __future__ import annotations

import difflib
from importlib.resources import files
from pathlib import Path

PACKAGE = "toolkit"
SHIPPED = "shipped"
# Shipped directories, relative to the repository root and to ``toolkit/shipped/`` alike.
SHIPPED_DIRECTORIES = ("scenarios", "notebooks")


def package_directory() -> Path:
    """Return the directory of the imported ``toolkit`` package.

    Raises
    ------
    RuntimeError
        When the package is imported from an archive (a zip file), whose files have no path.
    """
    root = files(PACKAGE)
    if not isinstance(root, Path):
        raise RuntimeError(
            f"the toolkit is imported from an archive ({root}); install it with pip so that its "
            "shipped scenarios, plans and report notebook are files"
        )
    return root


def shipped_root() -> Path:
    """Return the directory the shipped files are laid out in, as in the repository.

    Returns
    -------
    Path
        ``toolkit/shipped/`` of an installed package; else the source checkout the package was
        imported from, when it holds the shipped directories; else ``toolkit/shipped/`` still, so
        that whatever reads a missing file names where the installation lacks it.
    """
    package = package_directory()
    installed = package / SHIPPED
    checkout = package.parent
    if not installed.is_dir() and all((checkout / d).is_dir() for d in SHIPPED_DIRECTORIES):
        return checkout
    return installed


SHIPPED_ROOT = shipped_root()
SCENARIOS_DIR = SHIPPED_ROOT / "scenarios"
PLANS_DIR = SCENARIOS_DIR / "plans"
REPORT_NOTEBOOK = SHIPPED_ROOT / "notebooks" / "reports" / "decision_report.ipynb"
DESIGNER_NOTEBOOK = SHIPPED_ROOT / "notebooks" / "designer.ipynb"
MODULE_NOTEBOOKS_DIR = SHIPPED_ROOT / "notebooks" / "modules"
TEMPLATE_NOTEBOOKS_DIR = SHIPPED_ROOT / "notebooks" / "templates"
MAPPINGS_DIR = package_directory() / "ingest" / "mappings"


def template_notebooks_directory() -> Path:
    """Return the directory of the course's template notebooks.

    Returns
    -------
    Path
        ``notebooks/templates/`` of the checkout, or ``toolkit/shipped/notebooks/templates/``
        of an installed package: the notebooks that render the templates and worksheets.
    """
    return TEMPLATE_NOTEBOOKS_DIR


def shipped_scenarios() -> list[str]:
    """Return the names of the shipped scenarios (``default``, ``small``, ...), sorted."""
    return sorted(path.stem for path in SCENARIOS_DIR.glob("*.yaml"))


def shipped_scenario(name: str) -> Path:
    """Return the file of a shipped scenario given by name.

    Parameters
    ----------
    name : str
        A shipped scenario's name, e.g. ``small`` for ``scenarios/small.yaml``.

    Returns
    -------
    Path
        The scenario file.

    Raises
    ------
    LookupError
        For a name no shipped scenario has, with the closest one and all of them.
    """
    known = shipped_scenarios()
    if name in known:
        return SCENARIOS_DIR / f"{name}.yaml"
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    raise LookupError(
        f"no shipped scenario named {name!r}{hint} Shipped: {', '.join(known) or 'none'} "
        f"(in {SCENARIOS_DIR}); give a scenario file by a path holding / or ending in .yaml"
    )
