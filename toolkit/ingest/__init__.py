"""Real ServiceNow, HP Service Manager and Jira exports → the canonical event log.

Readers are driven by declarative mapping files (``mappings/<format>.yaml``): source columns,
parsers, value maps and validation rules. Rows that fail validation are quarantined with a
reason code, never dropped. :func:`calibrate` fits a scenario's environment to an ingested log.
"""

from toolkit.ingest.calibrate import Calibration, calibrate, write_scenario
from toolkit.ingest.errors import IngestError
from toolkit.ingest.mapping import FORMATS, MAPPINGS_DIR, load_mapping
from toolkit.ingest.pipeline import Ingested, ingest, write_ingested

__all__ = [
    "FORMATS",
    "MAPPINGS_DIR",
    "Calibration",
    "IngestError",
    "Ingested",
    "calibrate",
    "ingest",
    "load_mapping",
    "write_ingested",
    "write_scenario",
]
