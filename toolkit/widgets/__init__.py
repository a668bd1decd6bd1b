"""The plan designer: edit an incentive plan and compare it with a reference, interactively.

:class:`PlanDesigner` is the ipywidgets interface (in JupyterLab, or served as a web app);
:class:`DesignerState` the plan model it edits, and :class:`Comparison` the background batch
that compares the edited plan with others. Everything but the widgets is usable without a
browser.
"""

from toolkit.widgets.comparison import Comparison, ComparisonResult
from toolkit.widgets.designer import PlanDesigner
from toolkit.widgets.state import DesignerState

__all__ = ["Comparison", "ComparisonResult", "DesignerState", "PlanDesigner"]
