"""What every ``lti`` sub-command shares: the user-error type, exit code and argument types."""

from __future__ import annotations

import argparse

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback, exit code 2."""


def _integer(text: str, lowest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if value < lowest:
        raise argparse.ArgumentTypeError(f"must be at least {lowest} (got {value})")
    return value


def non_negative_int(text: str) -> int:
    """Parse an argument that is a whole number >= 0, such as a random seed.

    Parameters
    ----------
    text : str
        The argument as given.

    Returns
    -------
    int
        The number; argparse turns a refusal into a one-line usage error (exit code 2).
    """
    return _integer(text, 0)


def positive_int(text: str) -> int:
    """Parse an argument that is a whole number >= 1, such as a count of seeds or workers.

    Parameters
    ----------
    text : str
        The argument as given.

    Returns
    -------
    int
        The number; argparse turns a refusal into a one-line usage error (exit code 2).
    """
    return _integer(text, 1)
