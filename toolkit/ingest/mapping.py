"""Mapping files: how one tool's export becomes the canonical event log, written as data.

A mapping says, for each canonical column, where its value comes from (a source column and its
parser, a constant, first-matching rules, a per-priority table or a derivation) and which rules a
record must pass to enter the log. The machinery that applies a mapping is written once
(:mod:`toolkit.ingest.fields`, :mod:`toolkit.ingest.tables`); what a format genuinely needs beyond
it (collapsing audit updates to incidents, linking changes to the incidents they caused) is named
in the mapping and implemented once too. The shipped mappings live in ``mappings/<format>.yaml``.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from toolkit.config.base import StrictModel
from toolkit.config.errors import ConfigError, Problem
from toolkit.config.loading import validate_mapping
from toolkit.config.yaml_strict import read_yaml_mapping
from toolkit.events.schema import BOOL, FLOAT, INT, NULLABLE, PRIORITIES, SCHEMA, STR, TIME
from toolkit.ingest.errors import IngestError
from toolkit.resources import MAPPINGS_DIR

FORMATS = tuple(sorted(path.stem for path in MAPPINGS_DIR.glob("*.yaml")))
MAPPED_TABLES = ("incidents", "changes")
ID_FIELDS = {"incidents": "incident_id", "changes": "change_id"}
# Derivations computed after parsing, and the one (table, column) each may fill.
DERIVATIONS = {
    "sla_breached_from_times": ("incidents", "sla_breached"),
    "referenced_by_incidents": ("changes", "failed"),
}

Scalar = str | int | float | bool
Priority = Literal[1, 2, 3, 4]
Hours = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Columns = str | Annotated[list[str], Field(min_length=1)]


class ReadOptions(StrictModel):
    """How the export's text is read."""

    separator: str = Field(default=",", min_length=1, max_length=1, description="Field separator.")
    encoding: str = Field(default="utf-8", description="Text encoding, e.g. utf-8-sig, latin-1.")
    missing: list[str] = Field(
        default_factory=lambda: [""],
        description="Cell values that mean 'no value', compared after trimming whitespace.",
    )


class Rule(StrictModel):
    """A condition on one source column; the first rule that holds gives the field its value."""

    column: str = Field(description="Source column tested.")
    present: bool | None = Field(default=None, description="Holds if the cell has (no) value.")
    equals: str | None = Field(default=None, description="Holds if the cell equals this text.")
    value: Scalar = Field(description="The field's value when the rule holds.")

    @model_validator(mode="after")
    def _one_condition(self) -> Rule:
        if (self.present is None) == (self.equals is None):
            raise ValueError("give exactly one condition: 'present' or 'equals'")
        return self


class FieldSpec(StrictModel):
    """Where one canonical column comes from: exactly one of the five sources."""

    column: Columns | None = Field(
        default=None, description="Source column, or a list of them: the first with a value."
    )
    format: str | None = Field(
        default=None, description="Timestamp format (strftime codes); ISO 8601 if not given."
    )
    dayfirst: bool = Field(default=False, description="Day-first dates when no format is given.")
    decimal: str = Field(default=".", min_length=1, max_length=1, description="Decimal mark.")
    negate: bool = Field(default=False, description="Invert a yes/no column (made_sla).")
    values: dict[str, Scalar] | None = Field(
        default=None,
        description="Value map applied to the trimmed text first; other values are parsed.",
    )
    default: Scalar | None = Field(default=None, description="Value when the source is missing.")
    constant: Scalar | None = Field(default=None, description="The same value for every row.")
    rules: list[Rule] | None = Field(default=None, description="First-matching rules.")
    by_priority: dict[Priority, Hours] | None = Field(
        default=None, description="A value per priority (1..4), looked up from 'priority'."
    )
    derive: Literal["sla_breached_from_times", "referenced_by_incidents"] | None = Field(
        default=None, description="Computed by the toolkit after parsing (see the README)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        sources = [
            name
            for name in ("column", "constant", "rules", "by_priority", "derive")
            if getattr(self, name) is not None
        ]
        if len(sources) != 1:
            raise ValueError(
                "give exactly one of 'column', 'constant', 'rules', 'by_priority', 'derive'"
                + (f" (got {', '.join(sources)})" if sources else "")
            )
        parser_options = [
            name
            for name, unset in (
                ("format", None),
                ("dayfirst", False),
                ("decimal", "."),
                ("negate", False),
                ("values", None),
            )
            if getattr(self, name) != unset
        ]
        if self.column is None and parser_options:
            raise ValueError(f"{', '.join(parser_options)} only apply to a 'column' source")
        if self.default is not None and self.column is None and self.rules is None:
            raise ValueError("'default' only applies to a 'column' or 'rules' source")
        return self

    @property
    def columns(self) -> list[str]:
        """Return the source columns read directly (for a column source), in order."""
        if self.column is None:
            return []
        return [self.column] if isinstance(self.column, str) else list(self.column)

    @property
    def always_given(self) -> bool:
        """Whether the field can never come out missing (rules without default can)."""
        if self.column is not None or self.rules is not None:
            return self.default is not None
        return True


class OrderKey(StrictModel):
    """A source column that orders the update rows of one record."""

    column: str
    type: Literal["int", "float", "time"]
    format: str | None = Field(default=None, description="Timestamp format, for type time.")


class OnHold(StrictModel):
    """States in which the clock stops; on-hold time runs from such an update to the next."""

    state_column: str = Field(description="Source column holding the record's state.")
    states: list[str] = Field(min_length=1, description="States that count as on hold.")
    time_column: str = Field(description="An order_by column of type time: when each update was.")


class Collapse(StrictModel):
    """Several rows per record (audit updates, one row per affected CI) become one record."""

    order_by: list[OrderKey] = Field(
        default_factory=list, description="Sort keys; ties and no keys keep the file order."
    )
    first: list[str] = Field(
        default_factory=list, description="Fields taken from the first row; others from the last."
    )
    on_hold: OnHold | None = None


class KeepOnly(StrictModel):
    """Rows of other kinds (say, service requests) are quarantined as ``filtered_out``."""

    column: str
    values: list[str] = Field(min_length=1)


class Validation(StrictModel):
    """Rules a record must pass; a record failing any of them is quarantined."""

    required: list[str] = Field(default_factory=list, description="Fields that must have a value.")
    non_negative: list[str] = Field(default_factory=list, description="Numbers that must be >= 0.")
    order: list[Annotated[list[str], Field(min_length=2, max_length=2)]] = Field(
        default_factory=list, description="Pairs [earlier, later] of times that must not reverse."
    )


class TableMapping(StrictModel):
    """How the rows of one kind of file become one canonical table."""

    keep_only: KeepOnly | None = None
    collapse: Collapse | None = None
    fields: dict[str, FieldSpec]
    validation: Validation = Field(default_factory=Validation)


class Mapping(StrictModel):
    """A whole mapping file: how to read the export and how each table maps."""

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    read: ReadOptions = Field(default_factory=ReadOptions)
    incidents: TableMapping
    changes: TableMapping | None = None

    def tables(self) -> dict[str, TableMapping]:
        """Return the mapped tables by canonical name."""
        return {t: getattr(self, t) for t in MAPPED_TABLES if getattr(self, t) is not None}


def _type_ok(value: Scalar, dtype: str) -> bool:
    if dtype == STR:
        return isinstance(value, str)
    if dtype == BOOL:
        return isinstance(value, bool)
    if dtype == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if dtype == FLOAT:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return False  # timestamps are only ever parsed from a column


def _check_field(table: str, name: str, spec: FieldSpec, where: str) -> list[Problem]:
    dtype = SCHEMA[table][name]
    problems = []
    given = [("constant", spec.constant), ("default", spec.default)]
    given += [(f"values.{key}", value) for key, value in (spec.values or {}).items()]
    given += [(f"rules[{i}].value", rule.value) for i, rule in enumerate(spec.rules or [])]
    for path, value in given:
        if value is not None and not _type_ok(value, dtype):
            problems.append(Problem(f"{where}.{path}", f"{value!r} is not a {dtype} value"))
    misplaced = [
        ("format", spec.format is not None or spec.dayfirst, dtype == TIME, "timestamps"),
        ("decimal", spec.decimal != ".", dtype in (INT, FLOAT), "numbers"),
        ("negate", spec.negate, dtype == BOOL, "yes/no fields"),
        ("by_priority", spec.by_priority is not None, dtype == FLOAT, "numbers"),
    ]
    for option, used, allowed, kind in misplaced:
        if used and not allowed:
            problems.append(Problem(f"{where}.{option}", f"only applies to {kind}, not {dtype}"))
    if spec.by_priority is not None and set(spec.by_priority) != set(PRIORITIES):
        problems.append(Problem(f"{where}.by_priority", "give a value for each priority 1..4"))
    if spec.derive is not None and DERIVATIONS[spec.derive] != (table, name):
        target = ".".join(DERIVATIONS[spec.derive])
        problems.append(Problem(f"{where}.derive", f"{spec.derive!r} only computes {target}"))
    return problems


def _check_table(table: str, tmap: TableMapping) -> list[Problem]:
    schema, nullable = SCHEMA[table], NULLABLE[table]
    problems = []
    for name, spec in tmap.fields.items():
        where = f"{table}.fields.{name}"
        if name not in schema:
            close = difflib.get_close_matches(name, list(schema), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(Problem(where, f"not a column of the canonical {table} table{hint}"))
            continue
        problems += _check_field(table, name, spec, where)
    id_field = ID_FIELDS[table]
    id_spec = tmap.fields.get(id_field)
    if id_spec is None or not isinstance(id_spec.column, str):
        problems.append(Problem(f"{table}.fields.{id_field}", "must come from one source column"))
    on_hold = tmap.collapse is not None and tmap.collapse.on_hold is not None
    computed = {"on_hold_hours"} if on_hold and table == "incidents" else set()
    if computed & set(tmap.fields):
        problems.append(
            Problem(f"{table}.fields.on_hold_hours", "is computed from collapse.on_hold: drop it")
        )
    required = set(tmap.validation.required)
    for column in schema:
        if column in nullable or column in computed:
            continue
        spec = tmap.fields.get(column)
        if spec is None:
            problems.append(
                Problem(f"{table}.fields", f"no mapping for {column!r}, which the log requires")
            )
        elif not spec.always_given and column not in required:
            problems.append(
                Problem(
                    f"{table}.fields.{column}",
                    "can come out missing but the log requires it: list it in "
                    "validation.required or give a default",
                )
            )
    known = set(tmap.fields) | computed
    checks = [
        ("required", tmap.validation.required, None),
        ("non_negative", tmap.validation.non_negative, (INT, FLOAT)),
        ("order", [f for pair in tmap.validation.order for f in pair], (TIME,)),
    ]
    if tmap.collapse is not None:
        checks.append(("first", tmap.collapse.first, None))
    for rule, names, dtypes in checks:
        section = "collapse" if rule == "first" else "validation"
        for name in names:
            if name not in known:
                problems.append(Problem(f"{table}.{section}.{rule}", f"{name!r} is not mapped"))
            elif dtypes and schema[name] not in dtypes:
                problems.append(
                    Problem(f"{table}.{section}.{rule}", f"{name!r} is a {schema[name]} field")
                )
    if on_hold:
        times = {key.column for key in tmap.collapse.order_by if key.type == "time"}
        if tmap.collapse.on_hold.time_column not in times:
            problems.append(
                Problem(
                    f"{table}.collapse.on_hold.time_column",
                    "must be one of the collapse.order_by columns of type time",
                )
            )
    return problems


def load_mapping(path: str | Path) -> Mapping:
    """Load and check a mapping file.

    Parameters
    ----------
    path : str or Path
        A mapping YAML file (a shipped one is ``MAPPINGS_DIR / f"{format}.yaml"``).

    Returns
    -------
    Mapping
        The validated mapping.

    Raises
    ------
    ConfigError
        With one line per problem: unknown keys, wrong types, unknown canonical columns,
        required canonical columns left unmapped, values of the wrong type.
    """
    data = read_yaml_mapping(path)
    mapping = validate_mapping(Mapping, data, path)
    problems = [p for t, tmap in mapping.tables().items() for p in _check_table(t, tmap)]
    if problems:
        raise ConfigError(path, problems)
    return mapping


def shipped_mapping(name: str) -> Path:
    """Return the shipped mapping file of a format name.

    Raises
    ------
    IngestError
        For an unknown name, with the closest known one and the list of formats.
    """
    if name in FORMATS:
        return MAPPINGS_DIR / f"{name}.yaml"
    close = difflib.get_close_matches(name, FORMATS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise IngestError(f"unknown format {name!r}{hint} Known formats: {', '.join(FORMATS)}")


def with_sla_targets(mapping: Mapping, targets: dict[int, float]) -> Mapping:
    """Return the mapping with its per-priority SLA targets overridden.

    Parameters
    ----------
    mapping : Mapping
        A loaded mapping.
    targets : dict of int to float
        Hours per priority; merged over the mapping's own ``by_priority`` table, or replacing a
        column source (then all four priorities are needed).

    Raises
    ------
    IngestError
        If a priority is not 1..4, an hour value is not positive, or priorities are missing.
    """
    bad = [p for p in targets if p not in PRIORITIES]
    if bad or any(not hours > 0 for hours in targets.values()):
        raise IngestError(f"SLA targets need priorities 1..4 and hours > 0, got {targets}")
    current = mapping.incidents.fields["sla_target_hours"].by_priority or {}
    merged = {**current, **targets}
    if set(merged) != set(PRIORITIES):
        raise IngestError(f"SLA targets must cover priorities 1..4, got {sorted(merged)}")
    fields = {**mapping.incidents.fields, "sla_target_hours": FieldSpec(by_priority=merged)}
    incidents = mapping.incidents.model_copy(update={"fields": fields})
    return mapping.model_copy(update={"incidents": incidents})


def sha256_of(path: Path) -> str:
    """Return the SHA-256 of a (small) file, for the audit trail of mappings."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
