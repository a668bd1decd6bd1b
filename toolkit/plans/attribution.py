"""Sharing a service's payout among the teams that worked on it (``attribution``).

Under ``owner`` every team is scored on the rows it handled and nothing here is used. Under
``equal``, ``contribution`` and ``shapley``, for one metric and period:

*Worlds.* Scoring counterfactuals puts many labels of one team in a log (``apps#3`` for
candidate 3 of ``apps``), so contributors are found per label: label ``L`` of real team ``T``
shares service ``S`` with the *status-quo* rows of the other teams on ``S`` (a label is status
quo when ``team_of`` maps it to itself or not at all). A candidate is thus judged against the
others' status quo, and labels of one team never share with each other. With no relabelling
every team is status quo and the rule is the plain one. A log may also hold side worlds (the
truth measured next to the record): every label of a side world is its team's status quo there,
and labels share only with labels of their own world.

*Units.* ``L``'s rows on services where it is the only contributor form its own unit, scored like
a team under ``owner`` (payout ``p_own``, volume ``w_own`` = its rows there). Each shared service
``S`` with contributors ``N`` (``n`` of them, ``w_i`` rows each, ``W = sum w_i``) has coalition
values ``v(C)``: the metric's payout measured on the rows of the teams in ``C`` only (an empty
or unmeasurable coalition pays 0); ``v(N)`` is the service's payout. ``L`` is credited
``credit`` and takes a ``stake`` of the service, with credits summing to ``v(N)`` and stakes to 1
over ``N``:

- ``equal``: credit ``v(N) / n``, stake ``1 / n``;
- ``contribution``: credit ``v(N) w_L / W``, stake ``w_L / W``;
- ``shapley``: credit the exact Shapley value of ``L`` in the game ``v`` over ``N``, stake
  ``1 / n``.

*Team payout.* ``(w_own p_own + sum_S W credit) / (w_own + sum_S W stake)``: the team's total
credit per unit of responsibility, in rows. A team that shares nothing gets exactly its owner
payout; two teams contributing alike to one service both get ``v(N)``. A service whose
``v(N)`` cannot be measured (say, no incident resolved) is left out for that period. A payout
below zero (a team whose Shapley credit is negative) counts as zero.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

SEP = "\x1f"  # joins ids in synthetic labels; never part of a real id
MAX_SHAPLEY_TEAMS = 6  # 2**5 coalitions per team and service: measured, not estimated


@dataclass(frozen=True)
class SharedView:
    """One table's rows relabelled for coalition measurement, and how to credit the results.

    Attributes
    ----------
    rows : DataFrame
        Own-unit rows under their label, plus a copy of each shared row under the id of every
        coalition it belongs to.
    terms : DataFrame
        ``label, service_id, plus, minus, coef``: ``credit = sum coef * (v(plus) - v(minus))``,
        ``minus`` empty for the empty coalition.
    stakes : DataFrame
        ``label, service_id, grand, stake, mass``: the grand coalition's id, the stake and the
        world's rows ``W`` on the service.
    own_volume : Series
        Rows of each label's own unit, by label.
    coalitions : DataFrame
        ``coalition, service_id``: every coalition id and the service it plays on.
    """

    rows: pd.DataFrame
    terms: pd.DataFrame
    stakes: pd.DataFrame
    own_volume: pd.Series
    coalitions: pd.DataFrame


def _coefficients(rule: str, label: str, members: tuple[str, ...], w: Mapping[str, int]):
    """Yield ``(coalition with label, coalition without label, coefficient)`` for one credit."""
    n = len(members)
    if rule == "equal":
        yield members, (), 1.0 / n
    elif rule == "contribution":
        yield members, (), w[label] / sum(w[m] for m in members)
    else:
        others = [m for m in members if m != label]
        for size in range(n):
            coef = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                yield tuple(sorted((*subset, label))), subset, coef


def shared_view(
    rows: pd.DataFrame,
    real: Mapping[str, str],
    rule: str,
    prefix: str,
    worlds: Mapping[str, str] | None = None,
) -> SharedView:
    """Split a table's rows into own units and coalitions, per the module's rule.

    Parameters
    ----------
    rows : DataFrame
        Incidents or changes of one period, ``team_id`` holding labels.
    real : mapping
        Label to real team, for every label in ``rows``.
    rule : str
        ``"equal"``, ``"contribution"`` or ``"shapley"``.
    prefix : str
        Starts every coalition id (one per table, so that ids never clash).
    worlds : mapping, optional
        Label to side world, for the labels of side worlds (see the module docstring).

    Returns
    -------
    SharedView
        The relabelled rows and the crediting tables.
    """
    worlds = worlds or {}
    pairs = rows.groupby(["service_id", "team_id"]).size().rename("w").reset_index()
    pairs["team"] = pairs["team_id"].map(real)
    # a service is shared within one world: "space" is the service in the label's world
    world = pairs["team_id"].map(lambda label: worlds.get(label, ""))
    pairs["space"] = pairs["service_id"] + SEP + world
    is_real = (pairs["team_id"] == pairs["team"]) | (world != "")
    teams_on = pairs.loc[is_real].groupby("space").size()
    own_team_on = pairs.merge(
        pairs.loc[is_real, ["space", "team"]].assign(present=1),
        on=["space", "team"],
        how="left",
    )["present"].fillna(0)
    partners = pairs["space"].map(teams_on).fillna(0).to_numpy() - own_team_on.to_numpy()
    shared = partners >= 1
    real_on = pairs.loc[is_real].groupby("space")["team_id"].agg(tuple).to_dict()
    w = {
        (s, t): n for s, t, n in zip(pairs["service_id"], pairs["team_id"], pairs["w"], strict=True)
    }

    coalitions: dict[tuple[str, tuple[str, ...]], str] = {}

    def coalition(service: str, members: tuple[str, ...]) -> str:
        return coalitions.setdefault((service, members), f"{prefix}{len(coalitions)}")

    terms, stakes = [], []
    chosen = pairs.loc[shared, ["service_id", "team_id", "space"]]
    for service, label, space in chosen.itertuples(index=False):
        others = (r for r in real_on[space] if real[r] != real[label])
        members = tuple(sorted({label, *others}))
        if rule == "shapley" and len(members) > MAX_SHAPLEY_TEAMS:
            raise ValueError(
                f"service {service!r} has {len(members)} contributing teams; exact Shapley "
                f"values are computed for at most {MAX_SHAPLEY_TEAMS} (use 'contribution')"
            )
        weights = {m: w[(service, m)] for m in members}
        grand = coalition(service, members)
        for plus, minus, coef in _coefficients(rule, label, members, weights):
            terms.append(
                (
                    label,
                    service,
                    coalition(service, plus),
                    coalition(service, minus) if minus else "",
                    coef,
                )
            )
        stake = (
            weights[label] / sum(weights.values()) if rule == "contribution" else 1 / len(members)
        )
        stakes.append((label, service, grand, stake, sum(weights.values())))

    # Copy each shared row once per coalition of its (service, team) pair, without merges.
    members = sorted((f"{s}{SEP}{m}", cid) for (s, group), cid in coalitions.items() for m in group)
    member_keys = pd.Index([k for k, _ in members]).unique()
    member_ids = np.array([cid for _, cid in members], dtype=object)
    first = np.searchsorted([k for k, _ in members], member_keys.to_numpy(dtype=object))
    count = np.diff(np.append(first, len(members)))
    row_keys = rows["service_id"] + SEP + rows["team_id"]
    position = member_keys.get_indexer(row_keys.to_numpy())
    copied = np.flatnonzero(position >= 0)
    copies_of = count[position[copied]]
    row = np.repeat(copied, copies_of)
    offset = np.arange(len(row)) - np.repeat(np.cumsum(copies_of) - copies_of, copies_of)
    copies = rows.iloc[row].assign(team_id=member_ids[first[position[row]] + offset])
    own_keys = pairs.loc[~shared, "service_id"] + SEP + pairs.loc[~shared, "team_id"]
    own = rows.loc[row_keys.isin(own_keys).to_numpy()]
    return SharedView(
        rows=pd.concat([own, copies], ignore_index=True),
        terms=pd.DataFrame(terms, columns=["label", "service_id", "plus", "minus", "coef"]),
        stakes=pd.DataFrame(stakes, columns=["label", "service_id", "grand", "stake", "mass"]),
        own_volume=own.groupby("team_id").size().astype(float),
        coalitions=pd.DataFrame(
            [(cid, s) for (s, _), cid in coalitions.items()], columns=["coalition", "service_id"]
        ),
    )


def credited_payout(
    view: SharedView, coalition_payout: pd.Series, own_payout: pd.Series
) -> tuple[pd.Series, pd.DataFrame]:
    """Combine own-unit payouts and credited shares into each label's metric payout.

    Parameters
    ----------
    view : SharedView
        From :func:`shared_view`.
    coalition_payout : Series
        Payout by coalition id (missing where the coalition could not be measured).
    own_payout : Series
        Own-unit payout by label (missing where there is none).

    Returns
    -------
    payout : Series
        Payout by label, for the labels in ``own_payout``; missing where nothing was measurable.
    credits : DataFrame
        ``team_id, service_id, service_payout_pct, credit_pct, stake``: each label's credit on
        each shared service (missing where the service's payout could not be measured).
    """
    v = coalition_payout.fillna(0.0)
    terms = view.terms
    gain = terms["plus"].map(v).fillna(0.0) - terms["minus"].map(v).fillna(0.0)
    credit = (terms["coef"] * gain).groupby([terms["label"], terms["service_id"]]).sum()
    stakes = view.stakes
    service_payout = stakes["grand"].map(coalition_payout)
    measurable = service_payout.notna()
    keys = pd.MultiIndex.from_frame(stakes[["label", "service_id"]])
    credits = pd.DataFrame(
        {
            "team_id": stakes["label"],
            "service_id": stakes["service_id"],
            "service_payout_pct": service_payout,
            "credit_pct": credit.reindex(keys).to_numpy(),
            "stake": stakes["stake"],
        }
    )
    credits["credit_pct"] = credits["credit_pct"].where(measurable)
    by_label = stakes["label"]
    credit_mass = (credits["credit_pct"] * stakes["mass"]).fillna(0.0).groupby(by_label).sum()
    stake_mass = (stakes["stake"] * stakes["mass"]).where(measurable, 0.0).groupby(by_label).sum()
    labels = own_payout.index
    own_volume = view.own_volume.reindex(labels).fillna(0.0).where(own_payout.notna(), 0.0)
    numerator = own_volume * own_payout.fillna(0.0) + credit_mass.reindex(labels).fillna(0.0)
    denominator = own_volume + stake_mass.reindex(labels).fillna(0.0)
    # a negative Shapley credit can pull a payout below zero; an award cannot be negative
    return (numerator / denominator.where(denominator > 0)).clip(lower=0.0), credits
