"""Apply one table's mapping to its rows: records, validation, and a reason for every rejection.

A *record* is what becomes one row of the canonical table: a single input row, or, with
``collapse``, all rows sharing an id (the updates of an audit log, the per-CI rows of a change).
Validation judges records; every input row then shares its record's fate, so the accounting is
exact in rows: rows in = rows of accepted records + rows quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.config.scenario import AGGREGATE_ID
from toolkit.events.schema import ALLOWED_VALUES, FLOAT, INT, SCHEMA, TIME
from toolkit.ingest.fields import (
    PARSE_KINDS,
    Parsed,
    apply_rules,
    constant,
    from_priority,
    parse_column,
    parse_text,
    parse_times,
)
from toolkit.ingest.mapping import ID_FIELDS, TableMapping

ORDER_TYPES = {"int": INT, "float": FLOAT, "time": TIME}
HOUR_NS = 3_600_000_000_000
PRIORITY_FIELDS = ("priority", "priority_initial")
# KPI tables mark the whole organisation with AGGREGATE_ID in these columns, so no team or
# service may be called that
AGGREGATED_BY = ("team_id", "service_id")


def source_columns(tmap: TableMapping) -> list[str]:
    """Return every source column the table mapping reads, in first-use order."""
    names: list[str] = []
    for spec in tmap.fields.values():
        names += spec.columns + [rule.column for rule in spec.rules or []]
    if tmap.keep_only is not None:
        names.append(tmap.keep_only.column)
    if tmap.collapse is not None:
        names += [key.column for key in tmap.collapse.order_by]
        if tmap.collapse.on_hold is not None:
            names.append(tmap.collapse.on_hold.state_column)
    return list(dict.fromkeys(names))


def required_columns(table: str, tmap: TableMapping) -> list[list[str]]:
    """Return the source columns a file of ``table`` must have, each as alternatives."""
    needed = [[tmap.fields[ID_FIELDS[table]].column]]
    for name in tmap.validation.required:
        if name in tmap.fields and tmap.fields[name].columns:
            needed.append(tmap.fields[name].columns)
    if tmap.keep_only is not None:
        needed.append([tmap.keep_only.column])
    if tmap.collapse is not None:
        needed += [[key.column] for key in tmap.collapse.order_by]
        if tmap.collapse.on_hold is not None:
            needed.append([tmap.collapse.on_hold.state_column])
    unique = {tuple(alternatives): alternatives for alternatives in needed}
    return list(unique.values())


def clean_text(raw: pd.DataFrame, columns: list[str], missing: list[str]) -> pd.DataFrame:
    """Trim the named columns and turn missing tokens into NA; absent columns are all NA."""
    out = {}
    for column in columns:
        if column in raw.columns:
            trimmed = raw[column].str.strip()
            out[column] = trimmed.mask(trimmed.isin(missing))
        else:
            out[column] = pd.Series(None, index=raw.index, dtype=object)
    return pd.DataFrame(out, index=raw.index)


def empty_rows(raw: pd.DataFrame, text: pd.DataFrame, missing: list[str]) -> pd.Series:
    """Flag rows with no value in any cell (only the few without mapped values are scanned)."""
    candidates = text.isna().all(axis=1)
    rest = raw.loc[candidates]
    blank = rest.apply(lambda column: column.isna() | column.str.strip().isin(missing))
    return candidates & blank.all(axis=1).reindex(raw.index, fill_value=False)


@dataclass
class TableResult:
    """What became of one table's rows.

    Parameters
    ----------
    records : DataFrame
        The accepted records, one column per mapped field (derived fields still missing).
    row_reason : ndarray of object
        Per input row, the quarantine reason code, or None if its record was accepted.
    row_id : Series
        Per input row, the id text (NA if missing).
    record_reason : Series
        Per record, the reason code or NA.
    defaults : dict of str to int
        Per field, the number of accepted records whose value is the mapping's default.
    """

    records: pd.DataFrame
    row_reason: np.ndarray
    row_id: pd.Series
    record_reason: pd.Series
    defaults: dict[str, int]


@dataclass
class Records:
    """Input rows grouped into records, in update order.

    Parameters
    ----------
    codes : ndarray of int
        Per input row, its record (numbered by first appearance).
    order : DataFrame
        ``code`` and ``position`` of every row, sorted by record and update order.
    keys : dict of str to Series
        The parsed ``collapse.order_by`` columns, per input row.
    first, last : DataFrame
        The cleaned text of each record's first and last row, indexed by record.
    reason : Series
        Per record, the reason a row of it already failed (empty, no id, unreadable key).
    """

    codes: np.ndarray
    order: pd.DataFrame
    keys: dict[str, pd.Series]
    first: pd.DataFrame
    last: pd.DataFrame
    reason: pd.Series


def _record_codes(ids: pd.Series, grouped: pd.Series) -> np.ndarray:
    """Give each row its record number, by first appearance; grouped rows share their id's."""
    codes, uniques = pd.factorize(ids.where(grouped))
    alone = codes < 0
    codes[alone] = len(uniques) + np.arange(alone.sum())
    return codes


def _group(
    table: str, tmap: TableMapping, raw: pd.DataFrame, text: pd.DataFrame, missing: list[str]
) -> Records:
    """Judge the rows themselves, then group them into records (by id with ``collapse``)."""
    id_field = ID_FIELDS[table]
    ids = text[tmap.fields[id_field].column]
    row_reason = pd.Series(None, index=raw.index, dtype=object)
    blank = empty_rows(raw, text, missing)
    row_reason[blank] = "empty_row"
    row_reason[~blank & ids.isna()] = f"missing_required:{id_field}"
    collapse = tmap.collapse
    grouped = ~blank & ids.notna() & (collapse is not None)
    keys: dict[str, pd.Series] = {}
    for key in collapse.order_by if collapse else []:
        dtype = ORDER_TYPES[key.type]
        if dtype == TIME:
            parsed, outside = parse_times(text[key.column], key.format)
        else:
            parsed, outside = parse_text(text[key.column], dtype, key.format), None
        present = text[key.column].notna()
        bad = grouped & parsed.isna() & row_reason.isna()
        if outside is not None:
            row_reason[bad & outside] = f"time_out_of_range:{key.column}"
            bad &= ~outside
        row_reason[bad & present] = f"unparseable_{PARSE_KINDS[dtype]}:{key.column}"
        row_reason[bad & ~present] = f"missing_required:{key.column}"
        keys[key.column] = parsed
    codes = _record_codes(ids, grouped)
    count = int(codes.max()) + 1 if len(codes) else 0
    sort_keys = {f"key{i}": parsed for i, parsed in enumerate(keys.values())}
    order = pd.DataFrame({"code": codes, **sort_keys, "position": np.arange(len(raw))})
    order = order.sort_values(list(order.columns), kind="stable")[["code", "position"]]
    last = order.drop_duplicates("code", keep="last").sort_values("code")["position"]
    first = order.drop_duplicates("code", keep="first").sort_values("code")["position"]
    return Records(
        codes=codes,
        order=order,
        keys=keys,
        first=text.iloc[first.to_numpy()].reset_index(drop=True),
        last=text.iloc[last.to_numpy()].reset_index(drop=True),
        reason=row_reason.groupby(codes).first().reindex(range(count)).astype(object),
    )


def _parse(table: str, tmap: TableMapping, records: Records) -> dict[str, Parsed]:
    """Read every mapped field of every record (derived fields stay missing for now)."""
    schema = SCHEMA[table]
    index = records.last.index
    first = set(tmap.collapse.first) if tmap.collapse else set()
    parsed: dict[str, Parsed] = {}
    for name, spec in tmap.fields.items():
        text = records.first if name in first else records.last
        if spec.column is not None:
            parsed[name] = parse_column(spec, schema[name], text)
        elif spec.rules is not None:
            parsed[name] = apply_rules(spec, text)
        elif spec.constant is not None:
            parsed[name] = constant(spec, index)
    for name, spec in tmap.fields.items():
        if spec.by_priority is not None:
            parsed[name] = from_priority(spec, parsed["priority"].values)
        elif spec.derive is not None:  # computed once the whole log is known
            none = pd.Series(False, index=index)
            parsed[name] = Parsed(pd.Series(None, index=index, dtype=object), none, none)
    return parsed


def _checks(
    table: str,
    tmap: TableMapping,
    parsed: dict[str, Parsed],
    values: dict[str, pd.Series],
    last: pd.DataFrame,
) -> list[tuple[pd.Series, str]]:
    """List each validation as (failed per record, reason code), in order of precedence."""
    schema = SCHEMA[table]
    checks: list[tuple[pd.Series, str]] = []
    if tmap.keep_only is not None:
        kept = last[tmap.keep_only.column].isin(tmap.keep_only.values)
        checks.append((~kept, f"filtered_out:{tmap.keep_only.column}"))
    for name, field in parsed.items():
        spec = tmap.fields[name]
        kind = "unmapped_value" if spec.values else f"unparseable_{PARSE_KINDS[schema[name]]}"
        if field.out_of_range is not None:
            checks.append((field.out_of_range, f"time_out_of_range:{name}"))
        checks.append((field.problem, f"{kind}:{name}"))
    for name in tmap.validation.required:
        checks.append((values[name].isna(), f"missing_required:{name}"))
    for (check_table, column), allowed in ALLOWED_VALUES.items():
        if check_table == table and column in values:
            outside = values[column].notna() & ~values[column].isin(allowed)
            if column in PRIORITY_FIELDS:
                checks.append((outside, "priority_out_of_range"))
            else:
                checks.append((outside, f"value_not_allowed:{column}"))
    for column in AGGREGATED_BY:
        if column in values:
            checks.append((values[column] == AGGREGATE_ID, f"reserved_id:{column}"))
    for name in tmap.validation.non_negative:
        checks.append((pd.to_numeric(values[name]) < 0, f"negative_value:{name}"))
    for earlier, later in tmap.validation.order:
        stems = later.removesuffix("_at"), earlier.removesuffix("_at")
        checks.append((values[later] < values[earlier], "{}_before_{}".format(*stems)))
    if tmap.collapse is None:
        ids = values[ID_FIELDS[table]]
        checks.append((ids.notna() & ids.duplicated(), "duplicate_id"))
    return checks


def _hold_hours(
    codes: np.ndarray,
    on_hold: pd.Series,
    times: np.ndarray,
    opened: pd.Series,
    resolved: pd.Series,
) -> np.ndarray:
    """Sum on-hold time per record, each hold clipped to the record's opened..resolved span.

    ``codes``, ``on_hold`` and ``times`` are the rows in update order; a hold runs from its
    update to the record's next update (the last update's state has no known end). Sums are
    taken in integer nanoseconds, so equal spans give equal hours.
    """
    nat = np.iinfo(np.int64).min
    times = times.astype("datetime64[ns]").view(np.int64)
    same = codes[1:] == codes[:-1]
    valid = (times[:-1] != nat) & (times[1:] != nat)
    hold = same & valid & on_hold.to_numpy(dtype=bool)[:-1]
    record = codes[:-1][hold]
    start, end = times[:-1][hold], times[1:][hold]
    low = opened.to_numpy(dtype="datetime64[ns]").view(np.int64)[record]
    high = resolved.to_numpy(dtype="datetime64[ns]").view(np.int64)[record]
    start = np.where(low != nat, np.maximum(start, low), start)
    end = np.where(high != nat, np.minimum(end, high), end)
    held = pd.Series(np.clip(end - start, 0, None)).groupby(record).sum()
    return held.reindex(range(len(opened)), fill_value=0).to_numpy() / HOUR_NS


def process_table(
    table: str, tmap: TableMapping, raw: pd.DataFrame, missing: list[str]
) -> TableResult:
    """Turn one table's input rows into accepted records and reasons for the rest.

    Parameters
    ----------
    table : str
        ``incidents`` or ``changes``.
    tmap : TableMapping
        The table's mapping.
    raw : DataFrame
        The input rows of every file of this table, cells as original strings.
    missing : list of str
        Tokens meaning "no value".

    Returns
    -------
    TableResult
    """
    raw = raw.reset_index(drop=True)
    text = clean_text(raw, source_columns(tmap), missing)
    records = _group(table, tmap, raw, text, missing)
    parsed = _parse(table, tmap, records)
    values = {name: field.values for name, field in parsed.items()}
    hold = tmap.collapse.on_hold if tmap.collapse else None
    if hold is not None:
        rows = records.order["position"].to_numpy()
        values["on_hold_hours"] = pd.Series(
            _hold_hours(
                records.order["code"].to_numpy(),
                text[hold.state_column].iloc[rows].isin(hold.states),
                records.keys[hold.time_column].iloc[rows].to_numpy(),
                values["opened_at"],
                values.get("resolved_at", pd.Series(pd.NaT, index=records.last.index)),
            )
        )
    reason = records.reason
    for failed, code in _checks(table, tmap, parsed, values, records.last):
        reason = reason.mask(reason.isna() & failed.fillna(False).astype(bool).to_numpy(), code)
    accepted = reason.isna().to_numpy()
    frame = pd.DataFrame({name: series[accepted] for name, series in values.items()})
    defaults = {
        name: int(field.defaulted[accepted].sum())
        for name, field in parsed.items()
        if field.defaulted[accepted].any()
    }
    return TableResult(
        records=frame.reset_index(drop=True),
        row_reason=reason.to_numpy()[records.codes],
        row_id=text[tmap.fields[ID_FIELDS[table]].column],
        record_reason=reason,
        defaults=defaults,
    )
