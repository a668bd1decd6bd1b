"""The strict base model every configuration model derives from."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError


class StrictModel(BaseModel):
    """Refuse unknown keys (each with the closest known one) and coercion of types.

    A misspelt key never silently becomes a default: it is reported with the nearest
    field name, so ``capcity`` points the author at ``capacity``. Infinity and not-a-number
    are refused in every number, since no quantity of a scenario or a plan is infinite.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = list(cls.model_fields)
        hints = {}
        for key in data:
            if key not in cls.model_fields:
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                hints[str(key)] = f"; did you mean {close[0]!r}?" if close else ""
        if hints:
            raise PydanticCustomError(
                "unknown_key",
                "unknown keys {keys}",
                {"keys": list(hints), "hints": hints, "known": ", ".join(known)},
            )
        return data
