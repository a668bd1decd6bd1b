"""Build the course: execute the module and template notebooks, export HTML, link them.

``lti course build`` runs a batch of library plans on the chosen scenario for the template
notebooks to fill from, then executes every chosen module notebook and every template notebook
with papermill, several at once within the machine's cores, and writes:

- ``modules/<stem>.html`` (with code, as a learner reads it) and the executed ``.ipynb``;
- ``templates/`` and ``worksheets/``: the materials filled with the batch's numbers, and
  ``materials/<stem>.html`` with each template notebook's executed copy;
- ``runs/``: the batch and every run the module notebooks made (a rebuild into the same
  directory reuses them);
- ``index.html`` linking everything, and ``manifest.json``.

A module notebook whose topic sections do not each show a table or figure, an interpretation
and an exercise check fails the build (:func:`toolkit.course.sections.section_problems`). The
result is staged and appears whole or not at all; every HTML page is self-contained.
"""

from __future__ import annotations

import difflib
import html
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import quote

from toolkit.course.catalogue import DEFAULT_PLANS, MODULES, Module, module
from toolkit.course.materials import template_notebooks
from toolkit.course.sections import section_problems
from toolkit.report.render import (
    NotebookError,
    declared_parameters,
    execute,
    export_html,
    parse_parameters,
)
from toolkit.resources import MODULE_NOTEBOOKS_DIR, shipped_scenario
from toolkit.run.outputs import OutputError, check_output_dir, read_manifest, staged_directory

COMMAND = "course build"
# Set by the build for every notebook that declares them; the user may not set them with -p.
SET_BY_BUILD = ("output_dir", "results_dir", "workers", "progress")
RUNS = "runs"


class CourseError(Exception):
    """A course build that cannot start or did not finish; the message says why."""


@dataclass(frozen=True)
class Job:
    """One notebook to execute: its kind (``module`` or ``template``) and its parameters."""

    kind: str
    notebook: Path
    parameters: dict = field(default_factory=dict)
    module: Module | None = None

    @property
    def stem(self) -> str:
        """The notebook's file name without ``.ipynb``."""
        return self.notebook.stem


def module_notebooks() -> dict[int, Path]:
    """Return the module notebooks that exist, by module number.

    Returns
    -------
    dict
        Module number → ``notebooks/modules/<stem>.ipynb`` for every module that has one.
    """
    found = {}
    for item in MODULES:
        path = MODULE_NOTEBOOKS_DIR / f"{item.stem}.ipynb"
        if path.is_file():
            found[item.number] = path
    return found


def choose_modules(numbers: Sequence[int] | None) -> dict[int, Path]:
    """Return the notebooks of the modules asked for (all that exist when None).

    Raises
    ------
    CourseError
        For a module the course does not have, or one without a notebook yet.
    """
    available = module_notebooks()
    if numbers is None:
        return available
    chosen = {}
    for number in numbers:
        try:
            module(number)
        except KeyError as exc:
            raise CourseError(str(exc.args[0])) from None
        if number not in available:
            have = ", ".join(str(n) for n in sorted(available)) or "none"
            raise CourseError(f"module {number} has no notebook yet; modules with one: {have}")
        chosen[number] = available[number]
    return chosen


def scenario_file(text: str) -> Path:
    """Return the scenario file a name (``small``) or a path stands for.

    Raises
    ------
    CourseError
        For an unknown shipped name or a file that does not exist.
    """
    if "/" in text or text.endswith((".yaml", ".yml")):
        path = Path(text).expanduser()
        if not path.is_file():
            raise CourseError(f"scenario file {path} not found")
        return path.resolve()
    try:
        return shipped_scenario(text)
    except LookupError as exc:
        raise CourseError(str(exc)) from None


def _check_scenario(path: Path) -> None:
    from toolkit.config import ConfigError, load_scenario

    try:
        load_scenario(path)
    except ConfigError as exc:
        raise CourseError(str(exc)) from None


def plan_jobs(
    modules: Mapping[int, Path],
    templates: Sequence[Path],
    scenario: Path,
    seeds: int,
    texts: Mapping[str, str],
    workers: int,
) -> list[Job]:
    """Decide every notebook's parameters, refusing a ``-p`` name no notebook declares.

    A ``-p NAME VALUE`` applies to every chosen notebook declaring ``NAME``, read as the type of
    that notebook's default.

    Raises
    ------
    CourseError
        For a name no chosen notebook declares (with the closest declared name), one the build
        sets itself, or a value of the wrong type.
    """
    from toolkit.report.data import ReportError

    declared = {path: declared_parameters(path) for path in [*modules.values(), *templates]}
    names = set().union(*(set(d) for d in declared.values())) - set(SET_BY_BUILD)
    for name in texts:
        if name in SET_BY_BUILD:
            raise CourseError(f"parameter {name!r} is set by the build; it cannot be given")
        if name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise CourseError(
                f"unknown parameter {name!r}{hint} The chosen notebooks declare: "
                f"{', '.join(sorted(names))}"
            )
    common = {"scenario": str(scenario), "seeds": seeds, "workers": workers, "progress": False}
    jobs = []
    for kind, paths in (("module", list(modules.items())), ("template", list(templates))):
        for entry in paths:
            number, path = entry if kind == "module" else (None, entry)
            own = declared[path]
            given = {name: text for name, text in texts.items() if name in own}
            try:
                values = parse_parameters(given, own)
            except ReportError as exc:
                raise CourseError(f"{path.name}: {exc}") from None
            values.update({k: v for k, v in common.items() if k in own})
            jobs.append(Job(kind, path, values, module(number) if number else None))
    return jobs


def _run_job(job: Job, root: str, results_dir: str) -> dict:
    """Execute one notebook into the staging directory; return what it wrote and any problem."""
    root_path = Path(root)
    parameters = dict(job.parameters)
    if job.kind == "module":
        executed_path = root_path / "modules" / f"{job.stem}.ipynb"
        page = executed_path.with_suffix(".html")
        if "output_dir" in _declared(job):
            parameters["output_dir"] = f"{RUNS}/{job.stem}"
    else:
        executed_path = root_path / "materials" / f"{job.stem}.ipynb"
        page = executed_path.with_suffix(".html")
        parameters["output_dir"] = "."
        if "results_dir" in _declared(job):
            parameters["results_dir"] = results_dir
    executed_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        executed = execute(job.notebook, executed_path, parameters, cwd=root_path)
    except NotebookError as exc:
        return {"stem": job.stem, "error": f"cell {exc.cell} failed with {exc.error}"}
    problems = section_problems(executed, job.module) if job.module else []
    title = job.module.title if job.module else job.stem.replace("_", " ")
    export_html(executed, page, title, show_code=job.kind == "module")
    return {
        "stem": job.stem,
        "kind": job.kind,
        "page": page.relative_to(root_path).as_posix(),
        "problems": problems,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _declared(job: Job) -> dict:
    return declared_parameters(job.notebook)


def _reuse_runs(out: Path, staging: Path) -> None:
    """Hard-link the runs of a previous build into the staging directory, for the cache."""
    previous = out / RUNS
    if read_manifest(out) and previous.is_dir():
        shutil.copytree(previous, staging / RUNS, copy_function=_link_or_copy)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def build_course(
    out: str | Path,
    modules: Sequence[int] | None = None,
    scenario: str = "small",
    seeds: int = 2,
    plans: Sequence[str] = DEFAULT_PLANS,
    parameters: Mapping[str, str] | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool = False,
    on_done: Callable[[dict], None] | None = None,
) -> dict:
    """Execute the course's notebooks and write them, the filled materials and an index.

    Parameters
    ----------
    out : path
        The course directory; a previous build there is replaced (its runs are reused).
    modules : sequence of int, optional
        Module numbers; every module that has a notebook when None.
    scenario : str
        A shipped scenario's name or a scenario file, for every notebook.
    seeds : int
        Seeds 0..seeds-1 for every experiment.
    plans : sequence of str
        Plans of the batch the templates are filled from (library names or files).
    parameters : mapping of str to str, optional
        Further notebook parameters as text (``-p NAME VALUE``); each goes to every notebook
        declaring it.
    workers : int, optional
        Notebooks executed at once (default: the CPU count); each gets an equal share of the
        cores for its own runs.
    force : bool
        Replace ``out`` even if it holds something other than a course build.
    progress : bool
        Show progress bars.
    on_done : callable, optional
        Called with each notebook's record as it finishes (the command prints progress).

    Returns
    -------
    dict
        The manifest record: parameters, notebooks with their pages and times.

    Raises
    ------
    CourseError
        Before anything runs, for unknown modules, scenario or parameters, or seeds or
        workers below 1; after, if a notebook fails or a module's sections are incomplete
        (nothing is written).
    """
    from toolkit.experiments import BatchError, run_batch
    from toolkit.run.manifest import write_manifest

    if seeds < 1:
        raise CourseError(f"seeds must be at least 1 (got {seeds})")
    if workers is not None and workers < 1:
        raise CourseError(f"workers must be at least 1 (got {workers})")
    chosen = choose_modules(modules)
    scenario_path = scenario_file(scenario)
    _check_scenario(scenario_path)
    cores = os.cpu_count() or 1
    at_once = max(1, min(workers or cores, cores))
    per_notebook = max(1, cores // at_once)
    templates = template_notebooks()
    jobs = plan_jobs(chosen, templates, scenario_path, seeds, dict(parameters or {}), per_notebook)
    try:
        out = check_output_dir(Path(out).expanduser(), COMMAND, force=force)
    except OutputError as exc:
        raise CourseError(str(exc)) from None
    started = time.perf_counter()
    with staged_directory(out) as staging:
        _reuse_runs(out, staging)
        batch_dir = staging / RUNS / "batch"
        if templates:
            try:
                run_batch([str(scenario_path)], list(plans), seeds, batch_dir, progress=progress)
            except BatchError as exc:
                raise CourseError(f"the batch the templates are filled from: {exc}") from None
        # paths relative to the course directory, where every notebook runs: no staging path
        # is left in what the pages show
        relative = batch_dir.relative_to(staging).as_posix()
        records = _execute_all(jobs, staging, relative, at_once, progress, on_done)
        broken = [r for r in records if r.get("error") or r.get("problems")]
        if broken:
            lines = [
                f"{r['stem']}: {r['error']}" if r.get("error") else f"{r['stem']}: {p}"
                for r in broken
                for p in ([None] if r.get("error") else r["problems"])
            ]
            raise CourseError("the course was not built:\n  " + "\n  ".join(lines))
        record = {
            "command": COMMAND,
            "scenario": str(scenario_path),
            "seeds": seeds,
            "plans": list(plans),
            "modules": sorted(chosen),
            "parameters": dict(parameters or {}),
            "notebooks": records,
            "wall_time_seconds": round(time.perf_counter() - started, 1),
        }
        (staging / "index.html").write_text(index_page(record, staging), encoding="utf-8")
        outputs = [p for p in staging.rglob("*") if p.is_file()]
        write_manifest(staging, record, outputs)
    return record


def _execute_all(
    jobs: Sequence[Job],
    staging: Path,
    batch_dir: str,
    at_once: int,
    progress: bool,
    on_done: Callable[[dict], None] | None,
) -> list[dict]:
    """Execute the notebooks, ``at_once`` at a time, each in its own process."""
    from tqdm.auto import tqdm

    records: dict[str, dict] = {}
    context = get_context("spawn")  # a fresh interpreter per notebook: no inherited state
    with (
        ProcessPoolExecutor(max_workers=at_once, mp_context=context) as pool,
        tqdm(total=len(jobs), desc="notebooks", unit="notebook", disable=not progress) as bar,
    ):
        futures = {pool.submit(_run_job, job, str(staging), batch_dir): job for job in jobs}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                record = future.result()
                records[futures[future].stem] = record
                bar.update(1)
                if on_done is not None:
                    on_done(record)
    return [records[job.stem] for job in jobs]


def index_page(record: Mapping, root: Path) -> str:
    """Return the course's ``index.html``: modules with their topics, materials, parameters.

    Parameters
    ----------
    record : mapping
        The build's record (:func:`build_course`).
    root : Path
        The course directory, for the materials it holds.

    Returns
    -------
    str
        A self-contained HTML page without script; every name is escaped.
    """
    e = html.escape
    pages = {r["stem"]: r["page"] for r in record["notebooks"]}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        "<title>Long-term incentives in ITSM: the course</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "li{margin:.2em 0}.topics{color:#444}</style></head><body>",
        "<h1>Long-term incentives in ITSM: the course</h1>",
        f"<p>Built on scenario <code>{e(Path(record['scenario']).name)}</code> with "
        f"{record['seeds']} seed(s); the templates are filled from a batch of "
        f"{e(', '.join(record['plans']))}.</p>",
        "<h2>Modules</h2><ul>",
    ]
    for number in record["modules"]:
        item = module(number)
        topics = "".join(f"<li>{e(t.number)} {e(t.question)}</li>" for t in item.topics)
        href = pages.get(item.stem)
        parts.append(
            f'<li><a href="{e(href or "")}">Module {number}: {e(item.title)}</a>'
            f'<ul class="topics">{topics}</ul></li>'
        )
    parts.append("</ul>")
    for folder, heading in (("templates", "Templates"), ("worksheets", "Worksheets")):
        files = sorted(p for p in (root / folder).glob("*") if p.is_file()) if root else []
        if files:
            parts.append(f"<h2>{heading}</h2><ul>")
            parts += [
                f'<li><a href="{e(folder)}/{quote(p.name)}">{e(p.name)}</a></li>' for p in files
            ]
            parts.append("</ul>")
    materials = [r for r in record["notebooks"] if r.get("kind") == "template"]
    if materials:
        parts.append("<h2>How the materials were made</h2><ul>")
        parts += [f'<li><a href="{e(r["page"])}">{e(r["stem"])}</a></li>' for r in materials]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
