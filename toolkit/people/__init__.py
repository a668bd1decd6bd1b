"""People data against the simulation: HR roster and payroll reconciled with a run's awards.

:mod:`toolkit.ingest.people` reads the exports; this package compares them with the scenario's
people, the plan's leaver rules and the award ledger of a run (so it sits above ``plans``), and
writes planted exports for the course and the tests.
"""

from toolkit.people.planted import planted_exports
from toolkit.people.reconcile import KINDS, Reconciliation, reconcile_people, run_periods

__all__ = ["KINDS", "Reconciliation", "planted_exports", "reconcile_people", "run_periods"]
