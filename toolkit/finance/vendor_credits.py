"""Service credits and bonuses of vendors: the money side of their SLA attainment.

A miss costs the supplier the credit of the highest band its shortfall reaches, as a share of
its fees for the SLA period; a target beaten by the bonus margin earns it a bonus. The credits
of all measures in a period are capped together at ``credit_cap_pct`` of the period's fees
(likewise bonuses at ``bonus_cap_pct``), the cap scaling every measure's share alike, so the
per-measure amounts still add up to what is paid. Fees are ``monthly_fee`` per calendar month,
pro rata for an SLA period the window cuts short.

:func:`vendor_sla_table` puts the true and the reported view side by side, per run: the truth
is what the vendor really delivered; the reported view is the run's record with the vendors'
outages as they report them (:mod:`toolkit.behaviour.vendor_reporting`), the figures a
customer without its own monitoring would pay credits on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from toolkit.behaviour.vendor_reporting import report_vendor_outages, scenario_intensities
from toolkit.config.scenario import Bands, Bonus, Scenario
from toolkit.events import EventLog
from toolkit.events.periods import period_bounds
from toolkit.metrics.vendor_sla import SlaParty, sla_parties, vendor_sla

MONTHS = {"month": 1, "quarter": 3}
FREQ = {"month": "M", "quarter": "Q"}
TOLERANCE_PCT = 1e-9  # attainments are sums of float hours; a band edge is met within this
KEYS = ["vendor_id", "subcontractor_id", "period", "measure"]


def band_credit_pct(shortfall_pct: float, bands: Bands) -> float:
    """Return the credit, in % of fees, of the highest band a shortfall reaches.

    Parameters
    ----------
    shortfall_pct : float
        Target minus attainment in percentage points; no shortfall (0 or less) costs nothing.
    bands : list of CreditBand
        Bands by increasing ``shortfall_from_pct``.

    Returns
    -------
    float
        The band's ``credit_pct``, or 0.
    """
    if not shortfall_pct > TOLERANCE_PCT:
        return 0.0
    reached = [b.credit_pct for b in bands if shortfall_pct >= b.shortfall_from_pct - TOLERANCE_PCT]
    return max(reached, default=0.0)


def bonus_pct(attainment_pct: float, target_pct: float, bonus: Bonus | None) -> float:
    """Return the bonus, in % of fees, an attainment earns (0 without a bonus or a measure)."""
    if bonus is None or np.isnan(attainment_pct):
        return 0.0
    beaten = attainment_pct - target_pct >= bonus.above_target_pct - TOLERANCE_PCT
    return bonus.bonus_pct if beaten else 0.0


def period_fees(party: SlaParty, labels: pd.Series, hours: pd.Series) -> np.ndarray:
    """Return the fees of each SLA period: months times ``monthly_fee``, pro rata if cut short."""
    if party.terms is None:
        return np.zeros(len(labels))
    spans = pd.PeriodIndex(labels.astype(str), freq=FREQ[party.period])
    full = ((spans + 1).start_time - spans.start_time) / pd.Timedelta(1, "h")
    share = hours.to_numpy(dtype=float) / np.asarray(full, dtype=float)
    return party.terms.monthly_fee * MONTHS[party.period] * share


def _terms_of(party: SlaParty, measure: str):
    if measure == "availability":
        return party.terms.availability if party.terms is not None else None
    return party.time_terms(measure)


def credits(sla: pd.DataFrame, parties: Sequence[SlaParty]) -> pd.DataFrame:
    """Price an SLA table: fees, band credits and bonuses, capped per party and period.

    Parameters
    ----------
    sla : DataFrame
        From :func:`toolkit.metrics.vendor_sla.vendor_sla`.
    parties : sequence of SlaParty
        The parties it measured, with their terms.

    Returns
    -------
    DataFrame
        ``sla`` with ``fee`` (the period's fees, repeated on each measure), ``credit_pct`` and
        ``bonus_pct`` (the band's, before the cap), ``credit`` and ``bonus`` (money after the
        caps) and ``capped`` (whether the credit cap cut the period's credits).
    """
    out = sla.copy()
    for name in ("fee", "credit_pct", "bonus_pct", "credit", "bonus"):
        out[name] = 0.0
    out["capped"] = False
    by_party = {(p.vendor_id, p.subcontractor_id): p for p in parties}
    subcontractor = out["subcontractor_id"].where(out["subcontractor_id"].notna(), None)
    for (vendor_id, sub_id), rows in out.groupby([out["vendor_id"], subcontractor], dropna=False):
        party = by_party[(vendor_id, None if pd.isna(sub_id) else sub_id)]
        if party.terms is None:
            continue
        idx = rows.index
        hours = (rows["end"] - rows["start"]) / pd.Timedelta(1, "h")
        out.loc[idx, "fee"] = period_fees(party, rows["period"], hours)
        out.loc[idx, "credit_pct"] = [
            band_credit_pct(s, _terms_of(party, m).credit_bands)
            for s, m in zip(rows["shortfall_pct"], rows["measure"], strict=True)
        ]
        out.loc[idx, "bonus_pct"] = [
            bonus_pct(a, t, _terms_of(party, m).bonus)
            for a, t, m in zip(
                rows["attainment_pct"], rows["target_pct"], rows["measure"], strict=True
            )
        ]
        caps = {"credit": party.terms.credit_cap_pct, "bonus": party.terms.bonus_cap_pct}
        for kind, cap in caps.items():
            total = out.loc[idx].groupby("period")[f"{kind}_pct"].transform("sum")
            scale = np.where(total > cap, cap / total.where(total > 0, 1.0), 1.0)
            out.loc[idx, kind] = out.loc[idx, f"{kind}_pct"] * scale * out.loc[idx, "fee"] / 100
            if kind == "credit":
                out.loc[idx, "capped"] = (total > cap + TOLERANCE_PCT).to_numpy()
    return out


def vendor_sla_table(
    scenario: Scenario,
    truth: EventLog,
    reported: EventLog,
    seed: int,
    intensities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Measure and price every vendor's SLA on the true and on the reported log.

    Parameters
    ----------
    scenario : Scenario
        Its vendors, their contracts and their reporting levers.
    truth, reported : EventLog
        A run's true log and its record (the teams' reporting levers applied).
    seed : int
        The run's seed; keys the vendors' reporting draws.
    intensities : DataFrame, optional
        Vendor reporting levers per period (``period, vendor_id, late_outage_start``) over the
        scenario's incentive periods; by default each vendor's ``reporting`` in every period.

    Returns
    -------
    DataFrame
        One row per party, SLA period and measure: ``vendor_id, subcontractor_id, period,
        start, end, measure, target_pct, fee``, then ``attainment_true,
        attainment_reported`` (in %), ``measured_true, measured_reported``,
        ``measurable_true, measurable_reported`` (whether the view carries the data the
        measure needs: response never does on a simulated log), ``credit_true,
        credit_reported``, ``bonus_true, bonus_reported`` (money) and ``capped_true,
        capped_reported``.
    """
    parties = sla_parties(scenario)
    periods = period_bounds(reported.start, reported.end, scenario.horizon.period)
    if intensities is None:
        intensities = scenario_intensities(scenario, periods)
    vendor_view = report_vendor_outages(reported, intensities, periods, seed=seed)
    views = {
        view: credits(vendor_sla(log, parties), parties)
        for view, log in (("true", truth), ("reported", vendor_view))
    }
    fixed = [*KEYS, "start", "end", "target_pct", "fee"]
    varying = {"attainment_pct": "attainment", "measured": "measured", "measurable": "measurable"}
    varying |= {"credit": "credit", "bonus": "bonus", "capped": "capped"}
    table = views["true"][fixed].copy()
    for view, frame in views.items():
        for column, name in varying.items():
            table[f"{name}_{view}"] = frame[column].to_numpy()
    return table


def vendor_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Sum a :func:`vendor_sla_table` per vendor and subcontractor.

    Parameters
    ----------
    table : DataFrame
        From :func:`vendor_sla_table`.

    Returns
    -------
    DataFrame
        Per ``vendor_id, subcontractor_id``: ``periods`` (SLA periods), ``misses_true`` and
        ``misses_reported`` (period-measures below target), ``fees``, ``credit_true``,
        ``credit_reported``, ``bonus_true``, ``bonus_reported`` and ``credit_gap`` (credits
        the reported view forgoes: true minus reported).
    """
    frame = table.assign(
        subcontractor_id=table["subcontractor_id"].fillna(""),
        miss_true=table["attainment_true"] < table["target_pct"] - TOLERANCE_PCT,
        miss_reported=table["attainment_reported"] < table["target_pct"] - TOLERANCE_PCT,
        fee_once=table["fee"].where(table["measure"] == "availability", 0.0),
    )
    summary = (
        frame.groupby(["vendor_id", "subcontractor_id"], sort=False)
        .agg(
            periods=("period", "nunique"),
            misses_true=("miss_true", "sum"),
            misses_reported=("miss_reported", "sum"),
            fees=("fee_once", "sum"),
            credit_true=("credit_true", "sum"),
            credit_reported=("credit_reported", "sum"),
            bonus_true=("bonus_true", "sum"),
            bonus_reported=("bonus_reported", "sum"),
        )
        .reset_index()
    )
    summary["credit_gap"] = summary["credit_true"] - summary["credit_reported"]
    named = summary["subcontractor_id"].astype(object)
    summary["subcontractor_id"] = named.where(named != "", None)
    return summary
