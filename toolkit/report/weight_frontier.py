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
    dashed line joins the shares on the frontier (no other share at least as good on true
    reliability, delivery value and cost at once), drawn with black edges.

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
    points = ax.scatter(
        rows["total_awards"],
        rows["reliability_true"],
        c=rows["delivery_value"],
        cmap="viridis",
        s=110,
        edgecolors=["black" if f else "none" for f in rows["frontier"]],
        linewidths=1.5,
        zorder=3,
    )
    for row in rows.itertuples():
        ax.annotate(
            f"{row.share_a:.0%}",
            (row.total_awards, row.reliability_true),
            xytext=(7, 7),
            textcoords="offset points",
        )
    front = rows[rows["frontier"]]
    ax.plot(
        front["total_awards"],
        front["reliability_true"],
        "--",
        color="0.3",
        zorder=2,
        label="frontier (not dominated on reliability, delivery value and cost)",
    )
    fig.colorbar(points, ax=ax, label="Delivery value, true, mean over seeds")
    unit = f" ({entry.unit}, {entry.direction} is better)" if entry is not None else ""
    ax.set_xlabel("Total awards over the horizon, mean over seeds")
    ax.set_ylabel(f"True {mpl_text(kpi_a)}{unit}, plan periods")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_title(
        f"Weight moved from {mpl_text(kpi_b)} to {mpl_text(kpi_a)} "
        f"(labels: share on {mpl_text(kpi_a)}; {mpl_text(scenario)})"
    )
    ax.legend(loc="best", fontsize="small")
    ax.margins(x=0.12, y=0.12)
    return fig
