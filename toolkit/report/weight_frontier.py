"""The weight sweep's frontier, drawn: true reliability against award cost, per weight share.

A table of weight shares hides the trade-off the sweep is about; a figure shows it: where moving
weight buys reliability, what it costs in awards and delivered change, and which shares no other
share beats (:func:`toolkit.experiments.weight_sweep.sweep_weights`).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from toolkit.metrics.registry import CATALOGUE
from toolkit.report.escaping import mpl_text


def weight_frontier_figure(table: pd.DataFrame, scenario: str | None = None) -> Figure:
    """Plot each weight share's true reliability against its award cost, coloured by delivery.

    Each point is a share of the swept weight on the reliability KPI (labelled with it); the
    shares on the frontier (no other share at least as good on true reliability, delivery
    value and cost at once) are circles with black edges, the dominated ones grey squares.
    Three objectives have no frontier line on a plane, so none is drawn; the reliability axis
    runs so that better is up.

    Parameters
    ----------
    table : DataFrame
        :func:`~toolkit.experiments.weight_sweep.sweep_weights`'s table.
    scenario : str, optional
        The scenario to draw; may be left out when the table holds one.

    Returns
    -------
    Figure
        Built outside pyplot's state, so a notebook shows it once.

    Raises
    ------
    ValueError
        If the table is empty, or ``scenario`` is missing from it or needed to choose one.

    Examples
    --------
    >>> fig = weight_frontier_figure(table)  # doctest: +SKIP
    """
    scenarios = list(dict.fromkeys(table["scenario"]))
    if not scenarios:
        raise ValueError("the sweep's table is empty: nothing ran, nothing to draw")
    if scenario is None:
        if len(scenarios) > 1:
            raise ValueError(f"the table holds several scenarios; choose one of {scenarios}")
        scenario = scenarios[0]
    if scenario not in scenarios:
        raise ValueError(f"scenario {scenario!r} is not in the table; it holds {scenarios}")
    rows = table[table["scenario"] == scenario].sort_values("total_awards")
    kpi_a, kpi_b = rows["kpi_a"].iloc[0], rows["kpi_b"].iloc[0]
    entry = CATALOGUE.get(kpi_a)
    fig = Figure(figsize=(8.5, 5.5), layout="constrained")
    ax = fig.subplots()
    low, high = rows["delivery_value"].min(), rows["delivery_value"].max()
    for on, label in ((True, "on the frontier"), (False, "dominated")):
        chosen = rows[rows["frontier"] == on]
        points = ax.scatter(
            chosen["total_awards"],
            chosen["reliability_true"],
            c=chosen["delivery_value"],
            cmap="viridis",
            vmin=low,
            vmax=high,
            s=110 if on else 70,
            marker="o" if on else "s",
            edgecolors="black" if on else "0.6",
            linewidths=1.5 if on else 0.8,
            zorder=3,
            label=f"{label} (no share at least as good on reliability, delivery and cost)"
            if on
            else label,
        )
    for row in rows.itertuples():
        ax.annotate(
            f"{row.share_a:.0%}",
            (row.total_awards, row.reliability_true),
            xytext=(7, 7),
            textcoords="offset points",
        )
    fig.colorbar(points, ax=ax, label="Delivery value, true, mean over seeds")
    unit = f"{entry.unit}, {entry.direction} is better" if entry is not None else "true"
    if entry is not None and entry.direction == "lower":
        ax.invert_yaxis()  # better is up, whichever way the KPI runs
        unit += ", axis inverted"
    ax.set_xlabel("Total awards over the horizon, mean over seeds")
    ax.set_ylabel(f"True {mpl_text(kpi_a)}, plan periods ({unit})")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_title(
        f"Share of weight on {mpl_text(kpi_a)} vs {mpl_text(kpi_b)} ({mpl_text(scenario)})"
    )
    ax.legend(loc="best", fontsize="small")
    ax.margins(x=0.12, y=0.12)
    return fig
