"""The plan designer's state: a plan being edited, checked as strictly as ``lti validate``.

The designer holds the plan it started from (a library plan or a plan file, loaded by
:func:`toolkit.plans.load_plan`) and the edited content as the mapping a plan file would hold.
Every edit names a field by its key path (``metrics[0].weight``, ``cap.pct_of_personnel_cost``)
and is validated at once by the same checks as ``lti validate``: the pydantic model, the
cross-checks of :func:`~toolkit.plans.loading.check_plan` and those against the chosen
scenario. An invalid edit is kept in the content (so the designer can go on typing) and yields
its messages keyed by field path; :attr:`DesignerState.plan` stays the last valid plan. The
edited plan is saved as a diff over the starting plan (``extends:`` and only what changed),
which loads back to the same plan.

Nothing here imports a widget: the widgets only call :meth:`DesignerState.edit`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from toolkit.config import Scenario, load_scenario
from toolkit.config.errors import ConfigError, Problem
from toolkit.config.loading import problems_from_validation
from toolkit.config.plan import Plan
from toolkit.plans import load_plan
from toolkit.plans.loading import (
    OWN_KEYS,
    PARENT_NAME,
    check_plan,
    check_plan_against_scenario,
    library_plans,
    plan_diff,
    resolve_plan_path,
)
from toolkit.resources import PLANS_DIR, shipped_scenario

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
EDITED_SUFFIX = "_edited"


def parse_path(path: str) -> list[str | int]:
    """Split a key path such as ``metrics[0].curve.target.level`` into keys and indexes.

    Parameters
    ----------
    path : str
        Dotted keys with ``[i]`` list indexes, as in the messages of ``lti validate``.

    Returns
    -------
    list of str or int
        Mapping keys as strings, list indexes as integers.

    Raises
    ------
    ValueError
        If the path is empty or malformed.
    """
    parts: list[str | int] = []
    position = 0
    for match in _TOKEN.finditer(path):
        between = path[position : match.start()]
        if between not in ("", "."):
            raise ValueError(f"malformed field path {path!r}")
        key, index = match.groups()
        parts.append(int(index) if index is not None else key)
        position = match.end()
    if not parts or path[position:]:
        raise ValueError(f"malformed field path {path!r}")
    return parts


def get_path(data: Any, path: str, default: Any = None) -> Any:
    """Return the value at ``path`` in nested mappings and lists, or ``default`` if absent."""
    node = data
    for part in parse_path(path):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return default
        elif not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set_path(data: dict, path: str, value: Any) -> None:
    """Set ``path`` in ``data`` to ``value``, creating the mappings on the way.

    Raises
    ------
    ValueError
        If the path crosses a value that is neither a mapping nor a list, or indexes past the
        end of a list (append with :meth:`DesignerState.add_item`).
    """
    parts = parse_path(path)
    node: Any = data
    for part, after in zip(parts, parts[1:], strict=False):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise ValueError(f"{path}: no item {part} to edit")
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise ValueError(f"{path}: {part!r} is not inside a mapping")
        if not isinstance(node.get(part), dict | list):
            node[part] = [] if isinstance(after, int) else {}
        node = node[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ValueError(f"{path}: no item {last} to edit")
    elif not isinstance(node, dict):
        raise ValueError(f"{path}: {last!r} is not inside a mapping")
    node[last] = value


def _content(plan: Plan) -> dict:
    """Return the mapping a plan file would hold for ``plan``: only what it set, in JSON form.

    Fields left to their defaults stay absent, so checks that ask whether a plan set a field
    (a default target award, for instance) see the edited plan as they saw the file.
    """
    return plan.model_dump(mode="json", exclude_unset=True)


def _section_diff(base: Any, edited: Any, validated: Any) -> Any:
    """Return what ``edited`` changes in ``base``, as a plan file over it would write it.

    Mappings are compared key by key (the loader merges them); lists and scalars are given
    whole (the loader replaces them). A key the edit dropped takes its validated value
    (``None`` for a removed section, else the default the model filled in), since a child
    file cannot delete a parent's key.
    """
    if not (isinstance(base, dict) and isinstance(edited, dict)):
        return edited
    out = {}
    for key in edited:
        if key not in base:
            out[key] = edited[key]
        elif edited[key] != base[key]:
            below = validated.get(key) if isinstance(validated, dict) else None
            out[key] = _section_diff(base[key], edited[key], below)
    for key in base:
        if key not in edited:
            out[key] = validated.get(key) if isinstance(validated, dict) else None
    return out


LINEAR_POINTS = ("threshold", "target", "maximum")


def convert_curve(curve: dict, kind: str) -> dict:
    """Turn a curve into the other kind, paying the same at the same points.

    Parameters
    ----------
    curve : dict
        A curve in plan-file form (``kind: linear`` or ``kind: brackets``).
    kind : str
        ``"linear"`` or ``"brackets"``.

    Returns
    -------
    dict
        A linear curve's threshold, target and maximum become three brackets (reached from
        below when its levels rise, from above when they fall); brackets become a linear curve
        through the first, the middle and the last of them (their mean when there are two).
    """
    if curve.get("kind") == kind:
        return curve
    if kind == "brackets":
        points = [dict(curve[name]) for name in LINEAR_POINTS]
        rising = points[0]["level"] < points[-1]["level"]
        return {
            "kind": "brackets",
            "direction": "higher" if rising else "lower",
            "brackets": points,
        }
    brackets = [dict(b) for b in curve.get("brackets", [])] or [{"level": 0.0, "payout_pct": 0.0}]
    first, last = brackets[0], brackets[-1]
    if len(brackets) >= 3:
        middle = brackets[len(brackets) // 2]
    else:
        middle = {key: (first[key] + last[key]) / 2 for key in ("level", "payout_pct")}
    return {"kind": "linear", **dict(zip(LINEAR_POINTS, (first, middle, last), strict=True))}


@dataclass(frozen=True)
class EditResult:
    """What an edit did: whether the content is now valid, and the messages by field path."""

    valid: bool
    messages: dict[str, str]


class DesignerState:
    """A plan being designed: where it started, the edited content and its validation.

    Parameters
    ----------
    plan : str or Path
        A library plan name or a plan file to start from.
    scenario : str or Path
        A scenario name of ``scenarios/`` or a scenario file: the edited plan is also checked
        against it (:func:`~toolkit.plans.loading.check_plan_against_scenario`).
    name : str, optional
        The edited plan's ``name:``; by default the starting plan's name with ``_edited``.

    Raises
    ------
    ConfigError
        If the starting plan or the scenario is invalid. A valid plan that cannot run on the
        scenario is a valid start: what it cannot do there are its first messages.
    """

    def __init__(self, plan: str | Path = "careful", scenario: str | Path = "small", name=None):
        self.scenario_path = scenario_file(scenario)
        self.scenario: Scenario = load_scenario(self.scenario_path)
        self.start_given = plan
        self.start_path = resolve_plan_path(plan, PLANS_DIR)
        self.start: Plan = load_plan(plan)  # what it cannot do on the scenario: messages
        self.start_from_library = self.start_path.resolve().parent == Path(PLANS_DIR).resolve()
        edited_name = name or f"{self.start.name}{EDITED_SUFFIX}"
        content = _content(self.start)
        content["name"] = edited_name
        content["description"] = (
            f"A reform of {self.start.name} made in the plan designer. "
            f"{self.start.description.strip()}"
        )
        content["extends"] = self.parent_name
        self.data: dict = content
        self.plan: Plan = self.start
        self.messages: dict[str, str] = {}
        self.validate()

    # -- where it starts ----------------------------------------------------------------------

    @property
    def parent_name(self) -> str:
        """The name a saved diff ``extends:``: the starting file's stem."""
        return self.start_path.stem

    @property
    def valid(self) -> bool:
        """Whether the current content is a valid plan (then :attr:`plan` is it)."""
        return not self.messages

    def set_scenario(self, scenario: str | Path) -> EditResult:
        """Check the edited plan against another scenario from now on.

        Raises
        ------
        ConfigError
            If the scenario is invalid (the plan's problems on it are messages, not errors).
        """
        self.scenario_path = scenario_file(scenario)
        self.scenario = load_scenario(self.scenario_path)
        return self.validate()

    # -- editing ------------------------------------------------------------------------------

    def edit(self, path: str, value: Any) -> EditResult:
        """Set the field at ``path`` to ``value`` and validate the plan it makes.

        Parameters
        ----------
        path : str
            Key path of the field, e.g. ``metrics[1].curve.target.payout_pct``, ``cap`` (set
            to None to remove the cap) or ``target_award_pct.G4``.
        value : any
            The value in plan-file (JSON) form: numbers, strings, lists, mappings or None.

        Returns
        -------
        EditResult
            Whether the plan is now valid, and every message keyed by field path. When it is
            not, :attr:`plan` keeps the last valid plan.
        """
        if parse_path(path)[0] in ("extends",):
            return self._refused(path, "the designer writes extends itself, over the start plan")
        try:
            set_path(self.data, path, copy.deepcopy(value))
        except ValueError as exc:
            return self._refused(path, str(exc).split(": ", 1)[-1])
        return self.validate()

    def add_item(self, path: str, item: dict) -> EditResult:
        """Append ``item`` to the list at ``path`` and validate.

        Parameters
        ----------
        path : str
            A list of the plan: ``metrics``, ``counter_metrics`` or ``gates``.
        item : dict
            The new entry in plan-file form.

        Returns
        -------
        EditResult
            As :meth:`edit`.
        """
        items = list(get_path(self.data, path) or [])
        return self.edit(path, [*items, item])

    def remove_item(self, path: str, index: int) -> EditResult:
        """Remove item ``index`` of the list at ``path`` and validate.

        Parameters
        ----------
        path : str
            A list of the plan: ``metrics``, ``counter_metrics`` or ``gates``.
        index : int
            The entry to remove; one that does not exist is a message, not an error.

        Returns
        -------
        EditResult
            As :meth:`edit`.
        """
        items = list(get_path(self.data, path) or [])
        if not 0 <= index < len(items):
            return self._refused(f"{path}[{index}]", "no such item")
        del items[index]
        return self.edit(path, items)

    def value(self, path: str, default: Any = None) -> Any:
        """Return the edited content at ``path`` (valid or not), or the validated default.

        A field the plan does not set shows the value the model gives it, so an editor
        shows what the plan really does.

        Parameters
        ----------
        path : str
            Key path of the field.
        default : any
            Returned when neither the content nor the last valid plan has the field.

        Returns
        -------
        any
            The value in plan-file (JSON) form.
        """
        found = get_path(self.data, path, _MISSING)
        if found is not _MISSING:
            return found
        return get_path(self.plan.model_dump(mode="json"), path, default)

    def _refused(self, path: str, reason: str) -> EditResult:
        self.validate()
        self.messages[path] = reason
        return EditResult(False, dict(self.messages))

    def problems(self) -> list[Problem]:
        """Validate the content as ``lti validate --scenario`` would.

        Returns
        -------
        list of Problem
            The pydantic model's problems or, when there are none, those of
            :func:`~toolkit.plans.loading.check_plan` and of the name; then those against the
            scenario. Empty for a valid plan, which is then kept as the next :attr:`plan`.
        """
        merged = {k: v for k, v in self.data.items() if k != "extends"}
        try:
            plan = Plan.model_validate(merged)
        except ValidationError as exc:
            return problems_from_validation(exc, merged)
        problems = check_plan(plan) + self._name_problems(plan)
        if not problems:
            problems = check_plan_against_scenario(plan, self.scenario)
        if not problems:
            self._candidate = plan.model_copy(update={"extends": self.parent_name})
        return problems

    def _name_problems(self, plan: Plan) -> list[Problem]:
        """Refuse a name the saved file could not carry beside the plans it runs with.

        The edited plan is saved as ``<name>.yaml`` and run in one batch with library plans:
        a library plan's name would shadow that plan for every ``extends:`` beside it, and the
        starting plan's name would make the file extend itself.
        """
        name = plan.name
        if name in (self.start.name, self.parent_name):
            return [Problem("name", f"give the edited plan its own name, not {name!r}")]
        if not PARENT_NAME.match(name) or name.endswith((".yaml", ".yml")):
            reason = "a plan name has letters, digits, '_', '-' and '.' only (it names the file)"
            return [Problem("name", f"{reason}; got {name!r}")]
        if name in library_plans():
            return [
                Problem("name", f"{name!r} is a library plan's name; give the edited plan its own")
            ]
        return []

    def validate(self) -> EditResult:
        """Validate the current content; on success it becomes :attr:`plan`.

        Returns
        -------
        EditResult
            Whether it is valid, and its messages by field path (also in :attr:`messages`).
        """
        self._candidate = None
        problems = self.problems()
        self.messages = _messages(problems)
        if self._candidate is not None:
            self.plan = self._candidate
        return EditResult(not problems, dict(self.messages))

    # -- saving -------------------------------------------------------------------------------

    def changes(self) -> dict[str, tuple[Any, Any]]:
        """List what the edited plan changes in its start, field by field (see ``plan_diff``)."""
        return {
            path: change
            for path, change in plan_diff(self.plan, self.start).items()
            if parse_path(path)[0] not in OWN_KEYS
        }

    def diff_document(self) -> dict:
        """Return the edited plan's file: name, description, ``extends`` and what changed."""
        base = _content(self.start)
        edited = _content(self.plan)
        validated = self.plan.model_dump(mode="json")
        body = {k: v for k, v in edited.items() if k not in OWN_KEYS}
        diff = _section_diff(
            {k: v for k, v in base.items() if k not in OWN_KEYS},
            body,
            validated,
        )
        return {
            "name": self.plan.name,
            "description": self.plan.description,
            "extends": self.parent_name,
            **diff,
        }

    def to_yaml(self) -> str:
        """Return the edited plan as YAML, a diff over the plan it started from."""
        header = (
            f"# {self.plan.name}: {self.parent_name} with {len(self.changes())} change(s), "
            "written by the plan designer.\n"
        )
        return header + yaml.safe_dump(
            self.diff_document(), sort_keys=False, allow_unicode=True, width=100
        )

    def save(self, directory: str | Path) -> Path:
        """Write the edited plan into ``directory`` as ``<name>.yaml``, a diff over its start.

        When the start is a plan file rather than a library plan, its content (resolved, with
        any ``extends`` of its own merged in) is written beside as ``<start>.yaml``, so that
        ``extends:`` finds it where the loader looks: beside the file, then the library.

        Parameters
        ----------
        directory : str or Path
            Where to write; created if missing.

        Returns
        -------
        Path
            The plan file, which ``lti validate`` accepts and ``lti batch`` runs.

        Raises
        ------
        ValueError
            If the edited content is not a valid plan (nothing is written); its name is
            checked with the rest (not the start's, not a library plan's).
        """
        if not self.valid:
            first = next(iter(self.messages.items()))
            raise ValueError(
                f"the plan has {len(self.messages)} problem(s); fix them first "
                f"({first[0] or 'plan'}: {first[1]})"
            )
        name = self.plan.name
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if not self.start_from_library:
            parent = {**_content(self.start), "extends": None}
            (directory / f"{self.parent_name}.yaml").write_text(
                yaml.safe_dump(parent, sort_keys=False, allow_unicode=True, width=100),
                encoding="utf-8",
            )
        path = directory / f"{name}.yaml"
        path.write_text(self.to_yaml(), encoding="utf-8")
        return path


_MISSING = object()


def _messages(problems: list[Problem]) -> dict[str, str]:
    """One message per field path; several problems of one field are joined."""
    messages: dict[str, str] = {}
    for problem in problems:
        path = problem.path
        messages[path] = (
            f"{messages[path]}; {problem.reason}" if path in messages else problem.reason
        )
    return messages


def scenario_file(scenario: str | Path) -> Path:
    """Return the file a shipped scenario's name (``small``) or a path stands for.

    Raises
    ------
    LookupError
        For a name no shipped scenario has, with the closest one.
    """
    text = str(scenario)
    if isinstance(scenario, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        return Path(scenario)
    return shipped_scenario(text)


__all__ = [
    "ConfigError",
    "DesignerState",
    "EditResult",
    "convert_curve",
    "get_path",
    "parse_path",
    "scenario_file",
    "set_path",
]
