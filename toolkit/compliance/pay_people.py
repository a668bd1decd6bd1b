"""The people table an equal-pay assessment reads: from a CSV (strictly) or from a simulated run.

One row per worker: ``person_id``, ``gender``, ``category``, ``base_pay``, ``variable_pay``, and
optionally ``hours_per_year`` and any criteria (``country``, ``grade``, ``tenure``,
``performance``, ...). A CSV is read strictly: a missing column, an unknown gender, a negative
or non-numeric amount or a repeated person is refused with the file, the column and the row
(the line of the file), never guessed around.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.compliance.pay_conventions import GENDERS, PayGapConventions
from toolkit.config import Scenario

REQUIRED = ("person_id", "gender", "category", "base_pay", "variable_pay")
MONEY = ("base_pay", "variable_pay")
SHOWN = 5


class PayGapInputError(ValueError):
    """A people table was refused; the message names the source, column and rows."""


def _refuse(source: str, column: str, rows: pd.Index, reason: str, line_offset: int) -> None:
    lines = [int(i) + line_offset for i in rows[:SHOWN]]
    more = f" and {len(rows) - SHOWN} more" if len(rows) > SHOWN else ""
    where = "line" if line_offset else "row"
    raise PayGapInputError(
        f"{source}: column {column!r}, {where} {', '.join(map(str, lines))}{more}: {reason}"
    )


def validate_people(
    people: pd.DataFrame,
    conventions: PayGapConventions,
    source: str = "people table",
    line_offset: int = 0,
) -> pd.DataFrame:
    """Check a people table and return it with numbers parsed and the category column set.

    Parameters
    ----------
    people : DataFrame
        One row per worker, at least the :data:`REQUIRED` columns (``category`` may instead be
        the column the conventions name as the category), text or numbers.
    conventions : PayGapConventions
        Says which column is the category, which criteria must be present and whether hours
        are needed (hourly pay).
    source : str
        Named in every refusal (the file).
    line_offset : int
        Added to a row's position to give its line in the file (2 for a CSV with a header);
        0 names rows by position.

    Returns
    -------
    DataFrame
        A copy with ``base_pay``, ``variable_pay`` (and ``hours_per_year``) as floats and
        ``category`` filled from the conventions' category column where the table has no
        ``category`` of its own; ``attrs["category_column"]`` says which column it is.

    Raises
    ------
    PayGapInputError
        Naming the source, the column and the first offending rows.
    """
    table = people.reset_index(drop=True).copy()
    category_column = "category"
    if "category" not in table.columns and conventions.category in table.columns:
        table["category"] = table[conventions.category]
        category_column = conventions.category
    needed = [*REQUIRED, *conventions.criteria]
    if conventions.pay_basis == "hourly":
        needed.append("hours_per_year")
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        why = "; hourly pay needs hours_per_year" if "hours_per_year" in missing else ""
        raise PayGapInputError(
            f"{source}: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(map(str, table.columns)) or 'none'}){why}"
        )
    if len(table) == 0:
        raise PayGapInputError(f"{source}: no workers")
    for column in ("person_id", "category"):
        text = table[column].astype(str).str.strip()
        blank = table.index[table[column].isna() | (text == "")]
        if len(blank):
            _refuse(source, column, blank, "empty", line_offset)
        table[column] = text
    repeated = table.index[table["person_id"].duplicated(keep="first")]
    if len(repeated):
        _refuse(source, "person_id", repeated, "the same person twice", line_offset)
    gender = table["gender"].astype(str).str.strip()
    bad = table.index[~gender.isin(GENDERS)]
    if len(bad):
        found = ", ".join(sorted({repr(g) for g in gender[bad]})[:SHOWN])
        _refuse(source, "gender", bad, f"{found} is not one of {', '.join(GENDERS)}", line_offset)
    table["gender"] = gender
    numeric = [*MONEY, *(["hours_per_year"] if "hours_per_year" in table.columns else [])]
    for column in numeric:
        values = pd.to_numeric(table[column], errors="coerce").astype(float)
        unreadable = table.index[~np.isfinite(values)]
        if len(unreadable):
            _refuse(source, column, unreadable, "not a finite number", line_offset)
        low = values <= 0 if column == "hours_per_year" else values < 0
        if low.any():
            limit = "must be more than 0" if column == "hours_per_year" else "negative pay"
            _refuse(source, column, table.index[low], limit, line_offset)
        table[column] = values
    table.attrs["category_column"] = category_column
    return table


def read_people_csv(path: str | Path, conventions: PayGapConventions) -> pd.DataFrame:
    """Read and check a people CSV (header row first; one worker per line).

    Parameters
    ----------
    path : str or Path
        The file.
    conventions : PayGapConventions
        As for :func:`validate_people`.

    Returns
    -------
    DataFrame
        The checked table (:func:`validate_people`).

    Raises
    ------
    PayGapInputError
        If the file cannot be read as CSV or a row is refused, naming the file and line.
    """
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PayGapInputError(f"{path}: not a readable CSV ({exc})") from None
    return validate_people(table, conventions, source=str(path), line_offset=2)


def _year(label: str, start_year: int) -> int:
    """Calendar year of a period label (``2025-03``, ``2025Q1``, ``2025``; ``all``: the start)."""
    return int(label[:4]) if label[:4].isdigit() else start_year


def variable_pay_by_year(
    awards: pd.DataFrame, cashflows: pd.DataFrame, timing: str, start_year: int
) -> pd.DataFrame:
    """Return each person's variable pay per calendar year under a timing convention.

    Parameters
    ----------
    awards : DataFrame
        A run's ``awards.parquet`` (one row per person and cohort).
    cashflows : DataFrame
        A run's ``cashflows.parquet`` (one row per person, cohort and money event).
    timing : {"grant", "earned", "vest", "payment"}
        ``grant``: grant values of the cohorts granted in the year; ``earned``: what those
        cohorts earned so far (after performance, pool, cap and malus; a cohort still open at
        the horizon's end counts what it accrued by then); ``vest``: amounts vested in
        the year; ``payment``: paid in the year net of clawback recovered in it.
    start_year : int
        Year of the scenario's start, for a horizon with a single period (label ``all``).

    Returns
    -------
    DataFrame
        ``person_id``, ``year``, ``variable_pay`` (positive sums only).
    """
    if timing in ("grant", "earned"):
        column = "granted" if timing == "grant" else "earned"
        frame = pd.DataFrame(
            {
                "person_id": awards["person_id"].astype(str),
                "year": [_year(str(c), start_year) for c in awards["cohort"]],
                "variable_pay": awards[column].astype(float),
            }
        )
    else:
        kinds = {"vest": {"vest": 1.0}, "payment": {"pay": 1.0, "clawback": -1.0}}[timing]
        flows = cashflows[cashflows["kind"].isin(kinds)]
        frame = pd.DataFrame(
            {
                "person_id": flows["person_id"].astype(str),
                "year": [_year(str(p), start_year) for p in flows["period"]],
                "variable_pay": flows["amount"].astype(float) * flows["kind"].map(kinds),
            }
        )
    summed = frame.groupby(["person_id", "year"], as_index=False)["variable_pay"].sum()
    return summed[summed["variable_pay"] > 0].reset_index(drop=True)


def people_from_run(
    scenario: Scenario,
    awards: pd.DataFrame,
    cashflows: pd.DataFrame,
    conventions: PayGapConventions,
) -> tuple[pd.DataFrame, int]:
    """Build the people table of a simulated run for one reference year.

    Base pay is each person's annual ``base_salary`` from the scenario (constant over the
    horizon); variable pay is the run's awards under ``conventions.variable_timing``, 0 for
    whom the plan paid nothing. The category is the column ``conventions.category`` names
    (``grade`` or ``role``; also ``country`` or ``team_id``).

    Parameters
    ----------
    scenario : Scenario
        The run's scenario: its people and start year.
    awards, cashflows : DataFrame
        The run's ``awards.parquet`` and ``cashflows.parquet``.
    conventions : PayGapConventions
        Timing, reference year and category.

    Returns
    -------
    tuple of (DataFrame, int)
        The checked people table and the reference year used (the conventions' year, else
        the latest year with variable pay, else the horizon's last year).
    """
    start_year = scenario.horizon.start.year
    people = pd.DataFrame(
        [
            {
                "person_id": p.id,
                "team_id": t.id,
                "gender": p.gender,
                "grade": p.grade,
                "role": p.role,
                "country": p.country,
                "base_pay": float(p.base_salary),
            }
            for t in scenario.organisation.teams
            for p in t.people
        ]
    )
    by_year = variable_pay_by_year(awards, cashflows, conventions.variable_timing, start_year)
    year = conventions.reference_year
    if year is None:
        last = start_year + scenario.horizon.years - 1
        year = int(by_year["year"].max()) if len(by_year) else last
    paid = by_year[by_year["year"] == year].set_index("person_id")["variable_pay"]
    people["variable_pay"] = people["person_id"].map(paid).fillna(0.0)
    if conventions.category not in people.columns:
        raise PayGapInputError(
            f"scenario {scenario.name}: no column {conventions.category!r} to use as category "
            f"(a run has {', '.join(c for c in people.columns if c != 'base_pay')})"
        )
    people["category"] = people[conventions.category]
    return validate_people(people, conventions, source=f"scenario {scenario.name}"), year
