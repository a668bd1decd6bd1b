"""Money around the plan: funding pools, caps on personnel cost and cost transparency.

Small pure functions of a plan and a scenario; :class:`toolkit.plans.ledger.AwardLedger`
applies them when awards vest, and reports use them on its tables.
"""

from toolkit.finance.caps import apply_cap, cap_amount, personnel_cost
from toolkit.finance.pools import pool_factors, team_pools
from toolkit.finance.transparency import business_unit_shares, payouts_by_business_unit

__all__ = [
    "apply_cap",
    "business_unit_shares",
    "cap_amount",
    "payouts_by_business_unit",
    "personnel_cost",
    "pool_factors",
    "team_pools",
]
