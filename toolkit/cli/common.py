"""What every ``lti`` sub-command shares: the user-error type, exit code and argument types."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.config.scenario import MAX_SEED
from toolkit.resources import shipped_scenario

if TYPE_CHECKING:
    from toolkit.config.plan import Plan
    from toolkit.config.scenario import Scenario

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback, exit code 2."""


def whole_number(text: str, low: int, high: int) -> int:
    """Parse a whole number from ``low`` to ``high``, both included.

    Parameters
    ----------
    text : str
        The argument as given.
    low, high : int
        The smallest and the largest number accepted.

    Returns
    -------
    int
        The number; argparse turns a refusal into a one-line usage error (exit code 2).
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be between {low} and {high} (got {value})")
    return value


def seed(text: str) -> int:
    """Parse a random seed: a whole number from 0 to :data:`MAX_SEED`."""
    return whole_number(text, 0, MAX_SEED)


def port_number(text: str) -> int:
    """Parse a TCP port: a whole number from 1 to 65535."""
    return whole_number(text, 1, 65535)


def scenario_argument(text: str) -> str:
    """Read a scenario argument: a scenario file, or the name of a shipped scenario.

    A name is told from a file as a plan name is: a text without ``/`` that does not end in
    ``.yaml`` or ``.yml`` names a shipped scenario (``small`` is ``scenarios/small.yaml`` of the
    installed toolkit), so the shipped scenarios run from any directory.

    Parameters
    ----------
    text : str
        The argument as given.

    Returns
    -------
    str
        The scenario file: ``text`` itself, or the shipped file the name stands for.

    Raises
    ------
    argparse.ArgumentTypeError
        For a name no shipped scenario has, naming the closest one and all of them.
    """
    if "/" in text or text.endswith((".yaml", ".yml")):
        return text
    try:
        return str(shipped_scenario(text))
    except LookupError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run_inputs(directory: Path, scenario_file: str, plan_name: str) -> tuple[dict, Scenario, Plan]:
    """Return a run directory's verified manifest, with its scenario and plan, checked.

    Parameters
    ----------
    directory : Path
        A run directory of ``lti batch`` or ``lti simulate``.
    scenario_file : str
        The scenario the user says the run was made with.
    plan_name : str
        The plan (name or file) the user says the run was made with.

    Returns
    -------
    dict, Scenario, Plan
        The manifest (every listed output present and unchanged), the scenario and the plan.

    Raises
    ------
    UserError
        If the directory is missing, or the manifest records another scenario or plan
        fingerprint than the files given.
    """
    from toolkit.config import load_scenario
    from toolkit.plans import load_plan
    from toolkit.run.manifest import verify_manifest

    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory")
    manifest = verify_manifest(directory)
    scenario = load_scenario(scenario_file)
    plan = load_plan(plan_name, scenario=scenario)
    for part, model, given in (("scenario", scenario, scenario_file), ("plan", plan, plan_name)):
        flat, nested = manifest.get(f"{part}_fingerprint"), manifest.get(part)
        recorded = nested.get("fingerprint") if flat is None and isinstance(nested, dict) else flat
        if recorded is not None and recorded != model.fingerprint():
            raise UserError(
                f"{directory}: the run was made with another {part} (fingerprint {recorded}, "
                f"{given} has {model.fingerprint()})"
            )
    return manifest, scenario, plan
