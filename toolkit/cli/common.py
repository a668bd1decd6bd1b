"""What every ``lti`` sub-command shares: the user-error type, exit code and argument types."""

from __future__ import annotations

import argparse

from toolkit.config.scenario import MAX_SEED

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
