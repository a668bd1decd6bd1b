"""Configuration as data: pydantic models for scenarios and a strict YAML loader."""

from toolkit.config.errors import ConfigError, Problem
from toolkit.config.loading import load_scenario
from toolkit.config.scenario import Scenario

__all__ = ["ConfigError", "Problem", "Scenario", "load_scenario"]
