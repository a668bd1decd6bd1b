"""``lti kpis``: the KPI catalogue."""

from __future__ import annotations

import argparse
import textwrap

from toolkit.cli.common import UserError


def _kpis(args: argparse.Namespace) -> int:
    from toolkit.metrics import catalogue_table

    if not args.list:
        raise UserError("nothing to do: give --list to print the KPI catalogue")
    for row in catalogue_table().itertuples(index=False):
        print(f"{row.kpi}  [{row.unit}; {row.direction} is better; {row.indicator}]")
        print(
            textwrap.fill(row.definition, width=96, initial_indent="    ", subsequent_indent="    ")
        )
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``kpis`` to the ``lti`` parser."""
    kpis = commands.add_parser("kpis", help="the KPI catalogue")
    kpis.add_argument("--list", action="store_true", help="print every KPI with its definition")
    kpis.set_defaults(handler=_kpis)
