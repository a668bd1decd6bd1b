"""Equal-pay indicators on hand-computed rosters; Oaxaca-Blinder against statsmodels; 4/5 rule."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy.stats import fisher_exact
from statsmodels.stats.oaxaca import OaxacaBlinder

from toolkit.compliance.adverse_impact import four_fifths
from toolkit.compliance.oaxaca import decompose, design_matrix
from toolkit.compliance.pay_conventions import PayGapConventions, describe_conventions
from toolkit.compliance.pay_gap import (
    BY_CATEGORY,
    JOINT_ASSESSMENT,
    MEAN_GAP,
    MEDIAN_GAP,
    QUARTILES,
    RECEIVING,
    VARIABLE_MEAN_GAP,
    VARIABLE_MEDIAN_GAP,
    pay_gap_report,
    quartile_bands,
)
from toolkit.compliance.pay_people import PayGapInputError, validate_people

# Ten people; totals: men 110, 80, 65, 40, 25 (mean 64, median 65), women 90, 60, 40, 40, 10
# (mean 48, median 40). Three 40s sit across the boundary of the two lower bands.
ROSTER = [
    ("m1", "male", "A", 100, 10),
    ("m2", "male", "A", 80, 0),
    ("m3", "male", "B", 60, 5),
    ("m4", "male", "B", 40, 0),
    ("m5", "male", "B", 20, 5),
    ("w1", "female", "A", 90, 0),
    ("w2", "female", "B", 50, 10),
    ("w3", "female", "B", 40, 0),
    ("w4", "female", "B", 40, 0),
    ("w5", "female", "B", 10, 0),
]


def roster(rows=ROSTER) -> pd.DataFrame:
    columns = ["person_id", "gender", "category", "base_pay", "variable_pay"]
    return pd.DataFrame(rows, columns=columns)


def report(table=None, **conventions):
    settings = PayGapConventions(**{"min_group_size": 1, "bootstrap_replicates": 0, **conventions})
    return pay_gap_report(
        validate_people(table if table is not None else roster(), settings), settings
    )


def test_mean_and_median_gaps_are_relative_to_men():
    found = report()
    assert found[MEAN_GAP]["value_percent"] == pytest.approx(100 * (64 - 48) / 64)
    assert found[MEAN_GAP]["women"] == pytest.approx(48)
    assert found[MEDIAN_GAP]["value_percent"] == pytest.approx(100 * (65 - 40) / 65)
    assert found[MEAN_GAP]["article"] == "9(1)(a)" and found[MEDIAN_GAP]["article"] == "9(1)(c)"


def test_variable_pay_gaps_over_recipients_or_all_workers():
    recipients = report()
    # men's recipients 10, 5, 5 (mean 20/3, median 5); one woman receives 10
    assert recipients[VARIABLE_MEAN_GAP]["value_percent"] == pytest.approx(-50.0)
    assert recipients[VARIABLE_MEDIAN_GAP]["value_percent"] == pytest.approx(-100.0)
    everyone = report(variable_gap_over="all_workers")
    assert everyone[VARIABLE_MEAN_GAP]["value_percent"] == pytest.approx(100 * (4 - 2) / 4)
    assert everyone[VARIABLE_MEDIAN_GAP]["value_percent"] == pytest.approx(100.0)
    shares = recipients[RECEIVING]
    assert shares["men"]["share_receiving"] == pytest.approx(0.6)
    assert shares["women"]["share_receiving"] == pytest.approx(0.2)


def test_quartile_bands_split_ten_people_3_3_2_2_ties_by_id():
    bands = report()[QUARTILES]
    assert [bands[b]["n"] for b in ("lower", "lower_middle", "upper_middle", "upper")] == [
        3,
        3,
        2,
        2,
    ]
    # ranked: w5 10, m5 25, m4 40 | w3 40, w4 40, w2 60 | m3 65, m2 80 | w1 90, m1 110
    assert bands["lower"]["share_women"] == pytest.approx(1 / 3)
    assert bands["lower_middle"]["share_women"] == pytest.approx(1.0)
    assert bands["upper_middle"]["share_men"] == pytest.approx(1.0)
    assert bands["upper"]["share_women"] == pytest.approx(0.5)


def test_keep_together_puts_equal_pay_in_one_band():
    bands = report(quartile_ties="keep_together")[QUARTILES]
    assert [bands[b]["n"] for b in ("lower", "lower_middle", "upper_middle", "upper")] == [
        5,
        1,
        2,
        2,
    ]
    assert bands["lower"]["n_women"] == 3


@pytest.mark.parametrize(("n", "sizes"), [(7, [2, 2, 2, 1]), (9, [3, 2, 2, 2]), (8, [2] * 4)])
def test_remainders_go_to_the_lower_bands(n, sizes):
    pay = pd.Series(np.arange(n, dtype=float))
    bands = quartile_bands(pay, pd.Series([f"p{i}" for i in range(n)]), "order_by_id")
    counts = bands.value_counts()
    assert [
        int(counts.get(b, 0)) for b in ("lower", "lower_middle", "upper_middle", "upper")
    ] == sizes


def test_other_genders_are_counted_not_in_the_means():
    extra = roster([*ROSTER, ("n1", "nonbinary", "A", 70, 0)])
    found = report(extra)
    assert found[MEAN_GAP]["value_percent"] == pytest.approx(25.0)
    assert found[MEAN_GAP]["other_genders"]["nonbinary"] == 1
    assert found["population"]["other_genders"]["nonbinary"] == 1
    bands = found[QUARTILES]
    assert sum(bands[b]["n"] for b in bands if b != "article") == 11
    assert sum(bands[b]["n_other_genders"] for b in bands if b != "article") == 1


def test_category_with_one_woman_is_suppressed_and_too_small_to_assess():
    found = report(min_group_size=5)
    category_a = found[BY_CATEGORY]["A"]  # m1, m2 and one woman
    assert category_a["ordinary_basic_wage_or_salary"]["status"] == "suppressed"
    assert category_a["ordinary_basic_wage_or_salary"]["value_percent"] is None
    assert category_a["ordinary_basic_wage_or_salary"]["n_women"] == 1
    joint = found[JOINT_ASSESSMENT]["categories"]["A"]
    assert joint["flag"] is None and joint["status"] == "too_small_to_assess"
    assert found[MEAN_GAP]["status"] == "reported"  # five of each overall
    assert found[RECEIVING]["men"]["share_receiving"] == pytest.approx(0.6)


def test_category_gaps_split_basic_and_variable_pay():
    category_b = report()[BY_CATEGORY]["B"]
    # men in B: base 60, 40, 20 (mean 40); women: 50, 40, 40, 10 (mean 35)
    assert category_b["ordinary_basic_wage_or_salary"]["value_percent"] == pytest.approx(12.5)
    # variable recipients: men 5, 5; woman w2 10
    assert category_b["complementary_or_variable_components"]["value_percent"] == pytest.approx(
        -100.0
    )


def test_hourly_pay_divides_by_hours():
    table = roster().assign(hours_per_year=[2000] * 5 + [1000] * 5)
    found = report(table, pay_basis="hourly")
    assert found[MEAN_GAP]["value_percent"] == pytest.approx(100 * (0.032 - 0.048) / 0.032)


def test_undefined_gap_when_men_have_no_variable_pay():
    table = roster().assign(variable_pay=0.0)
    found = report(table, variable_gap_over="all_workers")
    assert found[VARIABLE_MEAN_GAP]["status"] == "undefined"
    assert found[VARIABLE_MEAN_GAP]["value_percent"] is None


def test_every_convention_is_printed_with_its_reason():
    found = report()
    conventions = found["conventions"]
    assert set(conventions) == set(PayGapConventions.model_fields)
    assert conventions["min_group_size"]["value"] == 1
    assert all(len(c["meaning"]) > 20 for c in conventions.values())
    assert "Not legal advice" in found["not_legal_advice"]
    assert describe_conventions(PayGapConventions())["quartile_ties"]["value"] == "order_by_id"


def test_conventions_are_strict():
    with pytest.raises(ValidationError, match="unknown keys"):
        PayGapConventions(pay_bassis="hourly")
    with pytest.raises(ValidationError):
        PayGapConventions(min_group_size=0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns="variable_pay"), "missing column"),
        (lambda t: t.assign(gender=["woman"] + list(t["gender"][1:])), "'gender', row 0"),
        (lambda t: t.assign(base_pay=[10, -1, *t["base_pay"][2:]]), "'base_pay', row 1: negative"),
        (lambda t: t.assign(person_id=["m1"] * len(t)), "the same person twice"),
    ],
)
def test_bad_tables_are_refused_naming_column_and_row(change, message):
    with pytest.raises(PayGapInputError, match=message):
        validate_people(change(roster()), PayGapConventions())


# ------------------------------------------------------------------------- Oaxaca-Blinder


@pytest.fixture(scope="module")
def workforce():
    rng = np.random.default_rng(7)
    n = 60
    woman = np.arange(n) % 2 == 0
    tenure = rng.uniform(0, 20, n) - 3 * woman
    country = np.where(rng.uniform(size=n) < 0.5, "DE", "PL")
    pay = 40_000 + 1_500 * tenure + 8_000 * (country == "DE") - 2_000 * woman
    pay += rng.normal(0, 1_000, n)
    return pd.DataFrame(
        {
            "person_id": [f"p{i:02d}" for i in range(n)],
            "gender": np.where(woman, "female", "male"),
            "category": "G5",
            "tenure": tenure,
            "country": country,
            "base_pay": pay,
            "variable_pay": 0.0,
        }
    )


def test_unexplained_part_equals_statsmodels_pooled_two_fold(workforce):
    ours = decompose(workforce, "base_pay", ["tenure", "country"], 0, (0,), 0.95)
    design, _ = design_matrix(workforce, ["tenure", "country"])
    woman = (workforce["gender"] == "female").to_numpy(dtype=float)
    exog = np.column_stack([woman, design])
    model = OaxacaBlinder(workforce["base_pay"].to_numpy(), exog, 0, hasconst=True, swap=False)
    unexplained, explained, gap = model.two_fold(two_fold_type="pooled").params
    assert ours["gap"] == pytest.approx(gap)
    assert ours["unexplained"] == pytest.approx(unexplained, rel=1e-9)
    assert ours["explained"] == pytest.approx(explained, rel=1e-9)
    assert ours["unexplained"] == pytest.approx(2_000, abs=1_000)  # the built-in 2,000


def test_art10_flag_follows_the_unexplained_part(workforce):
    explained = workforce.assign(base_pay=lambda t: 40_000 + 1_500 * t["tenure"] + (t.index % 3))
    settings = PayGapConventions(criteria=("tenure",), bootstrap_replicates=0)
    people = validate_people(explained, settings)
    found = pay_gap_report(people, settings)[JOINT_ASSESSMENT]["categories"]["G5"]
    assert found["gap_percent"] >= 5
    assert found["flag"] is False and found["status"] == "explained_by_criteria"
    assert abs(found["unexplained_percent"]) < 1
    none = PayGapConventions(bootstrap_replicates=0)
    found = pay_gap_report(validate_people(explained, none), none)
    assert found[JOINT_ASSESSMENT]["categories"]["G5"]["flag"] is True
    assert found[JOINT_ASSESSMENT]["categories_flagged"] == ["G5"]


def test_bootstrap_interval_is_seeded_and_covers_the_estimate(workforce):
    def interval(seed):
        return decompose(workforce, "base_pay", ["tenure", "country"], 200, (seed,), 0.95)

    first, again, other = interval(3), interval(3), interval(4)
    assert first["interval_percent"] == again["interval_percent"]
    assert first["interval_percent"] != other["interval_percent"]
    low, high = first["interval_percent"]
    assert low < first["unexplained_percent"] < high
    assert first["replicates_used"] == 200


def test_criteria_separating_women_and_men_are_not_estimable(workforce):
    split = workforce.assign(site=np.where(workforce["gender"] == "female", "x", "y"))
    found = decompose(split, "base_pay", ["site"], 0, (0,), 0.95)
    assert found["status"] == "not_estimable"


# ------------------------------------------------------------------------ four-fifths rule


def groups(counts: dict[str, tuple[int, int]]) -> tuple[pd.Series, pd.Series]:
    selected, group = [], []
    for name, (n, chosen) in counts.items():
        selected += [True] * chosen + [False] * (n - chosen)
        group += [name] * n
    return pd.Series(selected), pd.Series(group)


def test_four_fifths_on_the_uniform_guidelines_example():
    # Questions and Answers on the Uniform Guidelines (1979), Q. 11: rates of 60, 45, 48 and
    # 51 % give ratios 75, 80 and 85 %; only 75 % indicates adverse impact (48/60 is not below).
    counts = {
        "male": (100, 60),
        "female": (100, 45),
        "nonbinary": (100, 48),
        "undisclosed": (100, 51),
    }
    found = four_fifths(*groups(counts), min_group_size=5)
    assert found["highest_rate_group"] == "male"
    result = found["groups"]
    assert result["female"]["impact_ratio"] == pytest.approx(0.75)
    assert result["female"]["adverse_impact"] is True
    assert result["nonbinary"]["impact_ratio"] == pytest.approx(0.80)
    assert result["nonbinary"]["adverse_impact"] is False
    assert result["undisclosed"]["adverse_impact"] is False
    expected = fisher_exact([[45, 55], [60, 40]])[1]
    assert result["female"]["fisher_p_value"] == pytest.approx(expected)


def test_small_groups_are_suppressed_and_do_not_set_the_highest_rate():
    counts = {"male": (20, 10), "female": (20, 4), "nonbinary": (2, 2)}
    found = four_fifths(*groups(counts), min_group_size=5)
    assert found["groups"]["nonbinary"]["status"] == "suppressed"
    assert found["highest_rate_group"] == "male"
    assert found["groups"]["female"]["impact_ratio"] == pytest.approx(0.4)
    expected = fisher_exact([[4, 16], [10, 10]])[1]
    assert found["groups"]["female"]["fisher_p_value"] == pytest.approx(expected)


# ------------------------------------------------------------------ timing of variable pay


def test_variable_pay_timing_conventions_on_a_hand_ledger():
    from toolkit.compliance.pay_people import variable_pay_by_year

    awards = pd.DataFrame(
        {
            "person_id": ["a", "a", "b"],
            "cohort": ["2025Q1", "2026Q1", "2025Q1"],
            "granted": [100.0, 100.0, 50.0],
            "earned": [80.0, 120.0, 0.0],
        }
    )
    cashflows = pd.DataFrame(
        {
            "period": ["2026Q1", "2026Q1", "2027Q2", "2027Q3"],
            "person_id": ["a", "a", "a", "a"],
            "kind": ["vest", "pay", "pay", "clawback"],
            "amount": [80.0, 60.0, 20.0, 15.0],
        }
    )

    def by(timing):
        table = variable_pay_by_year(awards, cashflows, timing, 2025)
        return {(r.person_id, r.year): r.variable_pay for r in table.itertuples()}

    assert by("grant") == {("a", 2025): 100.0, ("a", 2026): 100.0, ("b", 2025): 50.0}
    assert by("earned") == {("a", 2025): 80.0, ("a", 2026): 120.0}  # b earned nothing
    assert by("vest") == {("a", 2026): 80.0}
    assert by("payment") == {("a", 2026): 60.0, ("a", 2027): 5.0}  # 20 paid, 15 clawed back
