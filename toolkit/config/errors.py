"""Configuration errors that name the file, the key path and the reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration file.

    Parameters
    ----------
    path : str
        Dotted key path with list indexes, e.g. ``organisation.teams[2].capacity``;
        empty when the problem concerns the whole file.
    reason : str
        What is wrong, in words a scenario author understands.
    """

    path: str
    reason: str


class ConfigError(Exception):
    """A configuration file was refused; ``str()`` gives one line per problem."""

    def __init__(self, source: str | Path, problems: list[Problem]):
        self.source = str(source)
        self.problems = list(problems)
        super().__init__(str(self))

    def lines(self) -> list[str]:
        """Return one ``file: key.path: reason`` line per problem."""
        return [
            f"{self.source}: {p.path}: {p.reason}" if p.path else f"{self.source}: {p.reason}"
            for p in self.problems
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())
