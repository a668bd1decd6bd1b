"""Scenario × plan × seed experiments: cached, resumable batches and their summaries."""

from toolkit.experiments.batch import BatchResult, RunSpec, plan_specs, run_batch, summarise_batch
from toolkit.experiments.inputs import BatchError

__all__ = ["BatchError", "BatchResult", "RunSpec", "plan_specs", "run_batch", "summarise_batch"]
