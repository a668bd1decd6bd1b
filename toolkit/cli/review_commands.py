"""``lti review``: the annual plan review of a run's record, as self-contained HTML."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from toolkit.cli.common import UserError


def _check_out(out: Path) -> Path:
    """Refuse an output that is not an ``.html`` file or that cannot be written."""
    if out.suffix.lower() != ".html":
        raise UserError(f"{out}: the review is HTML; give a file name ending in .html")
    if out.is_dir():
        raise UserError(f"{out}: is a directory; give the HTML file to write")
    if not out.parent.is_dir():
        raise UserError(f"{out}: cannot be written, {out.parent} is not a directory")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise UserError(f"{out}: cannot be written, {out.parent} is not writable")
    return out


def _write(path: Path, text: str) -> None:
    """Write beside ``path`` under a hidden name and rename into place."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _review(args: argparse.Namespace) -> int:
    from toolkit.report.review import ReviewError, review, to_html, to_markdown

    out = _check_out(Path(args.out).expanduser())
    markdown = out.with_suffix(".md") if args.markdown else None
    if markdown is not None and markdown.is_dir():
        raise UserError(f"{markdown}: is a directory; the Markdown copy is written there")
    try:
        table, manifests = review(args.directory)
    except ReviewError as exc:
        raise UserError(str(exc)) from None
    plans = sorted({str(m.get("plan", {}).get("name", "?")) for m in manifests})
    title = args.title or f"Plan review: {', '.join(plans)}"
    _write(out, to_html(table, title))
    if markdown is not None:
        _write(markdown, to_markdown(table, title))
    found = table.loc[table["found"].astype(bool)]
    print(
        f"Reviewed {len(manifests)} run(s): {len(found)} signature(s) significant; "
        f"review written to {out}" + (f" and {markdown}" if markdown else "")
    )
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``review`` to the ``lti`` parser."""
    review = commands.add_parser(
        "review",
        help="list the gaming signatures in a run's record (annual plan review)",
        description="Compare a run's reported log during the plan with the periods before it "
        "and list every gaming signature found (padding, clock stopping, priority downgrades, "
        "bunching under the SLA target, misattribution, CAB skipping, underreporting) with its "
        "size, test and evidence, confirmed against the true log where the run kept it. DIR is "
        "a run directory (lti simulate --out) or a directory holding such runs.",
    )
    review.add_argument("directory", metavar="DIR", help="run directory (lti simulate --out)")
    review.add_argument("--out", required=True, metavar="FILE", help="HTML file to write")
    review.add_argument("--title", default=None, help="heading of the review")
    review.add_argument(
        "--markdown", action="store_true", help="also write the review as FILE with suffix .md"
    )
    review.set_defaults(handler=_review)
