"""Jurisdiction rules as dated, cited data: one CSV per country, loaded strictly.

Every country has a file ``<code>.csv`` (ISO 3166-1 alpha-2: ``DE``, ``NL``, ``PL``, ``IN``,
``US``, ``GB`` for the United Kingdom) whose rows share one layout, whatever the kind of rule:

``jurisdiction, rule_kind, record_kind, value, unit, starts, source, url, last_checked,
enforcement_status, note``

- ``rule_kind`` says what the row rules (:data:`RULE_KINDS`); each kind says which
  ``record_kind``, ``value``, ``unit`` and ``starts`` it accepts. Retention has two kinds:
  ``retention_minimum`` (keep at least) and ``retention_maximum`` (delete by, where
  data-protection law or its authority names a period). Other kinds (tax classification,
  works-council duties, review points) are added to :data:`RULE_KINDS` with their own
  checks, in the same files.
- ``last_checked`` is the date someone last compared the row with its source, or
  ``unchecked``: a row nobody has checked says so rather than borrowing a date.
- ``enforcement_status`` is kept apart from the rule: ``in_force``, ``pending`` (enacted, not
  yet applicable), ``guidance`` (an authority's or common practice's period, not statute) or
  ``none`` (the law sets no period; ``value`` is then 0).

``jurisdictions.csv`` names each country and the day its tax year ends, which retention
periods counted from the end of the tax year need. Nothing here is legal advice: the files
are defaults for a lawyer in each country to confirm or correct, and every output built on
them says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from toolkit.config.errors import ConfigError, Problem

DISCLAIMER = (
    "Not legal advice: the rules are editable defaults with their sources and the date each "
    "was last checked; have them confirmed for each country before relying on them."
)
RULE_COLUMNS = (
    "jurisdiction",
    "rule_kind",
    "record_kind",
    "value",
    "unit",
    "starts",
    "source",
    "url",
    "last_checked",
    "enforcement_status",
    "note",
)
JURISDICTION_COLUMNS = ("jurisdiction", "name", "fiscal_year_end", "source", "url", "last_checked")
RECORD_KINDS = {
    "payroll": "payroll records (pay slips, wage accounts, payments of awards)",
    "tax": "tax and accounting records (books, vouchers, withholding returns)",
    "hr_file": "employment contract and personnel file",
    "incentive_plan": "incentive plan documents and award calculations",
    "itsm_events": "ITSM event data used for scoring (incidents, changes, outages)",
    "audit_log": "audit log of adjustments, approvals and data inputs",
}
# Where a retention period is counted from: the record's own date (the end of its period), the
# end of its calendar or tax year, or the end of the person's employment (of its calendar year).
STARTS = (
    "record",
    "calendar_year_end",
    "fiscal_year_end",
    "employment_end",
    "employment_end_calendar_year",
)
UNITS = ("years", "months")
ENFORCEMENT = ("in_force", "pending", "guidance", "none")
UNCHECKED = "unchecked"


@dataclass(frozen=True)
class RuleKind:
    """What a kind of rule accepts in the shared columns.

    Attributes
    ----------
    record_kind, unit, starts : tuple of str
        The values each column may take (empty: the column is free text, or unused).
    duration : bool
        ``value`` is a period in ``unit`` (parsed into :attr:`Rule.months`); otherwise it is
        kept as written (a classification, a lead time in words) and must not be empty.
    """

    record_kind: tuple[str, ...]
    unit: tuple[str, ...]
    starts: tuple[str, ...]
    duration: bool


RETENTION = RuleKind(tuple(RECORD_KINDS), UNITS, STARTS, duration=True)
# rule kind -> what it accepts; other kinds (tax classification, works-council duties, review
# points) are added here with their own record kinds and units, in the same files
RULE_KINDS: dict[str, RuleKind] = {"retention_minimum": RETENTION, "retention_maximum": RETENTION}
CODE = re.compile(r"^[A-Z]{2}$")
MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
ALIASES = {"UK": "GB"}  # a common name that is not the ISO 3166-1 code


@dataclass(frozen=True)
class Rule:
    """One row of a jurisdiction file.

    Attributes
    ----------
    jurisdiction, rule_kind, record_kind : str
        Country (ISO 3166-1 alpha-2), what the row rules, which records.
    value : str
        The value as written in the file.
    months : int or None
        For a duration rule, the period in months (a value in years is converted).
    starts : str
        What the period is counted from (:data:`STARTS`).
    source, url : str
        Statute and section (or authority), and where to read it.
    last_checked : datetime.date or None
        When the row was last compared with its source; None when unchecked.
    enforcement_status : str
        :data:`ENFORCEMENT`.
    note : str
        What else a reader must know (exceptions, related periods).
    """

    jurisdiction: str
    rule_kind: str
    record_kind: str
    value: str
    months: int | None
    starts: str
    source: str
    url: str
    last_checked: dt.date | None
    enforcement_status: str
    note: str

    @property
    def years(self) -> float:
        """The period in years (NaN for a rule that is not a duration)."""
        return self.months / 12 if self.months is not None else float("nan")


@dataclass(frozen=True)
class Jurisdiction:
    """A country the rules cover: its code, name and the last day of its tax year."""

    code: str
    name: str
    fiscal_year_end: tuple[int, int]
    source: str


def rules_directory() -> Path:
    """Return the directory of the shipped jurisdiction files."""
    return Path(str(resources.files(__package__)))


def canonical_code(code: str) -> str:
    """Return the ISO code a country is filed under (``UK`` is filed as ``GB``)."""
    return ALIASES.get(code, code)


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = tuple(reader.fieldnames or ())
            if header != columns:
                missing = [c for c in columns if c not in header]
                extra = [c for c in header if c not in columns]
                detail = "; ".join(
                    part
                    for part in (
                        f"missing {', '.join(missing)}" if missing else "",
                        f"unknown {', '.join(extra)}" if extra else "",
                        "columns out of order" if not (missing or extra) else "",
                    )
                    if part
                )
                raise ConfigError(
                    path, [Problem("header", f"must be {', '.join(columns)} ({detail})")]
                )
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(path, [Problem("", f"cannot be read as UTF-8 CSV ({exc})")]) from None
    for number, row in enumerate(rows, start=2):
        if None in row or any(value is None for value in row.values()):
            raise ConfigError(
                path, [Problem(f"line {number}", f"must have exactly {len(columns)} fields")]
            )
    return rows


def _checked(text: str, where: str, problems: list[Problem]) -> dt.date | None:
    if text == UNCHECKED:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        problems.append(
            Problem(where, f"must be a date YYYY-MM-DD or {UNCHECKED!r} (got {text!r})")
        )
        return None
    if day > dt.date.today():
        problems.append(Problem(where, f"{day} is in the future"))
    return day


def _choice(value: str, allowed: tuple[str, ...], where: str, problems: list[Problem]) -> None:
    if value not in allowed:
        problems.append(Problem(where, f"must be one of {', '.join(allowed)} (got {value!r})"))


def _months(value: str, unit: str, where: str, problems: list[Problem]) -> int:
    try:
        number = float(value)
    except ValueError:
        problems.append(Problem(where, f"must be a number (got {value!r})"))
        return 0
    months = number * 12 if unit == "years" else number
    if not 0 <= months <= 1200 or abs(months - round(months)) > 1e-9:
        problems.append(
            Problem(where, f"must be whole months from 0 to 100 years (got {value} {unit})")
        )
        return 0
    return round(months)


def _rule(row: dict[str, str], line: int, code: str, problems: list[Problem]) -> Rule:
    where = f"line {line}"
    if row["jurisdiction"] != code:
        problems.append(
            Problem(f"{where}.jurisdiction", f"must be {code}, the file's country (got "
                    f"{row['jurisdiction']!r})")
        )  # fmt: skip
    kind = row["rule_kind"]
    accepts = RULE_KINDS.get(kind)
    if accepts is None:
        problems.append(
            Problem(f"{where}.rule_kind", f"must be one of {', '.join(RULE_KINDS)} (got {kind!r})")
        )
        accepts = RuleKind((), (), (), duration=False)
    for field in ("record_kind", "unit", "starts"):
        if getattr(accepts, field):
            _choice(row[field], getattr(accepts, field), f"{where}.{field}", problems)
    _choice(row["enforcement_status"], ENFORCEMENT, f"{where}.enforcement_status", problems)
    for field in ("source", "url"):
        if not row[field].strip():
            problems.append(Problem(f"{where}.{field}", "must not be empty: every rule is cited"))
    if row["url"].strip() and not row["url"].startswith("https://"):
        problems.append(Problem(f"{where}.url", f"must start with https:// (got {row['url']!r})"))
    months = None
    if accepts.duration:
        months = _months(row["value"], row["unit"], f"{where}.value", problems)
    elif not row["value"].strip():
        problems.append(Problem(f"{where}.value", "must not be empty"))
    if row["enforcement_status"] == "none" and months:
        problems.append(
            Problem(f"{where}.value", "must be 0 when enforcement_status is none (no period)")
        )
    return Rule(
        jurisdiction=code,
        rule_kind=kind,
        record_kind=row["record_kind"],
        value=row["value"].strip(),
        months=months,
        starts=row["starts"],
        source=row["source"].strip(),
        url=row["url"].strip(),
        last_checked=_checked(row["last_checked"], f"{where}.last_checked", problems),
        enforcement_status=row["enforcement_status"],
        note=row["note"].strip(),
    )


def load_jurisdictions(directory: str | Path | None = None) -> dict[str, Jurisdiction]:
    """Read ``jurisdictions.csv``: every country the rules cover.

    Parameters
    ----------
    directory : str or Path, optional
        A directory of jurisdiction files; the shipped one by default.

    Returns
    -------
    dict
        Code → :class:`Jurisdiction`.

    Raises
    ------
    ConfigError
        Naming the file, the line and field, and the reason.
    """
    path = Path(directory or rules_directory()) / "jurisdictions.csv"
    problems: list[Problem] = []
    found: dict[str, Jurisdiction] = {}
    for line, row in enumerate(_read_csv(path, JURISDICTION_COLUMNS), start=2):
        code = row["jurisdiction"]
        if not CODE.match(code):
            problems.append(Problem(f"line {line}.jurisdiction", f"must be an ISO 3166-1 "
                                    f"alpha-2 code (got {code!r})"))  # fmt: skip
        elif code in found:
            problems.append(Problem(f"line {line}.jurisdiction", f"{code} is listed twice"))
        match = MONTH_DAY.match(row["fiscal_year_end"])
        try:
            day = (int(match.group(1)), int(match.group(2))) if match else None
            if day is not None:
                dt.date(2001, *day)  # a day every year has
        except ValueError:
            day = None
        if day is None:
            problems.append(
                Problem(
                    f"line {line}.fiscal_year_end",
                    f"must be a day of the year MM-DD (got {row['fiscal_year_end']!r})",
                )
            )
        _checked(row["last_checked"], f"line {line}.last_checked", problems)
        found[code] = Jurisdiction(code, row["name"], day or (12, 31), row["source"])
    if problems:
        raise ConfigError(path, problems)
    return found


def load_rules(directory: str | Path | None = None, kind: str | None = None) -> list[Rule]:
    """Read every country's rules, strictly.

    Parameters
    ----------
    directory : str or Path, optional
        A directory of jurisdiction files (``jurisdictions.csv`` and one ``<code>.csv`` per
        country it lists); the shipped one by default.
    kind : str, optional
        Keep only rules of this ``rule_kind`` (e.g. ``"retention_minimum"``).

    Returns
    -------
    list of Rule
        In file order, countries in the order of ``jurisdictions.csv``.

    Raises
    ------
    ConfigError
        For a missing file, a wrong header, a field that is not allowed for its rule kind,
        a rule given twice: naming the file, line, field and reason.
    """
    folder = Path(directory or rules_directory())
    countries = load_jurisdictions(folder)
    if kind is not None and kind not in RULE_KINDS:
        raise ValueError(f"unknown rule kind {kind!r}; known: {', '.join(RULE_KINDS)}")
    listed = set(countries)
    for path in sorted(folder.glob("*.csv")):
        if path.stem != "jurisdictions" and path.stem not in listed:
            raise ConfigError(
                path, [Problem("", f"{path.stem} is not listed in jurisdictions.csv")]
            )
    rules: list[Rule] = []
    for code in countries:
        path = folder / f"{code}.csv"
        if not path.is_file():
            raise ConfigError(path, [Problem("", "no such file: every country listed needs one")])
        problems: list[Problem] = []
        seen: dict[tuple[str, str], int] = {}
        for line, row in enumerate(_read_csv(path, RULE_COLUMNS), start=2):
            rule = _rule(row, line, code, problems)
            key = (rule.rule_kind, rule.record_kind)
            if key in seen:
                problems.append(
                    Problem(f"line {line}", f"{rule.rule_kind} of {rule.record_kind} is given "
                            f"twice (also on line {seen[key]})")
                )  # fmt: skip
            seen[key] = line
            rules.append(rule)
        if problems:
            raise ConfigError(path, problems)
    return [rule for rule in rules if kind is None or rule.rule_kind == kind]
