"""The one error type of ingestion: a problem with the user's input files."""

from __future__ import annotations


class IngestError(ValueError):
    """An input file cannot be ingested; ``str()`` is one line naming the file and the problem."""
