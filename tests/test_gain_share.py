"""Gain-share and internal saving rewards: payments, caps, refusals and savings paid twice."""

import pandas as pd
import pytest

from toolkit.course.exercises import Check
from toolkit.course.gain_share import (
    check_double_counting,
    example_claims,
    gain_share_table,
    interpret_gain_share,
)
from toolkit.finance.gain_share import CLAIM_COLUMNS, settle_gain_share, vendor_gain_shares

INTERNAL_PCT = 10.0


def claims(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(CLAIM_COLUMNS))


def test_each_side_is_paid_its_own_rate(small_scenario):
    # cloudco shares 50 % of savings on its services (payments depends on it); the team
    # apps owns payments and earns the internal 10 %.
    settled = settle_gain_share(
        claims(
            ("S1", "payments", "2025Q2", 30_000.0, "cloudco"),
            ("S2", "payments", "2025Q3", 20_000.0, "apps"),
        ),
        small_scenario,
        INTERNAL_PCT,
    )
    paid = settled.payments.set_index("saving_id")
    assert paid.loc["S1", "payment"] == pytest.approx(15_000.0)
    assert paid.loc["S2", "payment"] == pytest.approx(2_000.0)
    assert paid["side"].to_dict() == {"S1": "vendor", "S2": "internal"}
    assert settled.double_counted.empty and not paid["double_counted"].any()
    assert settled.totals() == {"vendor": 15_000.0, "internal": 2_000.0, "at_stake": 0.0}


def test_the_vendors_annual_cap_cuts_the_later_claims_and_resets_next_year(small_scenario):
    cap = vendor_gain_shares(small_scenario)["cloudco"].annual_cap
    assert cap == pytest.approx(0.05 * 480_000)  # 5 % of the 480,000 baseline
    settled = settle_gain_share(
        claims(
            ("S2", "k8s", "2025Q3", 30_000.0, "cloudco"),  # 15,000 entitled
            ("S1", "payments", "2025Q1", 30_000.0, "cloudco"),  # 15,000, first in time
            ("S3", "payments", "2026Q1", 30_000.0, "cloudco"),  # a new year
        ),
        small_scenario,
        INTERNAL_PCT,
    )
    paid = settled.payments.set_index("saving_id")
    assert paid.loc["S1", "payment"] == pytest.approx(15_000.0) and not paid.loc["S1", "capped"]
    assert paid.loc["S2", "payment"] == pytest.approx(cap - 15_000.0) and paid.loc["S2", "capped"]
    assert paid.loc["S3", "payment"] == pytest.approx(15_000.0)


def test_claims_that_cannot_be_paid_are_kept_with_their_reason(small_scenario):
    settled = settle_gain_share(
        claims(
            ("R1", "laptops", "2025Q2", 30_000.0, "cloudco"),  # not a cloudco service
            ("R2", "payments", "2025Q2", 5_000.0, "cloudco"),  # below the 10,000 threshold
            ("R3", "payments", "2025Q2", 30_000.0, "netlink"),  # no gain-share terms
            ("R4", "payments", "2025Q2", 30_000.0, "platform"),  # not platform's service
            ("R5", "payments", "someday", 30_000.0, "apps"),
            ("R6", "payments", "2025Q2", -1.0, "apps"),
            ("OK", "payments", "2025Q2", 30_000.0, "apps"),
        ),
        small_scenario,
        INTERNAL_PCT,
    )
    reasons = settled.rejected.set_index("saving_id")["reason"]
    assert list(reasons.index) == ["R1", "R2", "R3", "R4", "R5", "R6"]
    assert "outside cloudco's gain-share scope" in reasons["R1"]
    assert "threshold of 10,000" in reasons["R2"]
    assert "neither a vendor on gain-share nor a team" in reasons["R3"]
    assert "neither owns nor supports" in reasons["R4"]
    assert "not a month, quarter or year" in reasons["R5"]
    assert "not a positive saving" in reasons["R6"]
    assert settled.payments["saving_id"].tolist() == ["OK"]


def test_a_planted_double_count_is_found_and_nothing_else(small_scenario):
    register = example_claims(small_scenario)
    settled = settle_gain_share(register, small_scenario, INTERNAL_PCT)
    assert settled.rejected.empty
    repeated = register[register["saving_id"].duplicated(keep=False)]
    assert len(repeated) == 2 and repeated["saving_id"].nunique() == 1
    (found,) = settled.double_counted.itertuples()
    assert found.saving_id == repeated["saving_id"].iloc[0]
    assert set(found.claimants.split(", ")) == set(repeated["claimant"])
    flagged = settled.payments.loc[settled.payments["double_counted"], "saving_id"]
    assert set(flagged) == {found.saving_id}
    # Paid 50 % to the vendor and 10 % to the team: the 10 % is paid beyond paying it once.
    assert found.paid == pytest.approx(0.6 * found.amount)
    assert found.at_stake == pytest.approx(0.1 * found.amount)
    assert found.counted == pytest.approx(found.amount)
    # The team's own saving on a service the vendor also saved on is not a double count.
    both = settled.payments.groupby("service_id")["saving_id"].nunique()
    assert (both > 1).any()


def test_two_teams_claiming_one_saving_are_caught_too(small_scenario):
    settled = settle_gain_share(
        claims(
            ("S1", "core-banking", "2025Q2", 40_000.0, "apps"),
            ("S1", "core-banking", "2025Q2", 40_000.0, "apps"),
            ("S2", "core-banking", "2025Q2", 40_000.0, "apps"),
        ),
        small_scenario,
        INTERNAL_PCT,
    )
    (found,) = settled.double_counted.itertuples()
    assert found.saving_id == "S1" and found.at_stake == pytest.approx(4_000.0)


def test_the_interpretation_follows_the_numbers(small_scenario):
    table = gain_share_table(small_scenario)
    text = interpret_gain_share(table, small_scenario.currency)
    at_stake = table[table["double_counted"]]["payment"]
    assert f"{at_stake.sum() - at_stake.max():,.0f} EUR at stake" in text
    assert "SAV-001" in text and "paid twice" in text
    higher = interpret_gain_share(gain_share_table(small_scenario, internal_reward_pct=20.0))
    assert higher != text
    clean = table[~table.duplicated("saving_id", keep="first")]
    assert "No saving is paid twice" in interpret_gain_share(clean)


def test_the_double_counting_exercise(small_scenario):
    register = example_claims(small_scenario)
    as_given = check_double_counting(register, small_scenario)
    assert isinstance(as_given, Check) and not as_given and "SAV-001" in as_given.why
    fixed = register.drop_duplicates("saving_id", keep="first")
    assert check_double_counting(fixed, small_scenario)
    dropped = register[register["saving_id"] != "SAV-001"]
    lost = check_double_counting(dropped, small_scenario)
    assert not lost and "SAV-001" in lost.why
    inflated = fixed.assign(amount=fixed["amount"] * 2)
    assert not check_double_counting(inflated, small_scenario)
    assert not check_double_counting(register.drop(columns="claimant"), small_scenario)


def test_the_example_register_is_deterministic_and_follows_the_scenario(small_scenario):
    pd.testing.assert_frame_equal(example_claims(small_scenario), example_claims("small"))
    default = example_claims("default")
    assert {"cloudco", "fincore"} <= set(default["claimant"])
    assert default["saving_id"].duplicated().sum() == 1
