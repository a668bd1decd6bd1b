"""The KPI catalogue: every KPI is registered once, with the words a reader needs to use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from toolkit.metrics.context import KpiRows, MeasureContext

DIRECTIONS = ("lower", "higher")
INDICATORS = ("leading", "lagging")
# Listing order of the catalogue: incident KPIs, then availability, then change KPIs.
KPI_TABLES = ("incidents", "outages", "changes")

KpiFunction = Callable[["MeasureContext"], "KpiRows"]


@dataclass(frozen=True)
class KPI:
    """One key performance indicator and the function that measures it on an event log.

    Parameters
    ----------
    name : str
        The name used in the tidy output's ``kpi`` column and in plans.
    definition : str
        One sentence, saying which timestamp assigns a row to a period.
    unit : str
        The unit of ``value``.
    direction : str
        ``"lower"`` or ``"higher"``: which way is better.
    indicator : str
        ``"leading"`` (predicts service health) or ``"lagging"`` (records it).
    table : str
        The table the KPI is measured on: ``incidents``, ``changes`` or ``outages``.
    compute : callable
        Takes a :class:`~toolkit.metrics.context.MeasureContext` and returns
        :class:`~toolkit.metrics.context.KpiRows` (``period, team_id, service_id, kpi, value``)
        for the KPI and its variants.
    variants : tuple of str
        Further ``kpi`` names the function emits (e.g. one per priority).
    """

    name: str
    definition: str
    unit: str
    direction: str
    indicator: str
    table: str
    compute: KpiFunction = field(repr=False, compare=False)
    variants: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for attribute, allowed in (
            ("direction", DIRECTIONS),
            ("indicator", INDICATORS),
            ("table", KPI_TABLES),
        ):
            if getattr(self, attribute) not in allowed:
                raise ValueError(
                    f"KPI {self.name!r}: {attribute} {getattr(self, attribute)!r} "
                    f"is not one of {list(allowed)}"
                )


CATALOGUE: dict[str, KPI] = {}


def register(
    name: str,
    *,
    definition: str,
    unit: str,
    direction: str,
    indicator: str,
    table: str,
    variants: tuple[str, ...] = (),
) -> Callable[[KpiFunction], KpiFunction]:
    """Add the decorated function to :data:`CATALOGUE` as the KPI ``name``.

    Parameters
    ----------
    name, definition, unit, direction, indicator, table, variants
        The :class:`KPI` fields.

    Returns
    -------
    callable
        A decorator returning the function unchanged.

    Raises
    ------
    ValueError
        If ``name`` or a variant is already registered, or a field has a value not allowed.
    """

    def decorate(function: KpiFunction) -> KpiFunction:
        taken = set(CATALOGUE).union(*(kpi.variants for kpi in CATALOGUE.values()))
        clashes = sorted(taken.intersection((name, *variants)))
        if clashes:
            raise ValueError(f"KPI names already registered: {clashes}")
        CATALOGUE[name] = KPI(
            name, definition, unit, direction, indicator, table, function, variants
        )
        return function

    return decorate


def ordered_catalogue() -> list[KPI]:
    """Return the catalogue grouped by table (incidents, availability, changes) for listing."""
    return sorted(CATALOGUE.values(), key=lambda kpi: KPI_TABLES.index(kpi.table))


def catalogue_table() -> pd.DataFrame:
    """Describe every registered KPI, one row each, as printed by ``lti kpis --list``.

    Returns
    -------
    DataFrame
        Columns ``kpi, definition, unit, direction, indicator``.
    """
    columns = ["kpi", "definition", "unit", "direction", "indicator"]
    rows = [
        (kpi.name, kpi.definition, kpi.unit, kpi.direction, kpi.indicator)
        for kpi in ordered_catalogue()
    ]
    return pd.DataFrame(rows, columns=columns).astype("str")
