"""The US four-fifths rule on who receives an award, with Fisher's exact test beside the ratio.

29 CFR 1607.4(D): a selection rate for a sex (or race, or ethnic group) below four-fifths of
the rate of the group with the highest rate is generally regarded as evidence of adverse
impact; differences based on small numbers that are not statistically significant may not be.
So each group's impact ratio is shown with a two-sided Fisher exact p-value against the
highest-rate group, and groups smaller than the minimum size are suppressed, not compared.
"""

from __future__ import annotations

from fractions import Fraction

import pandas as pd
from scipy.stats import fisher_exact

from toolkit.compliance.pay_conventions import GENDERS

FOUR_FIFTHS = Fraction(4, 5)


def four_fifths(selected: pd.Series, group: pd.Series, min_group_size: int) -> dict:
    """Return each group's selection rate, impact ratio and Fisher p-value.

    Parameters
    ----------
    selected : Series of bool
        Whether each worker was selected (received an award).
    group : Series of str
        Each worker's gender.
    min_group_size : int
        Groups with fewer workers are listed as suppressed, and neither set the highest rate
        nor are compared.

    Returns
    -------
    dict
        ``rule`` (its citation), ``threshold`` (0.8), ``highest_rate_group`` and ``groups``:
        per group ``n``, then ``selected``, ``rate``, ``impact_ratio``, ``adverse_impact``
        (ratio below 0.8) and ``fisher_p_value`` (two-sided, against the highest-rate group),
        or ``status: "suppressed"`` with the reason; ``status: "undefined"`` for all when
        nobody is selected.
    """
    counts = {}
    for name in GENDERS:
        chosen = selected[group == name]
        if len(chosen):
            counts[name] = (len(chosen), int(chosen.sum()))
    shown = {g: c for g, c in counts.items() if c[0] >= min_group_size}
    groups: dict[str, dict] = {}
    for name, (n, _) in counts.items():
        if name not in shown:
            groups[name] = {
                "n": n,
                "status": "suppressed",
                "reason": f"fewer than {min_group_size} workers",
            }
    result = {
        "rule": "29 CFR 1607.4(D): selection rate below four-fifths of the highest group's",
        "selection": "receiving variable pay (an award) in the reference year",
        "threshold": float(FOUR_FIFTHS),
        "highest_rate_group": None,
        "groups": groups,
    }
    if not shown:
        return result
    best = max(shown, key=lambda g: (shown[g][1] / shown[g][0], g))
    best_n, best_selected = shown[best]
    best_rate = best_selected / best_n
    result["highest_rate_group"] = best
    for name, (n, chosen) in shown.items():
        rate = chosen / n
        if best_rate == 0:
            groups[name] = {"n": n, "selected": chosen, "rate": rate, "status": "undefined"}
            continue
        table = [[chosen, n - chosen], [best_selected, best_n - best_selected]]
        p_value = 1.0 if name == best else float(fisher_exact(table)[1])
        ratio = Fraction(chosen * best_n, n * best_selected)  # exact: 48/60 is not below 0.8
        groups[name] = {
            "n": n,
            "selected": chosen,
            "rate": rate,
            "impact_ratio": float(ratio),
            "adverse_impact": ratio < FOUR_FIFTHS,
            "fisher_p_value": p_value,
            "status": "reported",
        }
    result["groups"] = {g: groups[g] for g in GENDERS if g in groups}
    return result
