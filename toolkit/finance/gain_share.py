"""Vendor gain-share next to internal cost-saving rewards, and savings paid twice.

A vendor on gain-share keeps a share of each verified saving on the services in its scope
(:class:`toolkit.config.scenario.GainShare`); an internal plan that rewards cost savings pays
the team that made one a share of it. When the vendor and a team both claim the same saving,
from the same line of the savings register, the organisation pays for it twice: each scheme
looks right on its own, and only the register's saving id shows the overlap.

:func:`settle_gain_share` pays each claim under its scheme and flags every saving paid more
than once, with the money at stake: what was paid for it beyond the largest single payment,
the least it would have cost to pay it once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.config.scenario import GainShare, Scenario

CLAIM_COLUMNS = ("saving_id", "service_id", "period", "amount", "claimant")
VENDOR, INTERNAL = "vendor", "internal"
PAYMENT_COLUMNS = (
    *CLAIM_COLUMNS,
    "side",
    "rate_pct",
    "entitled",
    "payment",
    "capped",
    "double_counted",
)
DOUBLE_COUNT_COLUMNS = (
    "saving_id",
    "claims",
    "claimants",
    "amount",
    "counted",
    "paid",
    "paid_once",
    "at_stake",
)


@dataclass(frozen=True)
class VendorGainShare:
    """A vendor's gain-share terms with their scope resolved to service ids."""

    vendor_id: str
    terms: GainShare
    services: frozenset[str]

    @property
    def annual_cap(self) -> float:
        """Most the vendor may earn in a year, in the scenario currency."""
        return self.terms.baseline_annual_cost * self.terms.cap_pct_of_baseline / 100


@dataclass(frozen=True)
class GainShareSettlement:
    """Claims paid under both schemes, claims refused, and savings paid more than once.

    Attributes
    ----------
    payments : DataFrame
        One row per accepted claim, in :data:`PAYMENT_COLUMNS`: ``side`` (vendor or
        internal), ``rate_pct`` (its scheme's share), ``entitled`` (rate times amount),
        ``payment`` (after the vendor's annual cap), ``capped`` and ``double_counted``.
    rejected : DataFrame
        Claims refused, with ``reason``.
    double_counted : DataFrame
        One row per saving paid more than once, in :data:`DOUBLE_COUNT_COLUMNS`.
    """

    payments: pd.DataFrame
    rejected: pd.DataFrame
    double_counted: pd.DataFrame

    def totals(self) -> dict[str, float]:
        """Return money paid to vendors, to teams, and at stake in savings paid twice."""
        paid = self.payments.groupby("side")["payment"].sum()
        return {
            "vendor": float(paid.get(VENDOR, 0.0)),
            "internal": float(paid.get(INTERNAL, 0.0)),
            "at_stake": float(self.double_counted["at_stake"].sum()),
        }


def vendor_gain_shares(scenario: Scenario) -> dict[str, VendorGainShare]:
    """Return each vendor's gain-share terms, scope resolved; vendors without terms are absent.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario; an empty scope means every service depending on the vendor.

    Returns
    -------
    dict of str to VendorGainShare
    """
    out = {}
    for vendor in scenario.organisation.vendors:
        if vendor.contract is None or vendor.contract.gain_share is None:
            continue
        terms = vendor.contract.gain_share
        scope = terms.services or [
            s.id for s in scenario.organisation.services if vendor.id in s.vendor_dependencies
        ]
        out[vendor.id] = VendorGainShare(vendor.id, terms, frozenset(scope))
    return out


def _team_services(scenario: Scenario) -> dict[str, set[str]]:
    """Return the services each team owns or supports: the savings it can have made."""
    services: dict[str, set[str]] = {t.id: set() for t in scenario.organisation.teams}
    for service in scenario.organisation.services:
        for team in (service.owning_team, *service.supporting_teams):
            services.setdefault(team, set()).add(service.id)
    return services


def _year(label: object) -> int | None:
    try:
        return pd.Period(str(label)).year
    except (ValueError, TypeError):
        return None


def _refusal(claim, vendors, teams, year, amount) -> str | None:
    """Return why a claim cannot be paid, or ``None``."""
    if year is None:
        return f"period {claim.period!r} is not a month, quarter or year (e.g. 2025Q1)"
    if not np.isfinite(amount) or amount <= 0:
        return f"amount {claim.amount!r} is not a positive saving"
    if claim.claimant in vendors:
        terms = vendors[claim.claimant]
        if claim.service_id not in terms.services:
            return f"service {claim.service_id!r} is outside {claim.claimant}'s gain-share scope"
        if amount < terms.terms.min_saving:
            return f"below the gain-share threshold of {terms.terms.min_saving:,.0f}"
        return None
    if claim.claimant in teams:
        if claim.service_id not in teams[claim.claimant]:
            return f"team {claim.claimant!r} neither owns nor supports {claim.service_id!r}"
        return None
    return f"claimant {claim.claimant!r} is neither a vendor on gain-share nor a team"


def double_counting(payments: pd.DataFrame) -> pd.DataFrame:
    """Find savings paid more than once in a payments table.

    Parameters
    ----------
    payments : DataFrame
        Accepted claims with ``saving_id, amount, claimant, payment``.

    Returns
    -------
    DataFrame
        Per saving with more than one paid claim: ``claims``, ``claimants`` (sorted, joined by
        ``", "``), ``amount`` (the largest claimed), ``counted`` (amounts claimed beyond it:
        the saving counted again in the savings totals), ``paid``, ``paid_once`` (the largest
        single payment) and ``at_stake`` (paid minus paid once).
    """
    paid = payments[payments["payment"] > 0]
    repeated = paid[paid.duplicated("saving_id", keep=False)]
    if repeated.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in DOUBLE_COUNT_COLUMNS})
    table = (
        repeated.groupby("saving_id", sort=True)
        .agg(
            claims=("claimant", "size"),
            claimants=("claimant", lambda c: ", ".join(sorted(map(str, c)))),
            amount=("amount", "max"),
            claimed=("amount", "sum"),
            paid=("payment", "sum"),
            paid_once=("payment", "max"),
        )
        .reset_index()
    )
    table["counted"] = table["claimed"] - table["amount"]
    table["at_stake"] = table["paid"] - table["paid_once"]
    return table[list(DOUBLE_COUNT_COLUMNS)]


def settle_gain_share(
    claims: pd.DataFrame, scenario: Scenario, internal_reward_pct: float
) -> GainShareSettlement:
    """Pay savings claims under the vendors' gain-share and the internal saving reward.

    Parameters
    ----------
    claims : DataFrame
        Columns :data:`CLAIM_COLUMNS`: the register's ``saving_id``, the ``service_id`` it was
        made on, its ``period`` label (``2025Q2``, ``2025-05`` or ``2025``), its ``amount``
        in the scenario currency and the ``claimant`` (a vendor id or a team id).
    scenario : Scenario
        The vendors' gain-share terms and the teams' services.
    internal_reward_pct : float
        The internal plan's saving reward: the % of a saving paid to the team that made it.

    Returns
    -------
    GainShareSettlement
        Vendor claims earn ``vendor_share_pct`` of the saving up to the vendor's annual cap
        (claims taken in period, then saving id order); team claims earn
        ``internal_reward_pct``. Claims that cannot be paid are kept in ``rejected`` with
        their reason.

    Raises
    ------
    ValueError
        If a column is missing or ``internal_reward_pct`` is outside [0, 100].
    """
    missing = [c for c in CLAIM_COLUMNS if c not in claims.columns]
    if missing:
        raise ValueError(f"claims: missing columns {missing}")
    if not 0 <= internal_reward_pct <= 100:
        raise ValueError(f"internal_reward_pct {internal_reward_pct} is not a % in [0, 100]")
    vendors, teams = vendor_gain_shares(scenario), _team_services(scenario)
    frame = claims[list(CLAIM_COLUMNS)].reset_index(drop=True)
    amounts = pd.to_numeric(frame["amount"], errors="coerce").astype(float)
    years = [_year(p) for p in frame["period"]]
    reasons = [
        _refusal(claim, vendors, teams, year, amount)
        for claim, year, amount in zip(frame.itertuples(), years, amounts, strict=True)
    ]
    accepted = pd.Series([r is None for r in reasons])
    rejected = frame[~accepted].assign(reason=[r for r in reasons if r is not None])
    paid = frame[accepted].assign(amount=amounts[accepted], year=np.array(years)[accepted])
    is_vendor = paid["claimant"].isin(list(vendors))
    paid["side"] = np.where(is_vendor, VENDOR, INTERNAL)
    paid["rate_pct"] = [
        vendors[c].terms.vendor_share_pct if v else float(internal_reward_pct)
        for c, v in zip(paid["claimant"], is_vendor, strict=True)
    ]
    paid["entitled"] = paid["amount"] * paid["rate_pct"] / 100
    paid["payment"] = paid["entitled"]
    paid["capped"] = False
    order = paid.assign(_p=paid["period"].astype(str)).sort_values(["_p", "saving_id"]).index
    used: dict[tuple[str, int], float] = {}
    for i in order:
        if paid.at[i, "side"] != VENDOR:
            continue
        key = (paid.at[i, "claimant"], int(paid.at[i, "year"]))
        room = vendors[key[0]].annual_cap - used.get(key, 0.0)
        payment = min(paid.at[i, "entitled"], max(room, 0.0))
        paid.at[i, "payment"] = payment
        paid.at[i, "capped"] = payment < paid.at[i, "entitled"]
        used[key] = used.get(key, 0.0) + payment
    doubles = double_counting(paid)
    paid["double_counted"] = paid["saving_id"].isin(doubles["saving_id"]) & (paid["payment"] > 0)
    return GainShareSettlement(
        paid[list(PAYMENT_COLUMNS)].reset_index(drop=True),
        rejected.reset_index(drop=True),
        doubles,
    )
