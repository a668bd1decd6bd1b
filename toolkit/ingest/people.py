"""HR roster and payroll exports (CSV) → tidy tables, quarantining rows that cannot be used.

An HR system (SAP SuccessFactors, Workday, Personio) exports its employee records as
*effective-dated* rows: each row is a person's state from ``effective_date`` until the next row
of the same person, so a transfer between teams, a grade change or a raise is a new row, and a
leaver's last row carries ``end_date`` and ``leaver_reason``. A payroll system exports one row
per person, pay period and pay item. The columns are documented in ``toolkit/ingest/README.md``
(section *People data*).

The conventions are the ingest's (:mod:`toolkit.ingest.pipeline`): a file that cannot be read as
the export it claims to be is refused whole with an :class:`~toolkit.ingest.errors.IngestError`
naming the file, the field and the reason; a row that cannot be used is quarantined with its
line, its original cells and a reason code, and the rest goes on, so that
``rows_in == rows_accepted + rows_quarantined``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config.plan import LEAVER_REASONS
from toolkit.ingest.errors import IngestError
from toolkit.ingest.mapping import ReadOptions
from toolkit.ingest.pipeline import QUARANTINE_COLUMNS
from toolkit.ingest.source import SourceFile, read_source

READ = ReadOptions(separator=",", encoding="utf-8-sig", missing=[""])
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
GENDERS = ("female", "male", "nonbinary", "undisclosed")
DATE_FORMAT = "%Y-%m-%d"
PAY_PERIOD_FORMAT = "%Y-%m"
PAY_ITEMS = ("base", "lti_payment", "bonus", "allowance", "overtime", "lti_recovery")
MAX_AMOUNT = 1e9  # a year's base salary of the scenario's bound (toolkit.config.scenario)

# The columns of each export in their documented order (toolkit/ingest/README.md, People data).
ROSTER_COLUMNS = (
    "person_id",
    "name",
    "team_id",
    "grade",
    "country",
    "gender",
    "base_salary",
    "currency",
    "effective_date",
    "start_date",
    "end_date",
    "leaver_reason",
)
ROSTER_OPTIONAL = ("name", "gender")
ROSTER_REQUIRED = tuple(c for c in ROSTER_COLUMNS if c not in ROSTER_OPTIONAL)
PAYROLL_COLUMNS = ("person_id", "pay_period", "pay_item", "amount", "currency", "reference")
PAYROLL_OPTIONAL = ("reference",)
PAYROLL_REQUIRED = tuple(c for c in PAYROLL_COLUMNS if c not in PAYROLL_OPTIONAL)


@dataclass
class PeopleExport:
    """One people export, read.

    Parameters
    ----------
    kind : str
        ``"roster"`` or ``"payroll"``.
    table : DataFrame
        The accepted rows, typed (columns in the README), with ``line`` (the file's line).
    quarantine : DataFrame
        One row per rejected input row: ``source_file, line, table, record_id, reason,
        values`` as in the ingest of ITSM exports (``values`` the original cells as JSON).
    source : SourceFile
        The file read, with its SHA-256.
    """

    kind: str
    table: pd.DataFrame
    quarantine: pd.DataFrame
    source: SourceFile

    def accounting(self) -> dict:
        """Return rows in, accepted and quarantined, and the quarantine reasons by count."""
        reasons = self.quarantine["reason"].value_counts().sort_index()
        return {
            "path": str(self.source.path),
            "sha256": self.source.sha256,
            "kind": self.kind,
            "rows_in": len(self.source.frame),
            "rows_accepted": len(self.table),
            "rows_quarantined": len(self.quarantine),
            "quarantine_reasons": {str(k): int(v) for k, v in reasons.items()},
        }


class _Judge:
    """Collect each row's first failing reason, in the order the checks are made."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.reason = pd.Series(None, index=frame.index, dtype=object)

    def fail(self, mask: pd.Series | np.ndarray, reason: str) -> None:
        mask = pd.Series(mask, index=self.frame.index).fillna(False).astype(bool)
        self.reason = self.reason.mask(mask & self.reason.isna(), reason)

    def text(self, column: str, *, required: bool, pattern: str | None = None) -> pd.Series:
        values = self.frame[column].str.strip() if column in self.frame else None
        if values is None:
            return pd.Series(pd.NA, index=self.frame.index, dtype="str")
        values = values.mask(values == "")
        if required:
            self.fail(values.isna(), f"missing_required:{column}")
        if pattern is not None:
            self.fail(
                values.notna() & ~values.str.fullmatch(pattern, na=False),
                f"value_not_allowed:{column}",
            )
        return values

    def date(self, column: str, *, required: bool, fmt: str = DATE_FORMAT) -> pd.Series:
        values = self.text(column, required=required)
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        self.fail(values.notna() & parsed.isna(), f"unparseable_time:{column}")
        early, late = pd.Timestamp("1900-01-01"), pd.Timestamp("2190-01-01")
        self.fail(
            parsed.notna() & ((parsed < early) | (parsed >= late)), f"time_out_of_range:{column}"
        )
        return parsed

    def money(self, column: str, *, positive: bool) -> pd.Series:
        values = self.text(column, required=True)
        number = pd.to_numeric(values, errors="coerce")
        self.fail(
            values.notna() & ~np.isfinite(number.astype(float)), f"unparseable_number:{column}"
        )
        if positive:
            self.fail(number.notna() & (number <= 0), f"negative_value:{column}")
        self.fail(number.abs() > MAX_AMOUNT, f"value_out_of_range:{column}")
        return number.astype(float)


def _read(path: str | Path, kind: str, required: tuple[str, ...]) -> SourceFile:
    """Read the file and refuse it whole if it lacks a column or holds no data row."""
    source = read_source(path, READ)
    columns = [str(c).strip() for c in source.frame.columns]
    source.frame.columns = columns
    missing = [c for c in required if c not in columns]
    if missing:
        raise IngestError(
            f"{source.path}: not an HR {kind} export: missing required column(s) "
            f"{', '.join(map(repr, missing))} (columns: toolkit/ingest/README.md, People data)"
        )
    # pandas renames a repeated column "grade" to "grade.1": which of the two is meant is unknown
    mangled = (re.fullmatch(r"(.+)\.\d+", c) for c in columns)
    repeated = sorted({m.group(1) for m in mangled if m and m.group(1) in columns})
    if repeated:
        raise IngestError(f"{source.path}: column(s) {', '.join(map(repr, repeated))} repeated")
    if not len(source.frame):
        raise IngestError(f"{source.path}: no data rows, only a header")
    return source


def _quarantined(source: SourceFile, kind: str, reason: pd.Series, ids: pd.Series) -> pd.DataFrame:
    """Build the quarantine rows (same layout as the ITSM ingest's ``quarantine.parquet``)."""
    bad = reason.notna().to_numpy()
    cells = [
        json.dumps(row, ensure_ascii=False)
        for row in source.frame.loc[bad].to_dict(orient="records")
    ]
    table = pd.DataFrame(
        {
            "source_file": str(source.path),
            "line": source.lines[bad].astype("int64"),
            "table": kind,
            "record_id": ids[bad].fillna("").astype(str).to_numpy(),
            "reason": reason[bad].astype(str).to_numpy(),
            "values": cells,
        },
        columns=QUARANTINE_COLUMNS,
    )
    return table.astype({c: "str" for c in QUARANTINE_COLUMNS if c != "line"}).astype(
        {"line": "int64"}
    )


def _finish(source: SourceFile, kind: str, judge: _Judge, table: pd.DataFrame) -> PeopleExport:
    """Split accepted from quarantined rows, refusing a file none of whose rows is usable."""
    empty = source.frame.apply(lambda column: column.str.strip() == "").all(axis=1)
    judge.reason = judge.reason.mask(empty, "empty_row")
    ok = judge.reason.isna()
    if not ok.any():
        counts = judge.reason.value_counts().sort_index().to_dict()
        raise IngestError(f"{source.path}: no row accepted; reasons: {json.dumps(counts)}")
    quarantine = _quarantined(source, kind, judge.reason, table["person_id"])
    table = table[ok.to_numpy()].copy()
    table.insert(0, "line", source.lines[ok.to_numpy()].astype("int64"))
    return PeopleExport(kind, table.reset_index(drop=True), quarantine, source)


def read_roster(path: str | Path) -> PeopleExport:
    """Read an HR roster export: effective-dated rows, several per person.

    Parameters
    ----------
    path : str or Path
        The CSV file (UTF-8, optionally with a BOM; ``.gz``, ``.bz2``, ``.xz`` read too).

    Returns
    -------
    PeopleExport
        ``table`` has ``line, person_id, name, team_id, grade, country, gender, base_salary,
        currency, effective_date, start_date, end_date, leaver_reason``, sorted by person and
        effective date; ``end_date`` and ``leaver_reason`` are missing for people who stay.

    Raises
    ------
    IngestError
        If the file cannot be read, lacks a required column, repeats one, has no data row or
        no row that can be used.
    """
    source = _read(path, "roster", ROSTER_REQUIRED)
    judge = _Judge(source.frame)
    table = pd.DataFrame({"person_id": judge.text("person_id", required=True, pattern=ID_PATTERN)})
    table["name"] = judge.text("name", required=False)
    table["team_id"] = judge.text("team_id", required=True, pattern=ID_PATTERN)
    table["grade"] = judge.text("grade", required=True)
    table["country"] = judge.text("country", required=True, pattern=COUNTRY_PATTERN)
    gender = judge.text("gender", required=False)
    judge.fail(gender.notna() & ~gender.isin(GENDERS), "value_not_allowed:gender")
    table["gender"] = gender
    table["base_salary"] = judge.money("base_salary", positive=True)
    table["currency"] = judge.text("currency", required=True, pattern=CURRENCY_PATTERN)
    table["effective_date"] = judge.date("effective_date", required=True)
    table["start_date"] = judge.date("start_date", required=True)
    table["end_date"] = judge.date("end_date", required=False)
    reason = judge.text("leaver_reason", required=False)
    judge.fail(reason.notna() & ~reason.isin(LEAVER_REASONS), "value_not_allowed:leaver_reason")
    table["leaver_reason"] = reason
    judge.fail(table["effective_date"] < table["start_date"], "effective_before_start")
    judge.fail(table["end_date"] < table["start_date"], "end_before_start")
    judge.fail(table["end_date"] < table["effective_date"], "end_before_effective")
    judge.fail(
        table["end_date"].notna() & table["leaver_reason"].isna(), "missing_required:leaver_reason"
    )
    judge.fail(
        table["end_date"].isna() & table["leaver_reason"].notna(), "leaver_reason_without_end_date"
    )
    key = table[["person_id", "effective_date"]]
    judge.fail(key.notna().all(axis=1) & key.duplicated(), "duplicate_id")
    result = _finish(source, "roster", judge, table)
    result.table = result.table.sort_values(["person_id", "effective_date"], kind="stable")
    result.table = result.table.reset_index(drop=True)
    return result


def read_payroll(path: str | Path) -> PeopleExport:
    """Read a payroll export: one row per person, pay period (``YYYY-MM``) and pay item.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    PeopleExport
        ``table`` has ``line, person_id, pay_period`` (a monthly ``pandas.Period``),
        ``pay_item`` (one of :data:`PAY_ITEMS`), ``amount`` (signed: a recovery is negative),
        ``currency`` and ``reference``.

    Raises
    ------
    IngestError
        If the file cannot be read, lacks a required column, repeats one, has no data row or
        no row that can be used.
    """
    source = _read(path, "payroll", PAYROLL_REQUIRED)
    judge = _Judge(source.frame)
    table = pd.DataFrame({"person_id": judge.text("person_id", required=True, pattern=ID_PATTERN)})
    month = judge.date("pay_period", required=True, fmt=PAY_PERIOD_FORMAT)
    table["pay_period"] = month.dt.to_period("M")
    item = judge.text("pay_item", required=True)
    judge.fail(item.notna() & ~item.isin(PAY_ITEMS), "value_not_allowed:pay_item")
    table["pay_item"] = item
    table["amount"] = judge.money("amount", positive=False)
    table["currency"] = judge.text("currency", required=True, pattern=CURRENCY_PATTERN)
    table["reference"] = judge.text("reference", required=False)
    key = table[["person_id", "pay_period", "pay_item", "reference"]].astype(str)
    judge.fail(table["person_id"].notna() & key.duplicated(), "duplicate_id")
    return _finish(source, "payroll", judge, table)


def roster_as_of(roster: pd.DataFrame, date: pd.Timestamp) -> pd.DataFrame:
    """Return each person's roster row in effect on ``date`` (the last effective by then).

    People whose first row takes effect after ``date`` are left out; a leaver's last row stays
    (its ``end_date`` says they left).
    """
    effective = roster[roster["effective_date"] <= date]
    return (
        effective.sort_values(["person_id", "effective_date"], kind="stable")
        .groupby("person_id", as_index=False)
        .tail(1)
        .reset_index(drop=True)
    )
