"""Money around the plan: pools, caps, cost transparency, accruals and their reconciliation.

Small pure functions of a plan and a scenario; :class:`toolkit.plans.ledger.AwardLedger`
applies them when awards vest, and reports use them on its tables.
"""

from toolkit.finance.accruals import AccrualError, LedgerTables, accrual_schedule
from toolkit.finance.caps import apply_cap, cap_amount, personnel_cost
from toolkit.finance.pools import pool_factors, team_pools
from toolkit.finance.rollforward import (
    journal_entries,
    read_gl_export,
    reconcile,
    roll_forward,
    roll_forward_markdown,
    summarise_roll_forward,
)
from toolkit.finance.transparency import business_unit_shares, payouts_by_business_unit

__all__ = [
    "AccrualError",
    "LedgerTables",
    "accrual_schedule",
    "apply_cap",
    "business_unit_shares",
    "cap_amount",
    "journal_entries",
    "payouts_by_business_unit",
    "personnel_cost",
    "pool_factors",
    "read_gl_export",
    "reconcile",
    "roll_forward",
    "roll_forward_markdown",
    "summarise_roll_forward",
    "team_pools",
]
