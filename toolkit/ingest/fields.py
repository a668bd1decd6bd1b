"""Turn source text into canonical values, one field at a time, without a loop over rows.

Each function takes cleaned text (trimmed, missing tokens as NA) and returns the values with,
where a value could not be read, the reason code that quarantines its record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.events.schema import BOOL, FLOAT, INT, STR, TIME
from toolkit.ingest.mapping import FieldSpec, Rule

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
PARSE_KINDS = {TIME: "time", INT: "number", FLOAT: "number", BOOL: "bool", STR: "text"}
# Words pandas reads as the current time (only in lower case); in an export they are text.
RELATIVE_TIME_WORDS = ("now", "today")
# The timestamps the log accepts. pandas holds nanoseconds in 64 bits, about 292 years either
# way; within these bounds any two timestamps (and a window end a second past the last) differ
# by less than that, so durations cannot overflow.
TIME_RANGE = (pd.Timestamp("1900-01-01"), pd.Timestamp("2189-12-31 23:59:59"))


@dataclass
class Parsed:
    """One field read from text.

    Parameters
    ----------
    values : Series
        The values (object or numeric dtype; missing where unreadable or absent).
    problem : Series of bool
        True where the source had text that could not be read.
    defaulted : Series of bool
        True where the source was missing and the default was used.
    out_of_range : Series of bool, optional
        For timestamps, True where the text is a real date outside :data:`TIME_RANGE`; these
        are problems too, with a reason of their own.
    """

    values: pd.Series
    problem: pd.Series
    defaulted: pd.Series
    out_of_range: pd.Series | None = None


def source_text(text: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Return the first non-missing value across ``columns``, row by row."""
    out = text[columns[0]]
    for column in columns[1:]:
        out = out.fillna(text[column])
    return out


def parse_times(
    values: pd.Series, fmt: str | None = None, dayfirst: bool = False
) -> tuple[pd.Series, pd.Series]:
    """Parse text into naive timestamps, telling unreadable text from dates out of range.

    Impossible dates (``2024-02-30``, ``0000-00-00``, a five-digit year) and words that are not
    dates (``now`` included) come out missing; so do real dates outside :data:`TIME_RANGE`,
    flagged as such. Offsets are converted to UTC wall time, even when rows carry different
    offsets.

    Parameters
    ----------
    values : Series of str
        Cleaned text, NA where missing.
    fmt : str, optional
        Timestamp format in strftime codes; ISO 8601 (or any day-first layout) if not given.
    dayfirst : bool
        Read ambiguous dates day first when no format is given.

    Returns
    -------
    tuple of (Series, Series)
        The timestamps (``datetime64[ns]``, NaT where missing or unreadable) and, per row,
        whether the text was a date outside the range the log can hold.
    """
    fmt = fmt or ("mixed" if dayfirst else "ISO8601")
    words = values.isin(RELATIVE_TIME_WORDS)
    times = pd.to_datetime(
        values.mask(words), format=fmt, dayfirst=dayfirst, errors="coerce", utc=True
    )
    times = times.dt.tz_convert(None)  # the log is naive: keep UTC wall time
    outside = (times < TIME_RANGE[0]) | (times > TIME_RANGE[1])
    return times.mask(outside).astype("datetime64[ns]"), outside


def parse_text(
    values: pd.Series,
    dtype: str,
    fmt: str | None = None,
    dayfirst: bool = False,
    decimal: str = ".",
) -> pd.Series:
    """Parse text into ``dtype``; unreadable and missing text both give a missing value.

    Parameters
    ----------
    values : Series of str
        Cleaned text, NA where missing.
    dtype : str
        A canonical dtype (``toolkit.events.schema``).
    fmt : str, optional
        Timestamp format in strftime codes; ISO 8601 (or any day-first layout) if not given.
    dayfirst : bool
        Read ambiguous dates day first when no format is given.
    decimal : str
        The decimal mark of numbers.
    """
    if dtype == TIME:
        return parse_times(values, fmt, dayfirst)[0]
    if dtype in (INT, FLOAT):
        if decimal != ".":
            values = values.str.replace(decimal, ".", regex=False)
        numbers = pd.to_numeric(values, errors="coerce")
        if dtype == INT:
            numbers = numbers.where(numbers % 1 == 0)
        return numbers.astype(float)
    if dtype == BOOL:
        lower = values.str.lower()
        return pd.Series(
            np.where(lower.isin(TRUE_WORDS), True, np.where(lower.isin(FALSE_WORDS), False, None)),
            index=values.index,
            dtype=object,
        )
    return values.astype(object)


def parse_column(spec: FieldSpec, dtype: str, text: pd.DataFrame) -> Parsed:
    """Read a field from its source column(s): value map, then parser, then default.

    Parameters
    ----------
    spec : FieldSpec
        A spec with a ``column`` source.
    dtype : str
        The canonical dtype of the field.
    text : DataFrame
        Cleaned text with every column the spec names.
    """
    raw = source_text(text, spec.columns)
    present = raw.notna()
    mapped = raw.isin(list(spec.values)) if spec.values else pd.Series(False, index=raw.index)
    out_of_range = None
    if dtype == TIME:
        values, out_of_range = parse_times(raw.where(~mapped), spec.format, spec.dayfirst)
    else:
        values = parse_text(raw.where(~mapped), dtype, spec.format, spec.dayfirst, spec.decimal)
    if dtype == BOOL and spec.negate:
        values = values.map({True: False, False: True})
    if mapped.any():
        values = values.astype(object).where(~mapped, raw.map(spec.values))
    problem = present & ~mapped & values.isna()
    defaulted = ~present
    if spec.default is not None:
        values = values.astype(object).where(present, spec.default)
    return Parsed(values, problem, defaulted & (spec.default is not None), out_of_range)


def _holds(rule: Rule, text: pd.DataFrame) -> pd.Series:
    cell = text[rule.column]
    if rule.present is not None:
        return cell.notna() == rule.present
    return cell == rule.equals


def apply_rules(spec: FieldSpec, text: pd.DataFrame) -> Parsed:
    """Give each row the value of the first rule that holds, else the default."""
    index = text.index
    values = pd.Series(spec.default, index=index, dtype=object)
    decided = pd.Series(False, index=index)
    for rule in spec.rules:
        hit = _holds(rule, text).fillna(False).astype(bool) & ~decided
        values = values.mask(hit, rule.value)
        decided |= hit
    none = pd.Series(False, index=index)
    return Parsed(values, none, ~decided & (spec.default is not None))


def constant(spec: FieldSpec, index: pd.Index) -> Parsed:
    """Give every row the spec's constant."""
    none = pd.Series(False, index=index)
    return Parsed(pd.Series([spec.constant] * len(index), index=index, dtype=object), none, none)


def from_priority(spec: FieldSpec, priority: pd.Series) -> Parsed:
    """Look the value up in the spec's per-priority table."""
    none = pd.Series(False, index=priority.index)
    return Parsed(priority.map(spec.by_priority).astype(float), none, none)
