"""Module 5, behavioural risk: the notebook's runs, its computed paragraphs and exercise checks.

The notebook ``notebooks/modules/05_behavioural_risk.ipynb`` asks six questions of plans under
gaming and caution: what malus and clawback recover (5.1), how much change pace incident
penalties hold back (5.2), what a defect penalty on throughput buys (5.3), which gaming
signatures an annual review finds (5.4), what counter-metrics take out of the gaming gap (5.5)
and what a justification rule for skipping the CAB costs and buys (5.6). The experiments are the
toolkit's (:mod:`toolkit.experiments.safeguards`, :mod:`toolkit.experiments.reviews`,
:mod:`toolkit.experiments.gate_effect`); this module holds what keeps the notebook free of
logic: the variants each section runs, a paragraph per result written from its numbers, and a
checker per exercise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.config import load_scenario
from toolkit.config.plan import Gate
from toolkit.course.exercises import Check, failed, passed
from toolkit.course.wording import interval_words, listing, money, number, share
from toolkit.experiments.batch import BatchResult
from toolkit.experiments.derived import as_plan, kpi_levels, unknown_kpi
from toolkit.experiments.gate_effect import gate_effect
from toolkit.experiments.safeguards import AS_IS, compare_variants
from toolkit.plans.loading import kpi_by_name
from toolkit.resources import shipped_scenario

FIXED_PAY = "no_incentive"
LIBRARY_PLANS = (
    "no_incentive",
    "mttr_only",
    "change_safety",
    "throughput_only",
    "throughput_guarded",
)
AUDIT = {"probability_per_period": 0.25, "detection_power": 0.8}
RECOVERY_GOAL = (1.0, 1.5)  # 5.1: recover the overstated pay, taking at most half as much again
GAMING_CUT_GOAL = 0.5  # 5.5: a counter-metric that halves the gaming index
CAUTION_GOAL = 2 / 3  # 5.2: risk aversion cut to at most two thirds of the plan's
GATED_SHARE_GOAL = 0.05  # 5.6: a justification rule that disqualifies at most 5 % of team years


def scenario_file(scenario: str | Path) -> str:
    """Return the scenario file for a shipped scenario's name or a path, as ``lti`` reads it.

    Parameters
    ----------
    scenario : str or Path
        ``"small"``, ``"default"``, ... or a scenario file (a path holding ``/`` or ending in
        ``.yaml``/``.yml``).

    Returns
    -------
    str
        The file.

    Raises
    ------
    LookupError
        A name no shipped scenario has, naming the closest one.
    """
    text = str(scenario)
    if "/" in text or text.endswith((".yaml", ".yml")):
        return text
    return str(shipped_scenario(text))


def introduction(scenario: str | Path, seeds: int) -> str:
    """Say what the module's runs are made of: the scenario, its horizon, teams and seeds.

    Parameters
    ----------
    scenario : str or Path
        The scenario (name or file).
    seeds : int
        Seeds each plan is run on.

    Returns
    -------
    str
        One Markdown paragraph.
    """
    model = load_scenario(scenario_file(scenario))
    teams = [team.id for team in model.organisation.teams]
    start = as_plan(FIXED_PAY).start_after_periods
    return (
        f"Every run below is the scenario **{model.name}**: {len(teams)} teams "
        f"({listing(teams)}) over {model.horizon.years} years of {model.horizon.period}s from "
        f"{model.horizon.start}, the library plans starting after {start} {model.horizon.period}s"
        f" measured without them; each plan runs on {seeds} seed{'s' if seeds != 1 else ''}, "
        "the same seeds for every plan, so that plans compare seed by seed."
    )


def _row(table: pd.DataFrame, column: str, value: str) -> pd.Series:
    rows = table[table[column] == value]
    if not len(rows):
        raise KeyError(f"the table has no {column} {value!r}; it has {sorted(table[column])}")
    return rows.iloc[0]


def _interval(row: pd.Series, measure: str) -> str:
    return interval_words(row[f"{measure}_ci_low"], row[f"{measure}_ci_high"])


# --- 5.1 clawback and malus ------------------------------------------------------------------


def clawback_variants(
    malus: Mapping[str, Any] | None = None,
    clawback: Mapping[str, Any] | None = None,
    audit: Mapping[str, Any] = AUDIT,
) -> dict[str, dict[str, Any]]:
    """Return the variant of 5.1: the gamed plan with audits, malus and clawback.

    Parameters
    ----------
    malus, clawback : mapping, optional
        The plan's ``malus`` and ``clawback`` as in a plan file; by default both on
        ``gaming_detected``, taking everything unvested and recovering all payments of three
        years.
    audit : mapping
        The audits that find the gaming (without them nothing triggers a malus).

    Returns
    -------
    dict
        ``{"malus_clawback": ...}`` for :func:`~toolkit.experiments.safeguards.compare_variants`.
    """
    malus = malus if malus is not None else {"triggers": ["gaming_detected"], "reduction": 1.0}
    if clawback is None:
        clawback = {"triggers": ["gaming_detected"], "lookback_years": 3, "recovery": 1.0}
    return {"malus_clawback": {"audit": dict(audit), "malus": malus, "clawback": clawback}}


def interpret_clawback(table: pd.DataFrame) -> str:
    """Write what audits with malus and clawback recovered on the gamed plan, and deterred.

    Parameters
    ----------
    table : DataFrame
        :func:`~toolkit.experiments.safeguards.compare_variants`'s table with ``as_is`` and
        one variant with audits, malus and clawback.

    Returns
    -------
    str
        One paragraph: the overstated pay, what the safeguard recovered and its share of the
        overstated pay, how much of it was payments, and what happened to gaming.
    """
    base = _row(table, "variant", AS_IS)
    guarded = table[table["variant"] != AS_IS].iloc[0]
    ratio = guarded["recovered_share"]
    if not math.isfinite(ratio):
        verdict = "although nothing was overstated, so there was no gamed pay to take back"
    elif ratio >= 1:
        verdict = (
            f"{number(ratio, 1)} times the pay its own record overstated: a malus takes its "
            "share of the team's whole unvested award, the honest part with the gamed part, so "
            "it punishes as much as it recovers"
        )
    else:
        verdict = f"only {share(ratio)} of the pay its own record overstated"
    source = (
        "all of it from unvested awards (malus), since nothing had been paid yet for clawback "
        "to recover"
        if guarded["clawed_back"] == 0
        else f"{money(guarded['clawed_back'])} of it clawed back from payments"
    )
    deterred = guarded["gaming_index"] - base["gaming_index"]
    return (
        f"Under **{base['plan']}** the record overstated the true score by "
        f"{number(base['gaming_index'], 1)} points, worth about {money(base['overstated_pay'])} of "
        f"the {money(base['accrued'])} accrued, and nobody audits, so nothing is recovered. With "
        f"audits, malus and clawback (**{guarded['variant']}**) audits found gaming in "
        f"{share(guarded['gaming_detected_share'])} of team quarters and recovered "
        f"{money(guarded['recovered'])}, {verdict}; {source}. The gaming index moved by "
        f"{number(deterred, 1)} points ({_interval(guarded, 'gaming_index')} over the paired "
        "seeds): size the reduction to what the audit shows was gamed, and keep a clawback for "
        "the years after vesting, when a malus has nothing left to take."
    )


def check_clawback(
    malus: Mapping[str, Any] | None,
    clawback: Mapping[str, Any] | None,
    plan: str,
    scenario: str | Path,
    seeds: int,
    out: str | Path,
    workers: int | None = None,
    progress: bool = False,
    goal: tuple[float, float] = RECOVERY_GOAL,
) -> Check:
    """Run the plan with audits and the learner's malus and clawback; check what it recovers.

    The goal: recover at least ``goal[0]`` times the pay the record overstated, and at most
    ``goal[1]`` times it, so that the safeguard takes back the gamed pay without confiscating
    the honest part. Runs are reused from ``out`` (the section's directory).

    Parameters
    ----------
    malus, clawback : mapping or None
        The plan fields as in a plan file (None: none).
    plan : str
        The gamed plan.
    scenario : str or Path
        The scenario (name or file).
    seeds : int
        Seeds.
    out : path
        The batch directory of section 5.1.
    workers, progress
        As for the batch.
    goal : tuple of float
        The lowest and highest recovered share of the overstated pay.

    Returns
    -------
    Check
        Whether the recovered share lies within the goal.
    """
    variants = {"exercise": {"audit": dict(AUDIT), "malus": malus, "clawback": clawback}}
    table, _ = compare_variants(
        plan,
        variants,
        [scenario_file(scenario)],
        seeds,
        out,
        workers=workers,
        progress=progress,
        as_is=False,
    )
    return clawback_verdict(table, goal)


def clawback_verdict(table: pd.DataFrame, goal: tuple[float, float] = RECOVERY_GOAL) -> Check:
    """Judge the ``exercise`` row of a 5.1 table against the recovery goal.

    Parameters
    ----------
    table : DataFrame
        A table of :func:`~toolkit.experiments.safeguards.compare_variants` holding the
        variant ``exercise``.
    goal : tuple of float
        The lowest and highest recovered share of the overstated pay.

    Returns
    -------
    Check
        The verdict.
    """
    row = _row(table, "variant", "exercise")
    ratio = row["recovered_share"]
    low, high = goal
    measured = (
        f"The malus and clawback recovered {money(row['recovered'])} against "
        f"{money(row['overstated_pay'])} of overstated pay ({number(ratio, 2)} times it; goal: "
        f"{number(low, 2)} to {number(high, 2)} times)."
    )
    if not math.isfinite(ratio):
        return failed(
            "5.1",
            "Nothing was overstated in these runs, so there is no gamed pay to recover.",
            "Keep the audits: without findings no malus or clawback can act.",
        )
    if ratio < low:
        return failed(
            "5.1",
            measured,
            "Audits only find the gaming; the money comes back through the malus `reduction` "
            "on unvested awards (nothing has been paid yet in a short run) — raise it.",
        )
    if ratio > high:
        return failed(
            "5.1",
            measured,
            "The safeguard confiscates honest pay too: a malus takes its share of the whole "
            "unvested award; lower the `reduction`.",
        )
    return passed("5.1", measured)


# --- 5.2 risk aversion -----------------------------------------------------------------------


def interpret_risk_aversion(table: pd.DataFrame, reference: str = FIXED_PAY) -> str:
    """Write which plan holds change back most, by how much, and what it costs in delivery.

    Parameters
    ----------
    table : DataFrame
        :func:`~toolkit.experiments.safeguards.compare_plans`'s table (reference included).
    reference : str
        The plan the differences are taken against.

    Returns
    -------
    str
        One paragraph.
    """
    base = _row(table, "plan", reference)
    others = table[table["plan"] != reference].sort_values("risk_aversion_index", ascending=False)
    top = others.iloc[0]
    cautious = others.loc[others["risk_aversion_index"] > 0, "plan"].tolist()
    if top["risk_aversion_index"] <= 0:
        return (
            f"No plan makes teams hold back change here: the risk-aversion index is 0 under "
            f"every plan, as under {reference}. Incident penalties only breed caution where "
            "they are heavy enough against what faster change earns."
        )
    lost = top["change_throughput_true"] - base["change_throughput_true"]
    return (
        f"**{top['plan']}** holds back the most change: its teams give up "
        f"{share(top['risk_aversion_index'])} of their natural change pace (risk-aversion index "
        f"{number(top['risk_aversion_index'], 3)}, {_interval(top, 'risk_aversion_index')} "
        f"against {reference}); {listing(cautious)} "
        f"{'is the only plan' if len(cautious) == 1 else 'are the plans'} with any deferral. "
        f"True change throughput is {number(top['change_throughput_true'], 1)} changes per team "
        f"quarter against {number(base['change_throughput_true'], 1)} under {reference} "
        f"({number(lost, 1)}), while change-caused incidents are "
        f"{number(top['change_caused_incidents_true'], 2)} against "
        f"{number(base['change_caused_incidents_true'], 2)}. Paying for few incidents without "
        "paying for delivery buys caution: the change not made is the safest change. Monitor the "
        "index every plan year next to the incident count the plan rewards."
    )


def check_risk_aversion(
    changes: Mapping[str, Any],
    library: pd.DataFrame,
    scenario: str | Path,
    seeds: int,
    out: str | Path,
    plan: str = "change_safety",
    workers: int | None = None,
    progress: bool = False,
) -> Check:
    """Run the learner's change to the cautious plan; check caution falls and gaming stays.

    Parameters
    ----------
    changes : mapping
        Plan fields to replace, as in a plan file (e.g. ``{"metrics": [...]}``).
    library : DataFrame
        The section's :func:`~toolkit.experiments.safeguards.compare_plans` table, holding
        the cautious plan as it is on the same seeds.
    scenario : str or Path
        The scenario.
    seeds : int
        Seeds.
    out : path
        The batch directory of section 5.2.
    plan : str
        The cautious plan changed.
    workers, progress
        As for the batch.

    Returns
    -------
    Check
        See :func:`risk_aversion_verdict`.
    """
    table, _ = compare_variants(
        plan,
        {"exercise": dict(changes)},
        [scenario_file(scenario)],
        seeds,
        out,
        workers=workers,
        progress=progress,
        as_is=False,
    )
    return risk_aversion_verdict(_row(table, "variant", "exercise"), _row(library, "plan", plan))


def risk_aversion_verdict(mine: pd.Series, base: pd.Series, goal: float = CAUTION_GOAL) -> Check:
    """Judge a changed plan: risk aversion cut to ``goal`` of the plan's, gaming not higher.

    Parameters
    ----------
    mine : Series
        The changed plan's row (``risk_aversion_index``, ``gaming_index``).
    base : Series
        The plan as it is, on the same seeds (also ``plan``).
    goal : float
        The largest risk-aversion index allowed, as a share of the plan's.

    Returns
    -------
    Check
        Met when the changed plan's risk-aversion index is at most ``goal`` of the plan's (and
        the plan has some) and its gaming index is no more than 0.5 points above the plan's.
    """
    bound = goal * base["risk_aversion_index"]
    measured = (
        f"Risk-aversion index {number(mine['risk_aversion_index'], 3)} against "
        f"{number(base['risk_aversion_index'], 3)} for {base['plan']} (goal: at most "
        f"{number(bound, 3)}); gaming index {number(mine['gaming_index'], 2)} against "
        f"{number(base['gaming_index'], 2)}."
    )
    if base["risk_aversion_index"] <= 0:
        return failed(
            "5.2",
            f"{base['plan']} holds back no change on this scenario, so there is nothing to cut.",
            "Pick a plan whose risk-aversion index in the section's table is above 0.",
        )
    if mine["risk_aversion_index"] > bound:
        return failed(
            "5.2",
            measured,
            "Teams defer change when every change is a risk to their award and delivery earns "
            "nothing; look at what the plan pays for, not only at how hard it penalises.",
        )
    if mine["gaming_index"] > base["gaming_index"] + 0.5:
        return failed(
            "5.2",
            measured,
            "The new pay is being gamed; a metric that the record can flatter needs a guard.",
        )
    return passed("5.2", measured)


# --- 5.3 speed against defects ---------------------------------------------------------------


def penalised_throughput(
    plan: str, penalty: Mapping[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """Return the plan's metrics with the defect penalty set on every change_throughput metric.

    Parameters
    ----------
    plan : str
        A plan paying for ``change_throughput``.
    penalty : mapping or None
        ``{"window_days": ..., "per_incident": ...}``; None removes the penalty.

    Returns
    -------
    dict
        ``{"metrics": [...]}``, a variant's changes.

    Raises
    ------
    ValueError
        If the plan pays for no ``change_throughput``.
    """
    metrics = [m.model_dump(mode="python") for m in as_plan(plan).metrics]
    if not any(m["kpi"] == "change_throughput" for m in metrics):
        raise ValueError(f"plan {plan!r} pays for no change_throughput to penalise")
    for metric in metrics:
        if metric["kpi"] == "change_throughput":
            metric["defect_penalty"] = None if penalty is None else dict(penalty)
    return {"metrics": metrics}


def interpret_defects(
    table: pd.DataFrame,
    plain: str = "throughput_only",
    guarded: str = "throughput_guarded",
    reference: str = FIXED_PAY,
) -> str:
    """Write what paying for speed did to delivery and defects, with and without the penalty.

    Parameters
    ----------
    table : DataFrame
        :func:`~toolkit.experiments.safeguards.compare_plans`'s table holding the three plans.
    plain, guarded, reference : str
        Speed without and with the defect penalty, and fixed pay.

    Returns
    -------
    str
        One paragraph.
    """
    base, fast, safe = (_row(table, "plan", p) for p in (reference, plain, guarded))
    extra = fast["change_caused_incidents_true"] - base["change_caused_incidents_true"]
    bought = safe["change_caused_incidents_true"] - fast["change_caused_incidents_true"]
    more = "more" if extra > 0 else "no more"
    penalty_words = (
        "the penalty bought almost nothing"
        if abs(bought) < 0.05
        else f"the penalty changed change-caused incidents by {number(bought, 2)}"
    )
    return (
        f"Paying for speed alone (**{plain}**) raised true change throughput to "
        f"{number(fast['change_throughput_true'], 1)} changes per team quarter against "
        f"{number(base['change_throughput_true'], 1)} under {reference} "
        f"({_interval(fast, 'change_throughput_true')}) and brought {more} change-caused "
        f"incidents: {number(fast['change_caused_incidents_true'], 2)} per team quarter against "
        f"{number(base['change_caused_incidents_true'], 2)} "
        f"({_interval(fast, 'change_caused_incidents_true')}). With the defect penalty "
        f"(**{guarded}**) throughput is {number(safe['change_throughput_true'], 1)} and "
        f"change-caused incidents {number(safe['change_caused_incidents_true'], 2)}: "
        f"{penalty_words} at one change off per defect, change care "
        f"{number(safe['change_care'], 3)} against {number(fast['change_care'], 3)}. In this model "
        "a faster pace adds defects mainly through more changes, not through less care per "
        "change, so a mild penalty has little to correct; it bites only when a defect costs "
        "more than the change earns, and then it also slows delivery."
    )


def check_defect_penalty(
    penalty: Mapping[str, Any],
    library: pd.DataFrame,
    scenario: str | Path,
    seeds: int,
    out: str | Path,
    plan: str = "throughput_only",
    workers: int | None = None,
    progress: bool = False,
) -> Check:
    """Run the speed plan with the learner's defect penalty and judge it against fixed pay.

    Parameters
    ----------
    penalty : mapping
        ``{"window_days": ..., "per_incident": ...}``.
    library : DataFrame
        The section's :func:`~toolkit.experiments.safeguards.compare_plans` table (for fixed
        pay's levels on the same seeds).
    scenario : str or Path
        The scenario.
    seeds : int
        Seeds.
    out : path
        The batch directory of section 5.3.
    plan : str
        The speed plan.
    workers, progress
        As for the batch.

    Returns
    -------
    Check
        See :func:`defect_verdict`.
    """
    table, _ = compare_variants(
        plan,
        {"exercise": penalised_throughput(plan, penalty)},
        [scenario_file(scenario)],
        seeds,
        out,
        workers=workers,
        progress=progress,
        as_is=False,
    )
    return defect_verdict(_row(table, "variant", "exercise"), _row(library, "plan", FIXED_PAY))


def defect_verdict(mine: pd.Series, fixed: pd.Series) -> Check:
    """Judge a penalised plan: no more change-caused incidents than fixed pay, more delivery.

    Parameters
    ----------
    mine : Series
        The penalised plan's row (``change_caused_incidents_true``, ``change_throughput_true``).
    fixed : Series
        Fixed pay's row on the same seeds.

    Returns
    -------
    Check
        The verdict.
    """
    measured = (
        f"Change-caused incidents {number(mine['change_caused_incidents_true'], 2)} per team "
        f"quarter against {number(fixed['change_caused_incidents_true'], 2)} under fixed pay "
        f"(goal: at most that); true throughput {number(mine['change_throughput_true'], 1)} "
        f"against {number(fixed['change_throughput_true'], 1)} (goal: above it)."
    )
    if mine["change_caused_incidents_true"] > fixed["change_caused_incidents_true"]:
        return failed(
            "5.3",
            measured,
            "A defect must cost the team more than the change it nets off earns; look at "
            "`per_incident` and how long a defect still counts (`window_days`).",
        )
    if mine["change_throughput_true"] <= fixed["change_throughput_true"]:
        return failed(
            "5.3",
            measured,
            "The penalty now stops delivery instead of defects; soften it.",
        )
    return passed("5.3", measured)


# --- 5.4 the annual review -------------------------------------------------------------------


def interpret_review(summary: pd.DataFrame, reference: str = FIXED_PAY) -> str:
    """Write which signatures the review found under each plan, and how often the truth agrees.

    Parameters
    ----------
    summary : DataFrame
        :func:`~toolkit.experiments.reviews.signature_summary`'s table.
    reference : str
        The fixed-pay plan, whose findings are false alarms.

    Returns
    -------
    str
        One paragraph.
    """
    parts = []
    for plan, mine in summary.groupby("plan", sort=True):
        found = mine[mine["teams_found"] > 0]
        runs = int(mine["runs"].max())
        teams = int(found["teams_found"].sum())
        if not len(found):
            parts.append(f"under **{plan}** the review finds no signature in {runs} run(s)")
            continue
        top = found.iloc[0]
        confirmed = int(found["confirmed"].sum())
        parts.append(
            f"under **{plan}** it finds {listing(found['signature'].tolist())} "
            f"({teams} team finding(s) in {runs} run(s), {confirmed} confirmed by the truth), "
            f"most often {top['signature']}: {top['evidence']}"
        )
    alarms = summary[(summary["plan"] == reference) & (summary["teams_found"] > 0)]
    alarm_words = (
        f"Under {reference} nobody games, so its {int(alarms['teams_found'].sum())} finding(s) "
        "are the false alarms a review must expect and confirm against the truth or an audit "
        "before acting."
        if len(alarms)
        else f"Under {reference} nobody games and the review raises no alarm."
    )
    return (
        "The review compares each team's record before the plan with the record under it; "
        + "; ".join(parts)
        + f". {alarm_words} A signature found under a plan and not under fixed pay is the "
        "unintended consequence the annual review exists to surface."
    )


def review_answer_verdict(answer: str, summary: pd.DataFrame, plan: str) -> Check:
    """Judge the learner's name for the signature the review finds most often under ``plan``.

    Parameters
    ----------
    answer : str
        A signature name.
    summary : DataFrame
        :func:`~toolkit.experiments.reviews.signature_summary`'s table.
    plan : str
        The plan asked about.

    Returns
    -------
    Check
        Met when ``answer`` is the signature with the most team findings (ties: any of them).
    """
    names = sorted(summary["signature"].unique())
    mine = summary[summary["plan"] == plan]
    if not len(mine):
        raise KeyError(f"the review has no plan {plan!r}; it has {sorted(summary['plan'])}")
    most = int(mine["teams_found"].max())
    leaders = sorted(mine.loc[mine["teams_found"] == most, "signature"])
    if most == 0:
        return failed(
            "5.4", f"The review found no signature under {plan}.", "Review a gameable plan."
        )
    if answer not in names:
        return failed(
            "5.4",
            f"{answer!r} is not a signature the review checks.",
            f"Name one of {listing(names)}.",
        )
    count = int(mine.loc[mine["signature"] == answer, "teams_found"].sum())
    measured = f"The review found {answer} in {count} team review(s) under {plan}."
    if answer in leaders:
        return passed("5.4", f"{measured} No signature was found more often.")
    return failed(
        "5.4",
        f"{measured} Another signature was found more often.",
        "Sort the section's table by `teams_found` for that plan.",
    )


# --- 5.5 counter-metrics ---------------------------------------------------------------------


def interpret_counter_metrics(table: pd.DataFrame) -> str:
    """Write what the counter-metrics took out of the gaming gap and what they cost.

    Parameters
    ----------
    table : DataFrame
        :func:`~toolkit.experiments.safeguards.compare_variants`'s table: ``as_is`` and one or
        more variants with counter-metrics.

    Returns
    -------
    str
        One paragraph.
    """
    base = _row(table, "variant", AS_IS)
    sentences = [
        f"Under **{base['plan']}** the record scores {number(base['reported_score_mean'], 1)} "
        f"against {number(base['true_score_mean'], 1)} on the truth, a gaming index of "
        f"{number(base['gaming_index'], 1)} points."
    ]
    for row in table[table["variant"] != AS_IS].to_dict("records"):
        cut = 1 - row["gaming_index"] / base["gaming_index"] if base["gaming_index"] > 0 else 0.0
        sentences.append(
            f"With **{row['variant']}** it is {number(row['gaming_index'], 1)} "
            f"({share(cut)} less, {_interval(pd.Series(row), 'gaming_index')} over the paired "
            f"seeds), the true score {number(row['true_score_mean'], 1)} and the awards "
            f"{money(row['total_awards'])} against {money(base['total_awards'])}."
        )
    sentences.append(
        "A counter-metric works only on the trace the gaming leaves: one that merely requests "
        "an audit costs the gamer nothing without a malus, and one tight enough to void the "
        "pay also catches honest teams whose ticket mix moves by chance."
    )
    return " ".join(sentences)


def check_counter_metrics(
    counter_metrics: Sequence[Mapping[str, Any]],
    section: pd.DataFrame,
    plan: str,
    scenario: str | Path,
    seeds: int,
    out: str | Path,
    workers: int | None = None,
    progress: bool = False,
    goal: float = GAMING_CUT_GOAL,
) -> Check:
    """Run the gameable plan with the learner's counter-metrics; check the gaming index halves.

    Parameters
    ----------
    counter_metrics : sequence of mapping
        Counter-metrics as in a plan file, added to the plan's own.
    section : DataFrame
        The section's :func:`~toolkit.experiments.safeguards.compare_variants` table, holding
        the plan as it is (``as_is``) on the same seeds.
    plan : str
        The gameable plan.
    scenario : str or Path
        The scenario.
    seeds : int
        Seeds.
    out : path
        The batch directory of section 5.5.
    workers, progress
        As for the batch.
    goal : float
        The share of the gaming index to take out.

    Returns
    -------
    Check
        See :func:`counter_metric_verdict`.
    """
    own = [c.model_dump(mode="python") for c in as_plan(plan).counter_metrics]
    table, _ = compare_variants(
        plan,
        {"exercise": {"counter_metrics": [*own, *map(dict, counter_metrics)]}},
        [scenario_file(scenario)],
        seeds,
        out,
        workers=workers,
        progress=progress,
        as_is=False,
    )
    return counter_metric_verdict(
        _row(table, "variant", "exercise"), _row(section, "variant", AS_IS), goal
    )


def counter_metric_verdict(
    mine: pd.Series, base: pd.Series, goal: float = GAMING_CUT_GOAL
) -> Check:
    """Judge a guarded plan: its gaming index at most ``1 − goal`` of the plan's.

    Parameters
    ----------
    mine : Series
        The guarded plan's row (``gaming_index``, ``total_awards``).
    base : Series
        The plan as it is, on the same seeds (also ``plan``).
    goal : float
        The share of the gaming index to take out.

    Returns
    -------
    Check
        The verdict.
    """
    bound = (1 - goal) * base["gaming_index"]
    measured = (
        f"Gaming index {number(mine['gaming_index'], 2)} against {number(base['gaming_index'], 2)}"
        f" for {base['plan']} (goal: at most {number(bound, 2)}); awards "
        f"{money(mine['total_awards'])} against {money(base['total_awards'])}."
    )
    if base["gaming_index"] <= 0:
        return failed("5.5", f"{base['plan']} is not gamed on this scenario.", "Pick a gamed plan.")
    if mine["gaming_index"] > bound:
        return failed(
            "5.5",
            measured,
            "Find which gaming lever the plan's teams pull (the review of 5.4 names its "
            "trace), watch the KPI that trace moves, and give the counter-metric a consequence "
            "that costs the gamer pay rather than only an audit.",
        )
    return passed("5.5", measured)


# --- 5.6 justification for skipping the CAB ---------------------------------------------------


def interpret_justification(fired: pd.DataFrame, levers: pd.DataFrame) -> str:
    """Write how often the justification gate fired and what it changed in CAB skipping.

    Parameters
    ----------
    fired, levers : DataFrame
        :func:`~toolkit.experiments.gate_effect.gate_effect`'s gate and lever tables.

    Returns
    -------
    str
        One paragraph.
    """
    gate = fired.iloc[0]
    abuse = levers[levers["lever"] == "emergency_abuse"].iloc[0]
    pace = levers[levers["lever"] == "change_rate"].iloc[0]
    if abuse["mean_without"] <= 0:
        effect = (
            "Without the gate teams never pushed a change through as an emergency to skip the "
            "CAB on these seeds, so the rule had nothing to deter: its effect cannot be told "
            "here, only that it cost honest teams nothing"
        )
    else:
        effect = (
            f"Emergency abuse moved from {number(abuse['mean_without'], 3)} to "
            f"{number(abuse['mean_with'], 3)} "
            f"({interval_words(abuse['ci_low'], abuse['ci_high'])} over the paired seeds)"
        )
    return (
        f"The rule disqualifies a team's plan year once {gate['gate_kpi']} reaches "
        f"{number(gate['at_least'], 0)}. It fired in {share(gate['gated_share'])} of team "
        f"plan-quarters ({gate['runs_fired']} of {gate['seeds']} run(s)) and removed "
        f"{money(gate['awards_removed'] + 0.0)} of awards. {effect}; change pace went from "
        f"{number(pace['mean_without'], 3)} to {number(pace['mean_with'], 3)}. A documented "
        "justification is cheap to demand because genuine emergencies always carry one; to "
        "see whether it deters abuse, run it over longer horizons and more seeds, where CAB "
        "skipping has time to appear."
    )


def fixed_pay_level(library: BatchResult, kpi: str, reference: str = FIXED_PAY) -> float:
    """Return a KPI's true mean over teams, plan periods and seeds under fixed pay.

    Parameters
    ----------
    library : BatchResult
        A batch holding the fixed-pay plan.
    kpi : str
        The KPI.
    reference : str
        The fixed-pay plan.

    Returns
    -------
    float
        The mean (NaN where the KPI is never measured).

    Raises
    ------
    ValueError
        An unknown KPI (with the closest name) or a batch without the plan.
    """
    if kpi not in kpi_by_name():
        raise ValueError(unknown_kpi(kpi, kpi_by_name()))
    runs = library.runs[library.runs["plan"] == reference]
    if not len(runs):
        raise ValueError(
            f"the batch has no {reference!r} run; it has {sorted(library.runs['plan'])}"
        )
    start = as_plan(reference).start_after_periods
    values = [
        kpi_levels(library.directory, directory, kpi, start)["true_mean"]
        for directory in runs["directory"]
    ]
    return float(pd.Series(values, dtype=float).mean())


def check_justification_gate(
    gate: Mapping[str, Any],
    library: BatchResult,
    scenario: str | Path,
    seeds: int,
    out: str | Path,
    plan: str = "throughput_only",
    workers: int | None = None,
    progress: bool = False,
) -> Check:
    """Run the speed plan with the learner's gate; check it spares honest teams.

    Parameters
    ----------
    gate : mapping
        ``{"kpi": ..., "at_least": ...}``.
    library : BatchResult
        The shared batch (for the gate KPI's level under fixed pay).
    scenario : str or Path
        The scenario.
    seeds : int
        Seeds.
    out : path
        The batch directory of section 5.6.
    plan : str
        The speed plan.
    workers, progress
        As for the batch.

    Returns
    -------
    Check
        See :func:`justification_verdict`.
    """
    model = Gate.model_validate(dict(gate))
    _, fired, _ = gate_effect(
        plan, model, [scenario_file(scenario)], seeds, out, workers=workers, progress=progress
    )
    return justification_verdict(fired.iloc[0], fixed_pay_level(library, model.kpi))


def justification_verdict(
    fired: pd.Series, honest_level: float, goal: float = GATED_SHARE_GOAL
) -> Check:
    """Judge a gate against CAB skipping: honest teams never produce its KPI, few are gated.

    Parameters
    ----------
    fired : Series
        The gate's row of :func:`~toolkit.experiments.gate_effect.gate_effect`.
    honest_level : float
        The gate KPI's true mean per team quarter under fixed pay.
    goal : float
        The largest share of team plan-quarters the gate may disqualify.

    Returns
    -------
    Check
        Met when the KPI is 0 under fixed pay (only skipping the CAB produces it) and the gate
        disqualifies at most ``goal`` of team plan-quarters.
    """
    measured = (
        f"The gate on {fired['gate_kpi']} disqualified {share(fired['gated_share'])} of team "
        f"plan-quarters (goal: at most {share(goal)}); under fixed pay the KPI averages "
        f"{number(honest_level, 2)} per team quarter (goal: 0, nothing honest produces it)."
    )
    if not math.isfinite(honest_level) or honest_level > 0:
        return failed(
            "5.6",
            measured,
            "Honest teams produce this KPI too, so the gate punishes genuine work; the rule is "
            "about emergency changes that carry no documented reason (`lti kpis --list`).",
        )
    if fired["gated_share"] > goal:
        return failed("5.6", measured, "The gate fires too often; raise `at_least`.")
    return passed("5.6", measured)
