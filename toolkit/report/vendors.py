"""The decision report's vendor section: SLA attainment and credits per vendor and plan.

A plan changes how the teams work and record, and through the shared services what the
vendors are measured on; the vendors' own reporting may hide part of their downtime. Per
scenario, plan and supplier the section shows the true and the reported availability
attainment and the credits each view would pay, means over seeds, read from the batch's
``vendors.parquet`` and its runs' ``vendor_sla.parquet``.
"""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from toolkit.finance.vendor_credits import vendor_summary
from toolkit.metrics.vendor_sla import unmeasured_note
from toolkit.report.data import Batch
from toolkit.report.tables import _styled

KEYS = ["scenario", "plan", "vendor_id", "subcontractor_id"]


def vendor_runs(batch: Batch) -> pd.DataFrame:
    """Return the batch's per-run vendor summary (``vendors.parquet``, or rebuilt from runs).

    Parameters
    ----------
    batch : Batch
        A loaded batch.

    Returns
    -------
    DataFrame
        One row per run and supplier: ``scenario, plan, seed`` and the columns of
        :func:`toolkit.finance.vendor_credits.vendor_summary`, for the runs of ``batch``.
    """
    path = batch.directory / "vendors.parquet"
    if path.is_file():
        table = pd.read_parquet(path)
    else:
        sla = batch.run_table("vendor_sla")
        parts = [
            vendor_summary(part.drop(columns=["scenario", "plan", "seed"])).assign(
                scenario=s, plan=p, seed=seed
            )
            for (s, p, seed), part in sla.groupby(["scenario", "plan", "seed"], sort=False)
        ]
        table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=KEYS)
    chosen = batch.runs[["scenario", "plan", "seed"]]
    return table.merge(chosen, on=["scenario", "plan", "seed"])


def vendor_results(batch: Batch) -> pd.DataFrame:
    """Average each supplier's SLA attainment and credits over seeds, per scenario and plan.

    Parameters
    ----------
    batch : Batch
        A loaded batch.

    Returns
    -------
    DataFrame
        Per ``scenario, plan, vendor_id, subcontractor_id`` (``None`` for the vendor itself):
        ``attainment_true`` and ``attainment_reported`` (mean availability attainment over SLA
        periods, %), ``misses_true``, ``misses_reported`` (period-measures below target),
        ``credit_true``, ``credit_reported``, ``credit_gap`` and ``bonus_true`` (money over the
        horizon), all means over seeds.
    """
    runs = vendor_runs(batch)
    if runs.empty:
        return pd.DataFrame(columns=KEYS)
    sla = batch.run_table("vendor_sla")
    availability = sla[sla["measure"] == "availability"].assign(
        subcontractor_id=lambda f: f["subcontractor_id"].fillna("")
    )
    attained = (
        availability.groupby([*KEYS, "seed"], sort=False)[
            ["attainment_true", "attainment_reported"]
        ]
        .mean()
        .reset_index()
    )
    runs = runs.assign(subcontractor_id=runs["subcontractor_id"].fillna(""))
    merged = runs.merge(attained, on=[*KEYS, "seed"], how="left")
    measures = ["attainment_true", "attainment_reported", "misses_true", "misses_reported"]
    measures += ["credit_true", "credit_reported", "credit_gap", "bonus_true"]
    table = merged.groupby(KEYS, sort=True)[measures].mean().reset_index()
    named = table["subcontractor_id"].astype(object)
    table["subcontractor_id"] = named.where(named != "", None)
    return table


def vendor_table(batch: Batch) -> Styler:
    """Return :func:`vendor_results` formatted for the report."""
    table = vendor_results(batch).rename(
        columns={
            "vendor_id": "vendor",
            "subcontractor_id": "subcontractor",
            "attainment_true": "availability true %",
            "attainment_reported": "availability reported %",
            "misses_true": "misses true",
            "misses_reported": "misses reported",
            "credit_true": "credits true",
            "credit_reported": "credits reported",
            "credit_gap": "credits forgone",
            "bonus_true": "bonus true",
        }
    )
    money = {c: "{:,.0f}" for c in ("credits true", "credits reported", "credits forgone")}
    formats = {
        "availability true %": "{:.3f}",
        "availability reported %": "{:.3f}",
        "misses true": "{:.1f}",
        "misses reported": "{:.1f}",
        "bonus true": "{:,.0f}",
        **money,
    }
    return _styled(table, formats)


def vendor_note(batch: Batch) -> str:
    """Say, from the numbers, how far the vendors' reported credits fall short of the true ones.

    It also names the measures the logs could not compute (response without the vendor's
    acknowledgements), which therefore charge no credit.
    """
    table = vendor_results(batch)
    if table.empty:
        return "The batch's scenarios have no vendors, so no vendor is measured."
    own = table[table["subcontractor_id"].isna()]
    true = own["credit_true"].sum()
    gap = own["credit_gap"].sum()
    worst = own.sort_values("credit_gap", ascending=False).iloc[0]
    share = 100 * gap / true if true > 0 else 0.0
    text = (
        f"Summed over plans, the vendors owe {true:,.0f} in credits on the true log and their "
        f"own reports forgo {gap:,.0f} of it ({share:.1f} %)."
    )
    if worst["credit_gap"] > 0:
        text += (
            f" The largest gap is {worst['vendor_id']}'s under plan {worst['plan']} "
            f"({worst['credit_gap']:,.0f} per run): monitoring of one's own beats the vendor's "
            "report there."
        )
    else:
        text += " No vendor's report hides a credit: the reported figures can be paid on."
    unmeasured = unmeasured_note(batch.run_table("vendor_sla"), "measurable_true")
    return f"{text} {unmeasured}" if unmeasured else text
