"""The canonical ``EventLog``: incidents, changes, outages and services as DataFrames."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from toolkit.events.schema import ALLOWED_VALUES, NULLABLE, SCHEMA, TIME

TABLES = ("incidents", "changes", "outages", "services")


class EventLogError(ValueError):
    """An event log does not follow the canonical schema."""


_EMPTY = {t: pd.DataFrame({c: pd.Series(dtype=d) for c, d in s.items()}) for t, s in SCHEMA.items()}


_DTYPES = {t: list(frame.dtypes) for t, frame in _EMPTY.items()}


def empty_table(table: str) -> pd.DataFrame:
    """Return an empty DataFrame with the table's columns and dtypes."""
    return _EMPTY[table].copy()


def conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Order and cast a table's columns to the schema, keeping any extra columns after them.

    Parameters
    ----------
    frame : DataFrame
        The table; it must hold every schema column.
    table : str
        One of ``incidents``, ``changes``, ``outages``, ``services``.

    Raises
    ------
    EventLogError
        If a schema column is missing or cannot be cast.
    """
    schema = SCHEMA[table]
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise EventLogError(f"{table}: missing columns {missing}")
    frame = frame.reset_index(drop=True)
    names = frame.columns.tolist()[: len(schema)]
    if names == list(schema) and frame.dtypes.tolist()[: len(schema)] == _DTYPES[table]:
        return frame  # already conformed, e.g. a slice of a log: nothing to cast or reorder
    out = {}
    for column, dtype in schema.items():
        values = frame[column]
        if values.dtype == dtype:  # already conformed (a slice of a log): nothing to cast
            out[column] = values
            continue
        try:
            if dtype == TIME:
                values = pd.to_datetime(values)
            out[column] = values.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise EventLogError(f"{table}.{column}: cannot be read as {dtype} ({exc})") from None
    extra = [c for c in frame.columns if c not in schema]
    result = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
    for column in extra:
        result[column] = frame[column].to_numpy()
    return result


@dataclass
class EventLog:
    """One log of what happened (the truth) or of what was recorded (the reported view).

    Parameters
    ----------
    incidents, changes, outages, services : DataFrame
        Tables in the canonical schema (``toolkit.events.schema.SCHEMA``).
    start, end : Timestamp
        The observation window; metrics cut periods inside it.
    """

    incidents: pd.DataFrame
    changes: pd.DataFrame
    outages: pd.DataFrame
    services: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for table in TABLES:
            setattr(self, table, conform(getattr(self, table), table))
        self.start = pd.Timestamp(self.start)
        self.end = pd.Timestamp(self.end)

    def validate(self) -> list[str]:
        """Check completeness, allowed values, unique ids and time order; return problems."""
        problems = []
        for table in TABLES:
            frame = getattr(self, table)
            for column in SCHEMA[table]:
                if column not in NULLABLE[table] and frame[column].isna().any():
                    count = int(frame[column].isna().sum())
                    problems.append(f"{table}.{column}: {count} missing values")
        for (table, column), allowed in ALLOWED_VALUES.items():
            values = getattr(self, table)[column]
            bad = values[~values.isin(allowed)].unique().tolist()
            if bad:
                problems.append(f"{table}.{column}: values {bad[:5]} not in {list(allowed)}")
        for table, key in (("incidents", "incident_id"), ("changes", "change_id")):
            duplicated = getattr(self, table)[key].duplicated()
            if duplicated.any():
                problems.append(f"{table}.{key}: {int(duplicated.sum())} duplicate ids")
        inc = self.incidents
        early = (inc["resolved_at"] < inc["opened_at"]).sum()
        if early:
            problems.append(f"incidents: {int(early)} resolved before they were opened")
        return problems

    def write_parquet(self, directory: str | Path) -> Path:
        """Write each table as ``<table>.parquet`` plus ``log.json`` with the window."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            getattr(self, table).to_parquet(directory / f"{table}.parquet", index=False)
        window = {"start": self.start.isoformat(), "end": self.end.isoformat(), **self.meta}
        (directory / "log.json").write_text(json.dumps(window, indent=2, sort_keys=True))
        return directory

    @classmethod
    def read_parquet(cls, directory: str | Path) -> EventLog:
        """Read a log written by :meth:`write_parquet`."""
        directory = Path(directory)
        info = json.loads((directory / "log.json").read_text())
        tables = {}
        for table in TABLES:
            path = directory / f"{table}.parquet"
            tables[table] = pd.read_parquet(path) if path.exists() else empty_table(table)
        start, end = pd.Timestamp(info.pop("start")), pd.Timestamp(info.pop("end"))
        return cls(**tables, start=start, end=end, meta=info)
