"""Exercise checks: whether a learner's answer meets the goal, and why, with a hint if not.

A module notebook ends each topic with an exercise the learner solves by changing a plan or a
parameter; a checker function measures the answer and returns a :class:`Check`. The check says
what it measured against the goal and, when the goal is not met, points the way without giving
the answer. Notebooks display it; the course build finds it in the executed notebook by
:data:`MARK`.
"""

from __future__ import annotations

from dataclasses import dataclass

MARK = "Exercise check"


@dataclass(frozen=True)
class Check:
    """The verdict on an exercise answer.

    Parameters
    ----------
    topic : str
        The course topic, e.g. ``"1.1"``.
    met : bool
        Whether the answer meets the goal.
    why : str
        What was measured and how it compares with the goal, in one or two sentences.
    hint : str
        Where to look next when the goal is not met; never the answer itself.

    Examples
    --------
    >>> check = Check("1.1", False, "The gaming gap is 4.2 points (goal: under 2).", "Try a guard.")
    >>> bool(check)
    False
    """

    topic: str
    met: bool
    why: str
    hint: str = ""

    def __bool__(self) -> bool:
        return self.met

    def text(self) -> str:
        """Return the verdict as plain text, the way a terminal shows it."""
        verdict = "goal met" if self.met else "not yet"
        hint = f" Hint: {self.hint}" if self.hint and not self.met else ""
        return f"{MARK} {self.topic}: {verdict}. {self.why}{hint}"

    def _repr_markdown_(self) -> str:
        verdict = "**Goal met.**" if self.met else "**Not yet.**"
        hint = f"\n\n*Hint:* {self.hint}" if self.hint and not self.met else ""
        return f"> {MARK} {self.topic}: {verdict} {self.why}{hint}"

    def __str__(self) -> str:
        return self.text()


def passed(topic: str, why: str) -> Check:
    """Return a check that the goal is met.

    Parameters
    ----------
    topic : str
        The course topic.
    why : str
        What was measured against the goal.

    Returns
    -------
    Check
        A met check.
    """
    return Check(topic, True, why)


def failed(topic: str, why: str, hint: str) -> Check:
    """Return a check that the goal is not met, with a hint.

    Parameters
    ----------
    topic : str
        The course topic.
    why : str
        What was measured against the goal.
    hint : str
        Where to look next.

    Returns
    -------
    Check
        An unmet check.
    """
    return Check(topic, False, why, hint)
