"""Render the course's templates and worksheets by executing the template notebooks.

Every template notebook (``notebooks/templates/``, shipped as
``toolkit/shipped/notebooks/templates/``) takes ``results_dir`` (a batch directory, or ``""``
for the blank materials) and ``output_dir``, and writes its documents into
``output_dir/templates/`` and its worksheets into ``output_dir/worksheets/``.
:func:`render_materials` runs them with papermill; ``make course`` calls it to regenerate the
committed blank materials (``python -m toolkit.course.materials .``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from toolkit.course.documents import TEMPLATES, WORKSHEETS, MaterialsError, has_run_logs
from toolkit.report.data import ReportError, check_batch_directory, unknown_name
from toolkit.resources import template_notebooks_directory

CONTRACT = ("results_dir", "output_dir")  # declared by every template notebook
RUN_NOTEBOOKS = ("plan_review",)  # the notebooks that also read a run directory's logs


def template_notebooks() -> list[Path]:
    """Return the template notebooks, sorted by name."""
    return sorted(template_notebooks_directory().glob("*.ipynb"))


def _select(notebooks: Sequence[str | Path] | None) -> list[Path]:
    known = {path.stem: path for path in template_notebooks()}
    if notebooks is None:
        return list(known.values())
    chosen = []
    for item in notebooks:
        path = Path(item)
        if path.suffix == ".ipynb" and path.is_file():
            chosen.append(path)
        elif str(item) in known:
            chosen.append(known[str(item)])
        else:
            raise MaterialsError(unknown_name("template notebook", item, sorted(known)))
    return chosen


def _check_results(results_dir: str | Path, chosen: list[Path]) -> str:
    if not str(results_dir or ""):
        return ""
    directory = Path(results_dir).expanduser()
    if not directory.is_dir():
        raise MaterialsError(f"results_dir {directory}: no such directory")
    try:
        check_batch_directory(directory)
    except ReportError as error:
        others = [p.stem for p in chosen if p.stem not in RUN_NOTEBOOKS]
        if not has_run_logs(directory):
            raise MaterialsError(f"results_dir: {error}") from None
        if others:
            raise MaterialsError(
                f"results_dir {directory}: holds runs written by lti simulate, not a batch; "
                f"only {', '.join(RUN_NOTEBOOKS)} renders from runs ({', '.join(others)} need "
                "a batch directory)"
            ) from None
    return str(directory.resolve())


def _files(root: Path) -> dict[Path, tuple[int, int]]:
    found = {}
    for folder in (TEMPLATES, WORKSHEETS):
        for path in (root / folder).glob("*"):
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


def render_materials(
    output_dir: str | Path,
    results_dir: str | Path = "",
    notebooks: Sequence[str | Path] | None = None,
    parameters: Mapping[str, object] | None = None,
    executed_dir: str | Path | None = None,
) -> list[Path]:
    """Execute template notebooks with papermill, writing their materials into ``output_dir``.

    Parameters
    ----------
    output_dir : path
        Where the materials go: documents into ``output_dir/templates/``, worksheets into
        ``output_dir/worksheets/`` (created as needed).
    results_dir : path
        A batch directory (``lti batch --out``) to fill the materials from, or ``""`` for the
        blank versions. A run directory (``lti simulate --out``) fills the plan review only.
    notebooks : sequence, optional
        Template notebooks by name (``kpi_selection``, ``incentive_plan``,
        ``baseline_adjustment``, ``plan_review``) or path; every one by default.
    parameters : mapping, optional
        Further notebook parameters (``plan``, ``kpi``, ``title`` ...), each passed to the
        notebooks that declare it; a name no chosen notebook declares is refused.
    executed_dir : path, optional
        Where to keep the executed notebooks (``NAME.ipynb``), e.g. to export them as HTML;
        by default they go to a temporary directory that is removed.

    Returns
    -------
    list of Path
        The files written or rewritten under ``output_dir``, sorted.

    Raises
    ------
    MaterialsError
        Before anything runs: an unknown notebook, a parameter no chosen notebook declares
        (or one of :data:`CONTRACT`, which are set here), a ``results_dir`` that is not a
        batch (or a run directory, for notebooks other than the review), an ``output_dir``
        that is a file.
    toolkit.report.render.NotebookError
        If a cell fails; the message names the cell and its error.
    """
    from toolkit.report.render import declared_parameters, execute

    chosen = _select(notebooks)
    given = dict(parameters or {})
    declared = {path: declared_parameters(path) for path in chosen}
    for path, names in declared.items():
        missing = [name for name in CONTRACT if name not in names]
        if missing:
            raise MaterialsError(f"{path}: declares no {', '.join(missing)} parameter")
    every = sorted(set().union(*declared.values()) - set(CONTRACT)) if declared else []
    for name in given:
        if name in CONTRACT:
            raise MaterialsError(f"parameter {name!r} is set by render_materials' arguments")
        if name not in every:
            raise MaterialsError(unknown_name("notebook parameter", name, every))
    results = _check_results(results_dir, chosen)
    root = Path(output_dir).expanduser()
    if root.exists() and not root.is_dir():
        raise MaterialsError(f"output_dir {root}: is a file, not a directory")
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    before = _files(root)
    with tempfile.TemporaryDirectory(prefix="lti-materials-") as scratch:
        keep = Path(executed_dir).expanduser() if executed_dir is not None else Path(scratch)
        keep.mkdir(parents=True, exist_ok=True)
        for path in chosen:
            values = {k: v for k, v in given.items() if k in declared[path]}
            values.update(results_dir=results, output_dir=str(root))
            execute(path, keep / path.name, values)
    after = _files(root)
    return sorted(path for path, stamp in after.items() if before.get(path) != stamp)


def main(argv: Sequence[str] | None = None) -> int:
    """Render the materials from the command line (``make course``); return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m toolkit.course.materials",
        description="Execute the template notebooks; write templates/ and worksheets/.",
    )
    parser.add_argument("output_dir", help="where templates/ and worksheets/ are written")
    parser.add_argument("--results-dir", default="", help="a batch directory (default: blank)")
    parser.add_argument("--notebook", action="append", help="a template notebook (repeatable)")
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a notebook parameter, e.g. -p plan mttr_only (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        from toolkit.report.render import declared_parameters, parse_parameters

        declared = {}
        for path in _select(args.notebook):
            declared.update(declared_parameters(path))
        parameters = parse_parameters(dict(args.parameter), declared)
        written = render_materials(args.output_dir, args.results_dir, args.notebook, parameters)
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
