"""The decision report on a batch: tables, figures and a recommendation written from numbers.

The notebook ``notebooks/reports/decision_report.ipynb`` calls these functions; ``lti report``
executes it with papermill and exports it to HTML without script (:mod:`toolkit.report.render`).
Names and texts from users' files reach the report only as text (:mod:`toolkit.report.escaping`).
"""

from toolkit.report.data import Batch, ReportError, load_batch
from toolkit.report.data_availability import availability_markdown, availability_summary
from toolkit.report.figures import (
    award_figure,
    behaviour_figure,
    describe,
    fairness_figure,
    frontier_figure,
    frontier_note,
    kpi_gap_figure,
    liability_figure,
    show_each,
)
from toolkit.report.finance import (
    batch_costs,
    batch_forecast,
    cost_figure,
    cost_table,
    forecast_figure,
    forecast_note,
    forecast_table,
    ledger_runs,
)
from toolkit.report.liability import fan, liability_paths, run_off
from toolkit.report.narrative import definitions, liability_note, title_block
from toolkit.report.ranking import dominated_plans, net_value_ranking
from toolkit.report.recommendation import (
    Recommendation,
    recommend,
    recommendation_markdown,
    recommendations,
)
from toolkit.report.tables import (
    award_shares,
    behaviour_trajectories,
    difference_table,
    differences,
    kpi_gap_table,
    kpi_gaps,
    plan_comparison,
    plan_table,
    ranking_of,
)
from toolkit.report.vendors import vendor_note, vendor_results, vendor_table

__all__ = [
    "vendor_note",
    "vendor_results",
    "vendor_table",
    "Batch",
    "Recommendation",
    "ReportError",
    "availability_markdown",
    "availability_summary",
    "award_figure",
    "award_shares",
    "batch_costs",
    "batch_forecast",
    "behaviour_figure",
    "behaviour_trajectories",
    "cost_figure",
    "cost_table",
    "definitions",
    "describe",
    "difference_table",
    "differences",
    "dominated_plans",
    "fairness_figure",
    "fan",
    "forecast_figure",
    "forecast_note",
    "forecast_table",
    "frontier_figure",
    "frontier_note",
    "kpi_gap_figure",
    "kpi_gap_table",
    "kpi_gaps",
    "ledger_runs",
    "liability_figure",
    "liability_note",
    "liability_paths",
    "load_batch",
    "net_value_ranking",
    "plan_comparison",
    "plan_table",
    "ranking_of",
    "recommend",
    "recommendation_markdown",
    "recommendations",
    "run_off",
    "show_each",
    "title_block",
]
