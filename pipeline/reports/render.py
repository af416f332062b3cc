"""The HTML and Markdown reports: the outline (outline.py) laid out by the Jinja2 templates in templates/.

The HTML template is autoescaped; the Markdown one escapes every value with the `md` filter.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..report import Report
from . import wording
from .outline import Block, Heading, outline

TEMPLATES = Path(__file__).parent / "templates"

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md_escape(text: object) -> str:
    """Markdown syntax (and `|` for tables) escaped; line breaks become spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))


_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=StrictUndefined,
)
_ENV.filters["md"] = md_escape
_ENV.globals["words"] = wording
# The verdict's mark in Markdown, by tone (a tone without a mark of its own is shown as bad).
_MARKS = {tone: wording.VERDICT_MARK.get(tone, wording.VERDICT_MARK["bad"]) for tone in get_args(wording.Tone)}


def _title(blocks: list[Block]) -> str:
    return next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "")


def html_page(blocks: list[Block]) -> str:
    """One self-contained HTML page (inline CSS, no scripts; seal crops are the PNGs beside it)."""
    return _ENV.get_template("report.html.j2").render(blocks=blocks, title=_title(blocks))


def markdown_text(blocks: list[Block]) -> str:
    """The same outline as Markdown (GFM tables)."""
    return _ENV.get_template("report.md.j2").render(blocks=blocks, marks=_MARKS)


def render_html(report: Report) -> str:
    """The clerk's HTML report of REPORT."""
    return html_page(outline(report))


def render_markdown(report: Report) -> str:
    """The clerk's Markdown report of REPORT."""
    return markdown_text(outline(report))
