"""``lti report``: the decision report on a batch, executed and written as HTML without code."""

from __future__ import annotations

import argparse
import sys

from toolkit.cli.common import UserError


def _report(args: argparse.Namespace) -> int:
    from toolkit.report.data import ReportError
    from toolkit.report.render import (
        NOTEBOOK,
        NotebookError,
        declared_parameters,
        parse_parameters,
        render_report,
    )

    texts: dict[str, str] = {}
    for name, value in args.parameters:
        if name in texts:
            raise UserError(f"parameter {name!r} given twice")
        texts[name] = value
    for option, name in (("title", "title"), ("reference", "reference_plan")):
        if getattr(args, option) is not None:
            if name in texts:
                raise UserError(f"--{option} and -p {name} both given; give one of them")
            texts[name] = getattr(args, option)
    try:
        parameters = parse_parameters(texts, declared_parameters(NOTEBOOK))
        html, executed = render_report(
            args.directory, args.out, parameters, progress=sys.stderr.isatty()
        )
    except ReportError as exc:
        raise UserError(str(exc)) from None
    except NotebookError as exc:
        print(
            f"lti report: the report notebook failed in cell {exc.cell}: {exc.error}\n"
            f"The executed notebook with the full traceback is {exc.notebook}",
            file=sys.stderr,
        )
        return 1
    print(f"Report written to {html} (executed notebook: {executed})")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``report`` to the ``lti`` parser."""
    report = commands.add_parser(
        "report",
        help="write the decision report on a batch as HTML",
        description="Execute the decision-report notebook on a batch directory written by "
        "`lti batch` and export it as HTML without code: plans ranked by net value against the "
        "reference plan with paired 95% intervals, paired differences, a frontier of net value "
        "against award cost, reported against true KPIs, behaviour, awards, liability and "
        "fairness, and a recommendation written from the numbers. The HTML is self-contained "
        "and holds no script; every name is shown as text. The "
        "executed notebook is kept beside the HTML file.",
    )
    report.add_argument("directory", metavar="DIR", help="batch directory (lti batch --out)")
    report.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="HTML file to write (ending in .html); the executed FILE.ipynb is kept beside it",
    )
    report.add_argument("--title", default=None, help="heading of the report")
    report.add_argument(
        "--reference",
        default=None,
        metavar="PLAN",
        help="plan the others are compared with (default: the batch's reference plan, "
        "lti batch --reference)",
    )
    report.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a notebook parameter, e.g. -p scenario small -p gaming_threshold 3",
    )
    report.set_defaults(handler=_report)
