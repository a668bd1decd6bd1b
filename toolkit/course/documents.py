"""The course's documents: KPI selection matrix, plan document and annual plan review.

Each document is built as data (a :class:`Document` of headings, paragraphs, tables and
blanks to fill in) and rendered to Markdown and to one self-contained HTML page, so that the
two always say the same thing. Blank, a document is the structure a practitioner fills in;
given a batch directory (``lti batch --out``) or a run directory (``lti simulate --out``), the
toolkit fills in what the simulation measured. Every text that comes from a file (plan, KPI,
team and scenario names, descriptions, titles) is escaped, and files are written under a hidden
name and renamed into place, only inside the output directory given.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config import ConfigError
from toolkit.config.plan import BracketCurve, Curve, Plan
from toolkit.experiments.derived import plan_labels
from toolkit.metrics.context import ALL
from toolkit.metrics.registry import ordered_catalogue
from toolkit.plans import load_plan
from toolkit.plans.loading import library_plans
from toolkit.report.data import Batch, ReportError, load_batch, unknown_name
from toolkit.report.escaping import md_text, one_line

TEMPLATES = "templates"  # documents a practitioner fills in or adapts
WORKSHEETS = "worksheets"  # what a learner or a workshop fills in
BLANK = "____________"
# The page loads nothing and runs nothing: no script, no image, font or style from elsewhere.
POLICY = "default-src 'none'; style-src 'unsafe-inline'"
SCORING_COLUMNS = ("likelihood (1-5)", "impact (1-5)", "use in the plan?", "guard", "notes")

# What each gaming lever does to the record (toolkit/behaviour/reporting.py) or the world.
LEVERS: dict[str, str] = {
    "padding": "adds trivial P4 tickets resolved at once",
    "priority_downgrade": "lowers the priority of breaching incidents (a looser target)",
    "stop_the_clock": "books waiting time as on hold so the net time stays inside the target",
    "premature_closure": "closes slow incidents early and opens a follow-up ticket",
    "underreporting": "leaves minor (P4, some P3) incidents out of the record",
    "misattribution": "blames internal and change causes on vendors or outsiders",
    "cherry_picking": "works short tickets first within a priority",
    "emergency_abuse": "pushes normal changes through as emergencies to skip the CAB",
}
# Per KPI: the levers that flatter it, and the levers whose trace it shows (a counter-metric).
# misattribution flatters a KPI only where the plan excludes vendor and external causes.
GAMING_LEVERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mttr_mean_hours": (
        ("padding", "stop_the_clock", "premature_closure", "cherry_picking", "misattribution"),
        (),
    ),
    "mttr_median_hours": (
        ("padding", "stop_the_clock", "premature_closure", "cherry_picking", "misattribution"),
        (),
    ),
    "sla_attainment": (
        ("priority_downgrade", "stop_the_clock", "premature_closure", "padding", "misattribution"),
        (),
    ),
    "reopen_rate": (("padding",), ("premature_closure",)),
    "reassignment_mean": (("padding",), ()),
    "on_hold_share": (("padding",), ("stop_the_clock",)),
    "csat_mean": ((), ()),
    "csat_adjusted": ((), ()),
    "priority_change_rate": (("padding",), ("priority_downgrade",)),
    "minor_incident_share": (("underreporting",), ("padding", "priority_downgrade")),
    "incident_volume": (("underreporting", "misattribution"), ("padding", "premature_closure")),
    "sla_bunching_excess": ((), ("stop_the_clock",)),
    "availability": (("priority_downgrade", "misattribution"), ()),
    "change_throughput": (("emergency_abuse",), ()),
    "change_success_rate": ((), ("emergency_abuse",)),
    "emergency_share": ((), ("emergency_abuse",)),
    "unauthorized_count": ((), ()),
    "change_caused_incidents": (("misattribution",), ("emergency_abuse",)),
    "unjustified_emergency_count": ((), ("emergency_abuse",)),
}


class MaterialsError(ReportError):
    """A material cannot be rendered from the inputs given; the message says which and why."""


@dataclass(frozen=True)
class Heading:
    """A section heading (level 2 or 3; the title is level 1)."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of prose, shown as text."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table of text cells; numbers are formatted before they get here."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Blanks:
    """Lines to fill in by hand: each label followed by a blank."""

    labels: tuple[str, ...]


Block = Heading | Paragraph | Table | Blanks


@dataclass
class Document:
    """A document as data: a title and its blocks, for :func:`to_markdown` and :func:`to_html`."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        """Add a heading."""
        self.blocks.append(Heading(text, level))

    def paragraph(self, text: str) -> None:
        """Add a paragraph."""
        self.blocks.append(Paragraph(text))

    def table(self, frame: pd.DataFrame) -> None:
        """Add a table of a frame's cells, each shown as text (missing values blank)."""
        rows = tuple(tuple(_cell(value) for value in row) for row in frame.itertuples(index=False))
        self.blocks.append(Table(tuple(str(c) for c in frame.columns), rows))

    def blanks(self, labels: Iterable[str]) -> None:
        """Add lines to fill in by hand."""
        self.blocks.append(Blanks(tuple(labels)))


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float | np.floating):
        return f"{float(value) + 0.0:.4g}"  # + 0.0: no "-0" for a negative zero
    return str(value)


def _render(document: Document, heading, paragraph, table, blanks) -> list[str]:
    """Render each block with the function for its kind: one dispatch for every format."""
    kinds = {Heading: heading, Paragraph: paragraph, Table: table, Blanks: blanks}
    return [kinds[type(block)](block) for block in document.blocks]


def _md_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(md_text(c) for c in cells) + " |"


def to_markdown(document: Document) -> str:
    """Render a document as Markdown, every text escaped so that it shows as written.

    Parameters
    ----------
    document : Document
        What to render.

    Returns
    -------
    str
        The Markdown, ending in a newline.
    """
    blocks = _render(
        document,
        heading=lambda b: "#" * b.level + " " + md_text(b.text),
        paragraph=lambda b: md_text(b.text),
        table=lambda b: "\n".join(
            [_md_row(b.headers), "|" + " --- |" * len(b.headers), *map(_md_row, b.rows)]
        ),
        blanks=lambda b: "\n".join(f"- {md_text(label)}: {md_text(BLANK)}" for label in b.labels),
    )
    return "\n\n".join([f"# {md_text(document.title)}", *blocks]) + "\n"


STYLE = (
    "body{font-family:sans-serif;max-width:75em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #bbb;"
    "padding:.3em .5em;vertical-align:top;text-align:left}th{background:#eee}"
    "td:empty{min-width:5em}ul.blanks{list-style:none;padding:0}ul.blanks li{margin:.8em 0}"
    "span.blank{display:inline-block;min-width:20em;border-bottom:1px solid #000}"
)


def _text(value: str) -> str:
    return escape(one_line(value))


def _html_table(block: Table) -> str:
    head = "".join(f"<th>{_text(h)}</th>" for h in block.headers)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_text(c)}</td>" for c in row) + "</tr>\n" for row in block.rows
    )
    return f"<table>\n<tr>{head}</tr>\n{rows}</table>"


def to_html(document: Document) -> str:
    """Render a document as one self-contained HTML page: no script, nothing loaded from elsewhere.

    A content security policy in the page forbids script and outside resources; every text
    is escaped.
    """
    blocks = _render(
        document,
        heading=lambda b: f"<h{b.level}>{_text(b.text)}</h{b.level}>",
        paragraph=lambda b: f"<p>{_text(b.text)}</p>",
        table=_html_table,
        blanks=lambda b: (
            '<ul class="blanks">'
            + "".join(f'<li>{_text(label)}: <span class="blank"></span></li>' for label in b.labels)
            + "</ul>"
        ),
    )
    head = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(POLICY)}">',
        f"<title>{_text(document.title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_text(document.title)}</h1>",
    ]
    return "\n".join([*head, *blocks, "</body></html>\n"])


# ---------------------------------------------------------------------------------------------
# Writing files


def file_stem(name: str) -> str:
    """Reduce a name to a safe file stem: letters, digits, ``_``, ``.`` and ``-`` only."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", one_line(name)).strip("._")
    return stem or "unnamed"


def material_path(output_dir: str | Path, folder: str, name: str) -> Path:
    """Return where a material is written: ``output_dir/folder/name``, never anywhere else.

    Parameters
    ----------
    output_dir : path
        The output directory.
    folder : str
        :data:`TEMPLATES` or :data:`WORKSHEETS`.
    name : str
        The file name, without any directory.

    Returns
    -------
    Path
        The file's path (its folder created).

    Raises
    ------
    MaterialsError
        If the folder is not one of the two, the name holds a directory, or ``output_dir``
        is a file.
    """
    if folder not in (TEMPLATES, WORKSHEETS):
        raise MaterialsError(f"folder {folder!r}: materials go in {TEMPLATES} or {WORKSHEETS}")
    if not name or Path(name).name != name or name.startswith("."):
        raise MaterialsError(f"{name!r}: a material's name is a plain, visible file name")
    root = Path(output_dir).expanduser()
    if root.exists() and not root.is_dir():
        raise MaterialsError(f"output_dir {root}: is a file, not a directory")
    directory = root / folder
    directory.mkdir(parents=True, exist_ok=True)
    return directory / name


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write a file under a hidden name beside it, then rename it into place.

    Parameters
    ----------
    path : Path
        The file to write.
    data : str or bytes
        The content (text is written as UTF-8).

    Returns
    -------
    Path
        ``path``.
    """
    partial = path.with_name(f".{path.name}.partial")
    try:
        if isinstance(data, str):
            partial.write_text(data, encoding="utf-8", newline="\n")
        else:
            partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_document(document: Document, output_dir: str | Path, stem: str) -> list[Path]:
    """Write a document as ``stem.md`` and ``stem.html`` into ``output_dir/templates/``.

    Parameters
    ----------
    document : Document
        The document.
    output_dir : path
        The output directory.
    stem : str
        The file name without suffix (reduced to a safe name).

    Returns
    -------
    list of Path
        The Markdown file and the HTML file.
    """
    stem = file_stem(stem)
    return [
        write_atomic(material_path(output_dir, TEMPLATES, f"{stem}.md"), to_markdown(document)),
        write_atomic(material_path(output_dir, TEMPLATES, f"{stem}.html"), to_html(document)),
    ]


# ---------------------------------------------------------------------------------------------
# Batch inputs


def batch_of(results_dir: str | Path) -> Batch | None:
    """Return the batch in ``results_dir``, or None for ``""`` (the blank materials).

    Raises
    ------
    MaterialsError
        If ``results_dir`` is given and is not a batch directory, naming it and why.
    """
    if not str(results_dir or ""):
        return None
    try:
        return load_batch(results_dir)
    except ReportError as error:
        raise MaterialsError(f"results_dir: {error}") from None


def require_batch(results_dir: str | Path) -> Batch:
    """Return the batch in ``results_dir``; unlike :func:`batch_of`, ``""`` is refused too."""
    batch = batch_of(results_dir)
    if batch is None:
        raise MaterialsError("results_dir: no batch directory given")
    return batch


def _start_after(batch: Batch, plan: str) -> int:
    model = batch.plan_model(plan)
    if model is None:
        try:
            model = load_plan(plan)
        except (ConfigError, OSError):
            raise MaterialsError(
                f"{batch.directory}: cannot read plan {plan!r} as the batch ran it (its file "
                "is gone or changed), so its plan periods are unknown"
            ) from None
    return model.start_after_periods


def measured_gaps(results_dir: str | Path) -> pd.DataFrame:
    """Measure every KPI's gaming gap under every plan of a batch: what the record flatters.

    Per run, the team-level KPI (all services) is averaged over teams and plan periods on the
    record and on the truth; the gap is reported minus true, signed so that a positive gap
    means the record looks better than the truth (as in
    :func:`toolkit.experiments.kpi_ranking.rank_kpis`), then averaged over seeds.

    Parameters
    ----------
    results_dir : path
        A batch directory (``lti batch --out``).

    Returns
    -------
    DataFrame
        Columns ``scenario, plan, kpi, reported_minus_true, gaming_gap, runs``.

    Raises
    ------
    MaterialsError
        If ``results_dir`` is not a batch directory.
    """
    batch = require_batch(results_dir)
    kpis = batch.run_table("kpis")
    kpis = kpis[(kpis["service_id"] == ALL) & (kpis["team_id"] != ALL)]
    better = {kpi.name: kpi.direction for kpi in ordered_catalogue()}
    kpis = kpis[kpis["kpi"].isin(better)]
    rows = []
    for (scenario, plan, seed), run in kpis.groupby(["scenario", "plan", "seed"], sort=True):
        during, _ = plan_labels(run["period"], _start_after(batch, plan))
        run = run[run["period"].isin(during)]
        wide = run.pivot_table(
            index=["kpi", "period", "team_id"], columns="view", values="value", aggfunc="first"
        ).dropna()
        if not {"true", "reported"} <= set(wide.columns):
            continue
        gap = (wide["reported"] - wide["true"]).groupby(level="kpi").mean()
        for kpi, value in gap.items():
            rows.append((scenario, plan, seed, kpi, float(value)))
    table = pd.DataFrame(rows, columns=["scenario", "plan", "seed", "kpi", "reported_minus_true"])
    table = (
        table.groupby(["scenario", "plan", "kpi"], sort=True)["reported_minus_true"]
        .agg(["mean", "size"])
        .rename(columns={"mean": "reported_minus_true", "size": "runs"})
        .reset_index()
    )
    sign = np.where(table["kpi"].map(better) == "higher", 1.0, -1.0)
    table.insert(4, "gaming_gap", table["reported_minus_true"] * sign)
    return table


def _gap_label(scenario: str, plan: str, several: bool) -> str:
    return f"gaming gap under {plan}" + (f" on {scenario}" if several else "")


# ---------------------------------------------------------------------------------------------
# KPI selection matrix


def kpi_matrix(results_dir: str | Path = "") -> pd.DataFrame:
    """Tabulate every KPI of the catalogue with what can game it, for choosing what to pay for.

    Parameters
    ----------
    results_dir : path
        A batch directory, to add each plan's measured gaming gap per KPI
        (:func:`measured_gaps`); ``""`` leaves them out.

    Returns
    -------
    DataFrame
        One row per KPI in catalogue order: ``kpi, unit, direction, indicator, gamed by``
        (levers that flatter it), ``shows`` (levers whose trace it shows, i.e. it can serve as
        a counter-metric), then one ``gaming gap under PLAN`` column per plan of the batch (in
        the KPI's unit, positive = the record flatters), then the blank scoring columns
        :data:`SCORING_COLUMNS`.

    Raises
    ------
    MaterialsError
        If ``results_dir`` is given and is not a batch directory.
    """
    rows = []
    for kpi in ordered_catalogue():
        flatter, shows = GAMING_LEVERS.get(kpi.name, ((), ()))
        rows.append(
            {
                "kpi": kpi.name,
                "unit": kpi.unit,
                "direction": f"{kpi.direction} is better",
                "indicator": kpi.indicator,
                "gamed by": ", ".join(flatter) or "none known",
                "shows": ", ".join(shows),
            }
        )
    matrix = pd.DataFrame(rows)
    if str(results_dir or ""):
        gaps = measured_gaps(results_dir)
        several = gaps["scenario"].nunique() > 1
        for (scenario, plan), part in gaps.groupby(["scenario", "plan"], sort=True):
            label = _gap_label(scenario, plan, several)
            matrix[label] = matrix["kpi"].map(part.set_index("kpi")["gaming_gap"])
    for column in SCORING_COLUMNS:
        matrix[column] = ""
    return matrix


def kpi_matrix_document(matrix: pd.DataFrame, title: str = "KPI selection matrix") -> Document:
    """Build the KPI selection matrix document from :func:`kpi_matrix`'s table.

    Parameters
    ----------
    matrix : DataFrame
        From :func:`kpi_matrix`.
    title : str
        The document's title.

    Returns
    -------
    Document
        How to read and score the matrix, the matrix, the levers, and sign-off blanks.
    """
    doc = Document(title)
    doc.paragraph(
        "Which KPIs can carry a long-term incentive without being gamed? Each KPI of the "
        "catalogue is listed with its unit, its better direction, whether it leads or lags "
        "service health, the gaming levers that flatter it and the levers whose trace it "
        "shows (a KPI that shows a lever can watch for it as a counter-metric)."
    )
    gaps = [c for c in matrix.columns if c.startswith("gaming gap under ")]
    if gaps:
        doc.paragraph(
            "The gaming gap columns are measured in the batch: the KPI on the record minus "
            "the KPI on the truth, per team over the plan periods, averaged over seeds, in "
            "the KPI's unit and signed so that a positive gap means the record looks better "
            "than what happened."
        )
    doc.paragraph(
        "Score each KPI: the likelihood (1 to 5) that teams game it under your plan, the "
        "impact (1 to 5) if they do, whether to use it in the plan, and the guard "
        "(counter-metric, audit, gate) that would catch the gaming."
    )
    doc.heading("Matrix")
    doc.table(matrix)
    doc.heading("Gaming levers")
    doc.table(pd.DataFrame({"lever": list(LEVERS), "what it does": list(LEVERS.values())}))
    doc.paragraph(
        "misattribution flatters a KPI only where the plan excludes vendor and external "
        "causes from it."
    )
    doc.heading("Decision")
    doc.blanks(["KPIs chosen", "Guards chosen", "Prepared by", "Reviewed by", "Date"])
    return doc


# ---------------------------------------------------------------------------------------------
# Plan document


def resolve_plan(plan: str | Path) -> Plan:
    """Load a library plan by name or a plan file, with a clear error naming it.

    Raises
    ------
    MaterialsError
        For an unknown plan name (with the closest and all library plans) or a file that does
        not load (with the loader's reasons).
    """
    try:
        return load_plan(plan)
    except ConfigError as error:
        text = str(plan)
        if "/" not in text and not text.endswith((".yaml", ".yml")):
            raise MaterialsError(unknown_name("plan", text, library_plans())) from None
        raise MaterialsError(f"plan {text!r}: {error}") from None


def default_plan(results_dir: str | Path = "", blank: str = "balanced_guarded") -> str:
    """Return the plan a material is about when none is named.

    Parameters
    ----------
    results_dir : path
        A batch directory, or ``""``.
    blank : str
        The plan of the blank materials.

    Returns
    -------
    str
        With a batch, its first plan by name other than its reference plan (the reference
        when it holds nothing else); without one, ``blank``.

    Raises
    ------
    MaterialsError
        If ``results_dir`` is given and is not a batch directory.
    """
    batch = batch_of(results_dir)
    if batch is None:
        return blank
    others = [plan for plan in batch.plans() if plan != batch.reference]
    return (others or batch.plans())[0]


def _pct(value: float) -> str:
    return f"{value:g} %"


def _curve_rows(curve: Curve) -> list[tuple[str, str, str]]:
    if isinstance(curve, BracketCurve):
        reach = "at least" if curve.direction == "higher" else "at most"
        return [(f"bracket ({reach})", f"{b.level:g}", _pct(b.payout_pct)) for b in curve.brackets]
    return [
        (name, f"{point.level:g}", _pct(point.payout_pct))
        for name, point in (
            ("threshold", curve.threshold),
            ("target", curve.target),
            ("maximum", curve.maximum),
        )
    ]


def _baseline_text(metric) -> str:
    if metric.basis != "improvement":
        return "none (level)"
    policy = metric.baseline.policy
    if policy == "fixed":
        return "fixed (pre-plan mean)"
    return f"{policy} ({metric.baseline.window_periods} periods)"


def _money(value: object, currency: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "not defined"
    return f"{value:,.0f} {currency}".strip()


def plan_summary(results_dir: str | Path, plan: str) -> pd.DataFrame:
    """Return what a plan cost and bought in a batch: its summary rows, one per scenario.

    Parameters
    ----------
    results_dir : path
        A batch directory.
    plan : str
        A plan of the batch, by name.

    Returns
    -------
    DataFrame
        The batch's ``summary.parquet`` rows of the plan.

    Raises
    ------
    MaterialsError
        If ``results_dir`` is not a batch, or the plan is not in it (naming the batch's plans).
    """
    batch = require_batch(results_dir)
    rows = batch.summary[batch.summary["plan"] == plan]
    if not len(rows):
        raise MaterialsError(
            f"results_dir {batch.directory}: " + unknown_name("plan", plan, batch.plans())
        )
    return rows.assign(currency=[batch.currency(s) for s in rows["scenario"]]).reset_index(
        drop=True
    )


def plan_document(
    plan: str | Path, results_dir: str | Path = "", title: str | None = None
) -> Document:
    """Build a readable plan document from a plan YAML, with blanks for sign-off.

    Parameters
    ----------
    plan : str or path
        A library plan name (``balanced``) or a plan file.
    results_dir : path
        A batch directory holding the plan, to add what it cost and bought there; ``""``
        leaves that section to fill in.
    title : str, optional
        The title; by default ``Incentive plan: NAME``.

    Returns
    -------
    Document
        Purpose, eligibility and award size, metrics with weights, baselines and curves,
        counter-metrics, gates, audits, vesting and deferral, malus and clawback, funding and
        caps, results (from the batch) and sign-off.

    Raises
    ------
    MaterialsError
        For an unknown plan or a file that does not load, a ``results_dir`` that is not a
        batch, or a plan the batch does not hold.
    """
    model = resolve_plan(plan)
    doc = Document(title or f"Incentive plan: {model.name}")
    doc.heading("Purpose")
    doc.paragraph(model.description)
    if model.extends:
        doc.paragraph(f"A reform of plan {model.extends}: it changes that plan's fields.")
    if model.provenance is not None:
        doc.paragraph(
            f"Author: {model.provenance.author}; source: {model.provenance.source or 'none'}; "
            f"approved on: {model.provenance.approved_on or 'not yet'}."
        )
    doc.heading("Eligibility and award size")
    doc.paragraph(
        f"Measured for {model.start_after_periods} period(s) before the plan starts (the "
        f"baseline); performance is measured over {model.performance_period_years} year(s); "
        f"a grant every {model.grant_every_years} year(s). Target award per grant as % of "
        f"base salary (grades not listed: {_pct(model.default_target_award_pct)})."
    )
    grades = sorted(model.target_award_pct.items())
    doc.table(pd.DataFrame(grades or [("all", 0.0)], columns=["grade", "target award % of base"]))
    doc.blanks(["Eligible population", "Exclusions (leavers, new joiners)"])
    _plan_metrics(doc, model)
    _plan_guards(doc, model)
    _plan_money(doc, model)
    _plan_results(doc, model, results_dir)
    doc.heading("Sign-off")
    doc.blanks(["Plan owner", "HR", "Finance (CFO)", "IT (CIO)", "Legal", "Works council", "Date"])
    return doc


def _plan_metrics(doc: Document, model: Plan) -> None:
    """Add the metrics with their weights, baselines and curves."""
    doc.heading("Metrics and weights")
    if model.metrics:
        total = sum(m.weight for m in model.metrics)
        doc.table(
            pd.DataFrame(
                [
                    (
                        m.kpi,
                        f"{100 * m.weight / total:.1f} %",
                        m.basis,
                        _baseline_text(m),
                        m.normalisation,
                        ", ".join(m.exclude_root_causes) or "none",
                        f"{m.tolerance:g}",
                    )
                    for m in model.metrics
                ],
                columns=[
                    "kpi",
                    "weight",
                    "basis",
                    "baseline",
                    "normalisation",
                    "excluded root causes",
                    "SLA tolerance",
                ],
            )
        )
        doc.paragraph(f"Attribution of shared services: {model.attribution}.")
        doc.heading("Curves", 3)
        for m in model.metrics:
            doc.paragraph(f"{m.kpi} ({m.basis}): payout as % of the metric's target award.")
            doc.table(pd.DataFrame(_curve_rows(m.curve), columns=["point", "level", "payout"]))
    else:
        doc.paragraph("The plan rewards no metric: fixed pay.")


def _trigger_text(trigger) -> str:
    if trigger.rise_pct_over_baseline is not None:
        return f"rises {trigger.rise_pct_over_baseline:g} % over its baseline"
    if trigger.above is not None:
        return f"above {trigger.above:g}"
    return f"below {trigger.below:g}"


def _plan_guards(doc: Document, model: Plan) -> None:
    """Add the counter-metrics, gates and audits."""
    doc.heading("Counter-metrics")
    if model.counter_metrics:
        rows = []
        for c in model.counter_metrics:
            action = c.action
            if c.multiplier is not None:
                action += f" (award times {c.multiplier:g})"
            elif c.metric is not None:
                action += f" ({c.metric})"
            rows.append((c.kpi, _trigger_text(c.trigger), action))
        doc.table(pd.DataFrame(rows, columns=["kpi", "fires when", "action"]))
    else:
        doc.paragraph("None.")
    doc.heading("Gates")
    if model.gates:
        doc.table(
            pd.DataFrame(
                [(g.kpi, f"{g.at_least:g}") for g in model.gates],
                columns=["kpi", "the year's award is zero when the year's total reaches"],
            )
        )
    else:
        doc.paragraph("None.")
    doc.heading("Audits")
    audit = model.audit
    doc.paragraph(
        f"Each team is audited with probability {audit.probability_per_period:g} per period; "
        f"an audit samples {audit.sample_size} tickets and recognises a gamed one with "
        f"probability {audit.detection_power:g}; root causes are "
        f"{'' if audit.root_cause_audit else 'not '}checked against outage records."
    )


def _plan_money(doc: Document, model: Plan) -> None:
    """Add vesting and deferral, malus and clawback, funding and caps."""
    doc.heading("Vesting and deferral")
    vesting = model.vesting
    doc.paragraph(
        f"Vesting: {vesting.schedule}; deferral: {vesting.deferral_share:.0%} of each vested "
        f"amount held for {vesting.deferral_years} year(s)."
    )
    doc.heading("Malus and clawback")
    doc.paragraph(
        f"Malus: {model.malus.reduction:.0%} of unvested awards forfeited on "
        f"{', '.join(model.malus.triggers)}."
        if model.malus
        else "Malus: none."
    )
    doc.paragraph(
        f"Clawback: {model.clawback.recovery:.0%} of payments in the last "
        f"{model.clawback.lookback_years} year(s) recovered on "
        f"{', '.join(model.clawback.triggers)}."
        if model.clawback
        else "Clawback: none."
    )
    doc.heading("Funding and caps")
    funding = model.funding
    if funding is None:
        doc.paragraph("Funding: no pool (awards are paid as earned).")
    elif funding.basis == "service_budget":
        doc.paragraph(
            f"Funding: {funding.budget_share_pct:g} % of owned services' annual budgets, "
            "multiplied by criticality tier "
            + ", ".join(f"{t}: {m:g}" for t, m in sorted(funding.criticality_multiplier.items()))
            + "."
        )
    else:
        doc.paragraph(f"Funding: {funding.amount_per_head:,.0f} per person per year.")
    doc.paragraph(
        f"Cap: {model.cap.pct_of_personnel_cost:g} % of annual base salaries; awards scale "
        "pro rata when it binds."
        if model.cap
        else "Cap: none."
    )


def _plan_results(doc: Document, model: Plan, results_dir: str | Path) -> None:
    """Add what the plan cost and bought in a batch, or blanks for the estimate."""
    doc.heading("What the plan cost and bought")
    if str(results_dir or ""):
        summary = plan_summary(results_dir, model.name)
        doc.paragraph(
            "From the batch, means over seeds; net value is loss avoided + value added − "
            "extra awards against the batch's reference plan on the same seeds."
        )
        doc.table(
            pd.DataFrame(
                [
                    (
                        row.scenario,
                        str(row.seeds),
                        _money(row.total_awards, row.currency),
                        _money(row.business_loss, row.currency),
                        _money(row.delivery_value, row.currency),
                        _money(row.net_value, row.currency),
                        f"{row.gaming_index:.1f}",
                        _money(row.liability_p90, row.currency),
                    )
                    for row in summary.itertuples(index=False)
                ],
                columns=[
                    "scenario",
                    "seeds",
                    "total awards",
                    "business loss",
                    "delivery value",
                    "net value",
                    "gaming index",
                    "liability P90",
                ],
            )
        )
    else:
        doc.blanks(["Expected cost per year", "Expected benefit", "Evidence (batch, report)"])


# ---------------------------------------------------------------------------------------------
# Annual plan review


# What each signature of toolkit/report/review.py measures, the evidence a reviewer collects,
# and the KPI that shows it in a batch, which keeps KPIs but not the logs.
SIGNATURES: dict[str, tuple[str, str, str | None]] = {
    "padding": (
        "short P4 tickets without surveys",
        "ticket export with priority, opened/resolved times and surveys; sample the shortest",
        "minor_incident_share",
    ),
    "clock_stopping": (
        "on-hold time ending in the last 10% of the SLA target",
        "on-hold reasons and timestamps of tickets resolved just under the target",
        "on_hold_share",
    ),
    "priority_downgrade": (
        "priority lowered after opening",
        "priority change history with who changed it and why",
        "priority_change_rate",
    ),
    "bunching": (
        "resolutions bunched just under the SLA target",
        "net resolution times against targets (sla_bunching_excess)",
        "sla_bunching_excess",
    ),
    "misattribution": (
        "supplier causes with no outage record",
        "root causes against the vendors' outage records and tickets",
        None,
    ),
    "cab_skipping": (
        "emergency share of changes; emergencies without a reason",
        "change records with type, CAB review and justification",
        "emergency_share",
    ),
    "underreporting": (
        "true incidents missing from the record; without a truth, a fall in P4 volume",
        "monitoring alerts and service desk contacts against recorded incidents",
        "incident_volume",
    ),
}
DECISIONS = (
    "Signatures accepted as gaming",
    "Plan changes (metrics, weights, curves)",
    "New or changed guards (counter-metrics, audits, gates)",
    "Malus or clawback to apply",
    "Owner and date of each action",
)


def has_run_logs(directory: Path) -> bool:
    """Tell whether ``directory`` is a run with a reported log, or holds such runs."""
    return (directory / "reported" / "log.json").is_file() or any(
        directory.glob("**/reported/log.json")
    )


def signature_kpis(results_dir: str | Path) -> pd.DataFrame:
    """Measure each gaming signature's KPI before and during the plan, from a batch's KPIs.

    A batch keeps its runs' KPIs, not their logs; the review's ticket-level tests need the
    logs, but the KPIs that show each signature can still be compared. Organisation level
    (team and service ``ALL``), means over the periods and seeds.

    Parameters
    ----------
    results_dir : path
        A batch directory.

    Returns
    -------
    DataFrame
        Columns ``scenario, plan, signature, kpi, before, during, change, true_during``:
        the KPI on the record before the plan and during it, their difference, and the KPI
        on the truth during the plan.

    Raises
    ------
    MaterialsError
        If ``results_dir`` is not a batch directory.
    """
    batch = require_batch(results_dir)
    wanted = {kpi: name for name, (_, _, kpi) in SIGNATURES.items() if kpi}
    kpis = batch.run_table("kpis")
    kpis = kpis[(kpis["team_id"] == ALL) & (kpis["service_id"] == ALL) & kpis["kpi"].isin(wanted)]
    parts = []
    for (_, plan, _), run in kpis.groupby(["scenario", "plan", "seed"], sort=True):
        during, _ = plan_labels(run["period"], _start_after(batch, plan))
        span = np.where(run["period"].isin(during), "during", "before")
        parts.append(run.assign(span=span))
    table = pd.concat(parts, ignore_index=True)
    means = (
        table.groupby(["scenario", "plan", "kpi", "view", "span", "seed"])["value"]
        .mean()
        .groupby(level=["scenario", "plan", "kpi", "view", "span"])
        .mean()
        .unstack(["view", "span"])
    )
    out = pd.DataFrame(
        {
            "before": means.get(("reported", "before")),
            "during": means.get(("reported", "during")),
            "true_during": means.get(("true", "during")),
        }
    ).reset_index()
    out["change"] = out["during"] - out["before"]
    out.insert(2, "signature", out["kpi"].map(wanted))
    order = {name: i for i, name in enumerate(SIGNATURES)}
    out = out.sort_values(["scenario", "plan", "signature"], key=lambda s: s.map(order).fillna(s))
    columns = ["scenario", "plan", "signature", "kpi", "before", "during", "change", "true_during"]
    return out[columns].reset_index(drop=True)


def audit_findings(results_dir: str | Path) -> pd.DataFrame:
    """Count the audits of a batch's runs and what they found, per scenario and plan.

    Parameters
    ----------
    results_dir : path
        The batch whose runs' behaviour tables (audits, findings) are read.

    Returns
    -------
    DataFrame
        Columns ``scenario, plan, seeds, team_periods, audited, with_findings, found``: team
        periods in all seeds, those audited, those where an audit found gaming, and the kinds
        of gaming found (comma-separated, sorted).

    Raises
    ------
    MaterialsError
        If ``results_dir`` holds no batch (naming it and why).
    """
    batch = require_batch(results_dir)
    behaviour = batch.run_table("behaviour")
    rows = []
    for (scenario, plan), part in behaviour.groupby(["scenario", "plan"], sort=True):
        findings = part["findings"].fillna("").astype(str)
        kinds = sorted({kind for text in findings for kind in text.split(",") if kind})
        rows.append(
            (
                scenario,
                plan,
                part["seed"].nunique(),
                len(part),
                int(part["audited"].astype(bool).sum()),
                int((findings != "").sum()),
                ", ".join(kinds) or "none",
            )
        )
    columns = ["scenario", "plan", "seeds", "team_periods", "audited", "with_findings", "found"]
    return pd.DataFrame(rows, columns=columns)


def review_document(
    results_dir: str | Path = "", title: str = "Annual plan review"
) -> tuple[Document, pd.DataFrame | None]:
    """Build the annual plan review: the signatures to examine, the evidence and the decisions.

    Parameters
    ----------
    results_dir : path
        ``""`` for the blank review; a run directory (``lti simulate --out``) or any directory
        whose runs keep their logs, for the review table of :func:`toolkit.report.review.review`;
        a batch directory (whose runs keep only KPIs) for each signature's KPI before and
        during the plan (:func:`signature_kpis`).
    title : str
        The title.

    Returns
    -------
    tuple
        The document, and the table it was filled from (None when blank).

    Raises
    ------
    MaterialsError
        If ``results_dir`` is neither a directory with runs' logs nor a batch directory.
    """
    from toolkit.report.review import ALPHA, review

    doc = Document(title)
    doc.paragraph(
        "Once a year, look for the plan's unintended consequences in the record: compare "
        "what was recorded during the plan with the periods before it, for every gaming "
        "signature below, per team and for the organisation, and record the decisions."
    )
    doc.heading("Scope")
    doc.blanks(["Plan and version", "Review period", "Teams covered", "Reviewers", "Data sources"])
    doc.heading("Gaming signatures")
    doc.table(
        pd.DataFrame(
            [
                (name, what, evidence, kpi or "")
                for name, (what, evidence, kpi) in SIGNATURES.items()
            ],
            columns=["signature", "what it looks like", "evidence to collect", "KPI that shows it"],
        )
    )
    doc.heading("Findings")
    filled: pd.DataFrame | None = None
    directory = Path(str(results_dir)).expanduser() if str(results_dir or "") else None
    if directory is None:
        doc.table(
            pd.DataFrame(
                [(name, "", "", "", "", "") for name in SIGNATURES],
                columns=["signature", "before", "during", "significant?", "confirmed?", "notes"],
            )
        )
    elif directory.is_dir() and has_run_logs(directory):
        filled, _ = review(directory)
        found = filled[filled["found"].astype(bool)]
        doc.paragraph(
            f"From the logs of {filled['run'].nunique()} run(s) in {directory.name}: "
            f"{len(found)} signature(s) significant at the {ALPHA:.0%} level (one-sided tests "
            "of the record during the plan against the record before it); confirmed means at "
            "least half of the change is in the record and not in the true log."
        )
        shown = filled[["run", "signature", "team_id", "before", "during", "size", "p_value"]]
        shown = shown.assign(
            found=filled["found"].map({True: "yes", False: "no"}),
            confirmed=filled["confirmed"].map({True: "yes", False: "no"}),
            evidence=filled["evidence"],
        )
        doc.table(shown)
    else:
        filled = signature_kpis(directory)
        doc.paragraph(
            f"From the KPIs of the batch in {directory.name}, organisation level, means over "
            "seeds: each signature's KPI on the record before and during the plan, and on the "
            "truth during it. A batch keeps no event logs, so the ticket-level tests of the "
            "review (significance, confirmation, misattribution against outage records) are "
            "missing: simulate a run of the plan (lti simulate) and review it (lti review) "
            "for them."
        )
        doc.table(filled)
        doc.paragraph(
            "Audits in the batch: team periods audited over all seeds, those where the audit "
            "found gaming, and what it found."
        )
        doc.table(audit_findings(directory))
    doc.heading("Decisions")
    doc.blanks(DECISIONS)
    doc.heading("Sign-off")
    doc.blanks(["Review board chair", "HR", "Finance", "Date"])
    return doc, filled


def preview(paths: Sequence[Path], output_dir: str | Path) -> pd.DataFrame:
    """List the files a notebook wrote, relative to ``output_dir``, with their sizes."""
    root = Path(output_dir).expanduser()
    return pd.DataFrame(
        [(p.relative_to(root).as_posix(), p.stat().st_size) for p in paths],
        columns=["file", "bytes"],
    )
