"""The report's figures, one scenario each, as matplotlib figures outside pyplot's state.

Figures are built on :class:`matplotlib.figure.Figure` directly, so that a notebook shows each
once (as the value it is given) and nothing accumulates between cells.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from toolkit.report.data import Batch
from toolkit.report.escaping import md_code, mpl_text
from toolkit.report.liability import fan, liability_paths
from toolkit.report.ranking import dominated_plans
from toolkit.report.tables import (
    GAP_KPIS,
    LEVERS,
    award_shares,
    behaviour_trajectories,
    kpi_gaps,
    money_label,
    plan_period_start,
    ranking_of,
)

REFERENCE_COLOUR = "0.45"


def plan_colours(batch: Batch) -> dict[str, str | tuple]:
    """Give every plan of the batch one colour for all figures; the reference is grey."""
    palette = colormaps["tab10"].colors
    others = [plan for plan in batch.plans() if plan != batch.reference]
    colours: dict[str, str | tuple] = {batch.reference: REFERENCE_COLOUR}
    colours.update({plan: palette[i % len(palette)] for i, plan in enumerate(others)})
    return colours


def _ticks(ax, labels: list[str], most: int = 12) -> None:
    """Label period positions on the x axis, thinned to at most ``most`` labels."""
    step = max(1, int(np.ceil(len(labels) / most)))
    ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right")


def frontier_figure(batch: Batch, scenario: str, gaming_threshold: float = 5.0) -> Figure:
    """Plot each plan's net value against its award cost, coloured by gaming index.

    Net value is against the reference plan (at 0, the dotted line), with its paired 95%
    interval as the error bar; the dashed line joins the plans no other plan dominates (at
    least the net value for at most the awards). Plans above the gaming threshold are
    labelled as set aside.
    """
    ranking = ranking_of(batch, scenario, gaming_threshold)
    money = money_label(batch)
    fig = Figure(figsize=(8.5, 5.5), layout="constrained")
    ax = fig.subplots()
    below = (ranking["net_value"] - ranking["ci_low"]).fillna(0.0)
    above = (ranking["ci_high"] - ranking["net_value"]).fillna(0.0)
    ax.errorbar(
        ranking["total_awards"],
        ranking["net_value"],
        yerr=[below, above],
        fmt="none",
        ecolor="0.55",
        capsize=4,
        zorder=1,
        label="95% interval of net value (paired seeds)",
    )
    top = max(float(ranking["gaming_index"].max()), gaming_threshold)
    points = ax.scatter(
        ranking["total_awards"],
        ranking["net_value"],
        c=ranking["gaming_index"],
        cmap="YlOrRd",
        vmin=min(0.0, float(ranking["gaming_index"].min())),
        vmax=top,
        s=110,
        edgecolors="black",
        zorder=3,
    )
    for i, (plan, row) in enumerate(ranking.sort_values("total_awards").iterrows()):
        offset = (7, 7) if i % 2 == 0 else (7, -15)  # neighbours in cost label on either side
        label = mpl_text(plan) + (" (set aside: gaming)" if row["set_aside"] else "")
        ax.annotate(
            label,
            (row["total_awards"], row["net_value"]),
            xytext=offset,
            textcoords="offset points",
        )
    efficient = ranking.drop(index=list(dominated_plans(ranking))).sort_values("total_awards")
    ax.plot(
        efficient["total_awards"],
        efficient["net_value"],
        "--",
        color="0.3",
        zorder=2,
        label="frontier",
    )
    ax.axhline(
        0.0,
        color=REFERENCE_COLOUR,
        linestyle=":",
        label=f"{mpl_text(batch.reference)} (reference, net value 0)",
    )
    fig.colorbar(points, ax=ax, label="Gaming index (points of target)")
    ax.set_xlabel(f"Total awards over the horizon ({money}), mean over seeds")
    ax.set_ylabel(f"Net value against {mpl_text(batch.reference)} ({money}), mean over seeds")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_title(f"What each plan buys: net value against award cost ({mpl_text(scenario)})")
    ax.legend(loc="best", fontsize="small")
    ax.margins(x=0.12, y=0.12)
    return fig


def frontier_note(batch: Batch, scenario: str, gaming_threshold: float = 5.0) -> str:
    """Say in words what the frontier shows: each plan's net value, interval, awards, gaming.

    Parameters
    ----------
    batch : Batch
        A loaded batch.
    scenario : str
        The scenario.
    gaming_threshold : float
        Largest acceptable gaming index.

    Returns
    -------
    str
        Plain text for the figure's alternative text, in ranking order.
    """
    ranking = ranking_of(batch, scenario, gaming_threshold)
    money = money_label(batch)
    parts = []
    for plan, row in ranking.iterrows():
        text = f"{plan}: net value {money} {row['net_value']:,.0f}"
        if pd.notna(row["ci_low"]):
            text += f" (95% interval {row['ci_low']:,.0f} to {row['ci_high']:,.0f})"
        text += (
            f", awards {money} {row['total_awards']:,.0f}, gaming index "
            f"{row['gaming_index']:.1f}, {row['verdict']}"
        )
        parts.append(text)
    return "Per plan, " + "; ".join(parts)


def kpi_gap_figure(batch: Batch, scenario: str) -> Figure:
    """Plot how much better each plan's record looks than the truth, per KPI."""
    gaps = kpi_gaps(batch, scenario)
    plans = batch.plans(scenario)
    colours = plan_colours(batch)
    kpis = [kpi for kpi in GAP_KPIS if kpi in set(gaps["kpi"])]
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(plans)
    for i, plan in enumerate(plans):
        values = gaps[gaps["plan"] == plan].set_index("kpi")["gap_pct"].reindex(kpis)
        ax.bar(
            np.arange(len(kpis)) + (i - (len(plans) - 1) / 2) * width,
            values.fillna(0.0),
            width=width,
            color=colours[plan],
            label=mpl_text(plan),
        )
    ax.set_xticks(np.arange(len(kpis)), [GAP_KPIS[k] for k in kpis])
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("Record better than the truth (%)")
    ax.set_title(
        f"Reported against true KPIs, organisation level, mean over seeds and plan periods "
        f"({mpl_text(scenario)})"
    )
    ax.legend(loc="best", fontsize="small")
    return fig


def behaviour_figure(batch: Batch, scenario: str) -> Figure:
    """Plot every lever over the periods per plan, averaged over teams and seeds."""
    levels = behaviour_trajectories(batch, scenario)
    periods = sorted(levels["period"].unique())
    position = {period: i for i, period in enumerate(periods)}
    colours = plan_colours(batch)
    starts = plan_period_start(batch, scenario)
    columns = 4
    rows = int(np.ceil((len(LEVERS) + 1) / columns))
    fig = Figure(figsize=(13, 3 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, sharex=True).ravel()
    for ax, lever in zip(axes, LEVERS, strict=False):
        for plan in batch.plans(scenario):
            line = levels[(levels["plan"] == plan) & (levels["lever"] == lever)]
            ax.plot(
                line["period"].map(position),
                line["value"],
                color=colours[plan],
                label=mpl_text(plan),
            )
        for start in {s for s in starts.values() if s in position}:
            ax.axvline(position[start], color="0.7", linestyle=":")
        ax.set_title(lever.replace("_", " "))
        _ticks(ax, periods, most=6)
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[len(LEVERS) :]:
        ax.axis("off")
    axes[-1].legend(handles, labels, loc="center", title="plan (dotted: plans start)")
    fig.suptitle(f"Behaviour per period, mean over teams and seeds ({mpl_text(scenario)})")
    return fig


def award_figure(batch: Batch, scenario: str) -> Figure:
    """Plot each plan's earned awards per person as % of base salary, over seeds."""
    shares = award_shares(batch, scenario)
    plans = batch.plans(scenario)
    colours = plan_colours(batch)
    fig = Figure(figsize=(9, 4.8), layout="constrained")
    ax = fig.subplots()
    data = [shares.loc[shares["plan"] == plan, "earned_pct"].to_numpy() for plan in plans]
    boxes = ax.boxplot(data, patch_artist=True, showfliers=False, widths=0.55)
    ax.set_xticks(range(1, len(plans) + 1), [mpl_text(plan) for plan in plans])
    for patch, plan in zip(boxes["boxes"], plans, strict=True):
        patch.set_facecolor(colours[plan])
        patch.set_alpha(0.45)
    for i, values in enumerate(data, start=1):
        spread = np.linspace(-0.18, 0.18, len(values)) if len(values) > 1 else np.zeros(1)
        ax.scatter(i + spread, values, s=12, color="black", alpha=0.6, zorder=3)
    ax.set_ylabel("Earned awards per person (% of base salary)")
    ax.set_title(
        "Award distribution: one point per person and seed, incl. unvested accruals "
        f"({mpl_text(scenario)})"
    )
    return fig


def liability_figure(batch: Batch, scenario: str) -> Figure:
    """Plot the liability fan (P10–P50–P90 over seeds) per plan, with its run-off.

    Solid: recorded inside the horizon; hatched and dashed: the run-off of what is owed at
    the horizon's end, on the plan's vesting and deferral schedule. Plans that never owe
    anything are left out.
    """
    paths = liability_paths(batch, scenario)
    owes = paths[paths["liability"] > 0]["plan"].unique()
    owing = [plan for plan in batch.plans(scenario) if plan in owes]
    money = money_label(batch)
    colours = plan_colours(batch)
    columns = min(3, max(1, len(owing)))
    rows = int(np.ceil(max(1, len(owing)) / columns))
    fig = Figure(figsize=(4.6 * columns, 3.8 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, sharey=True, squeeze=False).ravel())
    fig.suptitle(
        f"Liability over seeds, P10–P50–P90; after the dotted line: run-off of what is owed "
        f"at the horizon ({mpl_text(scenario)})"
    )
    if not owing:
        axes[0].text(0.5, 0.5, "No plan owes anything", ha="center", va="center")
        axes[0].axis("off")
        return fig
    bands = fan(paths[paths["plan"].isin(owing)])
    for ax, plan in zip(axes, owing, strict=False):
        band = bands[bands["plan"] == plan].sort_values("period")
        x = np.arange(len(band))
        recorded = (~band["projected"]).to_numpy()
        last = int(np.flatnonzero(recorded)[-1])
        low, mid, high = (band[q].to_numpy() for q in ("p10", "p50", "p90"))
        past, future = slice(0, last + 1), slice(last, None)
        colour = colours[plan]
        ax.fill_between(x[past], low[past], high[past], color=colour, alpha=0.25)
        ax.fill_between(x[future], low[future], high[future], color=colour, alpha=0.12, hatch="//")
        ax.plot(x[past], mid[past], color=colour)
        ax.plot(x[future], mid[future], color=colour, linestyle="--")
        ax.axvline(last, color="0.5", linestyle=":")
        ax.set_title(mpl_text(plan))
        ax.set_ylabel(f"Liability ({money})")
        _ticks(ax, band["period"].tolist(), most=8)
    for ax in axes[len(owing) :]:
        ax.axis("off")
    return fig


def fairness_figure(batch: Batch, scenario: str) -> Figure:
    """Plot the Gini of awards across teams and the gender gap per plan, one dot per seed."""
    runs = batch.runs[batch.runs["scenario"] == scenario]
    plans = batch.plans(scenario)
    colours = plan_colours(batch)
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    panels = (
        ("awards_gini_teams", 1, "Gini of awards across teams (0 = equal)"),
        ("gender_gap_awards", 100, "Gender gap in awards per head (%, + = men more)"),
    )
    for ax, (column, scale, label) in zip(axes, panels, strict=True):
        for i, plan in enumerate(plans):
            values = scale * runs.loc[runs["plan"] == plan, column].to_numpy()
            spread = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else np.zeros(1)
            ax.scatter(i + spread, values, color=colours[plan], s=30, alpha=0.8)
            ax.hlines(values.mean(), i - 0.3, i + 0.3, color="black", linewidth=2)
        ax.set_xticks(range(len(plans)), [mpl_text(p) for p in plans], rotation=20, ha="right")
        ax.set_title(label)
        ax.axhline(0, color="0.7", linewidth=0.8)
    fig.suptitle(f"Fairness: one dot per seed, bar = mean ({mpl_text(scenario)})")
    return fig


def describe(fig: Figure, plans: Iterable[str], note: str = "") -> str:
    """Describe a figure for a reader who cannot see it: its title, panels, axes and plans.

    Parameters
    ----------
    fig : Figure
        A figure of this module.
    plans : iterable of str
        The plans it shows.
    note : str
        What the figure's numbers say, in words, appended (e.g. :func:`frontier_note`).

    Returns
    -------
    str
        Plain text (the HTML export escapes it), used as the image's alternative text.
    """
    shown = [ax for ax in fig.axes if ax.axison]
    titles = [ax.get_title() for ax in shown if ax.get_title()]
    heading = fig.get_suptitle() or (titles.pop(0) if titles else "Figure")
    labels = dict.fromkeys(
        label for ax in shown for label in (ax.get_xlabel(), ax.get_ylabel()) if label
    )
    notes = [text.get_text() for ax in fig.axes for text in ax.texts if not ax.axison]
    parts = [heading, *notes]
    if titles:
        parts.append(f"Panels: {'; '.join(titles)}")
    if labels:
        parts.append(f"Axes: {'; '.join(labels)}")
    parts.append(f"Plans: {', '.join(plans)}")
    if note:
        parts.append(note)
    return ". ".join(parts).replace(r"\$", "$") + "."


def display_figure(fig: Figure, alt: str) -> None:
    """Display a figure as a PNG whose output metadata carries its alternative text.

    The report's HTML template writes the ``alt`` metadata into the image's ``alt`` attribute.
    """
    from IPython.display import display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    display({"image/png": data, "text/plain": alt}, raw=True, metadata={"image/png": {"alt": alt}})


def show_each(
    batch: Batch,
    make: Callable[..., Figure],
    note: Callable[..., str] | None = None,
    **options,
) -> None:
    """Display ``make(batch, scenario, **options)`` for each scenario, headed when several.

    Parameters
    ----------
    batch : Batch
        A loaded batch.
    make : callable
        A figure function of this module.
    note : callable, optional
        ``note(batch, scenario, **options)`` says in words what the figure's numbers are; it
        is added to the alternative text.
    **options
        Passed on to ``make`` (and ``note``).
    """
    from IPython.display import Markdown, display

    for scenario in batch.scenarios:
        if len(batch.scenarios) > 1:
            display(Markdown(f"#### Scenario {md_code(scenario)}"))
        fig = make(batch, scenario, **options)
        said = note(batch, scenario, **options) if note is not None else ""
        display_figure(fig, describe(fig, batch.plans(scenario), said))
