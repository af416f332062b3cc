"""The HTML and Markdown reports: the outline (outline.py) laid out by the Jinja2 templates in templates/.

The HTML template is autoescaped; the Markdown one escapes every value with the `md` filter.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import get_args

from jinja2 import (
    BytecodeCache,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)

from core.paths import cache_root

from ..report import Report
from . import wording
from .outline import Block, Heading, outline

TEMPLATES = Path(__file__).parent / "templates"

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md_escape(text: object) -> str:
    """Markdown syntax (and `|` for tables) escaped; line breaks become spaces."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))


def _compiled_templates() -> BytecodeCache | None:
    """Compiling the two templates costs ~50 ms of every `dossier check`: keep them compiled in the
    product's cache folder (Jinja2 checks each against its template's source); none where it cannot be
    written."""
    folder = cache_root() / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))


@functools.cache  # one environment per process, built at the first report (not at import: it makes a folder)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        bytecode_cache=_compiled_templates(),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters["md"] = md_escape
    env.globals["words"] = wording
    return env


# The verdict's mark in Markdown, by tone (a tone without a mark of its own is shown as bad).
_MARKS = {tone: wording.VERDICT_MARK.get(tone, wording.VERDICT_MARK["bad"]) for tone in get_args(wording.Tone)}


def _title(blocks: list[Block]) -> str:
    return next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "")


def html_page(blocks: list[Block]) -> str:
    """One self-contained HTML page (inline CSS, no scripts; seal crops are the PNGs beside it)."""
    return _environment().get_template("report.html.j2").render(blocks=blocks, title=_title(blocks))


def markdown_text(blocks: list[Block]) -> str:
    """The same outline as Markdown (GFM tables)."""
    return _environment().get_template("report.md.j2").render(blocks=blocks, marks=_MARKS)


def render_html(report: Report) -> str:
    """The clerk's HTML report of REPORT."""
    return html_page(outline(report))


def render_markdown(report: Report) -> str:
    """The clerk's Markdown report of REPORT."""
    return markdown_text(outline(report))
