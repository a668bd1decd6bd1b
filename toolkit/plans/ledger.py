"""The award ledger: grants, accrual, vesting, deferral, pools, caps, malus and clawback.

Period scores go in one period at a time; money comes out as tables. The rules, in the order
:meth:`AwardLedger.close_period` applies them at the end of period ``k``:

1. **Grants.** A cohort is granted at each period ``g = start_after_periods + j × G`` with
   ``G = grant_every_years × periods_per_year`` while ``g`` is inside the horizon; its
   performance window is ``g .. g + P − 1`` with ``P = performance_period_years ×
   periods_per_year`` and may run past the horizon. Each person's grant value is
   ``base_salary × target_award_pct[grade] / 100`` (``default_target_award_pct`` otherwise).
2. **Accrual.** Each window period adds ``grant / P × score / 100`` to the person's accrued,
   unvested award (the service-period accrual of the accounts). ``period_value`` is the
   ``score = 100`` case summed over the team.
3. **Vesting.** A cohort is cut into tranches: one spanning the window (``cliff``) or one per
   window year (``graded``). A tranche vests at the end of its last period, if that is inside
   the horizon, with what it accrued: a cliff pays ``grant × mean window score / 100``, a
   graded tranche ``grant / years × mean score of its year / 100``. Every tranche ends on the
   last period of a plan year (plan year ``(k − start_after_periods) // periods_per_year``),
   so a plan year has one vesting date, where pool and cap scaling happen together.
4. **Pool.** Per plan year, each team's total vesting is compared with its pool
   (:func:`toolkit.finance.pools.team_pools`); above it, the team's amounts scale pro rata to
   the pool. Pools do not carry over between years.
5. **Cap.** After pool scaling, the organisation's total vesting in the plan year is compared
   with ``pct_of_personnel_cost`` % of total annual base salaries; above it, every amount
   scales pro rata to the cap.
6. **Deferral.** ``deferral_share`` of each vested amount is held and paid at the end of the
   period ``deferral_years × periods_per_year`` later, if inside the horizon; the rest is paid
   at vesting.
7. **True-ups.** A period scored provisionally (its data was late, see
   :mod:`toolkit.run.data_availability`) is corrected when its data arrives: closing period
   ``j`` with a true-up of period ``k < j`` by ``Δ`` points adds ``grant / P × Δ / 100`` to
   every tranche accruing in ``k``, at ``j``. A tranche not yet vested takes it into its
   accrual; a tranche already vested takes it as a vest of its own, scaled by the pool and
   cap factors the tranche met at vesting, deferred by ``deferral_share`` while its deferral
   is held and paid otherwise. A negative true-up after payment is a negative payment: the
   overpayment recovered. Held periods (scored 0 at the deadline) are paid the same way.
   True-ups apply before the period's own accrual.
8. **Findings** act on the state after this period's vesting and payments. Malus takes
   ``reduction`` of the team's unvested accruals and deferred amounts; clawback recovers
   ``recovery`` of the (not yet recovered) payments to the team's people made in the last
   ``lookback_years × periods_per_year`` periods, this one included. Each acts only for
   consequences among its triggers, and at most once per team and period however many
   findings name the team.

Money identities, per person and cohort, at any time (see :meth:`AwardLedger.awards`)::

    accrued = earned + pool_scaling + cap_scaling + forfeited
    earned  = vested + outstanding
    vested  = paid + clawed_back + deferred + (malus − forfeited)

where ``forfeited`` is malus on unvested accruals and ``malus − forfeited`` malus on deferred
amounts. Nothing here is random: audits are drawn by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, get_args

import numpy as np
import pandas as pd

from toolkit.config.plan import Consequence, Plan
from toolkit.config.scenario import Scenario
from toolkit.finance.caps import apply_cap
from toolkit.finance.pools import pool_factors, team_pools

CONSEQUENCES = frozenset(get_args(Consequence))
KINDS = ("vest", "defer", "pay", "malus", "clawback", "pool_scaling", "cap_scaling", "true_up")


class Finding(NamedTuple):
    """A consequence found for a team in a period, e.g. by an audit or a gate."""

    team_id: str
    consequence: Consequence


@dataclass(frozen=True)
class Exposure:
    """What a finding against a team would put at risk, as of the last closed period.

    Attributes
    ----------
    team_id : str
        The team.
    unvested : float
        Accrued, not yet vested awards of its people (open cohorts).
    deferred : float
        Vested amounts held back, not yet paid.
    paid_in_lookback : float
        Payments not yet recovered that a clawback would reach (0 without clawback).
    malus_share, clawback_share : float
        The plan's malus ``reduction`` and clawback ``recovery`` (0 when absent).
    malus_triggers, clawback_triggers : frozenset of str
        The consequences that trigger each.
    """

    team_id: str
    unvested: float
    deferred: float
    paid_in_lookback: float
    malus_share: float
    clawback_share: float
    malus_triggers: frozenset[str]
    clawback_triggers: frozenset[str]

    @property
    def malus_amount(self) -> float:
        """Return what a malus would take: its share of unvested and deferred amounts."""
        return self.malus_share * (self.unvested + self.deferred)

    @property
    def clawback_amount(self) -> float:
        """Return what a clawback would recover from payments in the lookback."""
        return self.clawback_share * self.paid_in_lookback

    def at_risk(self, consequence: Consequence) -> float:
        """Return the money a finding with this consequence would take now.

        The behaviour model weighs it by the chance of detection.
        """
        taken = self.malus_amount if consequence in self.malus_triggers else 0.0
        if consequence in self.clawback_triggers:
            taken += self.clawback_amount
        return taken


class AwardLedger:
    """Turn period scores into grants, vesting, deferral, malus and clawback over a run.

    State is kept as arrays over (person, tranche), so that closing a period costs a few
    array operations; tables are built on request. The rules are in the module docstring.

    Parameters
    ----------
    plan : Plan
        Awards, schedule, funding, cap, vesting, malus and clawback.
    scenario : Scenario
        Teams, people (grade and base salary) and services (for funding pools).
    period_labels : sequence of str
        Label of each period of the run, in order; their number is the horizon ``K``.
    periods_per_year : int
        12, 4 or 1 for months, quarters or years.

    Raises
    ------
    ValueError
        If there are no periods, labels repeat or ``periods_per_year`` is below 1.
    """

    def __init__(
        self,
        plan: Plan,
        scenario: Scenario,
        period_labels: Sequence[str],
        periods_per_year: int,
    ) -> None:
        labels = [str(label) for label in period_labels]
        if not labels:
            raise ValueError("period_labels is empty: a run needs at least one period")
        if len(set(labels)) != len(labels):
            raise ValueError(f"period labels repeat: {labels}")
        if periods_per_year < 1:
            raise ValueError(f"periods_per_year must be at least 1 (got {periods_per_year})")
        self.plan = plan
        self.scenario = scenario
        self.period_labels = labels
        self.periods_per_year = periods_per_year
        horizon = len(labels)
        self._window = plan.performance_period_years * periods_per_year

        teams = scenario.organisation.teams
        self._team_ids = [team.id for team in teams]
        self._team_pos = {team_id: i for i, team_id in enumerate(self._team_ids)}
        self._people = [(person, team.id) for team in teams for person in team.people]
        self._person_team = np.array([self._team_pos[t] for _, t in self._people], dtype=int)
        self._team_rows = [np.flatnonzero(self._person_team == i) for i in range(len(teams))]
        self._grant = np.array(
            [
                person.base_salary
                * plan.target_award_pct.get(person.grade, plan.default_target_award_pct)
                / 100
                for person, _ in self._people
            ]
        )

        step = plan.grant_every_years * periods_per_year
        self._cohort_start = np.arange(plan.start_after_periods, horizon, step)
        per_cohort = plan.performance_period_years if plan.vesting.schedule == "graded" else 1
        length = self._window // per_cohort
        self._tranche_cohort = np.repeat(np.arange(len(self._cohort_start)), per_cohort)
        self._tranche_start = (
            self._cohort_start[self._tranche_cohort]
            + np.tile(np.arange(per_cohort), len(self._cohort_start)) * length
        )
        self._tranche_end = self._tranche_start + length - 1
        self._release = self._tranche_end + plan.vesting.deferral_years * periods_per_year
        self._labels = np.array(labels, dtype=object)
        self._cohort_labels = self._labels[self._cohort_start]
        self._person_ids = np.array([person.id for person, _ in self._people], dtype=object)
        self._person_team_ids = np.array([team for _, team in self._people], dtype=object)
        self._to_cohort = np.eye(len(self._cohort_start))[self._tranche_cohort]
        self._by_team = np.eye(len(teams))[self._person_team].T

        active = [
            np.count_nonzero((self._cohort_start <= k) & (k < self._cohort_start + self._window))
            for k in range(horizon)
        ]
        team_grant = self._by_team @ self._grant
        self._value = np.outer(team_grant / self._window, active)
        self._pools = team_pools(plan, scenario)["pool"].to_numpy()

        shape = (len(self._people), len(self._tranche_start))
        self._state = {
            name: np.zeros(shape)
            for name in (
                "accrued",
                "unvested",
                "forfeited",
                "pool_scaling",
                "cap_scaling",
                "vested",
                "deferred",
                "malus_deferred",
                "paid_gross",
                "clawed_back",
            )
        }
        # the pool and cap factors each tranche met at vesting, for true-ups after it
        self._pool_factor = np.ones(shape)
        self._cap_factor = np.ones(shape)
        self._payments: dict[int, np.ndarray] = {}  # period -> payments not yet recovered
        self._events: list[tuple[int, str, np.ndarray]] = []
        self._snapshots: list[np.ndarray] = []  # per period: (4, teams, cohorts)
        self._next = 0

    @property
    def periods_closed(self) -> int:
        """Return how many periods have been closed (the next one to close)."""
        return self._next

    def close_period(
        self,
        k: int,
        team_scores: Mapping[str, float],
        findings: Sequence[Finding] = (),
        true_ups: Sequence[tuple[int, Mapping[str, float]]] = (),
    ) -> None:
        """Book period ``k``: accrue its scores, vest, pay, scale, and act on its findings.

        Parameters
        ----------
        k : int
            The period; periods close in order 0, 1, 2, ...
        team_scores : mapping of str to float
            Team id to the period score in % of target (≥ 0); missing teams score 0.
            Pre-plan periods accrue nothing whatever their scores.
        findings : sequence of Finding
            Consequences found in period ``k``; anything with ``team_id`` and ``consequence``.
        true_ups : sequence of (int, mapping of str to float)
            Corrections of earlier periods booked now: the period corrected and, per team, the
            final score less the score it was closed with, in points (may be negative).

        Raises
        ------
        ValueError
            If ``k`` is not the next period, a team is unknown, a score is negative or not
            finite, a true-up is not of an earlier period, or a consequence is unknown. The
            ledger is unchanged then.
        """
        if k != self._next:
            raise ValueError(f"periods close in order: the next is {self._next}, got {k}")
        if k >= len(self.period_labels):
            raise ValueError(f"period {k} is beyond the horizon of {len(self.period_labels)}")
        scores = self._score_vector(team_scores)
        corrections = [(p, self._delta_vector(p, k, deltas)) for p, deltas in true_ups]
        malus_teams, clawback_teams = self._triggered(findings)
        state = self._state

        payment = np.zeros_like(state["paid_gross"])
        for period, delta in corrections:
            payment += self._true_up(k, period, delta)
        accruing = (self._tranche_start <= k) & (k <= self._tranche_end)
        if accruing.any():
            rate = self._grant * scores[self._person_team] / 100 / self._window
            accrual = np.outer(rate, accruing)
            state["accrued"] += accrual
            state["unvested"] += accrual
        vesting = self._tranche_end == k
        if vesting.any():
            payment += self._vest(k, vesting)
        releasing = (self._release == k) & (self.plan.vesting.deferral_share > 0)
        if releasing.any():
            released = np.where(releasing, state["deferred"], 0.0)
            state["deferred"] -= released
            payment += released
        if payment.any():
            state["paid_gross"] += payment
            self._payments[k] = payment.copy()  # clawback recovers from the copy
            self._events.append((k, "pay", payment))
        for team in malus_teams:
            self._apply_malus(k, team)
        for team in clawback_teams:
            self._apply_clawback(k, team)
        self._snapshots.append(self._snapshot())
        self._next += 1

    def period_value(self, team_id: str, k: int) -> float:
        """Return the money a 100 % score in period ``k`` adds to a team's expected awards.

        The sum over the team's people and the cohorts whose window holds ``k`` of
        ``grant / P``, before pool and cap scaling; 0 before the plan starts and for a plan
        without awards. The behaviour model uses it to price candidate moves.

        Raises
        ------
        KeyError
            If the team is unknown.
        ValueError
            If ``k`` is outside the horizon.
        """
        if not 0 <= k < len(self.period_labels):
            raise ValueError(f"period {k} is outside the horizon 0..{len(self.period_labels) - 1}")
        return float(self._value[self._team(team_id), k])

    def exposure(self, team_id: str) -> Exposure:
        """Return what a finding against the team would put at risk now.

        As if the finding came with the last closed period: its unvested accruals and deferred
        amounts, and the unrecovered payments within the clawback lookback.
        """
        rows = self._team_rows[self._team(team_id)]
        state, plan = self._state, self.plan
        in_lookback = 0.0
        if plan.clawback is not None:
            in_lookback = sum(
                float(self._payments[p][rows].sum()) for p in self._lookback_periods(self._next - 1)
            )
        return Exposure(
            team_id=team_id,
            unvested=float(state["unvested"][rows].sum()),
            deferred=float(state["deferred"][rows].sum()),
            paid_in_lookback=in_lookback,
            malus_share=plan.malus.reduction if plan.malus else 0.0,
            clawback_share=plan.clawback.recovery if plan.clawback else 0.0,
            malus_triggers=frozenset(plan.malus.triggers if plan.malus else ()),
            clawback_triggers=frozenset(plan.clawback.triggers if plan.clawback else ()),
        )

    def awards(self) -> pd.DataFrame:
        """Return one row per person and cohort granted so far, with where its money stands.

        Returns
        -------
        DataFrame
            ``person_id``, ``team_id``, ``grade``, ``country``, ``gender``, ``base_salary``,
            ``cohort`` (label of the grant period), and money: ``granted`` (grant value),
            ``accrued`` (``grant / P × score / 100`` summed over the window so far),
            ``pool_scaling`` and ``cap_scaling`` (cut at vesting), ``earned`` (accrued after
            scaling and malus), ``vested``, ``deferred`` (held, not yet paid), ``forfeited``
            (malus on unvested accruals), ``malus`` (all malus, on unvested and deferred),
            ``clawed_back``, ``paid`` (net of clawback), ``outstanding`` (earned, not yet
            vested; not forfeited at the horizon end), and ``status``: ``"open"`` until the
            last tranche vests, then ``"vested"`` while a deferral is due, then ``"paid"``.
        """
        granted = self._cohort_start < self._next
        cohorts = np.flatnonzero(granted)
        money = {
            name: ((values @ self._to_cohort)[:, granted]).ravel()
            for name, values in self._state.items()
        }
        last = self._next - 1
        ends = self._cohort_start[cohorts] + self._window - 1
        releases = ends + self.plan.vesting.deferral_years * self.periods_per_year
        held = (self.plan.vesting.deferral_share > 0) & (releases > last)
        status = np.where(ends > last, "open", np.where(held, "vested", "paid"))

        person = np.repeat(np.arange(len(self._people)), len(cohorts))
        column = np.tile(np.arange(len(cohorts)), len(self._people))
        people = [self._people[i][0] for i in person]
        table = pd.DataFrame(
            {
                "person_id": pd.Series([p.id for p in people], dtype="str"),
                "team_id": pd.Series(self._person_team_ids[person], dtype="str"),
                "grade": pd.Series([p.grade for p in people], dtype="str"),
                "country": pd.Series([p.country for p in people], dtype="str"),
                "gender": pd.Series([p.gender for p in people], dtype="str"),
                "base_salary": pd.Series([p.base_salary for p in people], dtype=float),
                "cohort": pd.Series(self._cohort_labels[cohorts[column]], dtype="str"),
                "granted": self._grant[person],
                "accrued": money["accrued"],
                "pool_scaling": money["pool_scaling"],
                "cap_scaling": money["cap_scaling"],
                "earned": money["vested"] + money["unvested"],
                "vested": money["vested"],
                "deferred": money["deferred"],
                "forfeited": money["forfeited"],
                "malus": money["forfeited"] + money["malus_deferred"],
                "clawed_back": money["clawed_back"],
                "paid": money["paid_gross"] - money["clawed_back"],
                "outstanding": money["unvested"],
                "status": pd.Series(status[column], dtype="str"),
            }
        )
        return table

    def cashflows(self) -> pd.DataFrame:
        """Return the audit trail of money events, one row per person, cohort and event.

        Returns
        -------
        DataFrame
            ``period`` (label), ``person_id``, ``team_id``, ``cohort``, ``kind`` and
            ``amount`` (positive; the kind gives the direction): ``vest`` (after scaling),
            ``defer`` (held back of a vest), ``pay`` (cash out, at vesting or on release of a
            deferral), ``malus`` (taken from unvested or deferred amounts), ``clawback``
            (recovered from payments), ``pool_scaling`` and ``cap_scaling`` (cut at vesting),
            ``true_up`` (accrual corrected for a period scored provisionally or held, signed).
            A negative true-up of a vested tranche makes its ``vest``, ``defer``, ``pay`` and
            scaling rows negative: the overpayment recovered. In the order the events
            happened; zero amounts are left out.
        """
        periods, kinds, people, cohorts, amounts = [], [], [], [], []
        for k, kind, amount in self._events:
            by_cohort = amount @ self._to_cohort
            person, cohort = np.nonzero(by_cohort)
            periods += [k] * len(person)
            kinds += [kind] * len(person)
            people.append(person)
            cohorts.append(cohort)
            amounts.append(by_cohort[person, cohort])
        person = np.concatenate([np.empty(0, dtype=int), *people])
        cohort = np.concatenate([np.empty(0, dtype=int), *cohorts])
        return pd.DataFrame(
            {
                "period": pd.Series(self._labels[np.array(periods, dtype=int)], dtype="str"),
                "person_id": pd.Series(self._person_ids[person], dtype="str"),
                "team_id": pd.Series(self._person_team_ids[person], dtype="str"),
                "cohort": pd.Series(self._cohort_labels[cohort], dtype="str"),
                "kind": pd.Series(kinds, dtype="str"),
                "amount": np.concatenate([np.empty(0), *amounts]),
            }
        )

    def liability(self) -> pd.DataFrame:
        """Return the accrued, unpaid awards per closed period, cohort and team.

        Returns
        -------
        DataFrame
            ``period``, ``cohort``, ``team_id``, ``earned`` (to date, as in :meth:`awards`),
            ``accrual`` (change of ``earned`` in the period: new accruals less scaling and
            malus true-ups), ``outstanding`` (unvested), ``deferred`` (held), ``paid`` (net,
            to date) and ``liability = outstanding + deferred``, what is owed but not paid.
            Cohorts appear from their grant period on.
        """
        if not self._snapshots:
            snaps = np.zeros((0, 4, len(self._team_ids), len(self._cohort_start)))
        else:
            snaps = np.stack(self._snapshots)
        earned, outstanding, deferred, paid = (snaps[:, i] for i in range(4))
        accrual = np.diff(earned, axis=0, prepend=np.zeros((1, *earned.shape[1:])))
        period, team, cohort = np.meshgrid(
            np.arange(len(snaps)),
            np.arange(len(self._team_ids)),
            np.arange(len(self._cohort_start)),
            indexing="ij",
        )
        keep = (self._cohort_start[cohort] <= period).ravel()
        table = pd.DataFrame(
            {
                "period": pd.Series(self._labels[period.ravel()[keep]], dtype="str"),
                "cohort": pd.Series(self._cohort_labels[cohort.ravel()[keep]], dtype="str"),
                "team_id": pd.Series(np.array(self._team_ids)[team.ravel()[keep]], dtype="str"),
                "earned": earned.ravel()[keep],
                "accrual": accrual.ravel()[keep],
                "outstanding": outstanding.ravel()[keep],
                "deferred": deferred.ravel()[keep],
                "paid": paid.ravel()[keep],
            }
        )
        table["liability"] = table["outstanding"] + table["deferred"]
        return table

    def _team(self, team_id: str) -> int:
        try:
            return self._team_pos[team_id]
        except KeyError:
            raise KeyError(f"unknown team {team_id!r}; teams: {self._team_ids}") from None

    def _score_vector(self, team_scores: Mapping[str, float]) -> np.ndarray:
        """Check and order scores by team; a typo in a team id must not silently score 0."""
        scores = np.zeros(len(self._team_ids))
        for team_id, score in team_scores.items():
            if team_id not in self._team_pos:
                raise ValueError(f"score for unknown team {team_id!r}; teams: {self._team_ids}")
            if not np.isfinite(score) or score < 0:
                raise ValueError(f"score of team {team_id!r} must be finite and >= 0 (got {score})")
            scores[self._team_pos[team_id]] = score
        return scores

    def _delta_vector(self, period: int, k: int, deltas: Mapping[str, float]) -> np.ndarray:
        """Check and order a true-up's score changes by team (they may be negative)."""
        if not 0 <= period < k:
            raise ValueError(f"a true-up at period {k} corrects an earlier period (got {period})")
        vector = np.zeros(len(self._team_ids))
        for team_id, delta in deltas.items():
            if team_id not in self._team_pos:
                raise ValueError(f"true-up for unknown team {team_id!r}; teams: {self._team_ids}")
            if not np.isfinite(delta):
                raise ValueError(f"true-up of team {team_id!r} must be finite (got {delta})")
            vector[self._team_pos[team_id]] = delta
        return vector

    def _true_up(self, k: int, period: int, delta: np.ndarray) -> np.ndarray:
        """Book a correction of ``period`` at ``k`` (rule 7); return what it pays now."""
        state, share = self._state, self.plan.vesting.deferral_share
        accruing = (self._tranche_start <= period) & (period <= self._tranche_end)
        adjustment = np.outer(self._grant * delta[self._person_team] / 100 / self._window, accruing)
        state["accrued"] += adjustment
        self._events.append((k, "true_up", adjustment))
        vested = self._tranche_end < k
        state["unvested"] += np.where(vested, 0.0, adjustment)
        late = np.where(vested, adjustment, 0.0)
        if not late.any():
            return np.zeros_like(late)
        pooled = late * self._pool_factor
        capped = pooled * self._cap_factor
        held = (self._release >= k) & (share > 0)
        deferred = np.where(held, capped * share, 0.0)
        state["pool_scaling"] += late - pooled
        state["cap_scaling"] += pooled - capped
        state["vested"] += capped
        state["deferred"] += deferred
        self._events += [
            (k, "pool_scaling", late - pooled),
            (k, "cap_scaling", pooled - capped),
            (k, "vest", capped),
            (k, "defer", deferred),
        ]
        return capped - deferred

    def _triggered(self, findings: Sequence[Finding]) -> tuple[list[int], list[int]]:
        """Return the teams (in order of first finding) that face malus and clawback."""
        malus, clawback = self.plan.malus, self.plan.clawback
        malus_teams: dict[int, None] = {}
        clawback_teams: dict[int, None] = {}
        for finding in findings:
            if finding.consequence not in CONSEQUENCES:
                raise ValueError(
                    f"unknown consequence {finding.consequence!r}; one of {sorted(CONSEQUENCES)}"
                )
            if finding.team_id not in self._team_pos:
                raise ValueError(f"finding for unknown team {finding.team_id!r}")
            team = self._team_pos[finding.team_id]
            if malus is not None and finding.consequence in malus.triggers:
                malus_teams[team] = None
            if clawback is not None and finding.consequence in clawback.triggers:
                clawback_teams[team] = None
        return list(malus_teams), list(clawback_teams)

    def _vest(self, k: int, vesting: np.ndarray) -> np.ndarray:
        """Vest the tranches ending at ``k`` after pool then cap scaling; return the payments."""
        state = self._state
        amount = np.where(vesting, state["unvested"], 0.0)
        state["unvested"] -= amount
        team_total = np.bincount(
            self._person_team, weights=amount.sum(axis=1), minlength=len(self._team_ids)
        )
        factors = pool_factors(team_total, self._pools)[self._person_team, None]
        pooled = amount * factors
        capped, cap_factor = apply_cap(pooled, self.plan, self.scenario)
        self._pool_factor[:, vesting] = factors
        self._cap_factor[:, vesting] = cap_factor
        deferred = capped * self.plan.vesting.deferral_share
        state["pool_scaling"] += amount - pooled
        state["cap_scaling"] += pooled - capped
        state["vested"] += capped
        state["deferred"] += deferred
        self._events += [
            (k, "pool_scaling", amount - pooled),
            (k, "cap_scaling", pooled - capped),
            (k, "vest", capped),
            (k, "defer", deferred),
        ]
        return capped - deferred

    def _apply_malus(self, k: int, team: int) -> None:
        """Take ``reduction`` of the team's unvested accruals and deferred amounts."""
        reduction = self.plan.malus.reduction
        rows = self._team_rows[team]
        state = self._state
        taken = np.zeros_like(state["unvested"])
        for held, booked in (("unvested", "forfeited"), ("deferred", "malus_deferred")):
            cut = reduction * state[held][rows]
            state[held][rows] -= cut
            state[booked][rows] += cut
            taken[rows] += cut
        self._events.append((k, "malus", taken))

    def _apply_clawback(self, k: int, team: int) -> None:
        """Recover ``recovery`` of the team's unrecovered payments within the lookback."""
        recovery = self.plan.clawback.recovery
        rows = self._team_rows[team]
        recovered = np.zeros_like(self._state["unvested"])
        for period in self._lookback_periods(k):
            cut = recovery * self._payments[period][rows]
            self._payments[period][rows] -= cut
            recovered[rows] += cut
        self._state["clawed_back"] += recovered
        self._events.append((k, "clawback", recovered))

    def _lookback_periods(self, k: int) -> list[int]:
        """Return the payment periods a clawback at ``k`` reaches: the last lookback years."""
        reach = self.plan.clawback.lookback_years * self.periods_per_year
        return [period for period in self._payments if k - reach < period <= k]

    def _snapshot(self) -> np.ndarray:
        """Sum the state by team and cohort for the liability table."""
        state = self._state
        parts = (
            state["vested"] + state["unvested"],
            state["unvested"],
            state["deferred"],
            state["paid_gross"] - state["clawed_back"],
        )
        return np.stack([self._by_team @ part @ self._to_cohort for part in parts])
