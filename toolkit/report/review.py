"""The annual plan review: every gaming signature a reviewer can find in a run's record.

A plan's unintended consequences show in the record before they show anywhere else: a spike
of trivial tickets, clocks stopped just before the target, priorities lowered after opening,
suppliers blamed without an outage, emergencies that skip the CAB, incidents that never reach
the record. The review compares what was recorded during the plan with what was recorded in
the periods before it started (what a reviewer has), tests each change, and, where the true
log is kept (a simulated run), measures the same thing on the truth to confirm that the change
is in the record and not in the world.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from toolkit.behaviour.audit import SUPPLIER_CAUSES, misattributions_without_outage
from toolkit.events import EventLog
from toolkit.events.schema import PRIORITIES
from toolkit.metrics.bunching import WINDOW, estimate, resolution_ratio
from toolkit.report.data import ReportError
from toolkit.run.outputs import read_manifest

ALPHA = 0.05  # one-sided significance level at which a signature counts as found
PADDING_HOURS = 1.0  # a "trivial" ticket: resolved within this many net hours
LOWEST_PRIORITY = max(PRIORITIES)
ALL = "ALL"
COLUMNS = [
    "run",
    "signature",
    "team_id",
    "period_span",
    "measure",
    "before",
    "during",
    "size",
    "p_value",
    "test",
    "found",
    "true_during",
    "confirmed",
    "evidence",
]
PROPORTION_TEST = "two-proportion z test, one-sided"
RATE_TEST = "Poisson rate test, one-sided"
BUNCHING_TEST = "bunching estimator, Poisson standard error, one-sided"


class ReviewError(ReportError):
    """A directory that cannot be reviewed; the user can fix it."""


@dataclass(frozen=True)
class Window:
    """The periods before the plan and the plan's periods, as labels and times."""

    start: pd.Timestamp
    plan_start: pd.Timestamp
    end: pd.Timestamp
    before: str
    during: str


@dataclass(frozen=True)
class Share:
    """A count of rows showing a trace among the rows that could show it."""

    hits: int
    rows: int

    @property
    def value(self) -> float:
        """The share (NaN with no rows)."""
        return self.hits / self.rows if self.rows else float("nan")


def _opened(incidents: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    return incidents.loc[(incidents["opened_at"] >= start) & (incidents["opened_at"] < end)]


def _padding(log: EventLog, team: str, start, end) -> Share:
    inc = _team(_opened(log.incidents, start, end), team)
    net = (inc["resolved_at"] - inc["opened_at"]) / pd.Timedelta(1, "h") - inc["on_hold_hours"]
    trivial = (inc["priority"] == LOWEST_PRIORITY) & (net <= PADDING_HOURS) & inc["csat"].isna()
    return Share(int(trivial.sum()), len(inc))


def _clock_stopping(log: EventLog, team: str, start, end) -> Share:
    inc = _team(_opened(log.incidents, start, end), team).dropna(subset=["resolved_at"])
    ratio = resolution_ratio(inc)
    held = (inc["on_hold_hours"] > 0) & (ratio > WINDOW[0]) & (ratio <= WINDOW[1])
    return Share(int(held.sum()), len(inc))


def _priority_downgrade(log: EventLog, team: str, start, end) -> Share:
    inc = _team(_opened(log.incidents, start, end), team)
    return Share(int((inc["priority"] > inc["priority_initial"]).sum()), len(inc))


def _misattribution(log: EventLog, team: str, start, end) -> Share:
    inc = _team(_opened(log.incidents, start, end), team)
    teams = sorted(pd.unique(inc["team_id"].dropna()))
    hits = sum(misattributions_without_outage(log, t, start, end) for t in teams)
    return Share(int(hits), len(inc))


def _cab_skipping(log: EventLog, team: str, start, end) -> Share:
    changes = _team(log.changes, team)
    implemented = changes.loc[
        (changes["implemented_at"] >= start) & (changes["implemented_at"] < end)
    ]
    return Share(int((implemented["type"] == "emergency").sum()), len(implemented))


def _team(frame: pd.DataFrame, team: str) -> pd.DataFrame:
    return frame if team == ALL else frame.loc[(frame["team_id"] == team).to_numpy(dtype=bool)]


SHARES: dict[str, tuple[str, Callable[..., Share]]] = {
    "padding": (
        f"share of incidents opened that are P{LOWEST_PRIORITY}, resolved within "
        f"{PADDING_HOURS:g} h and have no survey",
        _padding,
    ),
    "clock_stopping": (
        "share of resolved incidents put on hold and resolved within the last "
        f"{1 - WINDOW[0]:.0%} of the target",
        _clock_stopping,
    ),
    "priority_downgrade": (
        "share of incidents opened whose priority was lowered after opening",
        _priority_downgrade,
    ),
    "misattribution": (
        f"share of incidents opened blamed on {' or '.join(SUPPLIER_CAUSES)} causes with no "
        "outage on record",
        _misattribution,
    ),
    "cab_skipping": ("share of implemented changes that were emergency changes", _cab_skipping),
}


def _proportion_p(before: Share, during: Share) -> float:
    """One-sided p-value of a rise from ``before`` to ``during`` (pooled two-proportion z)."""
    if not before.rows or not during.rows:
        return float("nan")
    pooled = (before.hits + during.hits) / (before.rows + during.rows)
    se = math.sqrt(pooled * (1 - pooled) * (1 / before.rows + 1 / during.rows))
    if se == 0:
        return 1.0
    return float(norm.sf((during.value - before.value) / se))


def _rate_p(before: float, before_days: float, during: float, during_days: float) -> float:
    """One-sided p-value of a fall in a Poisson rate (conditional binomial, normal approx.)."""
    total = before + during
    if not total:
        return float("nan")
    expected = total * during_days / (before_days + during_days)
    se = math.sqrt(total * during_days * before_days) / (before_days + during_days)
    return float(norm.cdf((during - expected) / se))


def _row(signature, team, window, measure, before, during, p, test, true_during, evidence):
    size = during - before
    found = bool(np.isfinite(p) and p < ALPHA and size > 0)
    confirmed = None
    if true_during is not None and np.isfinite(true_during) and found:
        confirmed = bool(during - true_during >= size / 2)
    return {
        "signature": signature,
        "team_id": team,
        "period_span": window.during,
        "measure": measure,
        "before": before,
        "during": during,
        "size": size,
        "p_value": p,
        "test": test,
        "found": found,
        "true_during": np.nan if true_during is None else true_during,
        "confirmed": confirmed,
        "evidence": evidence,
    }


def _shares(reported, truth, team, window) -> list[dict]:
    rows = []
    for signature, (measure, share) in SHARES.items():
        before = share(reported, team, window.start, window.plan_start)
        during = share(reported, team, window.plan_start, window.end)
        true = None if truth is None else share(truth, team, window.plan_start, window.end).value
        evidence = (
            f"{during.hits} of {during.rows} in {window.during} ({during.value:.1%}) against "
            f"{before.hits} of {before.rows} in {window.before} ({before.value:.1%})"
        )
        if signature == "cab_skipping":
            changes = _team(reported.changes, team)
            unjustified = (
                (changes["type"] == "emergency")
                & changes["justification"].isna()
                & (changes["implemented_at"] >= window.plan_start)
            )
            evidence += f"; {int(unjustified.sum())} emergencies during the plan give no reason"
        if true is not None:
            evidence += f"; the truth shows {true:.1%}"
        p = _proportion_p(before, during)
        rows.append(
            _row(
                signature,
                team,
                window,
                measure,
                before.value,
                during.value,
                p,
                PROPORTION_TEST,
                true,
                evidence,
            )
        )
    return rows


def _bunching(reported, truth, team, window) -> dict:
    def excess(log, start, end):
        inc = _team(_opened(log.incidents, start, end), team)
        return estimate(resolution_ratio(inc))

    before = excess(reported, window.start, window.plan_start)
    during = excess(reported, window.plan_start, window.end)
    true = None if truth is None else excess(truth, window.plan_start, window.end).excess_share
    if during.enough_data:
        evidence = (
            f"{during.observed:.0f} resolutions in the last {1 - WINDOW[0]:.0%} of the target "
            f"in {window.during} where a smooth fit expects {during.counterfactual:.0f} "
            f"(z = {during.z:.1f}); excess {before.excess_share:.2%} in {window.before}"
        )
    else:
        evidence = f"not enough data: {during.fitted} resolutions in the fitted range"
    return _row(
        "bunching",
        team,
        window,
        "excess share of resolutions just under the SLA target (sla_bunching_excess)",
        before.excess_share,
        during.excess_share,
        during.p_value,
        BUNCHING_TEST,
        true,
        evidence,
    )


def _underreporting(reported, truth, team, window) -> dict:
    def days(start, end):
        return (end - start) / pd.Timedelta(1, "D")

    if truth is not None:
        # Against the truth (what monitoring saw): the share of true incidents not recorded.
        recorded = set(reported.incidents["incident_id"])

        def missing(start, end):
            true = _team(_opened(truth.incidents, start, end), team)
            return Share(int((~true["incident_id"].isin(recorded)).sum()), len(true))

        before = missing(window.start, window.plan_start)
        during = missing(window.plan_start, window.end)
        return _row(
            "underreporting",
            team,
            window,
            "share of true (monitored) incidents missing from the record",
            before.value,
            during.value,
            _proportion_p(before, during),
            PROPORTION_TEST,
            0.0,  # the truth misses none of itself
            f"{during.hits} of {during.rows} true incidents in {window.during} are not "
            f"recorded, against {before.hits} of {before.rows} in {window.before}",
        )
    # Without a truth, only a fall in the recorded rate of minor incidents can show.
    minor = _team(reported.incidents, team)
    minor = minor.loc[minor["priority"] == LOWEST_PRIORITY]
    n_before = len(_opened(minor, window.start, window.plan_start))
    n_during = len(_opened(minor, window.plan_start, window.end))
    d_before, d_during = days(window.start, window.plan_start), days(window.plan_start, window.end)
    before, during = n_before / d_before, n_during / d_during
    row = _row(
        "underreporting",
        team,
        window,
        f"fall in P{LOWEST_PRIORITY} incidents recorded per day",
        0.0,
        before - during,
        _rate_p(n_before, d_before, n_during, d_during),
        RATE_TEST,
        None,
        f"{during:.2f} P{LOWEST_PRIORITY} incidents a day in {window.during} against "
        f"{before:.2f} in {window.before}; no monitoring record to compare with",
    )
    return row


def review_logs(
    reported: EventLog, truth: EventLog | None, plan_start: pd.Timestamp, run: str = ""
) -> pd.DataFrame:
    """List every gaming signature in a reported log, comparing the plan with the time before.

    Parameters
    ----------
    reported : EventLog
        The record under review.
    truth : EventLog, optional
        The true log, when kept: each signature found is then confirmed (or not) against it.
    plan_start : Timestamp
        When the plan started; the record before it is the reviewer's baseline.
    run : str
        A label for the ``run`` column.

    Returns
    -------
    DataFrame
        One row per signature and team (``"ALL"`` for the organisation), columns
        :data:`COLUMNS`: ``before`` and ``during`` the measure in each span, ``size`` their
        difference (the gaming direction is positive), ``p_value`` of the named ``test``,
        ``found`` when significant at :data:`ALPHA` in the gaming direction, ``true_during``
        the measure on the truth, ``confirmed`` whether at least half of the change is in the
        record rather than the world (missing without a truth or when nothing is found).

    Raises
    ------
    ReviewError
        If the plan starts outside the log's window, leaving no span to compare.
    """
    start, end, plan_start = reported.start, reported.end, pd.Timestamp(plan_start)
    if not start < plan_start < end:
        raise ReviewError(
            f"the plan starts {plan_start.date()}, outside the log's window {start.date()} .. "
            f"{end.date()}: there is no period before or during the plan to compare"
        )
    window = Window(
        start,
        plan_start,
        end,
        before=f"{start.date()} .. {(plan_start - pd.Timedelta(1, 'D')).date()}",
        during=f"{plan_start.date()} .. {(end - pd.Timedelta(1, 'D')).date()}",
    )
    teams = sorted(pd.unique(reported.incidents["team_id"].dropna()))
    rows = []
    for team in [ALL, *teams]:
        rows += _shares(reported, truth, team, window)
        rows.append(_bunching(reported, truth, team, window))
        rows.append(_underreporting(reported, truth, team, window))
    table = pd.DataFrame(rows)
    table.insert(0, "run", run)
    return table[COLUMNS]


def _plan_start(directory: Path, reported: EventLog, manifest: dict) -> pd.Timestamp:
    """Find when the run's plan started: its first period after ``start_after_periods``."""
    from toolkit.events.periods import period_bounds
    from toolkit.plans import load_plan

    plan = manifest.get("plan", {})
    try:
        model = load_plan(plan.get("path") or plan.get("name"))
    except Exception:  # a moved or edited plan file: fall back to the library's plan by name
        try:
            model = load_plan(plan.get("name"))
        except Exception:
            raise ReviewError(
                f"{directory}: cannot load the run's plan {plan.get('name')!r} to find when "
                "it started"
            ) from None
    behaviour = pd.read_parquet(directory / "behaviour.parquet", columns=["period"])
    labels = behaviour["period"].drop_duplicates().tolist()
    period = {7: "month", 6: "quarter", 4: "year"}.get(len(str(labels[0])), "quarter")
    bounds = period_bounds(reported.start, reported.end, period)
    if model.start_after_periods >= len(bounds):
        return reported.end
    return pd.Timestamp(bounds["start"].iloc[model.start_after_periods])


def review_run(directory: str | Path) -> tuple[pd.DataFrame, dict]:
    """Review one run directory written by ``lti simulate``.

    Parameters
    ----------
    directory : path
        The run's directory: ``reported/`` and ``manifest.json`` are needed, ``truth/`` is used
        when present.

    Returns
    -------
    tuple
        The signature table (:func:`review_logs`) and the manifest.

    Raises
    ------
    ReviewError
        If the directory is not a run with a reported log.
    """
    directory = Path(directory).expanduser()
    manifest = read_manifest(directory)
    if manifest is None or not (directory / "reported" / "log.json").is_file():
        raise ReviewError(
            f"{directory}: not a run directory with a reported log (written by lti simulate)"
        )
    reported = EventLog.read_parquet(directory / "reported")
    truth_dir = directory / "truth"
    truth = EventLog.read_parquet(truth_dir) if (truth_dir / "log.json").is_file() else None
    plan_start = _plan_start(directory, reported, manifest)
    label = f"{manifest.get('plan', {}).get('name', '?')} seed {manifest.get('seed', '?')}"
    return review_logs(reported, truth, plan_start, label), manifest


def review(directory: str | Path) -> tuple[pd.DataFrame, list[dict]]:
    """Review a run directory, or every run with a reported log in a directory tree.

    Parameters
    ----------
    directory : path
        A run directory (``lti simulate --out``), or a directory holding runs, such as a batch
        directory (``lti batch --out``) whose runs keep their logs.

    Returns
    -------
    tuple
        The signature tables of every run stacked, and the runs' manifests.

    Raises
    ------
    ReviewError
        If ``directory`` is missing or holds no run with a reported log.
    """
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise ReviewError(f"{directory}: no such directory")
    if (directory / "reported" / "log.json").is_file():
        table, manifest = review_run(directory)
        return table, [manifest]
    runs = sorted(p.parent.parent for p in directory.glob("**/reported/log.json"))
    if not runs:
        raise ReviewError(
            f"{directory}: holds no run with a reported log; review a directory written by "
            "lti simulate (a batch keeps only KPIs of its runs)"
        )
    results = [review_run(run) for run in runs]
    return pd.concat([r[0] for r in results], ignore_index=True), [r[1] for r in results]


def _figure(value: object, share: bool) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return f"{value:.2%}" if share else f"{value:.3g}"


def _cells(row: pd.Series) -> list[str]:
    share = row["test"] != RATE_TEST
    return [
        str(row["run"]),
        str(row["signature"]),
        str(row["team_id"]),
        _figure(row["before"], share),
        _figure(row["during"], share),
        _figure(row["size"], share),
        _figure(row["p_value"], False),
        _figure(row["confirmed"], False),
        str(row["evidence"]),
    ]


HEADERS = ["run", "signature", "team", "before", "during", "size", "p-value", "confirmed",
           "evidence"]  # fmt: skip


def _found(table: pd.DataFrame) -> pd.DataFrame:
    return table.loc[table["found"].astype(bool)]


def to_markdown(table: pd.DataFrame, title: str) -> str:
    """Render the review as Markdown: the signatures found, then the tests that found them.

    Parameters
    ----------
    table : DataFrame
        From :func:`review`.
    title : str
        The heading; escaped, like every name, so that it renders as written.

    Returns
    -------
    str
        The document.
    """
    from toolkit.report.escaping import md_text

    found = _found(table)
    lines = [f"# {md_text(title)}", "", md_text(_summary(table, found)), ""]
    if len(found):
        lines += ["| " + " | ".join(HEADERS) + " |", "|" + " --- |" * len(HEADERS)]
        lines += [
            "| " + " | ".join(md_text(c) for c in _cells(r)) + " |" for _, r in found.iterrows()
        ]
    lines += ["", md_text(_method()), ""]
    return "\n".join(lines)


def to_html(table: pd.DataFrame, title: str) -> str:
    """Render the review as one self-contained HTML page, with no script and no link out.

    Parameters
    ----------
    table : DataFrame
        From :func:`review`.
    title : str
        The page's title; every text is escaped.

    Returns
    -------
    str
        The page.
    """
    from html import escape

    from toolkit.report.escaping import one_line

    def cell(text: str, tag: str = "td") -> str:
        return f"<{tag}>{escape(one_line(text))}</{tag}>"

    found = _found(table)
    rows = "".join(
        "<tr>" + "".join(cell(c) for c in _cells(r)) + "</tr>\n" for _, r in found.iterrows()
    )
    head = "<tr>" + "".join(cell(h, "th") for h in HEADERS) + "</tr>"
    body = f"<table>\n{head}\n{rows}</table>" if len(found) else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(one_line(title))}</title>"
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em;"
        "vertical-align:top;text-align:left}</style></head><body>\n"
        f"<h1>{escape(one_line(title))}</h1>\n<p>{escape(_summary(table, found))}</p>\n"
        f"{body}\n<p>{escape(_method())}</p>\n</body></html>\n"
    )


def _summary(table: pd.DataFrame, found: pd.DataFrame) -> str:
    runs = table["run"].nunique()
    if not len(found):
        return f"No gaming signature is significant at the {ALPHA:.0%} level in {runs} run(s)."
    kinds = ", ".join(sorted(found["signature"].unique()))
    confirmed = int(sum(value is True for value in found["confirmed"]))
    return (
        f"{len(found)} signature(s) significant at the {ALPHA:.0%} level in {runs} run(s): "
        f"{kinds}; {confirmed} confirmed against the true log."
    )


def _method() -> str:
    return (
        "Each signature compares the record during the plan with the record before it "
        "(one-sided tests in the gaming direction); bunching is the excess share of "
        "resolutions just under the SLA target against a smooth fit (Chetty et al. 2011, "
        "Kleven 2016). Confirmed: at least half of the change is in the record and not in "
        "the true log."
    )
