"""Words for numbers: the pieces module notebooks write their interpretations from.

Each interpretation paragraph in a module notebook is computed from the numbers it discusses;
these helpers keep the figures formatted one way across modules and say in words what an
interval shows (clearly above, clearly below, or not distinguishable from zero).
"""

from __future__ import annotations

import math

MISSING = "n/a"


def money(value: float, currency: str = "EUR") -> str:
    """Format an amount of money with thousands separators, or ``n/a`` when undefined.

    Parameters
    ----------
    value : float
        The amount.
    currency : str
        The currency code shown after the amount.

    Returns
    -------
    str
        E.g. ``"-1,234,567 EUR"``; amounts of a million or more as ``"2.52 M EUR"``.
    """
    if value is None or not math.isfinite(value):
        return MISSING
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.2f} M {currency}"
    return f"{value:,.0f} {currency}"


def share(value: float, digits: int = 1) -> str:
    """Format a fraction as a percentage, e.g. 0.123 → ``"12.3 %"``.

    Parameters
    ----------
    value : float
        The fraction.
    digits : int
        Decimals shown.

    Returns
    -------
    str
        The percentage, or ``n/a`` when undefined.
    """
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{100 * value:.{digits}f} %"


def number(value: float, digits: int = 2) -> str:
    """Format a number with a fixed number of decimals, or ``n/a`` when undefined.

    Parameters
    ----------
    value : float
        The number.
    digits : int
        Decimals shown.

    Returns
    -------
    str
        The formatted number.
    """
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:,.{digits}f}"


def interval_words(low: float, high: float) -> str:
    """Say what a confidence interval of a difference shows.

    Parameters
    ----------
    low, high : float
        The interval's bounds.

    Returns
    -------
    str
        ``"clearly above zero"``, ``"clearly below zero"``, ``"not distinguishable from zero"``
        or, without an interval (one seed), ``"without an interval (one seed)"``.
    """
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "without an interval (one seed)"
    if low > 0:
        return "clearly above zero"
    if high < 0:
        return "clearly below zero"
    return "not distinguishable from zero"


def listing(items: list[str]) -> str:
    """Join names as prose: ``a``, ``a and b``, ``a, b and c``; ``none`` when empty.

    Parameters
    ----------
    items : list of str
        The names.

    Returns
    -------
    str
        The names joined.
    """
    if not items:
        return "none"
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} and {items[-1]}"
