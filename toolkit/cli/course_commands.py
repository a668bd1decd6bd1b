"""``lti course``: list the course's modules and build its notebooks, templates and worksheets."""

from __future__ import annotations

import argparse
import sys

from toolkit.cli.common import UserError


def _parameters(pairs: list[list[str]]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for name, value in pairs:
        if name in texts:
            raise UserError(f"parameter {name!r} given twice")
        texts[name] = value
    return texts


def _build(args: argparse.Namespace) -> int:
    from toolkit.course.build import CourseError, build_course

    def done(record: dict) -> None:
        verdict = "failed" if record.get("error") or record.get("problems") else "done"
        seconds = f" in {record['seconds']} s" if "seconds" in record else ""
        print(f"  {record['stem']}: {verdict}{seconds}", file=sys.stderr)

    try:
        record = build_course(
            args.out,
            modules=args.modules,
            scenario=args.scenario,
            seeds=args.seeds,
            plans=args.plans,
            parameters=_parameters(args.parameters),
            workers=args.workers,
            force=args.force,
            progress=sys.stderr.isatty(),
            on_done=done,
        )
    except CourseError as exc:
        raise UserError(str(exc)) from None
    count = len(record["notebooks"])
    print(
        f"Course written to {args.out}: {count} notebooks in {record['wall_time_seconds']} s; "
        f"open {args.out}/index.html"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    from toolkit.course.build import module_notebooks
    from toolkit.course.catalogue import MODULES
    from toolkit.course.materials import template_notebooks

    have = module_notebooks()
    for item in MODULES:
        where = have[item.number].name if item.number in have else "no notebook yet"
        print(f"Module {item.number}: {item.title} ({where})")
        for topic in item.topics:
            print(f"  {topic.number} {topic.question}")
    templates = template_notebooks()
    if templates:
        print("Template notebooks: " + ", ".join(path.name for path in templates))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``course`` (with ``build`` and ``list``) to the ``lti`` parser."""
    from toolkit.course.catalogue import DEFAULT_PLANS

    course = commands.add_parser(
        "course",
        help="the course: list its modules, build its notebooks and materials",
        description="The course's module notebooks, templates and worksheets.",
    )
    actions = course.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list the modules, their topics and notebooks")
    listing.set_defaults(handler=_list)
    build = actions.add_parser(
        "build",
        help="execute the module and template notebooks and write them as HTML",
        description="Run a batch of library plans for the templates to be filled from, then "
        "execute the chosen module notebooks and every template notebook with papermill, "
        "several at once, and write HTML for each (module pages with their code), the filled "
        "templates and worksheets, and an index.html linking them. A module whose topic "
        "sections do not each show a table or figure, an interpretation and an exercise check "
        "fails the build. The result appears whole or not at all; a rebuild into the same "
        "directory reuses its runs.",
    )
    build.add_argument("--out", required=True, metavar="DIR", help="course directory to write")
    build.add_argument(
        "--modules",
        nargs="+",
        type=int,
        default=None,
        metavar="N",
        help="module numbers (default: every module with a notebook)",
    )
    build.add_argument(
        "--scenario",
        default="small",
        help="a shipped scenario's name or a scenario file (default: small)",
    )
    build.add_argument("--seeds", type=int, default=2, metavar="N", help="seeds 0..N-1 (2)")
    build.add_argument(
        "--plans",
        nargs="+",
        default=list(DEFAULT_PLANS),
        metavar="PLAN",
        help="plans of the batch the templates are filled from "
        f"(default: {' '.join(DEFAULT_PLANS)})",
    )
    build.add_argument(
        "--workers", type=int, default=None, metavar="K", help="notebooks at once (default: CPUs)"
    )
    build.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a parameter of every notebook declaring it, e.g. -p reference_plan careful",
    )
    build.add_argument(
        "--force", action="store_true", help="replace DIR even if it is not a course build"
    )
    build.set_defaults(handler=_build)
