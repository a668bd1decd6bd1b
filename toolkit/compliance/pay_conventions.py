"""The conventions of an equal-pay assessment: every choice that moves a figure, made explicit.

A pay gap is not one number: it depends on whether pay is counted per hour or per year, which
pay items count, when variable pay counts (at grant, when earned, at vesting or when paid), how
people with the same pay are split into quartile bands, and below what group size a figure
would reveal one person's pay. :class:`PayGapConventions` holds each of these with a documented
default, and every output prints them (:func:`describe_conventions`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from toolkit.config.base import StrictModel

GENDERS = ("female", "male", "nonbinary", "undisclosed")
WOMEN, MEN = "female", "male"
OTHER_GENDERS = tuple(g for g in GENDERS if g not in (WOMEN, MEN))
OTHER_GENDERS_TREATMENT = (
    "The Directive's indicators compare women and men. People of other genders (nonbinary, "
    "undisclosed) are counted in every headcount and hold their place in the quartile pay "
    "bands, but are in neither the women's nor the men's means and medians; their numbers "
    "and pay are reported beside each indicator under other_genders, never dropped."
)
NOT_LEGAL_ADVICE = (
    "Not legal advice: figures computed under the conventions listed, to support a review by "
    "qualified counsel and the employee representatives; the Directive's transposition into "
    "national law decides what must be reported."
)


class PayGapConventions(StrictModel):
    """How an equal-pay assessment counts pay; each field's description gives its reason.

    Parameters
    ----------
    pay_basis : {"annual", "hourly"}
        Pay per year, or per hour worked (pay / ``hours_per_year``).
    pay_components : tuple of {"base_pay", "variable_pay"}
        The pay items that make up pay in the mean and median gaps and the quartile bands.
    variable_timing : {"grant", "earned", "vest", "payment"}
        When an award counts as the reference year's variable pay.
    variable_gap_over : {"recipients", "all_workers"}
        Whose variable pay enters the variable-pay gaps.
    quartile_ties : {"order_by_id", "keep_together"}
        How people with equal pay are placed in the quartile bands.
    min_group_size : int
        Fewest women (and men) a figure is shown for.
    reference_year : int or None
        Calendar year assessed; None takes the latest year with variable pay.
    category : str
        The column that defines a category of workers (Art. 9(1)(g), Art. 10).
    criteria : tuple of str
        Objective, gender-neutral criteria the Art. 10 decomposition explains pay with.
    threshold_percent : float
        The gap at which a joint pay assessment is due.
    bootstrap_replicates : int
        Resamples for the intervals of the unexplained gap (0: no interval).
    bootstrap_seed : int
        Seed of the resampling, so a report is reproducible.
    confidence : float
        Coverage of the intervals.
    """

    pay_basis: Literal["annual", "hourly"] = Field(
        default="annual",
        description="Annual by default: the Directive defines pay levels as gross annual and the "
        "corresponding gross hourly pay (Art. 3); scenario people have no hours, and for "
        "workers on equal hours hourly and annual gaps are the same number. Choose hourly, "
        "with an hours_per_year column, where part-time work differs between women and men.",
    )
    pay_components: tuple[Literal["base_pay", "variable_pay"], ...] = Field(
        default=("base_pay", "variable_pay"),
        min_length=1,
        description="Both by default: pay under the Directive is the ordinary basic wage or "
        "salary and any other consideration, including complementary or variable components "
        "(Art. 3(1)(a)). Base and variable pay are also reported separately whatever this says.",
    )
    variable_timing: Literal["grant", "earned", "vest", "payment"] = Field(
        default="earned",
        description="Earned by default: a plan designer assesses what a plan awards for a year "
        "(cohorts granted in the year, after performance, pool, cap and malus), which long "
        "vesting would otherwise push beyond a simulation's horizon. A statutory report counts "
        "pay received in the reference year: choose payment (paid, net of clawback). grant "
        "counts target grant values, vest amounts vested in the year. For a CSV the column is "
        "taken as given and this records how it was built.",
    )
    variable_gap_over: Literal["recipients", "all_workers"] = Field(
        default="recipients",
        description="Recipients by default, as the UK gender pay gap regulations (SI 2017/172, "
        "reg. 8) compute bonus gaps over those paid a bonus: who receives variable pay at all "
        "is indicator 9(1)(e), so the gaps do not mix the two. all_workers counts non-"
        "recipients as 0 (the toolkit's earlier gender_gap_awards).",
    )
    quartile_ties: Literal["order_by_id", "keep_together"] = Field(
        default="order_by_id",
        description="order_by_id by default: workers are ranked by pay, lowest first, equal pay "
        "ordered by person_id, and cut into four bands of equal headcount; when the headcount "
        "is not divisible by four the lower bands take one more each (10 people: 3, 3, 2, 2). "
        "Bands are then exactly equal, as the Directive's 'four equal groups' asks, but equal "
        "pay may straddle a boundary. keep_together puts everyone with the same pay into the "
        "band of the lowest-ranked of them, so bands may differ in size.",
    )
    min_group_size: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="5 by default: a mean over fewer women or men than this comes close to "
        "revealing one person's pay (a category with one woman shows her pay), and five is a "
        "common statistical disclosure-control threshold; such figures are shown as "
        "suppressed with the counts. Small groups also make the four-fifths ratio unreliable "
        "(29 CFR 1607.4(D)). Set it to suit your data-protection assessment.",
    )
    reference_year: int | None = Field(
        default=None,
        ge=1900,
        le=2200,
        description="None by default: the latest calendar year with variable pay under the "
        "timing chosen (the resolved year is printed). The Directive reports per calendar year.",
    )
    category: str = Field(
        default="grade",
        min_length=1,
        description="grade by default: categories of workers are those doing the same work or "
        "work of equal value (Art. 9(1)(g)), which a pay grade approximates; role is the other "
        "choice for a simulated run, any column for a CSV.",
    )
    criteria: tuple[str, ...] = Field(
        default=(),
        description="None by default: with no criteria named, the whole gap of a category is "
        "unexplained. Name the objective, gender-neutral criteria the employer relies on "
        "(e.g. country, tenure, performance).",
    )
    threshold_percent: float = Field(
        default=5.0,
        gt=0,
        le=100,
        description="5 % by default: Art. 10(1)(a) calls a joint pay assessment where a "
        "category's gap in average pay is at least 5 % and is not justified by objective, "
        "gender-neutral criteria (nor remedied within six months).",
    )
    bootstrap_replicates: int = Field(
        default=999,
        ge=0,
        le=100_000,
        description="999 resamples by default (women and men resampled separately, each "
        "keeping its size), enough for a stable 95 % percentile interval; 0 gives none.",
    )
    bootstrap_seed: int = Field(
        default=0, ge=0, le=2**32 - 1, description="0 by default; the same seed, the same interval."
    )
    confidence: float = Field(
        default=0.95, gt=0, lt=1, description="0.95 by default, the usual coverage."
    )


def describe_conventions(conventions: PayGapConventions) -> dict[str, dict]:
    """Return each convention with its value and the reason for its default.

    Parameters
    ----------
    conventions : PayGapConventions
        The conventions used.

    Returns
    -------
    dict
        ``{field: {"value": ..., "meaning": ...}}``, in field order, ready for JSON.
    """
    values = conventions.model_dump(mode="json")
    return {
        name: {"value": values[name], "meaning": field.description}
        for name, field in PayGapConventions.model_fields.items()
    }
