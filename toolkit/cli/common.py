"""What every ``lti`` sub-command shares: the user-error type, exit code and argument types."""

from __future__ import annotations

import argparse

from toolkit.config.scenario import MAX_SEED
from toolkit.resources import shipped_scenario

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback, exit code 2."""


def seed(text: str) -> int:
    """Parse a random seed: a whole number from 0 to :data:`MAX_SEED`.

    Parameters
    ----------
    text : str
        The argument as given.

    Returns
    -------
    int
        The number; argparse turns a refusal into a one-line usage error (exit code 2).
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_SEED} (got {value})")
    return value


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
