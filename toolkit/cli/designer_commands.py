"""``lti designer``: serve the plan designer as a web app on this machine, with Voila.

The app is the designer notebook (``notebooks/designer.ipynb``, the same one JupyterLab opens),
copied into the output directory with the command's choices written into its parameters cell,
as papermill writes them. Voila runs the copy in a kernel of its own for every browser page, so
each person gets a designer, a comparison and a memory of their own; a page runs no code but the
notebook's. Each page's designer keeps its runs and saved plans in a directory of its own,
``OUT/sessions/lti-designer-*`` (the kernels' temporary directory is ``OUT/sessions``), so two
people comparing at once never write the same batch. The server listens on 127.0.0.1 only and
runs until Ctrl-C or SIGTERM, which also stop its kernels.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path

from toolkit.cli.common import UserError, port_number, scenario_argument, seed

DEFAULT_PORT = 8866  # Voila's own default
DEFAULT_SEEDS = (1, 2, 3)
HOST = "127.0.0.1"
NOTEBOOK_NAME = "designer.ipynb"
SESSIONS = "sessions"
# Voila keeps a kernel when its page is closed; once no page is connected to it, it is shut down
# after this long without activity (a page still connected keeps its kernel, however idle).
IDLE_KERNEL_SECONDS = 600
CULL_INTERVAL_SECONDS = 60


def check_port_free(port: int, host: str = HOST) -> None:
    """Refuse a port another program listens on, before the server is started.

    The socket is opened as the server opens its own (``SO_REUSEADDR``), so a port left in
    ``TIME_WAIT`` by a server that just stopped counts as free, as it is for the server.

    Parameters
    ----------
    port : int
        The port to serve on.
    host : str
        The address to serve on.

    Raises
    ------
    UserError
        When the port is in use or may not be opened, naming the port and the way out.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be opened: {exc}"
            raise UserError(
                f"--port {port}: port {port} on {host} {reason}; give another with --port N"
            ) from None


def _parameter(text: str) -> str:
    """Return a scenario or plan argument as the served notebook must read it.

    Names stay names; a file becomes absolute, since the notebook runs in the output directory.
    """
    if "/" in text or text.endswith((".yaml", ".yml")):
        return str(Path(text).resolve())
    return text


def _checked_inputs(args: argparse.Namespace) -> None:
    """Load the scenario and every plan as a run would, so a mistake is told before serving.

    Raises
    ------
    ConfigError
        For an invalid scenario or an unknown or invalid plan, naming the file, the key and
        the reason.
    """
    from toolkit.config import load_scenario
    from toolkit.plans import load_plan

    scenario = load_scenario(scenario_argument(args.scenario))
    for name in (args.plan, args.reference, *args.compare):
        load_plan(name, scenario=scenario)


def _output_directory(text: str) -> Path:
    """Create the output directory, refusing a path that is a file."""
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {text}: is a file, not a directory; give a directory")
    out.mkdir(parents=True, exist_ok=True)
    return out.resolve()


def write_app_notebook(args: argparse.Namespace, out: Path) -> Path:
    """Write the designer notebook with the command's choices into ``out``.

    Parameters
    ----------
    args : Namespace
        The parsed ``lti designer`` arguments.
    out : Path
        The output directory.

    Returns
    -------
    Path
        The notebook Voila serves: ``out/designer.ipynb``.
    """
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from toolkit.resources import DESIGNER_NOTEBOOK

    notebook = load_notebook_node(str(DESIGNER_NOTEBOOK))
    parameters = {
        "scenario": _parameter(args.scenario),
        "plan": _parameter(args.plan),
        "reference": _parameter(args.reference),
        "compare": [_parameter(name) for name in args.compare],
        "seeds": list(args.seeds),
    }
    served = parameterize_notebook(notebook, parameters, kernel_name="python3", language="python")
    path = out / NOTEBOOK_NAME
    nbformat.write(served, path)
    return path


def serve(notebook: Path, port: int, sessions: Path) -> None:
    """Serve ``notebook`` with Voila on 127.0.0.1 until Ctrl-C or SIGTERM, then stop its kernels.

    Parameters
    ----------
    notebook : Path
        The notebook to serve; each browser page gets a kernel of its own that runs it.
    port : int
        The port, already checked free: Voila is told not to try another.
    sessions : Path
        The kernels' temporary directory, where each page's designer makes its own.
    """
    from voila.app import Voila

    # A shell that starts the command in the background may have it ignore SIGINT; Ctrl-C and
    # `kill -INT` must stop it all the same.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    connections = tempfile.gettempdir()  # the server's own files stay in the system's
    os.environ["TMPDIR"] = str(sessions)  # inherited by every kernel Voila starts
    app = Voila()
    app.initialize(
        [
            str(notebook),
            f"--port={port}",
            f"--Voila.ip={HOST}",
            "--Voila.port_retries=0",
            "--no-browser",
            "--Voila.log_level=WARN",
            f"--Voila.connection_dir_root={connections}",
            f"--MappingKernelManager.cull_idle_timeout={IDLE_KERNEL_SECONDS}",
            f"--MappingKernelManager.cull_interval={CULL_INTERVAL_SECONDS}",
        ]
    )
    app.start()  # returns once the loop stops; Voila has shut every kernel down by then


def _designer(args: argparse.Namespace) -> int:
    _checked_inputs(args)
    check_port_free(args.port)
    out = _output_directory(args.out)
    sessions = out / SESSIONS
    sessions.mkdir(exist_ok=True)
    notebook = write_app_notebook(args, out)
    compared = f" and {', '.join(args.compare)}" if args.compare else ""
    print(
        f"Plan designer at http://{HOST}:{args.port}/ : {args.plan} against {args.reference}"
        f"{compared} on {args.scenario}, seeds {' '.join(map(str, args.seeds))}; each page's "
        f"runs and saved plans go to {sessions}. Ctrl-C stops it.",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C as the server starts or stops
        serve(notebook, args.port, sessions)
    print("lti designer: stopped", file=sys.stderr)
    return 0


def _scenario(text: str) -> str:
    """Check a scenario argument and keep it as given, a name as a name."""
    scenario_argument(text)
    return text


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``designer`` to the ``lti`` parser."""
    designer = commands.add_parser(
        "designer",
        help="serve the plan designer as a web app on 127.0.0.1",
        description="Serve the plan designer (notebooks/designer.ipynb) with Voila on "
        "127.0.0.1 and print its address; every browser page gets a designer and a kernel of "
        "its own. Edit a library plan, compare it with the reference plan on a scenario and "
        "seeds, and save it as YAML. Runs until Ctrl-C.",
    )
    designer.add_argument(
        "--scenario",
        type=_scenario,
        default="small",
        metavar="S",
        help="scenario file or shipped scenario name (default: small)",
    )
    designer.add_argument(
        "--plan",
        default="careful",
        metavar="P",
        help="library plan or plan file the edits start from (default: careful)",
    )
    designer.add_argument(
        "--reference",
        default="no_incentive",
        metavar="R",
        help="plan the edited one is compared with (default: no_incentive)",
    )
    designer.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="PLAN",
        help="more plans shown beside them (default: none)",
    )
    designer.add_argument(
        "--seeds",
        nargs="+",
        type=seed,
        default=list(DEFAULT_SEEDS),
        metavar="SEED",
        help=f"seeds every plan runs on (default: {' '.join(map(str, DEFAULT_SEEDS))})",
    )
    designer.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        metavar="N",
        help=f"port on 127.0.0.1 (default: {DEFAULT_PORT})",
    )
    designer.add_argument(
        "--out",
        default="runs/designer",
        metavar="DIR",
        help="directory for the served notebook and, in sessions/, each page's runs and saved "
        "plans (default: runs/designer)",
    )
    designer.set_defaults(handler=_designer)
