"""The ``lti`` command; each group of sub-commands lives in its own module.

User mistakes (bad files, bad arguments) end with a message and exit code 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import toolkit
from toolkit.cli import (
    batch_commands,
    compliance_commands,
    course_commands,
    designer_commands,
    finance_commands,
    gov_commands,
    ingest_commands,
    kpi_commands,
    people_commands,
    report_commands,
    review_commands,
    scenario_commands,
)
from toolkit.cli.common import EXIT_USER_ERROR, UserError
from toolkit.config import ConfigError
from toolkit.run.outputs import OutputError

COMMAND_GROUPS = (
    scenario_commands,
    kpi_commands,
    ingest_commands,
    batch_commands,
    finance_commands,
    compliance_commands,
    people_commands,
    report_commands,
    review_commands,
    course_commands,
    gov_commands,
    designer_commands,
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser, with one sub-command per job."""
    parser = argparse.ArgumentParser(
        prog="lti",
        description="Design and stress-test long-term incentive plans for IT service management.",
    )
    parser.add_argument("--version", action="version", version=f"lti {toolkit.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lti`` command line and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:  # output piped into a reader that stopped, e.g. `| head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
    except (UserError, OutputError, OSError) as exc:
        print(f"lti {args.command}: {exc}", file=sys.stderr)
    return EXIT_USER_ERROR
