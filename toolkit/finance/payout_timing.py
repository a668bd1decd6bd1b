"""Payout timing across internal teams and partners: a cash-flow view of both sides.

Internal awards are earned in an incentive period and paid when they vest (often years later);
vendor credits and bonuses are earned in an SLA month and settled on the next invoice; gain-share
is paid when a saving is verified. A team and the vendor it works with can thus be paid for the
same quarter at very different dates, and a credit the vendor pays back may land in a quarter in
which the team has nothing to show. :func:`payout_schedule` puts both sides on one calendar;
``schedule="aligned"`` settles the vendor's credits and bonuses with the internal period that
holds their SLA period instead, the usual clause for keeping both sides on one rhythm.
"""

from __future__ import annotations

import pandas as pd

from toolkit.finance.vendor_alignment import DEFAULT_SETTLEMENT_LAG_MONTHS

SCHEDULES = ("contract", "aligned")
COLUMNS = ("side", "party", "kind", "earned_in", "paid_month", "amount", "lag_months")
FREQ = {"month": "M", "quarter": "Q", "year": "Y"}


def _month_of_end(labels: pd.Series, freq: str) -> pd.PeriodIndex:
    return pd.PeriodIndex(labels.astype(str), freq=freq).asfreq("M", how="end")


def payout_schedule(
    cashflows: pd.DataFrame,
    vendor_sla: pd.DataFrame,
    internal_period: str,
    schedule: str = "contract",
    settlement_lag_months: int = DEFAULT_SETTLEMENT_LAG_MONTHS,
    gain_share: pd.DataFrame | None = None,
    view: str = "true",
) -> pd.DataFrame:
    """Put internal award payments and vendor settlements on one monthly calendar.

    Parameters
    ----------
    cashflows : DataFrame
        A run's ``cashflows.parquet`` (:meth:`toolkit.plans.ledger.AwardLedger.cashflows`);
        its ``pay`` rows are cash to people, booked at the end of their period.
    vendor_sla : DataFrame
        A run's ``vendor_sla.parquet`` (:func:`toolkit.finance.vendor_credits.vendor_sla_table`).
    internal_period : str
        The plan's incentive period (``"quarter"``, ...), for the aligned schedule.
    schedule : str
        ``"contract"``: each credit or bonus is settled ``settlement_lag_months`` after its SLA
        period; ``"aligned"``: the same lag after the internal period holding the SLA period.
    settlement_lag_months : int
        Months from the end of the period settled to the payment.
    gain_share : DataFrame, optional
        Gain-share payments (:attr:`toolkit.finance.gain_share.GainShareSettlement.payments`);
        vendor rows are paid at the end of the claim's quarter plus the lag.
    view : str
        ``"true"`` or ``"reported"``: which credits and bonuses are settled.

    Returns
    -------
    DataFrame
        One row per payment: ``side`` (internal or vendor), ``party`` (team or vendor, a
        subcontractor as ``vendor/subcontractor``), ``kind`` (award, credit, bonus,
        gain_share), ``earned_in`` (the period the performance belongs to), ``paid_month``
        (``YYYY-MM``), ``amount`` (the organisation's cash out: credits negative, as the vendor
        pays them back) and ``lag_months`` (from the end of ``earned_in`` to payment).

    Raises
    ------
    ValueError
        For an unknown schedule or view.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule {schedule!r}: choose one of {list(SCHEDULES)}")
    if view not in ("true", "reported"):
        raise ValueError(f"view {view!r}: choose 'true' or 'reported'")
    parts = []
    pay = cashflows[cashflows["kind"] == "pay"]
    if len(pay):
        grouped = pay.groupby(["team_id", "cohort", "period"], as_index=False)["amount"].sum()
        freq = FREQ[internal_period]
        paid = _month_of_end(grouped["period"], freq)
        earned = _month_of_end(grouped["cohort"], freq)
        parts.append(
            pd.DataFrame(
                {
                    "side": "internal",
                    "party": grouped["team_id"].to_numpy(dtype=object),
                    "kind": "award",
                    "earned_in": grouped["cohort"].to_numpy(dtype=object),
                    "paid_month": [str(m) for m in paid],
                    "amount": grouped["amount"].to_numpy(dtype=float),
                    "lag_months": [(p - e).n for p, e in zip(paid, earned, strict=True)],
                }
            )
        )
    sla = vendor_sla.copy()
    sla["party"] = sla["vendor_id"].where(
        sla["subcontractor_id"].isna(), sla["vendor_id"] + "/" + sla["subcontractor_id"].fillna("")
    )
    sla["month_end"] = (sla["end"] - pd.Timedelta(1, "ns")).dt.to_period("M")
    for kind, sign in (("credit", -1.0), ("bonus", 1.0)):
        money = sla.groupby(["party", "period", "month_end"], as_index=False)[
            f"{kind}_{view}"
        ].sum()
        money = money[money[f"{kind}_{view}"] > 0]
        if money.empty:
            continue
        ends = pd.PeriodIndex(money["month_end"])
        base = ends
        if schedule == "aligned":
            base = ends.asfreq(FREQ[internal_period]).asfreq("M", how="end")
        paid = base + settlement_lag_months
        parts.append(
            pd.DataFrame(
                {
                    "side": "vendor",
                    "party": money["party"].to_numpy(dtype=object),
                    "kind": kind,
                    "earned_in": money["period"].to_numpy(dtype=object),
                    "paid_month": [str(m) for m in paid],
                    "amount": sign * money[f"{kind}_{view}"].to_numpy(dtype=float),
                    "lag_months": [(p - e).n for p, e in zip(paid, ends, strict=True)],
                }
            )
        )
    if gain_share is not None:
        vendor = gain_share[(gain_share["side"] == "vendor") & (gain_share["payment"] > 0)]
        if len(vendor):
            ends = _month_of_end(vendor["period"], "Q")
            parts.append(
                pd.DataFrame(
                    {
                        "side": "vendor",
                        "party": vendor["claimant"].to_numpy(dtype=object),
                        "kind": "gain_share",
                        "earned_in": vendor["period"].to_numpy(dtype=object),
                        "paid_month": [str(m + settlement_lag_months) for m in ends],
                        "amount": vendor["payment"].to_numpy(dtype=float),
                        "lag_months": settlement_lag_months,
                    }
                )
            )
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in COLUMNS})
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(["paid_month", "side", "party", "kind"], ignore_index=True)[
        list(COLUMNS)
    ]


def cash_calendar(schedule: pd.DataFrame, period: str = "quarter") -> pd.DataFrame:
    """Sum a :func:`payout_schedule` per calendar period, side and kind.

    Parameters
    ----------
    schedule : DataFrame
        From :func:`payout_schedule`.
    period : str
        ``"month"``, ``"quarter"`` or ``"year"``.

    Returns
    -------
    DataFrame
        Indexed by period label; one column per ``side: kind`` and ``net`` (their sum), zeros
        where nothing was paid.
    """
    if schedule.empty:
        return pd.DataFrame({"net": pd.Series(dtype=float)})
    months = pd.PeriodIndex(schedule["paid_month"].astype(str), freq="M")
    labels = [str(p) for p in months.asfreq(FREQ[period])]
    frame = schedule.assign(when=labels, column=schedule["side"] + ": " + schedule["kind"])
    table = frame.pivot_table(
        index="when", columns="column", values="amount", aggfunc="sum", fill_value=0.0
    )
    table.columns.name = None
    table.index.name = period
    table["net"] = table.sum(axis=1)
    return table


def timing_summary(schedule: pd.DataFrame) -> pd.DataFrame:
    """Summarise how long each side waits for its money.

    Parameters
    ----------
    schedule : DataFrame
        From :func:`payout_schedule`.

    Returns
    -------
    DataFrame
        Per ``side, kind``: ``payments``, ``amount`` (sum) and ``mean_lag_months`` (weighted
        by absolute amount).
    """
    rows = []
    for (side, kind), part in schedule.groupby(["side", "kind"], sort=True):
        weight = part["amount"].abs()
        lag = (part["lag_months"] * weight).sum() / weight.sum() if weight.sum() > 0 else 0.0
        rows.append(
            {
                "side": side,
                "kind": kind,
                "payments": len(part),
                "amount": float(part["amount"].sum()),
                "mean_lag_months": float(lag),
            }
        )
    return pd.DataFrame(rows, columns=["side", "kind", "payments", "amount", "mean_lag_months"])
