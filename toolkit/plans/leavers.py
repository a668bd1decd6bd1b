"""Good- and bad-leaver rules applied to the award ledger of a run.

The ledger (:mod:`toolkit.plans.ledger`) knows no leavers: every person of the scenario accrues
and vests to the end of the run. The HR roster says who left, when and why; this module applies
the plan's ``leavers`` rules (:class:`toolkit.config.plan.Leavers`) to the ledger's awards of
those people, as a pure function of the tables, so that the same run can be read under other
rules or another roster.

For a person leaving on ``end_date``, in run period ``L`` (the period holding that day), and an
award of cohort ``s`` whose performance window has ``P`` periods:

* **unvested at leaving** ``U = earned − vested by L``: what the ledger credits the award beyond
  the tranches that vested at or before the end of period ``L`` (``vest`` events of the
  cashflows);
* **deferred at leaving** ``D``: the ``defer`` events of periods ``L − d < v ≤ L`` (``d`` the
  deferral in periods), vested amounts still held when the person left;
* a **good leaver** keeps ``U × share``, where ``share`` is ``1`` for ``keep``, ``0`` for
  ``forfeit`` and, for ``pro_rata``, the window served, ``clip((L − s + 1) / P, 0, 1)`` in
  whole periods (the leaving period counts as served); ``D`` is kept unless
  ``good.keep_deferred`` is false;
* a **bad leaver** forfeits ``U`` and, with ``bad.forfeit_deferred``, ``D``.

``forfeited = (U − kept) + forfeited deferral``; adjusted ``earned`` is the ledger's less it.
``paid_after_leaving`` (``pay`` events after ``L``) is what payroll paid once the person had
left, which the forfeiture may require to be recovered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.config.plan import Leavers, Plan

LEAVER_COLUMNS = ("person_id", "end_date", "leaver_reason", "leaver_class")
FORFEITURE_COLUMNS = (
    "person_id",
    "team_id",
    "cohort",
    "end_date",
    "leave_period",
    "leaver_reason",
    "leaver_class",
    "treatment",
    "service_share",
    "unvested_at_leaving",
    "kept_unvested",
    "forfeited_unvested",
    "deferred_at_leaving",
    "forfeited_deferred",
    "forfeited",
    "paid_after_leaving",
)


def classify_leavers(roster: pd.DataFrame, rules: Leavers) -> pd.DataFrame:
    """Return one row per person the roster says left, with good or bad leaver class.

    Parameters
    ----------
    roster : DataFrame
        An HR roster (:func:`toolkit.ingest.people.read_roster`): ``person_id``,
        ``effective_date``, ``end_date``, ``leaver_reason``.
    rules : Leavers
        The plan's rules (:attr:`toolkit.config.plan.Plan.leaver_rules`).

    Returns
    -------
    DataFrame
        ``person_id, end_date, leaver_reason, leaver_class`` (``"good"`` or ``"bad"``) of each
        person whose last row has an end date; sorted by person.
    """
    last = roster.sort_values(["person_id", "effective_date"], kind="stable")
    last = last.groupby("person_id", as_index=False).tail(1)
    left = last[last["end_date"].notna()]  # a rehired person's last row has no end date
    table = left[["person_id", "end_date", "leaver_reason"]].copy()
    good = table["leaver_reason"].isin(rules.good_reasons)
    table["leaver_class"] = np.where(good, "good", "bad")
    return table.sort_values("person_id").reset_index(drop=True)[list(LEAVER_COLUMNS)]


def _event_sums(cashflows: pd.DataFrame, kind: str, keys: pd.DataFrame, when) -> np.ndarray:
    """Sum a kind of cashflow per award row of ``keys`` over the periods ``when`` selects."""
    events = cashflows[cashflows["kind"] == kind]
    if not len(events):
        return np.zeros(len(keys))
    events = events.merge(keys[["person_id", "cohort", "leave_index"]], on=["person_id", "cohort"])
    period = pd.PeriodIndex(events["period"].astype(str), freq=keys["freq"].iloc[0])
    position = (period - pd.PeriodIndex(events["cohort"], freq=keys["freq"].iloc[0])).map(
        lambda offset: offset.n
    )
    events = events[when(np.asarray(position), events["leave_index"].to_numpy())]
    sums = events.groupby(["person_id", "cohort"])["amount"].sum()
    index = pd.MultiIndex.from_frame(keys[["person_id", "cohort"]])
    return sums.reindex(index, fill_value=0.0).to_numpy()


def apply_leaver_rules(
    awards: pd.DataFrame,
    cashflows: pd.DataFrame,
    leavers: pd.DataFrame,
    plan: Plan,
    periods_per_year: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the plan's leaver rules to the awards of people who left.

    Parameters
    ----------
    awards : DataFrame
        The ledger's awards (``awards.parquet``): one row per person and cohort.
    cashflows : DataFrame
        The ledger's cashflows (``cashflows.parquet``), for what vested, was deferred and was
        paid before and after each leaving.
    leavers : DataFrame
        :func:`classify_leavers`: ``person_id, end_date, leaver_reason, leaver_class``.
    plan : Plan
        Window, deferral and leaver rules.
    periods_per_year : int
        12, 4 or 1: the run's period.

    Returns
    -------
    adjusted : DataFrame
        The awards with ``leaver_class`` (empty for stayers), ``leaver_forfeited`` and
        ``earned_after_leaving = earned − leaver_forfeited``.
    forfeitures : DataFrame
        One row per award of a leaver (columns :data:`FORFEITURE_COLUMNS`; the rule is in the
        module docstring).
    """
    rules = plan.leaver_rules
    window = plan.performance_period_years * periods_per_year
    deferral = plan.vesting.deferral_years * periods_per_year
    rows = awards.merge(leavers, on="person_id", how="inner")
    if len(rows):
        freq = pd.Period(rows["cohort"].iloc[0]).freq
        cohort = pd.PeriodIndex(rows["cohort"], freq=freq)
        leave = pd.PeriodIndex(pd.DatetimeIndex(rows["end_date"]), freq=freq)
        rows["leave_period"] = leave.astype(str)
        rows["leave_index"] = np.asarray((leave - cohort).map(lambda offset: offset.n))
        rows["freq"] = [freq] * len(rows)
    else:
        rows["leave_period"] = pd.Series(dtype="str")
        rows["leave_index"] = pd.Series(dtype="int64")
        rows["freq"] = pd.Series(dtype=object)
    vested_by = _event_sums(cashflows, "vest", rows, lambda v, leave: v <= leave)
    deferred = _event_sums(
        cashflows, "defer", rows, lambda v, leave: (v <= leave) & (v > leave - deferral)
    )
    paid_after = _event_sums(cashflows, "pay", rows, lambda v, leave: v > leave)
    good = (rows["leaver_class"] == "good").to_numpy()
    served = np.clip((rows["leave_index"].to_numpy(dtype=float) + 1) / window, 0.0, 1.0)
    share_of = {"pro_rata": served, "keep": np.ones(len(rows)), "forfeit": np.zeros(len(rows))}
    share = np.where(good, share_of[rules.good.treatment], 0.0)
    unvested = np.maximum(rows["earned"].to_numpy(dtype=float) - vested_by, 0.0)
    kept = unvested * share
    loses_deferral = np.where(good, not rules.good.keep_deferred, rules.bad.forfeit_deferred)
    forfeited_deferred = np.where(loses_deferral, deferred, 0.0)
    forfeitures = pd.DataFrame(
        {
            "person_id": rows["person_id"].astype(str),
            "team_id": rows["team_id"].astype(str),
            "cohort": rows["cohort"].astype(str),
            "end_date": rows["end_date"],
            "leave_period": rows["leave_period"].astype(str),
            "leaver_reason": rows["leaver_reason"].astype(str),
            "leaver_class": rows["leaver_class"].astype(str),
            "treatment": np.where(good, rules.good.treatment, "forfeit"),
            "service_share": share,
            "unvested_at_leaving": unvested,
            "kept_unvested": kept,
            "forfeited_unvested": unvested - kept,
            "deferred_at_leaving": deferred,
            "forfeited_deferred": forfeited_deferred,
            "forfeited": unvested - kept + forfeited_deferred,
            "paid_after_leaving": paid_after,
        },
        columns=list(FORFEITURE_COLUMNS),
    ).reset_index(drop=True)
    lost = forfeitures.set_index(["person_id", "cohort"])["forfeited"]
    classes = leavers.set_index("person_id")["leaver_class"]
    adjusted = awards.copy()
    index = pd.MultiIndex.from_frame(adjusted[["person_id", "cohort"]])
    adjusted["leaver_class"] = adjusted["person_id"].map(classes).fillna("").astype(str)
    adjusted["leaver_forfeited"] = lost.reindex(index, fill_value=0.0).to_numpy()
    adjusted["earned_after_leaving"] = adjusted["earned"] - adjusted["leaver_forfeited"]
    return adjusted, forfeitures
