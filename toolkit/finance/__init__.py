"""Money around the plan: pools, caps, cost transparency, accruals, reconciliation, forecasts.

Small pure functions of a plan and a scenario; :class:`toolkit.plans.ledger.AwardLedger`
applies them when awards vest, and reports use them on its tables.
"""

from toolkit.finance.accruals import (
    AccrualError,
    LedgerTables,
    accrual_schedule,
    accruals_by_person,
)
from toolkit.finance.caps import apply_cap, cap_amount, personnel_cost
from toolkit.finance.forecast import (
    LedgerRun,
    forecast_summary,
    future_service,
    liability_forecast,
    payment_paths,
    vesting_paths,
)
from toolkit.finance.pools import pool_factors, team_pools
from toolkit.finance.rollforward import (
    journal_entries,
    read_gl_export,
    reconcile,
    roll_forward,
    roll_forward_markdown,
    summarise_roll_forward,
)
from toolkit.finance.runoff import run_off, run_off_payments
from toolkit.finance.transparency import (
    business_unit_shares,
    charge_to_services,
    cost_statement,
    payouts_by_business_unit,
    run_costs,
    service_shares,
    team_costs,
)

__all__ = [
    "AccrualError",
    "LedgerRun",
    "LedgerTables",
    "accrual_schedule",
    "accruals_by_person",
    "apply_cap",
    "business_unit_shares",
    "cap_amount",
    "charge_to_services",
    "cost_statement",
    "forecast_summary",
    "future_service",
    "journal_entries",
    "liability_forecast",
    "payment_paths",
    "payouts_by_business_unit",
    "personnel_cost",
    "pool_factors",
    "read_gl_export",
    "reconcile",
    "roll_forward",
    "roll_forward_markdown",
    "run_costs",
    "run_off",
    "run_off_payments",
    "service_shares",
    "summarise_roll_forward",
    "team_costs",
    "team_pools",
    "vesting_paths",
]
