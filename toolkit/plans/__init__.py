"""Incentive plans: strict loading with ``extends``, and scoring of KPIs into team scores.

The money side (grants, vesting, pools, caps, malus, clawback) is in
:mod:`toolkit.plans.ledger`.
"""

from toolkit.plans.loading import (
    PLANS_DIR,
    check_plan,
    library_plans,
    load_plan,
    plan_diff,
    resolve_plan_path,
)
from toolkit.plans.scoring import PlanScorer, TeamScores

__all__ = [
    "PLANS_DIR",
    "PlanScorer",
    "TeamScores",
    "check_plan",
    "library_plans",
    "load_plan",
    "plan_diff",
    "resolve_plan_path",
]
