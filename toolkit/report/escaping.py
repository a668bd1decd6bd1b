"""User text in the report as text: names, titles and descriptions never become markup.

Plan, scenario and team names, descriptions, the report's title and anything else read from a
batch come from files users write. The report's Markdown is rendered to HTML that passes raw
HTML through, so such text goes into Markdown only through :func:`md_text` (prose) or
:func:`md_code` (a name, as inline code), into HTML tables only escaped, and into matplotlib
only through :func:`mpl_text`, so that a ``$`` in a name is not read as mathematics.
"""

from __future__ import annotations

import re
import string

MARKDOWN_PUNCTUATION = frozenset(string.punctuation)


def one_line(text: object) -> str:
    """Return the text with every run of whitespace (newlines too) turned into one space.

    A blank line inside a name would end the paragraph or code span it stands in, and
    whatever followed would be read as Markdown of its own.
    """
    return " ".join(str(text).split())


def md_text(text: object) -> str:
    r"""Return text for Markdown prose that renders as itself, markup and all.

    Every ASCII punctuation character is backslash-escaped (CommonMark renders ``\<`` as a
    literal ``<``), so no tag, link, emphasis, heading or list can start inside it.

    Parameters
    ----------
    text : object
        Text from a user's file or the command line (converted with ``str``).

    Returns
    -------
    str
        Markdown on one line.
    """
    return "".join(f"\\{c}" if c in MARKDOWN_PUNCTUATION else c for c in one_line(text))


def md_code(text: object) -> str:
    """Return a name as a Markdown code span, which renders its content escaped, verbatim.

    The fence is one backtick longer than the longest run of backticks in the name, padded
    with spaces when the name starts or ends with one, so the name cannot close the span.

    Parameters
    ----------
    text : object
        A plan, scenario or other name.

    Returns
    -------
    str
        The code span: the name between backticks.
    """
    name = one_line(text) or " "
    runs = [len(run) for run in re.findall(r"`+", name)]
    fence = "`" * (max(runs, default=0) + 1)
    if runs:
        return f"{fence} {name} {fence}"
    return f"{fence}{name}{fence}"


def mpl_text(text: object) -> str:
    r"""Return text for a matplotlib title, label or tick that is drawn as written.

    Matplotlib reads text between two ``$`` as mathematics and fails on what it cannot
    parse; an escaped ``\$`` is drawn as a dollar sign.
    """
    return str(text).replace("$", r"\$")
