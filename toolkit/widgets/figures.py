"""The designer's results as HTML: a table and figures, each with a line saying what it shows.

Figures are drawn on :class:`matplotlib.figure.Figure` outside pyplot (safe from the
comparison's background thread) and embedded as PNG ``<img>`` elements with alternative text,
so a browser, a screen reader and a test all find them in the page.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from toolkit.widgets.comparison import EXPLAIN, LEVERS, ComparisonResult

EDITED_COLOUR = "#d62728"
REFERENCE_COLOUR = "0.45"
FIGURE_SIZE = (5.2, 3.2)


def colours(result: ComparisonResult) -> dict[str, str | tuple]:
    """Give one colour per plan for every figure: the edited plan red, the reference grey."""
    palette = [c for i, c in enumerate(colormaps["tab10"].colors) if i not in (3, 7)]
    out: dict[str, str | tuple] = {}
    others = 0
    for plan, role in zip(result.table["plan"], result.table["role"], strict=True):
        if role == "edited":
            out[plan] = EDITED_COLOUR
        elif role == "reference":
            out[plan] = REFERENCE_COLOUR
        else:
            out[plan] = palette[others % len(palette)]
            others += 1
    return out


def money(value: float) -> str:
    """Format a sum of money in thousands or millions, for a table cell."""
    if not np.isfinite(value):
        return "n/a"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:,.1f}k"
    return f"{value:,.0f}"


def results_table(result: ComparisonResult, currency: str = "") -> str:
    """Return the comparison as an HTML ``<table>``, one row per plan, with a line per column below.

    Parameters
    ----------
    result : ComparisonResult
        A finished comparison.
    currency : str
        The scenario's currency, shown in the money columns' headings.

    Returns
    -------
    str
        HTML: the table and a list explaining each number.
    """
    unit = f" ({html.escape(currency)})" if currency else ""
    head = (
        "<tr><th>plan</th><th>role</th><th>seeds</th>"
        f"<th>net value{unit} [95% interval]</th><th>reported score</th><th>true score</th>"
        f"<th>gaming index</th><th>awards{unit}</th><th>liability{unit}</th></tr>"
    )
    rows = []
    for row in result.table.itertuples():
        style = ' style="font-weight:bold"' if row.role == "edited" else ""
        if row.role == "reference":
            interval = " (reference)"
        elif np.isnan(row.net_value_low):
            interval = " [no interval: one seed]"
        else:
            interval = f" [{money(row.net_value_low)}, {money(row.net_value_high)}]"
        rows.append(
            f"<tr{style}><td>{html.escape(row.plan)}</td><td>{row.role}</td><td>{row.seeds}</td>"
            f"<td>{money(row.net_value)}{interval}</td><td>{row.reported_score:.1f}</td>"
            f"<td>{row.true_score:.1f}</td><td>{row.gaming_index:.2f}</td>"
            f"<td>{money(row.total_awards)}</td><td>{money(row.liability_end)}</td></tr>"
        )
    explained = "".join(
        f"<li>{html.escape(EXPLAIN[key])}</li>"
        for key in (
            "net_value",
            "reported_score",
            "true_score",
            "gaming_index",
            "total_awards",
            "liability_end",
        )
    )
    return (
        '<table class="lti-results-table" border="1" style="border-collapse:collapse">'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        f'<ul style="font-size:smaller">{explained}</ul>'
    )


def image_html(fig: Figure, alt: str, caption: str) -> str:
    """Return a figure as an ``<img>`` (inline PNG) with alternative text and a one-line caption.

    Parameters
    ----------
    fig : Figure
        The figure.
    alt : str
        What it shows in words, for a reader who cannot see it.
    caption : str
        The line saying what its numbers are, shown under it.

    Returns
    -------
    str
        An HTML ``<figure>``.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=90)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure style="margin:0"><img style="max-width:100%" src="data:image/png;base64,{data}" '
        f'alt="{html.escape(alt, quote=True)}"/>'
        f'<figcaption style="font-size:smaller">{html.escape(caption)}</figcaption></figure>'
    )


def net_value_figure(result: ComparisonResult) -> Figure:
    """Draw net value per plan against the reference, with its paired 95% interval."""
    table = result.table
    colour = colours(result)
    fig = Figure(figsize=FIGURE_SIZE, layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(table))
    errors = np.vstack(
        [table["net_value"] - table["net_value_low"], table["net_value_high"] - table["net_value"]]
    )
    ax.barh(y, table["net_value"], color=[colour[p] for p in table["plan"]])
    ax.errorbar(
        table["net_value"],
        y,
        xerr=np.nan_to_num(np.abs(errors)),
        fmt="none",
        ecolor="black",
        capsize=3,
    )
    ax.axvline(0, color="0.6", linewidth=0.8)
    ax.set_yticks(y, table["plan"])
    ax.invert_yaxis()
    ax.set_xlabel("net value against the reference")
    ax.set_title("Net value with its paired interval")
    return fig


def _paired_bars(
    result: ComparisonResult, columns: tuple[tuple[str, str, str], ...], ylabel: str, title: str
) -> Figure:
    """Draw two numbers side by side per plan: ``(column, label, colour)`` each."""
    table = result.table
    fig = Figure(figsize=FIGURE_SIZE, layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(table))
    for offset, (column, label, colour) in zip((-0.2, 0.2), columns, strict=True):
        ax.bar(x + offset, table[column], 0.4, label=label, color=colour)
    ax.set_xticks(x, table["plan"], rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return fig


def score_figure(result: ComparisonResult) -> Figure:
    """Draw reported against true score per plan: the gap is what gaming bought."""
    columns = (("reported_score", "reported", "#1f77b4"), ("true_score", "true", "#2ca02c"))
    return _paired_bars(result, columns, "composite score, % of target", "True against reported")


def gaming_figure(result: ComparisonResult) -> Figure:
    """Draw the gaming index per plan."""
    table = result.table
    colour = colours(result)
    fig = Figure(figsize=FIGURE_SIZE, layout="constrained")
    ax = fig.add_subplot()
    ax.bar(table["plan"], table["gaming_index"], color=[colour[p] for p in table["plan"]])
    ax.tick_params(axis="x", labelrotation=20)
    ax.set_ylabel("reported − true score, points")
    ax.set_title("Gaming index")
    return fig


def money_figure(result: ComparisonResult) -> Figure:
    """Draw awards over the run and the liability left at its end, per plan."""
    columns = (
        ("total_awards", "awards", "#9467bd"),
        ("liability_end", "liability at the end", "#8c564b"),
    )
    return _paired_bars(result, columns, "scenario currency", "Awards and liability")


def levers_figure(result: ComparisonResult) -> Figure:
    """Draw each lever over the periods, one panel per lever, one line per plan."""
    colour = colours(result)
    fig = Figure(figsize=(10.4, 3.0), layout="constrained")
    axes = fig.subplots(1, len(LEVERS), sharex=True)
    periods = list(dict.fromkeys(result.levers["period"]))
    for ax, lever in zip(axes, LEVERS, strict=True):
        rows = result.levers[result.levers["lever"] == lever]
        for plan in result.table["plan"]:
            line = rows[rows["plan"] == plan].set_index("period")["value"].reindex(periods)
            ax.plot(range(len(periods)), line.to_numpy(), color=colour[plan], label=plan)
        if result.plan_start:
            ax.axvline(result.plan_start - 0.5, color="0.7", linestyle=":", linewidth=1)
        title = "gaming levers (mean)" if lever == "gaming" else lever.replace("_", " ")
        ax.set_title(title, fontsize="medium")
        step = max(1, len(periods) // 4)
        ax.set_xticks(range(0, len(periods), step), periods[::step], rotation=45, fontsize=7)
    axes[0].legend(fontsize="x-small")
    fig.suptitle("Levers over time (dotted: the plan starts)")
    return fig


def frontier_figure(result: ComparisonResult) -> Figure:
    """Draw net value against award cost per plan, the edited plan highlighted."""
    frontier = result.frontier
    colour = colours(result)
    fig = Figure(figsize=FIGURE_SIZE, layout="constrained")
    ax = fig.add_subplot()
    for row in frontier.itertuples():
        edited = row.role == "edited"
        ax.scatter(
            row.award_cost,
            row.net_value,
            s=140 if edited else 50,
            color=colour[row.plan],
            edgecolors="black" if edited else "none",
            zorder=3,
        )
        label = f"{row.plan} (edited)" if edited else row.plan
        ax.annotate(
            label,
            (row.award_cost, row.net_value),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize="small",
            fontweight="bold" if edited else "normal",
        )
    ax.margins(0.2)
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.set_xlabel("award cost (mean awards over the run)")
    ax.set_ylabel("net value against the reference")
    ax.set_title("Frontier: net value against award cost")
    return fig


def frontier_alt(result: ComparisonResult) -> str:
    """Describe the frontier in words, for the image's alternative text."""
    parts = [
        f"{row.plan}{' (edited)' if row.role == 'edited' else ''}: award cost "
        f"{money(row.award_cost)}, net value {money(row.net_value)}"
        for row in result.frontier.itertuples()
    ]
    return "Frontier of net value against award cost. " + "; ".join(parts) + "."


def figures_html(result: ComparisonResult) -> dict[str, str]:
    """Return every figure of a comparison as HTML.

    Parameters
    ----------
    result : ComparisonResult
        A finished comparison.

    Returns
    -------
    dict of str
        ``net_value``, ``scores``, ``gaming``, ``money``, ``levers`` and ``frontier``, each an
        ``<img>`` with alternative text and a caption (:func:`image_html`).
    """
    plans = ", ".join(result.table["plan"])
    return {
        "net_value": image_html(
            net_value_figure(result),
            f"Net value with 95% interval for {plans}.",
            EXPLAIN["net_value"],
        ),
        "scores": image_html(
            score_figure(result), f"Reported and true score for {plans}.", EXPLAIN["true_score"]
        ),
        "gaming": image_html(
            gaming_figure(result), f"Gaming index for {plans}.", EXPLAIN["gaming_index"]
        ),
        "money": image_html(
            money_figure(result),
            f"Awards and end liability for {plans}.",
            f"{EXPLAIN['total_awards']} {EXPLAIN['liability_end']}",
        ),
        "levers": image_html(
            levers_figure(result), f"Levers over time for {plans}.", EXPLAIN["levers"]
        ),
        "frontier": image_html(frontier_figure(result), frontier_alt(result), EXPLAIN["frontier"]),
    }
