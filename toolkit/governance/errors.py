"""The one error governance raises for a user's mistake or a refused action."""

from __future__ import annotations


class GovernanceError(Exception):
    """A governance request that cannot be carried out, with the reason in words."""
