"""Course topic 4.5: vendor gain-share next to internal cost-saving rewards.

The module-4 notebook builds a savings register from the scenario (:func:`example_claims`),
pays it under the vendors' gain-share and the internal plan's saving reward
(:func:`gain_share_table`), reads the result (:func:`interpret_gain_share`) and asks the
learner to correct the register so that no saving is paid twice
(:func:`check_double_counting`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.config.loading import load_scenario
from toolkit.config.scenario import Scenario
from toolkit.course.exercises import Check, failed, passed
from toolkit.course.performance_metrics import scenario_path
from toolkit.course.wording import listing, money
from toolkit.finance.gain_share import (
    CLAIM_COLUMNS,
    INTERNAL,
    VENDOR,
    double_counting,
    settle_gain_share,
    vendor_gain_shares,
)

TOPIC = "4.5"
# Internal plans that reward cost savings typically pay the team 5-20 % of a verified saving
# (scenarios/README.md, "Gain-share"); 10 % sits in the middle.
DEFAULT_INTERNAL_REWARD_PCT = 10.0
VENDOR_SAVING_SHARE = 0.03  # a vendor's saving: 3 % of the service's annual run budget
TEAM_SAVING_SHARE = 0.02  # a team's saving: 2 % of its largest service's annual run budget
VENDOR_QUARTERS = ("Q2", "Q3")  # the first year's quarters the vendor's savings land in
TEAM_QUARTER = "Q3"
# The owning team's own, separate saving on the vendor's first service: same service, another
# saving, so that removing every second claim on a service would remove a real one.
LOOK_ALIKE_SHARE = 0.01
LOOK_ALIKE_QUARTER = "Q4"


def _scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario_path(scenario))


def example_claims(scenario: Scenario | str | Path = "small") -> pd.DataFrame:
    """Build a savings register from the scenario, with one saving claimed twice.

    Each vendor on gain-share claims a saving of 3 % of the annual budget of each of its two
    largest services in scope (in the first year's second and third quarters); each team claims
    2 % of the budget of its largest service (third quarter). The team that owns the first
    vendor's first service claims a saving of its own there (1 %, fourth quarter): a second
    saving on the service, not a double count. It also claims the vendor's saving, under the
    same saving id: the planted double count.

    Parameters
    ----------
    scenario : Scenario, str or Path
        A scenario, a shipped scenario's name or a scenario file.

    Returns
    -------
    DataFrame
        Columns :data:`toolkit.finance.gain_share.CLAIM_COLUMNS`, amounts rounded to 1,000.

    Raises
    ------
    ValueError
        If no vendor of the scenario has gain-share terms.
    """
    model = _scenario(scenario)
    vendors = vendor_gain_shares(model)
    if not vendors:
        raise ValueError(f"scenario {model.name!r}: no vendor has gain-share terms")
    year = model.horizon.start.year
    services = {s.id: s for s in model.organisation.services}
    rows = []

    def add(service, period, amount, claimant, saving_id=None):
        saving_id = saving_id or f"SAV-{len(rows) + 1:03d}"
        rows.append((saving_id, service.id, f"{year}{period}", amount, claimant))
        return saving_id

    planted = None
    for vendor in vendors.values():
        scope = sorted(
            (services[s] for s in vendor.services), key=lambda s: (-s.annual_budget, s.id)
        )
        for service, quarter in zip(scope, VENDOR_QUARTERS, strict=False):
            amount = max(round(VENDOR_SAVING_SHARE * service.annual_budget, -3), 1000.0)
            amount = max(amount, vendor.terms.min_saving)
            saving = add(service, quarter, amount, vendor.vendor_id)
            planted = planted or (saving, service, quarter, amount)
    for team in model.organisation.teams:
        owned = [s for s in model.organisation.services if s.owning_team == team.id]
        if owned:
            largest = max(owned, key=lambda s: (s.annual_budget, s.id))
            amount = max(round(TEAM_SAVING_SHARE * largest.annual_budget, -3), 1000.0)
            add(largest, TEAM_QUARTER, amount, team.id)
    saving, service, quarter, amount = planted
    own = max(round(LOOK_ALIKE_SHARE * service.annual_budget, -3), 1000.0)
    add(service, LOOK_ALIKE_QUARTER, own, service.owning_team)
    add(service, quarter, amount, service.owning_team, saving_id=saving)
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))


def gain_share_table(
    scenario: Scenario | str | Path = "small",
    claims: pd.DataFrame | None = None,
    internal_reward_pct: float = DEFAULT_INTERNAL_REWARD_PCT,
) -> pd.DataFrame:
    """Pay a savings register under both schemes: one row per paid claim.

    Parameters
    ----------
    scenario : Scenario, str or Path
        Its vendors' gain-share terms and its teams.
    claims : DataFrame, optional
        The register; by default :func:`example_claims` of the scenario.
    internal_reward_pct : float
        The internal plan's saving reward, in % of a saving.

    Returns
    -------
    DataFrame
        :attr:`toolkit.finance.gain_share.GainShareSettlement.payments`.
    """
    model = _scenario(scenario)
    claims = example_claims(model) if claims is None else claims
    return settle_gain_share(claims, model, internal_reward_pct).payments


def interpret_gain_share(table: pd.DataFrame, currency: str = "EUR") -> str:
    """Say what both schemes pay and which savings they pay twice, from the numbers.

    Parameters
    ----------
    table : DataFrame
        From :func:`gain_share_table`.
    currency : str
        For the amounts.

    Returns
    -------
    str
        One paragraph.
    """
    if table.empty:
        return "No claim was paid, so neither scheme paid anything."
    paid = table.groupby("side")["payment"].sum()
    savings = table.drop_duplicates("saving_id")["amount"].sum()
    claimed = table["amount"].sum()
    text = (
        f"Vendors earned {money(paid.get(VENDOR, 0.0), currency)} in gain-share and teams "
        f"{money(paid.get(INTERNAL, 0.0), currency)} in saving rewards, on "
        f"{money(savings, currency)} of distinct savings ({table['saving_id'].nunique()} in "
        f"the register); the claims add up to {money(claimed, currency)}."
    )
    capped = table[table["capped"]]
    if len(capped):
        cut = (capped["entitled"] - capped["payment"]).sum()
        text += (
            f" The vendor's annual cap cut {money(cut, currency)} "
            f"from {listing(sorted(set(capped['claimant'])))}."
        )
    doubles = double_counting(table)
    if doubles.empty:
        return text + " No saving is paid twice: each scheme pays only its own savings."
    detail = listing(
        [
            f"{row.saving_id} ({money(row.amount, currency)}, claimed by {row.claimants})"
            for row in doubles.itertuples()
        ]
    )
    return text + (
        f" {len(doubles)} saving{'s are' if len(doubles) > 1 else ' is'} paid twice: {detail}. "
        f"That puts {money(doubles['at_stake'].sum(), currency)} at stake, paid beyond the "
        "largest single payment, and overstates the savings by "
        f"{money(doubles['counted'].sum(), currency)}; each scheme looks right on its own, and "
        "only the register's saving id shows the overlap."
    )


def check_double_counting(
    answer: pd.DataFrame,
    scenario: Scenario | str | Path = "small",
    internal_reward_pct: float = DEFAULT_INTERNAL_REWARD_PCT,
) -> Check:
    """Check a corrected savings register: every saving paid exactly once, none lost.

    Parameters
    ----------
    answer : DataFrame
        The learner's register (columns :data:`~toolkit.finance.gain_share.CLAIM_COLUMNS`),
        corrected from :func:`example_claims` of the same scenario.
    scenario : Scenario, str or Path
        The scenario the example was built from.
    internal_reward_pct : float
        The internal plan's saving reward, in % of a saving.

    Returns
    -------
    Check
        Met when every claim is paid, no saving is paid twice, and each saving of the example
        is still claimed once with its amount.
    """
    model = _scenario(scenario)
    missing = [c for c in CLAIM_COLUMNS if c not in getattr(answer, "columns", [])]
    if missing:
        return failed(TOPIC, f"The register lacks the columns {missing}.", "Edit a copy of it.")
    settled = settle_gain_share(answer, model, internal_reward_pct)
    if len(settled.rejected):
        reasons = listing(sorted(set(settled.rejected["reason"])))
        return failed(
            TOPIC,
            f"{len(settled.rejected)} claim(s) cannot be paid: {reasons}.",
            "Keep each claim with a claimant that may claim it.",
        )
    doubles = settled.double_counted
    if len(doubles):
        return failed(
            TOPIC,
            f"{listing(list(doubles['saving_id']))} still paid twice, "
            f"{money(doubles['at_stake'].sum(), model.currency)} at stake.",
            "Look for a saving id claimed under both schemes; decide who made the saving.",
        )
    expected = example_claims(model).drop_duplicates("saving_id").set_index("saving_id")["amount"]
    given = settled.payments.groupby("saving_id")["amount"].max()
    lost = sorted(set(expected.index) - set(given.index))
    changed = sorted(
        s for s in set(expected.index) & set(given.index) if abs(given[s] - expected[s]) > 0.5
    )
    if lost or changed:
        return failed(
            TOPIC,
            f"Savings lost: {listing(lost)}; amounts changed: {listing(changed)}.",
            "Remove only the second claim on a saving; every saving was really made once.",
        )
    totals = settled.totals()
    return passed(
        TOPIC,
        f"All {len(expected)} savings are paid once: "
        f"{money(totals['vendor'], model.currency)} to vendors and "
        f"{money(totals['internal'], model.currency)} to teams, nothing paid twice.",
    )
