"""The equal-pay report as one self-contained HTML page: conventions first, then each indicator."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from toolkit.compliance.pay_gap import (
    BY_CATEGORY,
    FOUR_FIFTHS_RULE,
    JOINT_ASSESSMENT,
    MEAN_GAP,
    MEDIAN_GAP,
    QUARTILES,
    RECEIVING,
    VARIABLE_MEAN_GAP,
    VARIABLE_MEDIAN_GAP,
)
from toolkit.compliance.pay_gap_plans import GAPS

STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:2em auto;line-height:1.4}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.25em .6em;"
    "text-align:left;vertical-align:top}.note{background:#fff4d6;padding:.6em}"
)


def _number(value, digits: int = 1, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return f"{value:,.{digits}f}{suffix}"


def _with_interval(value, low, high, suffix: str) -> str:
    return f"{_number(value, suffix=suffix)} [{_number(low)}, {_number(high)}]"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _gap_cell(entry: dict) -> str:
    if entry["status"] == "reported":
        return _number(entry["value_percent"], suffix=" %")
    return f"{entry['status']} ({entry.get('reason', '')})"


def _page(title: str, sections: list[str], conventions: dict, note: str) -> str:
    shown = _table(
        ["convention", "value", "meaning"],
        [[name, str(c["value"]), c["meaning"]] for name, c in conventions.items()],
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p class='note'>{escape(note)}</p>{''.join(sections)}"
        f"<h2>Conventions</h2>{shown}</body></html>"
    )


def report_html(report: dict) -> str:
    """Render one :func:`~toolkit.compliance.pay_gap.pay_gap_report` as HTML.

    Parameters
    ----------
    report : dict
        The report.

    Returns
    -------
    str
        The page, with the conventions and the not-legal-advice note.
    """
    population = report["population"]
    sections = [
        f"<p>Reference year {escape(str(report['reference_year']))}: {population['workers']} "
        f"workers, {population['women']} women, {population['men']} men, other genders "
        f"{escape(str(population['other_genders']))}. "
        f"{escape(population['other_genders_treatment'])}</p>",
        "<h2>Art. 9(1)(a)-(d): gaps, (men − women) / men</h2>",
        _table(
            ["article", "indicator", "gap", "women", "men", "n women", "n men"],
            [
                [
                    report[key]["article"],
                    key,
                    _gap_cell(report[key]),
                    _number(report[key].get("women"), 2),
                    _number(report[key].get("men"), 2),
                    str(report[key]["n_women"]),
                    str(report[key]["n_men"]),
                ]
                for key in (MEAN_GAP, VARIABLE_MEAN_GAP, MEDIAN_GAP, VARIABLE_MEDIAN_GAP)
            ],
        ),
        "<h2>Art. 9(1)(e): share receiving variable pay</h2>",
        _table(
            ["group", "n", "share receiving"],
            [
                [who, str(e["n"]), _number(100 * e["share_receiving"], suffix=" %")]
                if "share_receiving" in e
                else [who, str(e["n"]), e.get("status", "–")]
                for who, e in report[RECEIVING].items()
                if isinstance(e, dict)
            ],
        ),
        "<h2>Art. 9(1)(f): quartile pay bands</h2>",
        _table(
            ["band", "n", "women", "men", "other genders", "share women", "share men"],
            [
                [
                    band,
                    str(e["n"]),
                    str(e["n_women"]),
                    str(e["n_men"]),
                    str(e["n_other_genders"]),
                    _number(100 * e["share_women"], suffix=" %")
                    if "share_women" in e
                    else e["status"],
                    _number(100 * e["share_men"], suffix=" %") if "share_men" in e else e["status"],
                ]
                for band, e in report[QUARTILES].items()
                if isinstance(e, dict)
            ],
        ),
        "<h2>Art. 9(1)(g): gap per category of workers</h2>",
        _table(
            ["category", "basic wage or salary", "variable components", "pay"],
            [
                [
                    name,
                    _gap_cell(e["ordinary_basic_wage_or_salary"]),
                    _gap_cell(e["complementary_or_variable_components"]),
                    _gap_cell(e["pay"]),
                ]
                for name, e in report[BY_CATEGORY].items()
                if isinstance(e, dict)
            ],
        ),
        "<h2>Art. 10: joint pay assessment</h2>",
        f"<p>{escape(report[JOINT_ASSESSMENT]['rule'])}; criteria: "
        f"{escape(', '.join(report[JOINT_ASSESSMENT]['criteria']) or 'none')}.</p>",
        _table(
            ["category", "gap", "unexplained", "interval", "flag", "status"],
            [
                [
                    name,
                    _number(e["gap_percent"], suffix=" %"),
                    _number(e.get("unexplained_percent"), suffix=" %"),
                    "–"
                    if not e.get("unexplained_interval_percent")
                    else "[{:.1f}, {:.1f}] %".format(*e["unexplained_interval_percent"]),
                    str(e["flag"]),
                    e["status"],
                ]
                for name, e in report[JOINT_ASSESSMENT]["categories"].items()
            ],
        ),
        "<h2>US four-fifths rule on receiving an award</h2>",
        f"<p>{escape(report[FOUR_FIFTHS_RULE]['rule'])}.</p>",
        _table(
            ["group", "n", "selected", "rate", "impact ratio", "adverse", "Fisher p"],
            [
                [
                    g,
                    str(e["n"]),
                    str(e.get("selected", "–")),
                    _number(e.get("rate"), 3),
                    _number(e.get("impact_ratio"), 3),
                    str(e.get("adverse_impact", e["status"])),
                    _number(e.get("fisher_p_value"), 4),
                ]
                for g, e in report[FOUR_FIFTHS_RULE]["groups"].items()
            ],
        ),
    ]
    return _page(report["title"], sections, report["conventions"], report["not_legal_advice"])


def plans_html(plans: pd.DataFrame, conventions: dict, note: str, reference: str | None) -> str:
    """Render the per-plan pay gaps of a batch, next to its plan comparison, as HTML.

    Parameters
    ----------
    plans : DataFrame
        :func:`~toolkit.compliance.pay_gap_plans.plan_pay_gaps`, with ``net_value`` (and its
        interval) joined from the batch summary where known.
    conventions : dict
        :func:`~toolkit.compliance.pay_conventions.describe_conventions`.
    note : str
        The not-legal-advice note.
    reference : str or None
        The reference plan.

    Returns
    -------
    str
        The page.
    """
    rows = []
    for _, r in plans.iterrows():
        cells = [r["scenario"], r["plan"], str(int(r["seeds"])), _number(r.get("net_value"), 0)]
        for key in GAPS[:2]:
            cells += [
                _with_interval(r[key], r[f"{key}_low"], r[f"{key}_high"], " %"),
                _with_interval(
                    r[f"{key}_vs_reference"],
                    r[f"{key}_vs_reference_low"],
                    r[f"{key}_vs_reference_high"],
                    " pt",
                ),
            ]
        cells.append(_number(100 * r["seeds_flagged"], 0, " %"))
        rows.append(cells)
    header = [
        "scenario",
        "plan",
        "seeds",
        "net value",
        "pay gap (mean, 95 % interval)",
        f"change vs {reference}",
        "variable-pay gap",
        f"change vs {reference}",
        "seeds with an Art. 10 flag",
    ]
    sections = [
        "<p>The gender gap each plan would create, mean over seeds with a 95 % t-interval, and "
        "its change against the reference plan on the same scenario and seed (percentage "
        "points; positive: the plan widens the gap).</p>",
        _table(header, rows),
    ]
    title = "Equal-pay impact per plan: Directive (EU) 2023/970 Art. 9(1)"
    return _page(title, sections, conventions, note)
