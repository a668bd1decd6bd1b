"""The plan designer: ipywidgets that edit a :class:`~toolkit.widgets.state.DesignerState`.

The widgets hold no plan of their own: every change calls :meth:`DesignerState.edit` with the
field's key path, and the state's messages are shown next to the fields they name. A comparison
runs in the background (:class:`~toolkit.widgets.comparison.Comparison`) so the interface stays
responsive; its results are drawn side by side with the editor.

Widgets carry CSS classes the served app and its browser test look for: ``lti-designer`` (the
root), ``lti-weight`` (each metric's weight), ``lti-run``, ``lti-cancel``, ``lti-progress``,
``lti-results`` (the results ``<table>``), ``lti-frontier`` (the frontier ``<img>``) and
``lti-message`` (each validation message).
"""

from __future__ import annotations

import html
import tempfile
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from toolkit.config.errors import ConfigError
from toolkit.config.plan import Consequence, RootCause
from toolkit.plans.loading import kpi_by_name, library_plans
from toolkit.resources import shipped_scenarios
from toolkit.widgets.comparison import Comparison
from toolkit.widgets.figures import figures_html, results_table
from toolkit.widgets.state import DesignerState, convert_curve, get_path

ROOT_CAUSES = typing.get_args(RootCause)
CONSEQUENCES = typing.get_args(Consequence)
TRIGGERS = ("rise_pct_over_baseline", "above", "below")
ACTIONS = ("multiplier", "zero_metric", "zero_award", "audit")
NEW_METRIC = {
    "kpi": "availability",
    "weight": 0.1,
    "basis": "level",
    "curve": {
        "kind": "linear",
        "threshold": {"level": 0.995, "payout_pct": 50},
        "target": {"level": 0.998, "payout_pct": 100},
        "maximum": {"level": 0.9995, "payout_pct": 150},
    },
}
NEW_COUNTER = {"kpi": "reopen_rate", "trigger": {"above": 0.1}, "action": "audit"}
NEW_GATE = {"kpi": "unauthorized_count", "at_least": 5}
SECTION_DEFAULTS = {
    "funding": {"basis": "service_budget", "budget_share_pct": 2.0},
    "cap": {"pct_of_personnel_cost": 35},
    "malus": {"triggers": ["gaming_detected"], "reduction": 0.5},
    "clawback": {"triggers": ["gaming_detected"], "lookback_years": 3, "recovery": 1.0},
}
LABEL = w.Layout(width="auto")


def number(description: str) -> dict:
    """Return a number field's description and a width that leaves its box room beside it."""
    width = max(150, 7 * len(description) + 90)
    return {
        "description": description,
        "layout": w.Layout(width=f"{width}px"),
        "style": {"description_width": "initial"},
    }


WIDE = {"layout": w.Layout(width="260px"), "style": {"description_width": "initial"}}


def _heading(text: str) -> w.HTML:
    return w.HTML(f"<h4 style='margin:6px 0 2px 0'>{html.escape(text)}</h4>")


def _error(text: str) -> str:
    return f"<span style='color:#b00020'>{html.escape(text)}</span>"


def _brackets_text(brackets: list[dict]) -> str:
    return ", ".join(f"{b['level']:g}:{b['payout_pct']:g}" for b in brackets)


def _parse_brackets(text: str) -> list[dict] | str:
    """``"0.9:50, 0.95:100"`` as bracket points; the text itself when it is not that form."""
    try:
        points = []
        for item in text.split(","):
            level, payout = item.split(":")
            points.append({"level": float(level), "payout_pct": float(payout)})
    except ValueError:
        return text
    return points


def _kpi_picker(value: str) -> w.Dropdown:
    """Offer every KPI of the catalogue (and ``value`` itself, when it is a misspelt one)."""
    kpis = sorted(kpi_by_name())
    return w.Dropdown(
        options=kpis if value in kpis else [value, *kpis], value=value, description="KPI", **WIDE
    )


class PlanDesigner:
    """Design an incentive plan and compare it with a reference, in a notebook or served.

    Parameters
    ----------
    scenario : str or Path
        A shipped scenario's name or a scenario file: the plan is checked against it and
        comparisons run on it.
    plan : str or Path
        The library plan (by name) or plan file to start from.
    reference : str
        The plan every other plan is compared with, seed by seed (fixed pay by default).
    compare : sequence of str
        More library plans to run beside the edited plan.
    seeds : sequence of int
        The seeds of a comparison.
    workdir : str or Path, optional
        Where the saved plan and the comparison batch are written (``plans/`` and ``batch/``
        inside it); by default a new temporary directory.
    workers : int
        Worker processes of a comparison.

    Examples
    --------
    >>> PlanDesigner(scenario="small", plan="careful")  # doctest: +SKIP
    """

    def __init__(
        self,
        scenario: str | Path = "small",
        plan: str | Path = "careful",
        reference: str = "no_incentive",
        compare: typing.Sequence[str] = (),
        seeds: typing.Sequence[int] = (1, 2, 3),
        workdir: str | Path | None = None,
        workers: int = 2,
    ):
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="lti-designer-"))
        self.reference = reference
        self.workers = workers
        self.state = DesignerState(plan, scenario)
        self.comparison: Comparison | None = None
        self.fields: dict[str, w.Widget] = {}
        self.messages: dict[str, w.HTML] = {}
        self.weights: list[w.FloatText] = []
        self._build(plan, scenario, compare, seeds)
        self._show_messages()

    # -- the widget tree ----------------------------------------------------------------------

    def _build(self, plan, scenario, compare, seeds) -> None:
        plans = library_plans()
        given = str(plan)
        self.plan_picker = w.Dropdown(
            options=plans if given in plans else [given, *plans],
            value=given,
            description="start from",
            **WIDE,
        )
        scenarios = shipped_scenarios()
        self.scenario_picker = w.Dropdown(
            options=scenarios if str(scenario) in scenarios else [str(scenario), *scenarios],
            value=str(scenario),
            description="scenario",
            **WIDE,
        )
        others = list(dict.fromkeys([*plans, self.reference, *map(str, compare)]))
        self.reference_picker = w.Dropdown(
            options=others, value=self.reference, description="reference", **WIDE
        )
        self.compare_picker = w.SelectMultiple(
            options=others,
            value=tuple(map(str, compare)),
            description="also compare",
            rows=4,
            **WIDE,
        )
        self.seeds_text = w.Text(
            value=", ".join(str(s) for s in seeds), description="seeds", **WIDE
        )
        self.plan_picker.observe(self._plan_picked, names="value")
        self.scenario_picker.observe(self._scenario_picked, names="value")
        self.general_message = self._message("")
        self.validity = w.HTML("")
        self.editor = w.VBox()
        self._build_editor()

        self.run_button = w.Button(description="Run comparison", button_style="primary")
        self.run_button.add_class("lti-run")
        self.cancel_button = w.Button(description="Cancel", disabled=True)
        self.cancel_button.add_class("lti-cancel")
        self.save_button = w.Button(description="Save plan YAML")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="runs")
        self.progress.add_class("lti-progress")
        self.status = w.HTML("Edit the plan, then run a comparison.")
        self.saved = w.HTML("")
        self.results = w.HTML("<p>No comparison yet.</p>")
        self.results.add_class("lti-results")
        self.frontier = w.HTML("")
        self.frontier.add_class("lti-frontier")
        self.figures = {
            name: w.HTML("") for name in ("net_value", "scores", "gaming", "money", "levers")
        }
        self.run_button.on_click(lambda _: self.run())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.save_button.on_click(lambda _: self.save())

        controls = w.VBox(
            [
                _heading("Comparison"),
                self.reference_picker,
                self.compare_picker,
                self.seeds_text,
                w.HBox([self.run_button, self.cancel_button, self.save_button]),
                self.progress,
                self.status,
                self.saved,
            ]
        )
        results = w.VBox(
            [
                controls,
                _heading("Results"),
                self.results,
                w.HBox([self.figures["net_value"], self.frontier]),
                w.HBox([self.figures["scores"], self.figures["gaming"]]),
                self.figures["money"],
                self.figures["levers"],
            ],
            layout=w.Layout(width="55%"),
        )
        left = w.VBox(
            [
                _heading("Plan"),
                self.plan_picker,
                self.scenario_picker,
                self.validity,
                self.general_message,
                self.editor,
            ],
            layout=w.Layout(width="45%"),
        )
        self.ui = w.HBox([left, results])
        self.ui.add_class("lti-designer")

    def _message(self, path: str) -> w.HTML:
        message = w.HTML("", layout=w.Layout(width="auto"))
        message.add_class("lti-message")
        self.messages[path] = message
        return message

    def _bind(
        self,
        path: str,
        widget: w.ValueWidget,
        convert: Callable[[Any], Any] = lambda value: value,
    ) -> w.Widget:
        """Make ``widget`` edit ``path``; return it with its message beside it."""
        self.fields[path] = widget

        def changed(change) -> None:
            self.edit(path, convert(change["new"]))

        widget.observe(changed, names="value")
        return w.HBox([widget, self._message(path)])

    def _number(self, path: str, description: str, integer: bool = False) -> w.Widget:
        value = self.state.value(path)
        kind = w.IntText if integer else w.FloatText
        return self._bind(
            path, kind(value=value if value is not None else 0, **number(description))
        )

    def _build_editor(self) -> None:
        """(Re)build the field editors from the state's content."""
        for path in [p for p in self.messages if p]:
            del self.messages[path]
        self.fields.clear()
        self.weights = []
        state = self.state
        name = w.Text(value=state.value("name"), description="name", **WIDE)
        description = w.Textarea(
            value=state.value("description"),
            description="description",
            layout=w.Layout(width="95%", height="60px"),
        )
        sections = [
            self._bind("name", name),
            self._bind("description", description),
            _heading("Timing"),
            self._number("start_after_periods", "periods before the plan starts", integer=True),
            self._number("performance_period_years", "performance period, years", integer=True),
            self._number("grant_every_years", "a grant every, years", integer=True),
            self._bind(
                "attribution",
                w.Dropdown(
                    options=["owner", "equal", "contribution", "shapley"],
                    value=state.value("attribution"),
                    description="shared services credit",
                    **WIDE,
                ),
            ),
            _heading("Award size (% of base salary per grant)"),
            self._number("default_target_award_pct", "default %"),
            *self._grade_fields(),
            _heading("Metrics"),
            *self._metric_editors(),
            self._adder("metrics", NEW_METRIC, "Add metric"),
            _heading("Counter-metrics"),
            *self._counter_editors(),
            self._adder("counter_metrics", NEW_COUNTER, "Add counter-metric"),
            _heading("Gates"),
            *self._gate_editors(),
            self._adder("gates", NEW_GATE, "Add gate"),
            _heading("Audits"),
            self._number("audit.probability_per_period", "audit chance per period"),
            self._number("audit.detection_power", "detection power"),
            self._number("audit.sample_size", "sample size", integer=True),
            self._bind(
                "audit.root_cause_audit",
                w.Checkbox(
                    value=bool(state.value("audit.root_cause_audit")),
                    description="check root causes",
                ),
            ),
            _heading("Malus and clawback"),
            self._section("malus", self._consequence_fields("malus", ("reduction",))),
            self._section(
                "clawback", self._consequence_fields("clawback", ("lookback_years", "recovery"))
            ),
            _heading("Vesting and deferral"),
            self._bind(
                "vesting.schedule",
                w.Dropdown(
                    options=["cliff", "graded"],
                    value=state.value("vesting.schedule"),
                    description="schedule",
                    **WIDE,
                ),
            ),
            self._number("vesting.deferral_share", "deferral share"),
            self._number("vesting.deferral_years", "deferral years", integer=True),
            _heading("Funding and cap"),
            self._section("funding", self._funding_fields()),
            self._section(
                "cap", [self._optional_number("cap.pct_of_personnel_cost", "cap, % of salaries")]
            ),
        ]
        self.editor.children = sections

    def _grade_fields(self) -> list[w.Widget]:
        grades = sorted(
            {p.grade for team in self.state.scenario.organisation.teams for p in team.people}
            | set(self.state.value("target_award_pct") or {})
        )
        table = self.state.value("target_award_pct") or {}
        fields = []
        for grade in grades:
            widget = w.FloatText(
                value=table.get(grade, self.state.plan.default_target_award_pct),
                **number(grade),
            )
            fields.append(self._bind(f"target_award_pct.{grade}", widget))
        return [w.HBox(fields, layout=w.Layout(flex_flow="row wrap"))] if fields else []

    def _adder(self, path: str, item: dict, label: str) -> w.Button:
        button = w.Button(description=label, layout=LABEL)

        def add(_) -> None:
            self.state.add_item(path, item)
            self._rebuild()

        button.on_click(add)
        return button

    def _remover(self, path: str, index: int) -> w.Button:
        button = w.Button(description="remove", layout=LABEL, button_style="warning")

        def remove(_) -> None:
            self.state.remove_item(path, index)
            self._rebuild()

        button.on_click(remove)
        return button

    def _metric_editors(self) -> list[w.Widget]:
        editors = []
        for i, metric in enumerate(self.state.value("metrics") or []):
            at = f"metrics[{i}]"
            value = self.state.value
            kpi = _kpi_picker(metric["kpi"])
            weight = w.FloatText(value=metric.get("weight", 0), **number("weight"))
            weight.add_class("lti-weight")
            self.weights.append(weight)
            basis = w.Dropdown(
                options=["level", "improvement"],
                value=value(f"{at}.basis"),
                **number("basis"),
            )
            normalisation = w.Dropdown(
                options=["none", "expected_volume", "service_baseline"],
                value=value(f"{at}.normalisation"),
                description="normalisation",
                **WIDE,
            )
            exclusions = w.SelectMultiple(
                options=ROOT_CAUSES,
                value=tuple(value(f"{at}.exclude_root_causes") or ()),
                description="exclude causes",
                rows=5,
                **WIDE,
            )
            tolerance = w.FloatText(value=value(f"{at}.tolerance"), **number("tolerance"))
            rows = [
                w.HBox([self._bind(f"{at}.kpi", kpi), self._remover("metrics", i)]),
                w.HBox([self._bind(f"{at}.weight", weight), self._bind(f"{at}.basis", basis)]),
                self._bind(f"{at}.normalisation", normalisation),
                w.HBox(
                    [
                        self._bind(f"{at}.exclude_root_causes", exclusions, list),
                        self._bind(f"{at}.tolerance", tolerance),
                    ]
                ),
                *self._curve_editor(at, metric["curve"]),
                self._message(at),
            ]
            box = w.VBox(
                rows, layout=w.Layout(border="1px solid #ddd", padding="4px", margin="2px 0")
            )
            editors.append(box)
        return editors

    def _curve_editor(self, at: str, curve: dict) -> list[w.Widget]:
        path = f"{at}.curve"
        kind = w.ToggleButtons(options=["linear", "brackets"], value=curve.get("kind", "linear"))
        kind.style.button_width = "80px"
        self.fields[f"{path}.kind"] = kind

        def switched(change) -> None:
            try:
                curve = convert_curve(self.state.value(path), change["new"])
            except (TypeError, ValueError, KeyError, AttributeError):  # points being typed
                valid = get_path(self.state.plan.model_dump(mode="json"), path)
                curve = convert_curve(valid, change["new"]) if valid else None
            if curve is not None:
                self.edit(path, curve)
            self._rebuild()

        kind.observe(switched, names="value")
        return [w.HBox([w.Label("curve"), kind]), *self._curve_points(path, curve)]

    def _curve_points(self, path: str, curve: dict) -> list[w.Widget]:
        if curve.get("kind") == "brackets":
            direction = w.Dropdown(
                options=["higher", "lower"],
                value=curve.get("direction", "higher"),
                **number("direction"),
            )
            points = w.Text(
                value=_brackets_text(curve.get("brackets", [])),
                description="brackets level:payout%",
                **WIDE,
            )
            return [
                w.HBox(
                    [
                        self._bind(f"{path}.direction", direction),
                        self._bind(f"{path}.brackets", points, _parse_brackets),
                    ]
                ),
                self._message(path),
            ]
        cells = []
        for point in ("threshold", "target", "maximum"):
            level = w.FloatText(value=curve[point]["level"], **number(f"{point} level"))
            payout = w.FloatText(value=curve[point]["payout_pct"], **number("pays %"))
            cells.append(
                w.HBox(
                    [
                        self._bind(f"{path}.{point}.level", level),
                        self._bind(f"{path}.{point}.payout_pct", payout),
                    ]
                )
            )
        return [*cells, self._message(path)]

    def _counter_editors(self) -> list[w.Widget]:
        editors = []
        for i, counter in enumerate(self.state.value("counter_metrics") or []):
            at = f"counter_metrics[{i}]"
            kpi = _kpi_picker(counter["kpi"])
            trigger = counter.get("trigger") or {}
            condition = next((k for k in TRIGGERS if trigger.get(k) is not None), TRIGGERS[1])
            when = w.Dropdown(options=TRIGGERS, value=condition, description="fires when", **WIDE)
            level = w.FloatText(value=trigger.get(condition) or 0, **number("level"))
            action = w.Dropdown(
                options=ACTIONS, value=counter["action"], description="action", **WIDE
            )
            multiplier = w.FloatText(value=counter.get("multiplier") or 0.5, **number("multiplier"))
            metric = w.Text(value=counter.get("metric") or "", description="metric to zero", **WIDE)

            def rebuild_trigger(_, when=when, level=level, at=at) -> None:
                self.edit(f"{at}.trigger", {when.value: level.value})

            def rebuild_action(
                _, action=action, multiplier=multiplier, metric=metric, at=at
            ) -> None:
                item = dict(self.state.value(at))
                item["action"] = action.value
                item.pop("multiplier", None)
                item.pop("metric", None)
                if action.value == "multiplier":
                    item["multiplier"] = multiplier.value
                if action.value == "zero_metric":
                    item["metric"] = metric.value
                self.edit(at, item)

            for widget in (when, level):
                widget.observe(rebuild_trigger, names="value")
            for widget in (action, multiplier, metric):
                widget.observe(rebuild_action, names="value")
            self.fields.update(
                {
                    f"{at}.trigger": level,
                    f"{at}.action": action,
                    f"{at}.multiplier": multiplier,
                    f"{at}.metric": metric,
                    f"{at}.trigger.kind": when,
                }
            )
            rows = [
                w.HBox([self._bind(f"{at}.kpi", kpi), self._remover("counter_metrics", i)]),
                w.HBox([when, level, self._message(f"{at}.trigger")]),
                w.HBox([action, multiplier, metric]),
                self._message(at),
            ]
            editors.append(
                w.VBox(
                    rows, layout=w.Layout(border="1px solid #ddd", padding="4px", margin="2px 0")
                )
            )
        return editors

    def _gate_editors(self) -> list[w.Widget]:
        editors = []
        for i, gate in enumerate(self.state.value("gates") or []):
            at = f"gates[{i}]"
            kpi = _kpi_picker(gate["kpi"])
            at_least = w.FloatText(value=gate["at_least"], **number("disqualify at"))
            editors.append(
                w.VBox(
                    [
                        w.HBox(
                            [
                                self._bind(f"{at}.kpi", kpi),
                                self._bind(f"{at}.at_least", at_least),
                                self._remover("gates", i),
                            ]
                        ),
                        self._message(at),
                    ]
                )
            )
        return editors

    def _consequence_fields(self, section: str, numbers: tuple[str, ...]) -> list[w.Widget]:
        triggers = self.state.value(f"{section}.triggers") or SECTION_DEFAULTS[section]["triggers"]
        fields = [
            self._bind(
                f"{section}.triggers",
                w.SelectMultiple(
                    options=CONSEQUENCES,
                    value=tuple(triggers),
                    description="triggers",
                    rows=3,
                    **WIDE,
                ),
                list,
            )
        ]
        integers = {"lookback_years"}
        for key in numbers:
            fields.append(
                self._optional_number(f"{section}.{key}", key.replace("_", " "), key in integers)
            )
        return fields

    def _funding_fields(self) -> list[w.Widget]:
        basis = self.state.value("funding.basis") or SECTION_DEFAULTS["funding"]["basis"]
        return [
            self._bind(
                "funding.basis",
                w.Dropdown(
                    options=["service_budget", "headcount"],
                    value=basis,
                    description="basis",
                    **WIDE,
                ),
            ),
            self._optional_number("funding.budget_share_pct", "% of service budgets"),
            self._optional_number("funding.amount_per_head", "per head per year"),
        ]

    def _optional_number(self, path: str, description: str, integer: bool = False) -> w.Widget:
        """Edit a number of an optional section, showing the section default when it is off."""
        section, key = path.split(".", 1)
        value = self.state.value(path)
        if value is None:
            value = SECTION_DEFAULTS[section].get(key, 0)
        kind = w.IntText if integer else w.FloatText
        return self._bind(path, kind(value=value, **number(description)))

    def _section(self, path: str, fields: list[w.Widget]) -> w.Widget:
        """Edit an optional section (cap, funding, malus, clawback), a checkbox turning it on."""
        on = w.Checkbox(
            value=self.state.value(path) is not None, description=f"{path}", layout=LABEL
        )
        self.fields[path] = on

        def toggled(change) -> None:
            if not change["new"]:
                self.edit(path, None)
                return
            content = dict(SECTION_DEFAULTS[path])
            for field_path, widget in self.fields.items():
                if field_path.startswith(f"{path}."):
                    value = widget.value
                    content[field_path.split(".", 1)[1]] = (
                        list(value) if isinstance(value, tuple) else value
                    )
            self.edit(path, content)

        on.observe(toggled, names="value")
        return w.VBox([w.HBox([on, self._message(path)]), *fields])

    # -- reacting to edits --------------------------------------------------------------------

    def edit(self, path: str, value: Any) -> dict[str, str]:
        """Edit the state (as a widget does) and show the messages; return them."""
        section = path.split(".", 1)[0]
        if section in SECTION_DEFAULTS and "." in path and self.state.value(section) is None:
            self._show_messages()
            return self.state.messages  # an optional section that is off: nothing to edit
        result = self.state.edit(path, value)
        self._show_messages()
        return result.messages

    def _show_messages(self) -> None:
        """Put each message next to the field whose path is the longest prefix of its own."""
        shown: dict[str, list[str]] = {path: [] for path in self.messages}
        for path, reason in self.state.messages.items():
            owner = max(
                (
                    p
                    for p in self.messages
                    if p and (path == p or path.startswith((f"{p}.", f"{p}[")))
                ),
                key=len,
                default="",
            )
            text = reason if owner == path or not path else f"{path}: {reason}"
            shown[owner].append(text)
        for path, widget in self.messages.items():
            texts = shown.get(path, [])
            widget.value = _error("\n".join(texts)).replace("\n", "<br>") if texts else ""
        count = len(self.state.messages)
        self.validity.value = (
            _error(f"{count} problem(s), in red by their fields; fix them to run or save the plan")
            if count
            else "<span style='color:#2e7d32'>The plan is valid.</span>"
        )

    def _rebuild(self) -> None:
        """Rebuild the editors after a change of their number (or of the plan or scenario)."""
        self._build_editor()
        self._show_messages()

    def _plan_picked(self, change) -> None:
        """Start again from another plan; the edits so far are dropped."""
        try:
            self.state = DesignerState(change["new"], self.state.scenario_path)
        except ConfigError as exc:
            self.general_message.value = _error(str(exc))
            return
        self._rebuild()

    def _scenario_picked(self, change) -> None:
        """Check the plan against another scenario (and run comparisons there)."""
        try:
            self.state.set_scenario(change["new"])
        except (ConfigError, LookupError) as exc:
            self.general_message.value = _error(str(exc))
            return
        self._rebuild()

    # -- running, cancelling, saving -----------------------------------------------------------

    def _seeds(self) -> list[int]:
        return [int(part) for part in self.seeds_text.value.replace(",", " ").split()]

    def run(self) -> Comparison | None:
        """Save the edited plan and start a comparison in the background; return it."""
        if self.comparison is not None and self.comparison.running:
            return self.comparison
        if not self.state.valid:
            self.status.value = "The plan has problems (in red); fix them before running."
            return None
        try:
            seeds = self._seeds()
        except ValueError:
            self.status.value = "seeds: give whole numbers separated by commas, e.g. 1, 2, 3"
            return None
        path = self.state.save(self.workdir / "plans")
        plans = [str(path), *(p for p in self.compare_picker.value if p != self.state.plan.name)]
        self.comparison = Comparison(
            self.workdir,
            self.state.scenario_path,
            plans,
            reference=self.reference_picker.value,
            seeds=seeds,
            edited=self.state.plan.name,
            workers=self.workers,
            plan_start=self.state.plan.start_after_periods,
        )
        total = len(self.comparison.plans) * len(seeds)
        self.progress.max, self.progress.value = total, 0
        self.status.value = (
            f"Running {total} runs ({len(self.comparison.plans)} plans × {len(seeds)} seeds)…"
        )
        self.run_button.disabled, self.cancel_button.disabled = True, False
        self.comparison.start(on_progress=self._progressed, on_done=self._finished)
        return self.comparison

    def _progressed(self, finished: int, total: int) -> None:
        self.progress.max, self.progress.value = total, finished
        self.status.value = f"{finished} of {total} runs done…"

    def _finished(self, comparison: Comparison) -> None:
        self.run_button.disabled, self.cancel_button.disabled = False, True
        try:
            self._show_results(comparison)
        except Exception as exc:  # noqa: BLE001 - in the comparison's thread: show, never lose
            self.status.value = _error(f"Could not show the results: {type(exc).__name__}: {exc}")

    def _show_results(self, comparison: Comparison) -> None:
        if comparison.status == "cancelled":
            self.status.value = "Cancelled: the workers were stopped and nothing was published."
            return
        if comparison.status == "failed":
            self.status.value = _error(comparison.error or "the comparison failed")
            return
        result = comparison.result
        stats = result.batch.stats
        self.status.value = (
            f"Done in {stats['elapsed_seconds']:.1f} s: {stats['computed']} computed, "
            f"{stats['cached']} from the cache."
        )
        self.results.value = results_table(result, self.state.scenario.currency)
        figures = figures_html(result)
        self.frontier.value = figures.pop("frontier")
        for name, value in figures.items():
            self.figures[name].value = value

    def cancel(self) -> None:
        """Stop a running comparison (its workers are stopped, nothing is published)."""
        if self.comparison is not None:
            self.comparison.cancel()
            self.status.value = "Cancelling…"

    def save(self) -> Path | None:
        """Write the edited plan into the workdir as a diff over its start; return the file."""
        try:
            path = self.state.save(self.workdir / "plans")
        except ValueError as exc:
            self.saved.value = _error(str(exc))
            return None
        parent = html.escape(self.state.parent_name)
        self.saved.value = f"Saved <code>{html.escape(str(path))}</code> (extends {parent})."
        return path

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """Show the designer when it is the value of a notebook cell."""
        return self.ui._repr_mimebundle_(**kwargs)
