"""What every ``lti`` sub-command shares: the user-error type, exit code and argument types."""

from __future__ import annotations

import argparse

from toolkit.config.scenario import MAX_SEED
from toolkit.resources import shipped_scenario

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
