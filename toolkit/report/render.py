"""Execute the report notebook with papermill and export it to HTML without code or script.

Papermill ignores parameters the notebook does not declare, so a misspelt one would silently
give a report on the defaults: :func:`check_names` refuses it before anything runs, as
:func:`check_output` refuses an output that is not an ``.html`` file. The kernel is the
``python3`` kernel of the interpreter running this code, so the notebook sees the same toolkit.

The HTML is self-contained and inert: nbconvert's JupyterLab layout with its styles inlined,
without the script it loads from the internet (require.js, MathJax, Mermaid, widgets) and
with a content security policy that forbids any script and any resource from elsewhere.
Figures carry their description as alternative text.
"""

from __future__ import annotations

import ast
import difflib
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import nbformat

from toolkit.report.data import ReportError, load_batch
from toolkit.resources import REPORT_NOTEBOOK

NOTEBOOK = REPORT_NOTEBOOK
KERNEL = "python3"
SET_BY_COMMAND = ("results_dir",)
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"
TEMPLATE_FILE = "decision_report.html.j2"
# nbconvert's JupyterLab page without any <script>; images get their "alt" output metadata
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<meta http-equiv="Content-Security-Policy" content="{{ resources.report_policy | e }}">
{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block data_javascript -%}{%- endblock data_javascript -%}
{%- block data_widget_view -%}{%- endblock data_widget_view -%}
{%- block data_png scoped -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | e }}"
{%- set alt = output | get_metadata('alt', 'image/png') -%}
{%- if alt %} alt="{{ alt | e }}"{% endif -%}
{%- set width = output | get_metadata('width', 'image/png') -%}
{%- if width is not none %} width="{{ width | e }}"{% endif -%}
{%- set height = output | get_metadata('height', 'image/png') -%}
{%- if height is not none %} height="{{ height | e }}"{% endif -%}
>
</div>
{%- endblock data_png -%}
{%- block footer -%}
</html>
{%- endblock footer -%}
"""


class NotebookError(Exception):
    """A cell of the report notebook raised; the executed notebook keeps the traceback.

    Parameters
    ----------
    cell : int
        Execution count of the failing cell.
    error : str
        ``ExceptionName: message`` of the error.
    notebook : Path
        The executed notebook, with the full traceback in the failing cell's output.
    """

    def __init__(self, cell: int, error: str, notebook: Path) -> None:
        super().__init__(f"cell {cell} failed with {error}")
        self.cell = cell
        self.error = error
        self.notebook = notebook


def declared_parameters(notebook: str | Path = NOTEBOOK) -> dict[str, object]:
    """Return the notebook's parameters (its ``parameters`` cell) and their default values."""
    import papermill

    path = Path(notebook)
    if not path.is_file():
        raise ReportError(f"report notebook {path} not found")
    declared = papermill.inspect_notebook(str(path))
    return {name: _literal(spec["default"]) for name, spec in declared.items()}


def _literal(text: str) -> object:
    """Return the Python value a default's source text stands for, or the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def check_names(names: Iterable[str], declared: Mapping[str, object]) -> None:
    """Refuse parameter names the notebook does not declare, or that the command sets.

    Raises
    ------
    ReportError
        Naming the parameter, the closest declared name and every declared one.
    """
    known = sorted(set(declared) - set(SET_BY_COMMAND))
    for name in names:
        if name in SET_BY_COMMAND:
            raise ReportError(f"parameter {name!r} is set by the batch directory argument")
        if name not in declared:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise ReportError(
                f"unknown parameter {name!r}{hint} The report notebook declares: {', '.join(known)}"
            )


def parse_parameters(texts: Mapping[str, str], declared: Mapping[str, object]) -> dict[str, object]:
    """Read command-line parameter values as the type of each parameter's default.

    A text parameter keeps the text; a number must be a finite number; a list, dict or tuple
    is a Python literal of that type; a parameter whose default is None takes ``None``,
    ``True``, ``False``, a number or else the text.

    Raises
    ------
    ReportError
        For an undeclared name or a value that is not of the default's type.
    """
    check_names(texts, declared)
    values: dict[str, object] = {}
    for name, text in texts.items():
        default = declared[name]
        if isinstance(default, str):
            values[name] = text
        elif isinstance(default, bool):
            if text not in ("True", "False"):
                raise ReportError(f"parameter {name!r} must be True or False (got {text!r})")
            values[name] = text == "True"
        elif isinstance(default, int | float):
            try:
                values[name] = type(default)(text)
            except ValueError:
                kind = "a whole number" if isinstance(default, int) else "a number"
                raise ReportError(f"parameter {name!r} must be {kind} (got {text!r})") from None
            if not math.isfinite(values[name]):
                raise ReportError(f"parameter {name!r} must be a finite number (got {text!r})")
        elif isinstance(default, list | dict | tuple):
            values[name] = _container(name, text, type(default))
        else:
            values[name] = _guess(text)
    return values


def _container(name: str, text: str, kind: type) -> object:
    """Read a list, dict or tuple parameter written as a Python literal."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, kind):
        example = {list: "['a', 'b']", dict: "{'a': 1}", tuple: "('a', 'b')"}[kind]
        raise ReportError(
            f"parameter {name!r} must be a {kind.__name__} written as a Python literal, "
            f"e.g. {example} (got {text!r})"
        )
    return value


def _guess(text: str) -> object:
    """Read None, True, False or a number from text, or keep the text."""
    named = {"None": None, "True": True, "False": False}
    if text in named:
        return named[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


@contextmanager
def python_kernel() -> Iterator[str]:
    """Yield a kernel name that runs this interpreter.

    The ``python3`` kernel spec is used when it runs ``python`` (which jupyter_client maps to
    this interpreter) or this interpreter itself; otherwise a spec for this interpreter is
    written to a temporary directory put first on ``JUPYTER_PATH`` for the duration.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    generic = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info)}
    try:
        command = KernelSpecManager().get_kernel_spec(KERNEL).argv[0]
    except NoSuchKernel:
        command = None
    if command in generic or (
        command and Path(command).resolve() == Path(sys.executable).resolve()
    ):
        yield KERNEL
        return
    name = "lti-report-python"
    before = os.environ.get("JUPYTER_PATH")
    with tempfile.TemporaryDirectory() as root:
        spec = Path(root) / "kernels" / name
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        spec_json = {"argv": argv, "display_name": "Python (lti)", "language": "python"}
        (spec / "kernel.json").write_text(json.dumps(spec_json))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [root, before]))
        try:
            yield name
        finally:
            if before is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = before


def execute(
    notebook: Path,
    output: Path,
    parameters: Mapping[str, object],
    progress: bool = False,
    cwd: Path | None = None,
) -> nbformat.NotebookNode:
    """Run the notebook top to bottom with papermill and save the executed copy to ``output``.

    The kernel runs in ``cwd`` when given (relative paths in the parameters are read from
    there), else in the current directory.

    Raises
    ------
    NotebookError
        If a cell raises; the message names the cell and its error.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    with python_kernel() as kernel:
        try:
            return papermill.execute_notebook(
                str(notebook),
                str(output),
                parameters=dict(parameters),
                kernel_name=kernel,
                progress_bar=progress,
                cwd=str(cwd) if cwd is not None else None,
                # no start-up chatter, and no command history written to the user's profile
                extra_arguments=["--IPKernelApp.log_level=ERROR", "--HistoryManager.enabled=False"],
            )
        except PapermillExecutionError as exc:
            raise NotebookError(exc.exec_count, f"{exc.ename}: {exc.evalue}", output) from None


def export_html(
    executed: nbformat.NotebookNode, out: Path, title: str, show_code: bool = False
) -> Path:
    """Write the executed notebook as self-contained HTML without prompts or stderr.

    The page is written beside ``out`` under a hidden name and renamed into place, so a
    report that fails half-way never replaces a finished one.

    Parameters
    ----------
    executed : NotebookNode
        The executed report notebook.
    out : Path
        The HTML file to write.
    title : str
        The page's title (escaped by the template).
    show_code : bool
        Keep the code cells' source (a course notebook, read to learn the calls); a report
        shows only what they output.

    Returns
    -------
    Path
        ``out``.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    shown = nbformat.from_dict(executed)
    shown.metadata["title"] = title
    for cell in shown.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")
            ]
    exporter = HTMLExporter(
        template_name="lab",
        template_file=TEMPLATE_FILE,
        extra_loaders=[DictLoader({TEMPLATE_FILE: TEMPLATE})],
        exclude_input=not show_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(shown, resources={"report_policy": POLICY})
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_text(body, encoding="utf-8")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def is_executed_report(path: Path, notebook: str | Path = NOTEBOOK) -> bool:
    """Tell whether ``path`` is a notebook papermill executed from the report notebook."""
    try:
        metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        source = metadata["papermill"]["input_path"]
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return False
    return isinstance(source, str) and Path(source).name == Path(notebook).name


def check_output(out: str | Path, notebook: str | Path = NOTEBOOK) -> tuple[Path, Path]:
    """Return the HTML file and the executed notebook beside it, refusing what cannot be written.

    Parameters
    ----------
    out : path
        The HTML file the user named.
    notebook : path
        The report notebook; an executed copy of it may be replaced.

    Returns
    -------
    tuple of Path
        ``out`` and ``out`` with the suffix ``.ipynb``.

    Raises
    ------
    ReportError
        If ``out`` does not end in ``.html``, if it or the notebook beside it is a directory,
        if that notebook is some other file (it would be overwritten), or if the directory
        cannot be created or written.
    """
    out = Path(out).expanduser()
    if out.suffix.lower() != ".html":
        raise ReportError(f"{out}: the report is HTML; give a file name ending in .html")
    executed = out.with_suffix(".ipynb")
    for path in (out, executed):
        if path.is_dir():
            raise ReportError(f"{path}: is a directory; give the HTML file to write")
    if executed.exists() and not is_executed_report(executed, notebook):
        raise ReportError(
            f"{executed}: exists and is not an executed decision report, and the report keeps "
            "its executed notebook there; choose another --out name or move that file"
        )
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ReportError(f"{out}: cannot be created, {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportError(f"{out}: cannot be written, {parent} is not writable")
    return out, executed


def render_report(
    results_dir: str | Path,
    out: str | Path,
    parameters: Mapping[str, object] | None = None,
    notebook: str | Path = NOTEBOOK,
    progress: bool = False,
) -> tuple[Path, Path]:
    """Check the inputs, execute the report notebook on a batch and write it as HTML.

    Parameters
    ----------
    results_dir : path
        The batch directory (``lti batch --out``).
    out : path
        The HTML file to write; the executed notebook is kept beside it as ``.ipynb``.
    parameters : mapping, optional
        Notebook parameters other than ``results_dir`` (e.g. ``title``, ``reference_plan``),
        as Python values; :func:`parse_parameters` reads them from text.
    notebook : path
        The report notebook.
    progress : bool
        Show papermill's progress bar.

    Returns
    -------
    tuple of Path
        The HTML file and the executed notebook.

    Raises
    ------
    ReportError
        Before any execution: an output that is not an ``.html`` file or cannot be written
        (:func:`check_output`), unknown parameter, not a batch directory, unknown scenario or
        reference plan.
    NotebookError
        If a cell fails.
    """
    out, executed_path = check_output(out, notebook)
    given = dict(parameters or {})
    declared = declared_parameters(notebook)
    check_names(given, declared)
    given["results_dir"] = str(Path(results_dir).expanduser().resolve())
    values = {**declared, **given}  # what the notebook will see, to check it first
    load_batch(
        results_dir,
        scenario=values.get("scenario"),
        reference=values.get("reference_plan"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    executed = execute(Path(notebook), executed_path, given, progress)
    return export_html(executed, out, str(values.get("title", out.stem))), executed_path
