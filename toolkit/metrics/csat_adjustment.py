"""Customer satisfaction adjusted for factors beyond IT's control, by regression.

Raw CSAT pays a team for its customers' season and its suppliers as much as for its own
work: users answer more harshly in busy months, blame IT for a vendor's outage and differ in
mood from one business unit to another. This module fits, by ordinary least squares
(statsmodels), a survey's score on those factors (the month or quarter of the survey, whether
the incident was opened while a vendor outage had its service down, the service's business
unit) and, as controls, on what IT does control (SLA breach, reopens), and takes the
uncontrollable part of each score out:

    adjusted score = score - sum over uncontrollable factors of coefficient x (x - reference)

The reference is a survey that meets **no vendor outage**, in the **average season** and the
**average business unit** of the fitted surveys (each level weighted by its share of them). So
the adjusted organisation-wide mean equals the observed one except that the vendor penalty is
given back, and a team whose services depend on a failing vendor, or whose users sit in a harsh
unit, is no longer marked down for it. The controls stay in the score: a team still answers for
its breaches, also those a vendor outage made (only the direct blame is removed). They are in the
model so that the uncontrollable coefficients do not absorb them (incidents raised during a
vendor outage breach more often, and the raw difference would overstate the blame).

**What it is fitted on.** One regression, pooled over every team and period of the log measured,
on each survey once (a log holding several views of one incident, as plan scoring's
counterfactual copies do, counts its survey once). Pooling is what makes the coefficients
credible: a team's own surveys are too few to estimate a season, and an effect estimated per
team would take out the team's own performance along with it. The factors are beyond the teams'
reach, so pooling their surveys does not let one team move another's adjustment by effort.
A KPI measured on one period alone (as plan scoring measures) can only adjust what varies
inside that period: a season that covers the whole period is indistinguishable from a bad
period for the whole organisation, and is shared by every team; measured on a whole log
(``compute_kpis``, ``lti kpis``), every season is estimated against the others.

**Small samples.** Fewer than :data:`MIN_SURVEYS` surveys give no fit: the adjustment is zero
and the adjusted score is the observed one, with the reason in :attr:`CsatAdjustment.reason`.
A level of a factor (a month, a business unit, the vendor flag) with fewer than
:data:`MIN_LEVEL_SURVEYS` surveys is not estimated and counts as the reference, as is one that
is collinear with others; the coefficient table says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm

from toolkit.events import EventLog, assign_periods, period_bounds
from toolkit.events.covariates import business_unit_of, survey_month, vendor_outage_at_open
from toolkit.metrics.context import ALL, KpiRows, MeasureContext
from toolkit.metrics.incidents import resolved
from toolkit.metrics.registry import register

UNCONTROLLABLE = ("season", "vendor_outage", "business_unit")
CONTROLLABLE = ("sla_breached", "reopen_count")
SEASONS = ("month", "quarter")
MIN_SURVEYS = 30  # below this, no regression: the adjustment is zero
MIN_LEVEL_SURVEYS = 5  # a level with fewer surveys is not estimated (counts as the reference)
UNKNOWN_UNIT = "unknown"
COEFFICIENT_COLUMNS = [
    "term",
    "factor",
    "level",
    "controllable",
    "surveys",
    "estimated",
    "coefficient",
    "std_error",
    "ci_low",
    "ci_high",
    "p_value",
    "note",
]


def covariate_frame(
    incidents: pd.DataFrame,
    outages: pd.DataFrame,
    services: pd.DataFrame,
    season: str = "month",
) -> pd.DataFrame:
    """Return the surveyed incidents' scores with every factor the regression reads.

    Why: the factors are not columns of the log; they are derived from it
    (:mod:`toolkit.events.covariates`) the way the world derives them when it scores.

    Parameters
    ----------
    incidents : DataFrame
        Incident rows in the canonical schema (at least ``incident_id, team_id, service_id,
        opened_at, resolved_at, sla_breached, reopen_count, csat``).
    outages, services : DataFrame
        The log's outages and services tables.
    season : str
        ``"month"`` (1..12 of ``resolved_at``) or ``"quarter"`` (1..4).

    Returns
    -------
    DataFrame
        One row per incident, index kept: ``incident_id, team_id, csat, surveyed, season,
        vendor_outage, business_unit, sla_breached, reopen_count``; ``surveyed`` is true where
        the incident is resolved and has a score. A service without a business unit is in
        ``"unknown"``.
    """
    if season not in SEASONS:
        raise ValueError(f"unknown season {season!r}; choose one of {list(SEASONS)}")
    month = survey_month(incidents)
    unit = business_unit_of(incidents, services)
    csat = incidents["csat"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "incident_id": incidents["incident_id"].to_numpy(dtype=object),
            "team_id": incidents["team_id"].to_numpy(dtype=object),
            "csat": csat,
            "surveyed": ~np.isnan(csat) & (month > 0),
            "season": month if season == "month" else (month + 2) // 3,
            "vendor_outage": vendor_outage_at_open(incidents, outages),
            "business_unit": np.where(pd.isna(unit), UNKNOWN_UNIT, unit).astype(object),
            "sla_breached": incidents["sla_breached"].to_numpy(dtype=float),
            "reopen_count": incidents["reopen_count"].to_numpy(dtype=float),
        },
        index=incidents.index,
    )


def csat_covariates(log: EventLog, season: str = "month") -> pd.DataFrame:
    """Return :func:`covariate_frame` for the surveyed incidents of a log.

    Parameters
    ----------
    log : EventLog
        Any log in the canonical schema.
    season : str
        ``"month"`` or ``"quarter"``.

    Returns
    -------
    DataFrame
        The surveyed rows only, with ``resolved_at`` added.
    """
    frame = covariate_frame(log.incidents, log.outages, log.services, season)
    frame["resolved_at"] = log.incidents["resolved_at"].to_numpy()
    return frame.loc[frame["surveyed"].to_numpy()].reset_index(drop=True)


@dataclass(frozen=True)
class CsatAdjustment:
    """A fitted CSAT regression and the uncontrollable part of each score it implies.

    Attributes
    ----------
    coefficients : DataFrame
        One row per term (:data:`COEFFICIENT_COLUMNS`): ``factor`` and ``level`` name it
        (``season`` 1..12 or 1..4, ``vendor_outage`` True, ``business_unit`` its id, the
        controls, ``const``), ``controllable`` says whether the adjustment leaves it in the
        score; the coefficient is in score points against the level left out, with its
        (1 - alpha) confidence interval from heteroskedasticity-robust (HC1) errors. Levels not
        estimated keep their row with ``estimated`` false and the reason in ``note``.
    surveys : int
        Distinct surveys fitted.
    fitted : bool
        Whether there was a regression at all.
    reason : str
        Why not, when ``fitted`` is false; empty otherwise.
    season : str
        ``"month"`` or ``"quarter"``.
    reference : dict
        Per uncontrollable factor, its reference: level → share of the fitted surveys for
        ``season`` and ``business_unit`` (the average level), ``False`` for ``vendor_outage``.
    """

    coefficients: pd.DataFrame
    surveys: int
    fitted: bool
    reason: str
    season: str
    reference: dict = field(default_factory=dict)

    def external(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the points the uncontrollable factors added to each row's score.

        Parameters
        ----------
        frame : DataFrame
            Rows of :func:`covariate_frame`.

        Returns
        -------
        ndarray of float
            Against the reference (no vendor outage, the average season and unit); 0 for every
            row when nothing was fitted.
        """
        points = np.zeros(len(frame))
        if not self.fitted:
            return points
        table = self.coefficients
        for factor in UNCONTROLLABLE:
            terms = table.loc[(table["factor"] == factor) & table["estimated"]]
            if terms.empty:
                continue
            effect = dict(zip(terms["level"], terms["coefficient"], strict=True))
            if factor == "vendor_outage":
                points += effect[True] * frame["vendor_outage"].to_numpy(dtype=float)
                continue
            shares = self.reference[factor]
            centre = sum(share * effect.get(level, 0.0) for level, share in shares.items())
            values = frame[factor].to_numpy(dtype=object)
            points += np.array([effect.get(v, 0.0) for v in values], dtype=float) - centre
        return points

    def adjusted(self, frame: pd.DataFrame) -> np.ndarray:
        """Return each row's score less the uncontrollable part (:meth:`external`)."""
        return frame["csat"].to_numpy(dtype=float) - self.external(frame)


def _levels(values: np.ndarray) -> list:
    return sorted(pd.unique(values).tolist(), key=lambda v: (str(type(v)), v))


def fit_csat_adjustment(
    frame: pd.DataFrame,
    season: str = "month",
    factors: Sequence[str] = UNCONTROLLABLE,
    controls: Sequence[str] = CONTROLLABLE,
    alpha: float = 0.05,
) -> CsatAdjustment:
    """Fit score ~ uncontrollable factors + controls on the distinct surveys of ``frame``.

    Why OLS on the 1..5 scores rather than an ordinal model: the adjustment is a difference of
    mean scores, which is what a linear model's coefficients are, and it stays readable as
    "points" in a plan; the errors are robust (HC1) because bounded scores are not homoskedastic.

    Parameters
    ----------
    frame : DataFrame
        Rows of :func:`covariate_frame` (or :func:`csat_covariates`); unsurveyed rows and repeats
        of an ``incident_id`` are left out of the fit.
    season : str
        What ``frame["season"]`` holds, ``"month"`` or ``"quarter"`` (for the record).
    factors : sequence of str
        The uncontrollable factors, from :data:`UNCONTROLLABLE`.
    controls : sequence of str
        The controllable factors kept in the score, from :data:`CONTROLLABLE`.
    alpha : float
        1 - confidence level of the intervals.

    Returns
    -------
    CsatAdjustment
        The coefficients and the reference; not fitted (no adjustment) below
        :data:`MIN_SURVEYS` distinct surveys.

    Raises
    ------
    ValueError
        For an unknown factor or control, or ``alpha`` outside (0, 1).
    """
    unknown = sorted(set(factors) - set(UNCONTROLLABLE)) + sorted(set(controls) - set(CONTROLLABLE))
    if unknown:
        raise ValueError(
            f"unknown factors {unknown}; uncontrollable: {list(UNCONTROLLABLE)}, "
            f"controls: {list(CONTROLLABLE)}"
        )
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    surveyed = frame.loc[frame["surveyed"].to_numpy(dtype=bool)]
    data = surveyed.loc[~surveyed["incident_id"].duplicated().to_numpy()]
    n = len(data)
    empty = pd.DataFrame(columns=COEFFICIENT_COLUMNS)
    if n < MIN_SURVEYS:
        reason = f"{n} surveys, fewer than the {MIN_SURVEYS} a regression needs: no adjustment"
        return CsatAdjustment(empty, n, False, reason, season)
    columns: dict[str, np.ndarray] = {}
    rows: list[dict] = []
    reference: dict = {}

    def term(name, factor, level, controllable, values, surveys, note=""):
        """Add a row to the table and, unless ``note`` says why not, a column to the design."""
        rows.append(
            {
                "term": name,
                "factor": factor,
                "level": level,
                "controllable": controllable,
                "surveys": int(surveys),
                "estimated": not note,
                "note": note,
            }
        )
        if not note:
            columns[name] = values

    term("const", "const", None, False, np.ones(n), n)
    rows[0]["note"] = "the score at the fit's reference levels"
    for factor in factors:
        values = data[factor].to_numpy(dtype=object)
        if factor == "vendor_outage":
            flagged = values.astype(bool)
            note = _thin(int(flagged.sum()), n - int(flagged.sum()))
            term("vendor_outage", factor, True, False, flagged.astype(float), flagged.sum(), note)
            reference[factor] = False
            continue
        levels = _levels(values)
        counts = {level: int((values == level).sum()) for level in levels}
        reference[factor] = {level: counts[level] / n for level in levels}
        estimable = [level for level in levels if counts[level] >= MIN_LEVEL_SURVEYS]
        base = estimable[0] if estimable else None
        for level in levels:
            if level == base:
                note = "reference level of the fit"
            elif counts[level] < MIN_LEVEL_SURVEYS:
                note = f"fewer than {MIN_LEVEL_SURVEYS} surveys: taken as the reference level"
            else:
                note = ""
            dummy = (values == level).astype(float)
            term(f"{factor}[{level}]", factor, level, False, dummy, counts[level], note)
    for control in controls:
        values = data[control].to_numpy(dtype=float)
        varies = np.ptp(values) > 0
        note = "" if varies else "takes one value in the fitted surveys: not estimated"
        term(control, control, None, True, values, (values > 0).sum(), note)
    names = list(columns)
    design = np.column_stack([columns[name] for name in names])
    rank = np.linalg.matrix_rank(design)
    if rank < design.shape[1]:
        return CsatAdjustment(
            empty,
            n,
            False,
            f"the factors are collinear in these {n} surveys (rank {rank} of "
            f"{design.shape[1]}): no adjustment",
            season,
        )
    result = sm.OLS(data["csat"].to_numpy(dtype=float), design).fit(cov_type="HC1")
    interval = np.asarray(result.conf_int(alpha))
    estimates = pd.DataFrame(
        {
            "term": names,
            "coefficient": result.params,
            "std_error": result.bse,
            "ci_low": interval[:, 0],
            "ci_high": interval[:, 1],
            "p_value": result.pvalues,
        }
    )
    table = pd.DataFrame(rows).merge(estimates, on="term", how="left")
    # a term left out of the fit counts as its reference: no effect, and no error to give
    table["coefficient"] = table["coefficient"].fillna(0.0)
    return CsatAdjustment(table[COEFFICIENT_COLUMNS], n, True, "", season, reference)


def _thin(flagged: int, others: int) -> str:
    if min(flagged, others) < MIN_LEVEL_SURVEYS:
        return f"fewer than {MIN_LEVEL_SURVEYS} surveys with or without it: not estimated"
    return ""


def adjusted_csat(
    log: EventLog,
    period: str = "quarter",
    season: str = "month",
    adjustment: CsatAdjustment | None = None,
) -> tuple[pd.DataFrame, CsatAdjustment]:
    """Return observed and adjusted CSAT per team and period, and the fit behind them.

    Parameters
    ----------
    log : EventLog
        Any log in the canonical schema.
    period : str
        ``"month"``, ``"quarter"``, ``"year"`` or ``"all"``; surveys are placed by
        ``resolved_at``, as ``csat_mean`` places them.
    season : str
        ``"month"`` or ``"quarter"``: the seasonal factor of the fit.
    adjustment : CsatAdjustment, optional
        A fit to apply; by default one fitted on every survey of ``log``.

    Returns
    -------
    table : DataFrame
        ``period, team_id, surveys, observed, external, adjusted`` per team (``"ALL"`` for the
        organisation) and period with surveys; ``external`` is the mean points the
        uncontrollable factors added against the reference, so ``adjusted = observed -
        external``.
    adjustment : CsatAdjustment
        The fit used.
    """
    frame = csat_covariates(log, season)
    if adjustment is None:
        adjustment = fit_csat_adjustment(frame, season)
    bounds = period_bounds(log.start, log.end, period)
    position = assign_periods(frame["resolved_at"], bounds)
    labels = bounds["label"].to_numpy(dtype=object)
    frame = frame.assign(
        period=np.where(position >= 0, labels[np.maximum(position, 0)], None),
        external=adjustment.external(frame),
    ).loc[position >= 0]
    both = pd.concat([frame, frame.assign(team_id=ALL)], ignore_index=True)
    table = (
        both.groupby(["period", "team_id"], sort=True)
        .agg(surveys=("csat", "size"), observed=("csat", "mean"), external=("external", "mean"))
        .reset_index()
    )
    table["adjusted"] = table["observed"] - table["external"]
    table[["period", "team_id"]] = table[["period", "team_id"]].astype("str")
    return table, adjustment


@register(
    "csat_adjusted",
    definition=(
        "Mean customer satisfaction score of incidents resolved in the period (by resolved_at) "
        "that have one, less what factors beyond IT's control (month of the survey, a vendor "
        "outage on the service when the incident opened, the business unit) added against no "
        "outage in the average month and unit, from one regression pooled over the measured "
        f"log's surveys; the observed mean below {MIN_SURVEYS} surveys."
    ),
    unit="score",
    direction="higher",
    indicator="lagging",
    table="incidents",
)
def csat_adjusted(ctx: MeasureContext) -> KpiRows:
    """Pay on customers' verdict with the season, the vendors and the unit's mood taken out."""
    grouped = resolved(ctx)
    rows = grouped.rows
    incidents = pd.DataFrame(
        {
            name: rows[name].to_numpy()
            for name in (
                "incident_id",
                "team_id",
                "service_id",
                "opened_at",
                "resolved_at",
                "sla_breached",
                "reopen_count",
                "csat",
            )
        }
    )
    frame = covariate_frame(incidents, ctx.log.outages, ctx.log.services)
    adjustment = fit_csat_adjustment(frame)
    return grouped.aggregate("csat_adjusted", adjustment.adjusted(frame), "mean")
