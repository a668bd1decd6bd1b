"""Lead–lag analysis: whether a leading indicator moves before the lagging one it predicts.

A leading indicator (reliability effort, problem records, change throughput) is only worth
watching, or paying for, if it moves *before* the outcome it stands for (incident volume,
downtime). Two views of the same question, on one panel of per-period series per team:

* the **cross-correlation** ``corr(leading_t, lagging_{t+k})`` at lags ``k = -L .. L``
  (:func:`statsmodels.tsa.stattools.ccf`), where a positive ``k`` means the leading series
  moves first. Its bands are ``±z/√n``: what a correlation of white noise with no relation
  stays within at the chosen level (not Bartlett's wider bands for autocorrelated series, so
  read a lone bar just outside them with care);
* a **distributed-lag regression** of the lagging series on the leading one at lags
  ``0 .. L``, with HAC (Newey–West) standard errors, since per-period outcomes are
  autocorrelated; pooled over teams with team fixed effects, so that a team's size (more
  services, more incidents) is not read as an effect of its effort. The sum of the lag
  coefficients is the long-run effect of a lasting change of one unit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from statistics import NormalDist

import numpy as np
import pandas as pd
import statsmodels.api as sm
from matplotlib.figure import Figure
from scipy import stats
from statsmodels.tsa.stattools import ccf

from toolkit.config import Scenario

TEAM, PERIOD = "team_id", "period"
ALL = "ALL"


@dataclass(frozen=True)
class LeadLag:
    """Both views of one lead–lag question.

    Attributes
    ----------
    leading, lagging : str
        The two series.
    correlation : DataFrame
        From :func:`cross_correlation`.
    regression : DataFrame
        From :func:`distributed_lag`.
    alpha : float
        One minus the level of the bands and intervals.
    """

    leading: str
    lagging: str
    correlation: pd.DataFrame
    regression: pd.DataFrame
    alpha: float = 0.05


def _check(panel: pd.DataFrame, leading: str, lagging: str, max_lag: int, alpha: float) -> None:
    """Refuse a panel without the named columns, a negative lag or a level outside (0, 1)."""
    missing = [c for c in (PERIOD, leading, lagging) if c not in panel.columns]
    if missing:
        raise ValueError(f"the panel has no column(s) {missing}; it has {list(panel.columns)}")
    if not isinstance(max_lag, int | np.integer) or max_lag < 0:
        raise ValueError(f"max_lag must be a whole number >= 0, got {max_lag!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")


def _series(panel: pd.DataFrame, leading: str, lagging: str) -> list[pd.DataFrame]:
    """Split the panel into one time-ordered frame per team (one frame without a team column)."""
    columns = [PERIOD, leading, lagging]
    if TEAM not in panel.columns:
        return [panel[columns].sort_values(PERIOD, ignore_index=True)]
    return [
        group[columns].sort_values(PERIOD, ignore_index=True)
        for _, group in panel.groupby(TEAM, sort=True)
    ]


def cross_correlation(
    panel: pd.DataFrame, leading: str, lagging: str, max_lag: int = 4, alpha: float = 0.05
) -> pd.DataFrame:
    """Correlate the leading series with the lagging one at lags ``-max_lag .. max_lag``.

    Per team, ``statsmodels``' :func:`~statsmodels.tsa.stattools.ccf` (each series centred on
    the team's own mean, which removes team fixed effects), then the average over teams weighted
    by their number of periods: under no correlation each team's value has variance ``1/n_i``,
    so the average has ``1/Σn_i`` and the band is ``±z/√Σn_i``.

    Parameters
    ----------
    panel : DataFrame
        One row per period (and team): ``period``, optionally ``team_id``, and the two series.
    leading, lagging : str
        Column names of the series.
    max_lag : int
        Largest lag in periods, each way.
    alpha : float
        The band holds a correlation of unrelated white noise with probability ``1 - alpha``.

    Returns
    -------
    DataFrame
        Columns ``lag, correlation, band, significant, n``: ``lag > 0`` is
        ``corr(leading_t, lagging_{t+lag})`` (the leading series moves first), ``band`` the
        half-width ``z/√n`` and ``n`` the periods pooled.

    Raises
    ------
    ValueError
        For a missing column, a negative ``max_lag``, an ``alpha`` outside (0, 1), or a
        series too short for ``max_lag`` or constant in every team.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=200)
    >>> panel = pd.DataFrame({"period": range(200), "x": x, "y": np.roll(x, 2)})
    >>> table = cross_correlation(panel, "x", "y", max_lag=3)
    >>> int(table.loc[table["correlation"].idxmax(), "lag"])
    2
    """
    _check(panel, leading, lagging, max_lag, alpha)
    sums, weight = np.zeros(2 * max_lag + 1), 0
    for team in _series(panel, leading, lagging):
        team = team.dropna()
        x, y = team[leading].to_numpy(float), team[lagging].to_numpy(float)
        if len(x) <= max_lag or np.ptp(x) == 0 or np.ptp(y) == 0:
            continue  # a constant or too short series says nothing about timing
        ahead = ccf(y, x, adjusted=False, fft=False, nlags=max_lag + 1)  # corr(y_{t+k}, x_t)
        behind = ccf(x, y, adjusted=False, fft=False, nlags=max_lag + 1)  # corr(x_{t+k}, y_t)
        sums += len(x) * np.concatenate([behind[:0:-1], ahead])
        weight += len(x)
    if weight == 0:
        raise ValueError(
            f"no team has more than {max_lag} periods in which both {leading!r} and "
            f"{lagging!r} vary: nothing to correlate. Lengthen the series or lower max_lag; "
            "a run's levers vary only once its plan moves the teams"
        )
    band = NormalDist().inv_cdf(1 - alpha / 2) / math.sqrt(weight)
    correlation = sums / weight
    return pd.DataFrame(
        {
            "lag": np.arange(-max_lag, max_lag + 1),
            "correlation": correlation,
            "band": band,
            "significant": np.abs(correlation) > band,
            "n": weight,
        }
    )


def _design(
    panel: pd.DataFrame, leading: str, lagging: str, max_lag: int
) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """Stack the teams' lagged regressors, team dummies and outcomes; return X, y, team codes."""
    frames, codes = [], []
    teams = _series(panel, leading, lagging)
    for code, team in enumerate(teams):
        lags = {f"lag {k}": team[leading].shift(k) for k in range(max_lag + 1)}
        frame = pd.DataFrame({**lags, "y": team[lagging]}).dropna()
        frames.append(frame.assign(_team=code))
        codes.append(np.full(len(frame), code))
    stacked = pd.concat(frames, ignore_index=True)
    x = stacked[[f"lag {k}" for k in range(max_lag + 1)]]
    if len(teams) > 1:  # team fixed effects: one intercept per team
        dummies = pd.get_dummies(stacked["_team"], prefix="team", dtype=float)
        x = pd.concat([x, dummies], axis=1)
    else:
        x = sm.add_constant(x, has_constant="add")
    return x, stacked["y"], np.concatenate(codes)


def distributed_lag(
    panel: pd.DataFrame,
    leading: str,
    lagging: str,
    max_lag: int = 3,
    alpha: float = 0.05,
    hac_lags: int | None = None,
) -> pd.DataFrame:
    """Regress the lagging series on the leading one at lags ``0 .. max_lag``.

    ``lagging_t = a_team + Σ_k b_k · leading_{t-k} + e_t``, by OLS; ``b_k`` is what one unit
    more of the leading indicator ``k`` periods ago does to the lagging one now. Standard
    errors are HAC (Newey–West, ``cov_type="HAC"``) for one series; for several teams the
    panel form (``"hac-panel"``), which sums the autocovariances within each team only and
    never across the seam between two teams' stacked series. Intervals and p-values use the
    t distribution on the residual degrees of freedom, as samples of quarters are small.

    Parameters
    ----------
    panel : DataFrame
        One row per period (and team): ``period``, optionally ``team_id``, and the two series.
        Periods must be consecutive within a team and sort in time order.
    leading, lagging : str
        Column names of the series.
    max_lag : int
        Largest lag of the leading series.
    alpha : float
        Intervals cover ``1 - alpha``.
    hac_lags : int, optional
        Autocovariance lags of the HAC estimator; by default Newey and West's rule
        ``floor(4 (T/100)^(2/9))`` on the periods per team, at least 1.

    Returns
    -------
    DataFrame
        One row per lag and a last row for their sum (the long-run effect): ``term`` (``"lag
        k"`` or ``"sum"``), ``lag`` (``k``, missing for the sum), ``coefficient, std_error,
        ci_low, ci_high, p``, and ``nobs``.

    Raises
    ------
    ValueError
        For a missing column, a negative ``max_lag``, an ``alpha`` outside (0, 1), a leading
        series constant within every team, or fewer observations than the regression has
        parameters plus two.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=300)
    >>> y = 0.5 * np.concatenate([[0, 0], x[:-2]]) + rng.normal(scale=0.1, size=300)
    >>> panel = pd.DataFrame({"period": range(300), "x": x, "y": y})
    >>> table = distributed_lag(panel, "x", "y", max_lag=2)
    >>> round(float(table.loc[table["term"] == "lag 2", "coefficient"].iloc[0]), 1)
    0.5
    """
    _check(panel, leading, lagging, max_lag, alpha)
    panel = panel.dropna(subset=[leading, lagging])
    spread = (
        panel.groupby(TEAM)[leading].agg(np.ptp) if TEAM in panel else panel[[leading]].agg(np.ptp)
    )
    if not (spread > 0).any():
        raise ValueError(
            f"{leading!r} does not vary within any team, so its effect cannot be told from the "
            "teams' own levels; a run's levers vary only once its plan moves the teams"
        )
    x, y, groups = _design(panel, leading, lagging, max_lag)
    if len(y) < x.shape[1] + 2:
        raise ValueError(
            f"{len(y)} observations after lagging {leading!r} by up to {max_lag} periods, too "
            f"few for {x.shape[1]} parameters; lengthen the series or lower max_lag"
        )
    teams = len(np.unique(groups))
    per_team = len(y) / teams
    maxlags = hac_lags if hac_lags is not None else max(1, int(4 * (per_team / 100) ** (2 / 9)))
    model = sm.OLS(y, x)
    if teams > 1:
        time = np.concatenate([np.arange((groups == g).sum()) for g in np.unique(groups)])
        fit = model.fit(
            cov_type="hac-panel", cov_kwds={"groups": groups, "time": time, "maxlags": maxlags}
        )
    else:
        fit = model.fit(cov_type="HAC", cov_kwds={"maxlags": maxlags})
    # t on the residual degrees of freedom; statsmodels' own small-sample t for "hac-panel"
    # would take the number of teams less one, as if teams were clusters, which they are not
    # here: the errors are summed over time within each team.
    quantile = stats.t.ppf(1 - alpha / 2, model.df_resid)
    terms = [f"lag {k}" for k in range(max_lag + 1)]
    weights = [np.eye(len(x.columns))[x.columns.get_loc(term)] for term in terms]
    weights.append(np.isin(x.columns, terms).astype(float))
    rows = []
    for term, lag, weight in zip(
        [*terms, "sum"], [*range(max_lag + 1), pd.NA], weights, strict=True
    ):
        coefficient = float(weight @ fit.params.to_numpy())
        error = float(np.sqrt(weight @ fit.cov_params().to_numpy() @ weight))
        rows.append(
            {
                "term": term,
                "lag": lag,
                "coefficient": coefficient,
                "std_error": error,
                "ci_low": coefficient - quantile * error,
                "ci_high": coefficient + quantile * error,
                "p": float(2 * stats.t.sf(abs(coefficient / error), model.df_resid)),
            }
        )
    table = pd.DataFrame(rows).astype({"lag": "Int64"})
    table["nobs"] = int(fit.nobs)
    return table


def lead_lag(
    panel: pd.DataFrame, leading: str, lagging: str, max_lag: int = 3, alpha: float = 0.05
) -> LeadLag:
    """Run :func:`cross_correlation` and :func:`distributed_lag` on one panel.

    Parameters
    ----------
    panel : DataFrame
        As for :func:`cross_correlation`.
    leading, lagging : str
        Column names of the series.
    max_lag : int
        Largest lag of both views.
    alpha : float
        One minus the level of bands and intervals.

    Returns
    -------
    LeadLag
        Both tables.
    """
    return LeadLag(
        leading,
        lagging,
        cross_correlation(panel, leading, lagging, max_lag, alpha),
        distributed_lag(panel, leading, lagging, max_lag, alpha),
        alpha,
    )


def run_panel(
    behaviour: pd.DataFrame,
    kpis: pd.DataFrame,
    leading: str = "reliability_effort",
    lagging: str = "incident_volume",
) -> pd.DataFrame:
    """Build the per-team, per-period panel of a run from its behaviour and KPI tables.

    Parameters
    ----------
    behaviour : DataFrame
        A run's behaviour table (``PlanRun.behaviour``, ``behaviour.parquet``): ``period,
        team_id`` and every lever.
    kpis : DataFrame
        KPIs from :func:`toolkit.metrics.compute_kpis` on the true log, or a run's
        ``kpis.parquet`` (whose ``view == "true"`` rows are used): team-level rows
        (``service_id == "ALL"``) are read.
    leading, lagging : str
        Each a behaviour column (a lever) or a KPI name.

    Returns
    -------
    DataFrame
        Columns ``period, team_id, <leading>, <lagging>``, one row per team and period in
        both tables.

    Raises
    ------
    ValueError
        If a name is neither a behaviour column nor a KPI of ``kpis``.
    """
    if "view" in kpis.columns:
        kpis = kpis[kpis["view"] == "true"]
    teams = kpis[(kpis["service_id"] == ALL) & (kpis[TEAM] != ALL)]
    known = set(teams["kpi"].unique())

    def column(name: str) -> pd.DataFrame:
        if name in behaviour.columns and name not in (PERIOD, TEAM):
            return behaviour[[PERIOD, TEAM, name]]
        if name in known:
            rows = teams[teams["kpi"] == name]
            return rows[[PERIOD, TEAM, "value"]].rename(columns={"value": name})
        levers = sorted(set(behaviour.columns) - {PERIOD, TEAM})
        raise ValueError(
            f"{name!r} is neither a behaviour column ({levers}) nor a KPI of the table "
            f"({sorted(known)})"
        )

    panel = column(leading).merge(column(lagging), on=[PERIOD, TEAM], how="inner")
    return panel.sort_values([TEAM, PERIOD], ignore_index=True)


def plot_lead_lag(result: LeadLag) -> Figure:
    """Draw both views: correlation bars with their band, lag coefficients with intervals.

    Parameters
    ----------
    result : LeadLag
        From :func:`lead_lag`.

    Returns
    -------
    Figure
        Two panels, outside pyplot's state.
    """
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    ccf_table = result.correlation
    colours = np.where(ccf_table["significant"], "tab:red", "tab:blue")
    left.bar(ccf_table["lag"], ccf_table["correlation"], color=colours, width=0.6)
    band = float(ccf_table["band"].iloc[0])
    left.axhspan(
        -band, band, color="0.85", zorder=0, label=f"no correlation ({1 - result.alpha:.0%} band)"
    )
    left.axhline(0, color="0.3", linewidth=0.8)
    left.set_xlabel(f"lag k (periods): {result.leading} at t, {result.lagging} at t+k")
    left.set_ylabel("correlation")
    left.set_title("Cross-correlation")
    left.legend(loc="best", fontsize="small")
    lags = result.regression.dropna(subset=["lag"])
    error = np.vstack([lags["coefficient"] - lags["ci_low"], lags["ci_high"] - lags["coefficient"]])
    right.errorbar(lags["lag"].astype(int), lags["coefficient"], yerr=error, fmt="o", capsize=4)
    right.axhline(0, color="0.3", linewidth=0.8)
    right.set_xticks(lags["lag"].astype(int))
    right.set_xlabel(f"lag of {result.leading} (periods)")
    right.set_ylabel(f"effect on {result.lagging} per unit")
    right.set_title(f"Distributed-lag regression ({1 - result.alpha:.0%} HAC intervals)")
    return figure


def varied_effort_panel(
    scenario: Scenario,
    seeds: Iterable[int],
    lever: str = "reliability_effort",
    low: float = 0.0,
    high: float = 0.8,
    lagging: str = "incident_volume",
    root_causes: Sequence[str] = ("internal",),
) -> pd.DataFrame:
    """Simulate the scenario with one lever drawn afresh per team and period; return the panel.

    Why: under a plan, teams choose their effort in answer to incidents, so a run's panel mixes
    cause and response; drawing the lever at random (an experiment no organisation can run)
    shows the world's own lagged effect of the leading indicator on the lagging one.

    Parameters
    ----------
    scenario : Scenario
        The scenario simulated (every other lever at its natural level).
    seeds : iterable of int
        One simulation per seed; each team of each seed is its own series (``team/seed=k``).
    lever : str
        The lever drawn, a field of :class:`~toolkit.sim.levers.Levers`.
    low, high : float
        The lever is uniform on ``[low, high]`` each period, for every team independently.
    lagging : str
        The KPI measured on the true log (team level).
    root_causes : sequence of str
        Incidents of these root causes are measured (by default internal ones: what effort can
        prevent); empty for all.

    Returns
    -------
    DataFrame
        ``period, team_id, <lever>, <lagging>``, ready for :func:`lead_lag`.

    Raises
    ------
    ValueError
        For an unknown lever, ``low > high`` or no seed.
    """
    from toolkit.metrics import compute_kpis
    from toolkit.sim import World
    from toolkit.sim.levers import natural_levers

    natural = natural_levers(scenario.environment.behaviour.levers)
    if lever not in {f.name for f in fields(natural)}:
        known = sorted(f.name for f in fields(natural))
        raise ValueError(f"no lever {lever!r}; the levers are {known}")
    if not low <= high:
        raise ValueError(f"low ({low}) must not exceed high ({high})")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("give at least one seed")
    panels = []
    for seed in seeds:
        rng = np.random.default_rng([seed, 20_1])
        world = World(scenario, seed)
        labels, drawn = world.periods["label"].tolist(), []
        for k, edge in enumerate(world.edges):
            levers = {
                team: replace(natural, **{lever: rng.uniform(low, high)}) for team in world.levers
            }
            drawn += [
                {PERIOD: labels[k], TEAM: str(team), lever: getattr(chosen, lever)}
                for team, chosen in levers.items()
            ]
            world.begin_period(levers)
            world.advance(edge)
        log = world.event_log()
        if root_causes:
            log = replace(
                log, incidents=log.incidents[log.incidents["root_cause"].isin(root_causes)]
            )
        panel = run_panel(pd.DataFrame(drawn), compute_kpis(log, kpis=[lagging]), lever, lagging)
        panels.append(panel.assign(**{TEAM: panel[TEAM] + f"/seed={seed}"}))
    return pd.concat(panels, ignore_index=True)
