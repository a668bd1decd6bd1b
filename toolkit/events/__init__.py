"""The canonical event log: one schema for simulated truth, reported views and real exports."""

from toolkit.events.log import TABLES, EventLog, EventLogError, conform, empty_table
from toolkit.events.schema import SCHEMA

__all__ = ["SCHEMA", "TABLES", "EventLog", "EventLogError", "conform", "empty_table"]
