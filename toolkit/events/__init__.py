"""The canonical event log: one schema for simulated truth, reported views and real exports."""

from toolkit.events.log import TABLES, EventLog, EventLogError, conform, empty_table
from toolkit.events.periods import PERIODS, assign_periods, period_bounds
from toolkit.events.schema import SCHEMA

__all__ = [
    "PERIODS",
    "SCHEMA",
    "TABLES",
    "EventLog",
    "EventLogError",
    "assign_periods",
    "conform",
    "empty_table",
    "period_bounds",
]
