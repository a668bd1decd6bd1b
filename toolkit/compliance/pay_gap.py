"""Equal-pay impact: the Art. 9(1) indicators and the Art. 10 flag of Directive (EU) 2023/970.

Every gap is relative to men's: ``(men − women) / men × 100``, in percent, so a positive gap
means men are paid more. A figure over fewer women or men than the conventions' minimum group
size is suppressed (shown with the counts, without the value); a gap whose base (men's pay)
is 0 is undefined. People of other genders are counted, never silently dropped
(:data:`~toolkit.compliance.pay_conventions.OTHER_GENDERS_TREATMENT`). Keys are the
Directive's names of the indicators, each with its article.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.compliance.adverse_impact import four_fifths
from toolkit.compliance.oaxaca import decompose
from toolkit.compliance.pay_conventions import (
    MEN,
    NOT_LEGAL_ADVICE,
    OTHER_GENDERS,
    OTHER_GENDERS_TREATMENT,
    WOMEN,
    PayGapConventions,
    describe_conventions,
)

MEAN_GAP = "gender_pay_gap"
VARIABLE_MEAN_GAP = "gender_pay_gap_in_complementary_or_variable_components"
MEDIAN_GAP = "median_gender_pay_gap"
VARIABLE_MEDIAN_GAP = "median_gender_pay_gap_in_complementary_or_variable_components"
RECEIVING = "proportion_of_female_and_male_workers_receiving_complementary_or_variable_components"
QUARTILES = "proportion_of_female_and_male_workers_in_each_quartile_pay_band"
BY_CATEGORY = (
    "gender_pay_gap_between_workers_by_categories_of_workers_broken_down_by_ordinary_basic_"
    "wage_or_salary_and_complementary_or_variable_components"
)
JOINT_ASSESSMENT = "joint_pay_assessment"
FOUR_FIFTHS_RULE = "four_fifths_rule"
ARTICLES = {
    MEAN_GAP: "9(1)(a)",
    VARIABLE_MEAN_GAP: "9(1)(b)",
    MEDIAN_GAP: "9(1)(c)",
    VARIABLE_MEDIAN_GAP: "9(1)(d)",
    RECEIVING: "9(1)(e)",
    QUARTILES: "9(1)(f)",
    BY_CATEGORY: "9(1)(g)",
    JOINT_ASSESSMENT: "10",
}
BANDS = ("lower", "lower_middle", "upper_middle", "upper")
STATISTICS = {"mean": np.mean, "median": np.median}


def pay_columns(people: pd.DataFrame, conventions: PayGapConventions) -> pd.DataFrame:
    """Return ``base``, ``variable`` and ``pay`` (the counted items) per worker, per hour or year.

    Parameters
    ----------
    people : DataFrame
        A checked people table (:func:`toolkit.compliance.pay_people.validate_people`).
    conventions : PayGapConventions
        Pay basis and the items counted as pay.

    Returns
    -------
    DataFrame
        The table with the three columns added.
    """
    hours = people["hours_per_year"] if conventions.pay_basis == "hourly" else 1.0
    table = people.assign(base=people["base_pay"] / hours, variable=people["variable_pay"] / hours)
    items = {"base_pay": table["base"], "variable_pay": table["variable"]}
    table["pay"] = sum(items[name] for name in conventions.pay_components)
    return table


def relative_gap(
    men: np.ndarray, women: np.ndarray, statistic: str, min_group_size: int
) -> dict[str, object]:
    """Return ``(men − women) / men × 100`` of a statistic, or why it is not shown.

    Parameters
    ----------
    men, women : ndarray
        The amounts compared.
    statistic : {"mean", "median"}
        Which level is compared.
    min_group_size : int
        Fewest women and men the gap is shown for.

    Returns
    -------
    dict
        ``n_women``, ``n_men``, ``status`` (``reported``, ``suppressed`` or ``undefined``),
        and when reported ``value_percent`` with both levels (``women``, ``men``).
    """
    out: dict[str, object] = {"n_women": len(women), "n_men": len(men)}
    if min(len(women), len(men)) < min_group_size:
        return {
            **out,
            "status": "suppressed",
            "reason": f"fewer than {min_group_size} women or men",
            "value_percent": None,
        }
    level_men = float(STATISTICS[statistic](men))
    level_women = float(STATISTICS[statistic](women))
    if level_men <= 0:
        return {
            **out,
            "status": "undefined",
            "reason": f"men's {statistic} is 0",
            "value_percent": None,
        }
    return {
        **out,
        "status": "reported",
        "value_percent": 100 * (level_men - level_women) / level_men,
        "women": level_women,
        "men": level_men,
    }


def _others(gender: np.ndarray, values: np.ndarray, statistic: str, min_group_size: int) -> dict:
    """People of other genders beside an indicator: their count and level (if not too few)."""
    mask = np.isin(gender, OTHER_GENDERS)
    out = {"n": int(mask.sum()), **{g: int((gender == g).sum()) for g in OTHER_GENDERS}}
    if mask.sum() >= min_group_size:
        out[statistic] = float(STATISTICS[statistic](values[mask]))
    elif mask.any():
        out["status"] = "suppressed"
    return out


def _gap_indicator(
    table: pd.DataFrame, column: str, statistic: str, conventions: PayGapConventions
) -> dict:
    gender = table["gender"].to_numpy(dtype=object)
    values = table[column].to_numpy(dtype=float)
    gap = relative_gap(
        values[gender == MEN], values[gender == WOMEN], statistic, conventions.min_group_size
    )
    others = _others(gender, values, statistic, conventions.min_group_size)
    return {**gap, "other_genders": others}


def _variable_population(table: pd.DataFrame, conventions: PayGapConventions) -> pd.DataFrame:
    if conventions.variable_gap_over == "recipients":
        return table[table["variable"] > 0]
    return table


def quartile_bands(pay: pd.Series, person_id: pd.Series, ties: str) -> pd.Series:
    """Place each worker in one of four pay bands, lowest pay in ``lower``.

    Workers are ranked by pay, equal pay ordered by ``person_id``, and the ranking cut into
    four bands of equal headcount; when the headcount is not divisible by four the lower
    bands take one more each (10 people: 3, 3, 2, 2; 7 people: 2, 2, 2, 1). With ``ties ==
    "keep_together"`` everyone with the same pay goes to the band of the lowest-ranked of
    them.

    Parameters
    ----------
    pay : Series
        Pay per worker.
    person_id : Series
        Ids, aligned with ``pay``, breaking ties in the ranking.
    ties : {"order_by_id", "keep_together"}
        The tie rule.

    Returns
    -------
    Series
        The band name of each worker (index of ``pay``).
    """
    n = len(pay)
    order = pd.DataFrame({"pay": pay.to_numpy(), "id": person_id.to_numpy()}, index=pay.index)
    order = order.sort_values(["pay", "id"], kind="mergesort")
    size, extra = divmod(n, 4)
    sizes = [size + (1 if b < extra else 0) for b in range(4)]
    band_of_rank = np.repeat(np.arange(4), sizes)
    bands = pd.Series(band_of_rank, index=order.index)
    if ties == "keep_together":
        bands = bands.groupby(order["pay"]).transform("min")
    return bands.reindex(pay.index).map(dict(enumerate(BANDS)))


def _quartiles(table: pd.DataFrame, conventions: PayGapConventions) -> dict:
    table = table.assign(
        band=quartile_bands(table["pay"], table["person_id"], conventions.quartile_ties)
    )
    out = {}
    for band in BANDS:
        inside = table[table["band"] == band]
        counts = {
            "n": len(inside),
            "n_women": int((inside["gender"] == WOMEN).sum()),
            "n_men": int((inside["gender"] == MEN).sum()),
            "n_other_genders": int(inside["gender"].isin(OTHER_GENDERS).sum()),
        }
        if len(inside) < conventions.min_group_size:
            out[band] = {
                **counts,
                "status": "suppressed",
                "reason": "band smaller than the minimum",
            }
            continue
        out[band] = {
            **counts,
            "status": "reported",
            "share_women": counts["n_women"] / len(inside),
            "share_men": counts["n_men"] / len(inside),
            "share_other_genders": counts["n_other_genders"] / len(inside),
        }
    return out


def _receiving(table: pd.DataFrame, conventions: PayGapConventions) -> dict:
    out = {}
    for name, mask in (
        ("women", table["gender"] == WOMEN),
        ("men", table["gender"] == MEN),
        ("other_genders", table["gender"].isin(OTHER_GENDERS)),
    ):
        group = table[mask]
        entry = {"n": len(group)}
        if len(group) >= conventions.min_group_size:
            entry["share_receiving"] = float((group["variable"] > 0).mean())
        elif len(group):
            entry["status"] = "suppressed"
        out[name] = entry
    return out


def _categories(table: pd.DataFrame, conventions: PayGapConventions) -> dict:
    out = {}
    for category, group in table.groupby("category", sort=True):
        variable = _variable_population(group, conventions)
        out[str(category)] = {
            "ordinary_basic_wage_or_salary": _gap_indicator(group, "base", "mean", conventions),
            "complementary_or_variable_components": _gap_indicator(
                variable, "variable", "mean", conventions
            ),
            "pay": _gap_indicator(group, "pay", "mean", conventions),
        }
    return out


def _joint_assessment(table: pd.DataFrame, conventions: PayGapConventions, bootstrap: bool) -> dict:
    """Art. 10(1)(a)-(b): per category, a gap ≥ threshold not explained by the criteria."""
    threshold = conventions.threshold_percent
    replicates = conventions.bootstrap_replicates if bootstrap else 0
    categories = {}
    for position, (category, group) in enumerate(table.groupby("category", sort=True)):
        gap = _gap_indicator(group, "pay", "mean", conventions)
        entry = {
            "gap_percent": gap["value_percent"],
            "n_women": gap["n_women"],
            "n_men": gap["n_men"],
        }
        if gap["status"] != "reported":
            categories[str(category)] = {
                **entry,
                "flag": None,
                "status": "too_small_to_assess" if gap["status"] == "suppressed" else "undefined",
                "reason": f"{gap['reason']}: compare these workers' pay one by one",
            }
            continue
        if gap["value_percent"] < threshold:
            categories[str(category)] = {**entry, "flag": False, "status": "below_threshold"}
            continue
        parts = decompose(
            group,
            "pay",
            conventions.criteria,
            replicates,
            (conventions.bootstrap_seed, position),
            conventions.confidence,
        )
        if parts["status"] != "estimated":
            categories[str(category)] = {
                **entry,
                "flag": True,
                "status": "not_shown_to_be_explained",
                "reason": parts["reason"],
            }
            continue
        flag = parts["unexplained_percent"] >= threshold
        categories[str(category)] = {
            **entry,
            "flag": bool(flag),
            "status": "unexplained_gap" if flag else "explained_by_criteria",
            "unexplained_percent": parts["unexplained_percent"],
            "unexplained_interval_percent": parts["interval_percent"],
            "explained": parts["explained"],
            "unexplained": parts["unexplained"],
            "regressors": parts["regressors"],
        }
    return {
        "rule": f"a category's gap in average pay of at least {threshold:g} % that objective, "
        "gender-neutral criteria do not explain (pooled Oaxaca-Blinder; the unexplained part "
        "as a share of men's mean, with its bootstrap interval); remedy within six months "
        "(Art. 10(1)(c)) is not assessed here",
        "criteria": list(conventions.criteria),
        "categories_flagged": sorted(c for c, e in categories.items() if e["flag"]),
        "categories": categories,
    }


def _adjusted(table: pd.DataFrame, conventions: PayGapConventions, bootstrap: bool) -> dict:
    """Return the organisation-wide gap after the category and the criteria (Oaxaca-Blinder)."""
    regressors = list(dict.fromkeys(["category", *conventions.criteria]))
    women = int((table["gender"] == WOMEN).sum())
    men = int((table["gender"] == MEN).sum())
    if min(women, men) < conventions.min_group_size:
        return {"status": "suppressed", "criteria": regressors, "n_women": women, "n_men": men}
    replicates = conventions.bootstrap_replicates if bootstrap else 0
    parts = decompose(
        table,
        "pay",
        regressors,
        replicates,
        (conventions.bootstrap_seed, 1 << 20),
        conventions.confidence,
    )
    return {**parts, "criteria": regressors}


def pay_gap_report(
    people: pd.DataFrame,
    conventions: PayGapConventions,
    reference_year: int | None = None,
    bootstrap: bool = True,
) -> dict:
    """Return every indicator of the equal-pay assessment, with the conventions used.

    Parameters
    ----------
    people : DataFrame
        A checked people table (:func:`toolkit.compliance.pay_people.validate_people`).
    conventions : PayGapConventions
        How pay is counted.
    reference_year : int, optional
        The year the table describes (the conventions' year when not given).
    bootstrap : bool
        Compute the bootstrap intervals of the unexplained gaps (off for many runs at once).

    Returns
    -------
    dict
        ``not_legal_advice``, ``conventions`` (value and reason of each), ``reference_year``,
        ``population``, one key per Art. 9(1) indicator (named as the Directive names it,
        each with its ``article``), ``joint_pay_assessment`` (Art. 10), ``adjusted_gender_pay_gap``
        and ``four_fifths_rule``.
    """
    table = pay_columns(people, conventions)
    variable = _variable_population(table, conventions)
    indicators = {
        MEAN_GAP: _gap_indicator(table, "pay", "mean", conventions),
        VARIABLE_MEAN_GAP: _gap_indicator(variable, "variable", "mean", conventions),
        MEDIAN_GAP: _gap_indicator(table, "pay", "median", conventions),
        VARIABLE_MEDIAN_GAP: _gap_indicator(variable, "variable", "median", conventions),
        RECEIVING: _receiving(table, conventions),
        QUARTILES: _quartiles(table, conventions),
        BY_CATEGORY: _categories(table, conventions),
        JOINT_ASSESSMENT: _joint_assessment(table, conventions, bootstrap),
    }
    return {
        "title": "Equal-pay impact: Directive (EU) 2023/970 Art. 9(1) and 10, 29 CFR 1607.4(D)",
        "not_legal_advice": NOT_LEGAL_ADVICE,
        "conventions": describe_conventions(conventions),
        "reference_year": reference_year
        if reference_year is not None
        else conventions.reference_year,
        "population": {
            "workers": len(table),
            "women": int((table["gender"] == WOMEN).sum()),
            "men": int((table["gender"] == MEN).sum()),
            "other_genders": {g: int((table["gender"] == g).sum()) for g in OTHER_GENDERS},
            "other_genders_treatment": OTHER_GENDERS_TREATMENT,
        },
        **{key: {"article": ARTICLES[key], **value} for key, value in indicators.items()},
        "adjusted_gender_pay_gap": _adjusted(table, conventions, bootstrap),
        FOUR_FIFTHS_RULE: four_fifths(
            table["variable"] > 0, table["gender"], conventions.min_group_size
        ),
    }
