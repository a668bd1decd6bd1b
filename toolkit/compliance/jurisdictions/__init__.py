"""Jurisdiction rules as dated, cited data: one CSV per country, loaded strictly.

Every country has a file ``<code>.csv`` (ISO 3166-1 alpha-2: ``DE``, ``NL``, ``PL``, ``IN``,
``US``, ``GB`` for the United Kingdom) whose rows share one layout, whatever the kind of rule:

``jurisdiction, rule_kind, record_kind, value, unit, starts, source, url, last_checked,
enforcement_status, note``

- ``rule_kind`` says what the row rules (:data:`RULE_KINDS`); each kind says which
  ``record_kind``, ``value``, ``unit`` and ``starts`` it accepts (a column a kind does not
  use must be empty). The kinds:

  ``retention_minimum`` / ``retention_maximum``
      Keep at least / delete by (where data-protection law or its authority names a
      period). ``record_kind`` one of :data:`RECORD_KINDS`; ``value`` a period in ``unit``
      (``years`` or ``months``) counted from ``starts`` (:data:`STARTS`).
  ``tax_timing``
      How a payment is classified for income tax and when it is taxed. ``record_kind`` is
      the payment type (:data:`PAYMENT_KINDS`, e.g. ``cash_lti``); ``value`` the
      classification (:data:`TAX_CLASSES`; the local legal term is in ``note``); ``starts``
      the event that triggers the tax (:data:`TAXED_AT`: ``grant``, ``vest`` or
      ``payment``); ``unit`` empty.
  ``social_security``
      Whether social-security contributions are due on that payment and whether they are
      capped (:data:`CONTRIBUTIONS`); ``starts`` when they fall due (:data:`TAXED_AT`);
      ``unit`` empty.
  ``works_council``
      The duty towards a works council or other employee representatives before a
      variable pay plan is introduced or changed (``record_kind`` ``variable_pay``,
      :data:`CHANGES`); ``value`` the kind of duty (:data:`DUTIES`, strongest first:
      ``co_determination``, ``consent``, ``agreement``, ``consultation``,
      ``information``, ``none``); ``unit`` and ``starts`` empty.
  ``works_council_lead_time``
      How long before the plan starts that procedure has to begin, as a duration:
      ``value`` a whole number of ``unit`` (:data:`LEAD_UNITS`: ``days``, ``weeks``,
      ``months``); ``starts`` empty. A statutory period is ``in_force``; a period only
      practice suggests (e.g. to reach an agreement or an arbitration ruling in time) is
      ``guidance``; ``none`` means no procedure and ``value`` 0.
  ``discretion_review``
      The local review points of a kind of discretionary clause (``record_kind`` one of
      :data:`CLAUSES`: ``discretion`` for unilateral determinations and adjustments,
      ``forfeiture`` for malus, gates, bad-leaver and other loss of unpaid awards,
      ``clawback`` for recovery of paid ones); ``value`` names the standard a court
      applies, in words; ``unit`` and ``starts`` empty.
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
PAYMENT_KINDS = {"cash_lti": "cash long-term incentive award paid through payroll"}
TAX_CLASSES = ("employment_income", "capital_income", "not_taxable")
TAXED_AT = ("grant", "vest", "payment")  # the event that makes the payment taxable
CONTRIBUTIONS = ("due_uncapped", "due_capped", "due_partly_capped", "not_due", "depends")
CHANGES = {"variable_pay": "introducing or changing a variable (incentive) pay plan"}
DUTIES = ("co_determination", "consent", "agreement", "consultation", "information", "none")
LEAD_UNITS = ("days", "weeks", "months")
CLAUSES = {
    "discretion": "unilateral determinations: targets, adjustments, pools, caps, scoring rules",
    "forfeiture": "loss of unpaid awards: malus, gates, counter-metric cuts, leaver rules",
    "clawback": "recovery of awards already paid",
}
EMPTY = ("",)  # a column the kind does not use


@dataclass(frozen=True)
class RuleKind:
    """What a kind of rule accepts in the shared columns.

    Attributes
    ----------
    record_kind, unit, starts : tuple of str
        The values each column may take (empty tuple: free text; :data:`EMPTY`: unused, so
        the cell must be empty).
    duration : bool
        ``value`` is a period in ``unit`` (parsed into :attr:`Rule.months`, or
        :attr:`Rule.days` for days and weeks); otherwise it is kept as written and must not
        be empty.
    values : tuple of str
        The values ``value`` may take when it is not a duration (empty: free text).
    """

    record_kind: tuple[str, ...]
    unit: tuple[str, ...]
    starts: tuple[str, ...]
    duration: bool
    values: tuple[str, ...] = ()


RETENTION = RuleKind(tuple(RECORD_KINDS), UNITS, STARTS, duration=True)
PAYMENTS = tuple(PAYMENT_KINDS)
# rule kind -> what it accepts
RULE_KINDS: dict[str, RuleKind] = {
    "retention_minimum": RETENTION,
    "retention_maximum": RETENTION,
    "tax_timing": RuleKind(PAYMENTS, EMPTY, TAXED_AT, duration=False, values=TAX_CLASSES),
    "social_security": RuleKind(PAYMENTS, EMPTY, TAXED_AT, duration=False, values=CONTRIBUTIONS),
    "works_council": RuleKind(tuple(CHANGES), EMPTY, EMPTY, duration=False, values=DUTIES),
    "works_council_lead_time": RuleKind(tuple(CHANGES), LEAD_UNITS, EMPTY, duration=True),
    "discretion_review": RuleKind(tuple(CLAUSES), EMPTY, EMPTY, duration=False),
}
MAX_LEAD = {"days": 730, "weeks": 104, "months": 24}  # two years: longer is a typo
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
        For a duration in years or months, the period in months (years are converted).
    starts : str
        What the period is counted from (:data:`STARTS`), or when a payment is taxed
        (:data:`TAXED_AT`); empty for kinds that do not use it.
    source, url : str
        Statute and section (or authority), and where to read it.
    last_checked : datetime.date or None
        When the row was last compared with its source; None when unchecked.
    enforcement_status : str
        :data:`ENFORCEMENT`.
    note : str
        What else a reader must know (exceptions, related periods).
    unit : str
        The unit of a duration as written (``years``, ``months``, ``weeks``, ``days``).
    days : int or None
        For a duration in weeks or days, the period in days.
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
    unit: str = ""
    days: int | None = None

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


def _lead(value: str, unit: str, where: str, problems: list[Problem]) -> int:
    """Return a lead time as a whole number of its unit, from 0 to two years."""
    top = MAX_LEAD.get(unit, 0)
    if not value.isdigit() or int(value) > top:
        problems.append(
            Problem(where, f"must be a whole number of {unit or 'units'} from 0 to {top} "
                    f"(got {value!r})")
        )  # fmt: skip
        return 0
    return int(value)


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
        allowed = getattr(accepts, field)
        if allowed == EMPTY:
            if row[field]:
                problems.append(
                    Problem(f"{where}.{field}", f"must be empty for {kind} (got {row[field]!r})")
                )
        elif allowed:
            _choice(row[field], allowed, f"{where}.{field}", problems)
    _choice(row["enforcement_status"], ENFORCEMENT, f"{where}.enforcement_status", problems)
    for field in ("source", "url"):
        if not row[field].strip():
            problems.append(Problem(f"{where}.{field}", "must not be empty: every rule is cited"))
    if row["url"].strip() and not row["url"].startswith("https://"):
        problems.append(Problem(f"{where}.url", f"must start with https:// (got {row['url']!r})"))
    months = days = None
    value, unit = row["value"].strip(), row["unit"]
    if accepts.duration and accepts.unit == LEAD_UNITS:
        amount = _lead(value, unit, f"{where}.value", problems)
        if unit == "months":
            months = amount
        else:
            days = amount * 7 if unit == "weeks" else amount
    elif accepts.duration:
        months = _months(value, unit, f"{where}.value", problems)
    elif not value:
        problems.append(Problem(f"{where}.value", "must not be empty"))
    elif accepts.values:
        _choice(value, accepts.values, f"{where}.value", problems)
    none = row["enforcement_status"] == "none"
    if none and (months or days):
        problems.append(
            Problem(f"{where}.value", "must be 0 when enforcement_status is none (no period)")
        )
    if "none" in accepts.values and value and (value == "none") != none:
        problems.append(
            Problem(f"{where}.enforcement_status", "must be none exactly when value is none "
                    f"(got {row['enforcement_status']!r} for value {value!r})")
        )  # fmt: skip
    return Rule(
        jurisdiction=code,
        rule_kind=kind,
        record_kind=row["record_kind"],
        value=value,
        months=months,
        starts=row["starts"],
        source=row["source"].strip(),
        url=row["url"].strip(),
        last_checked=_checked(row["last_checked"], f"{where}.last_checked", problems),
        enforcement_status=row["enforcement_status"],
        note=row["note"].strip(),
        unit=unit,
        days=days,
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
