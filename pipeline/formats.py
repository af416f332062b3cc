"""The report formats (CONTRACT.md: `--format json,html,md,docx`): one enum for every command and flow.

`notice` is not a form of the report but a letter built from it: the 补正通知 to the applicant, `notice.docx`."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Format(StrEnum):
    JSON = "json"
    HTML = "html"
    MD = "md"
    DOCX = "docx"
    NOTICE = "notice"


REPORT_FORMATS: tuple[Format, ...] = (Format.JSON, Format.HTML, Format.MD, Format.DOCX)  # each a report.<fmt>


DEFAULT_FORMATS: tuple[Format, ...] = (Format.JSON, Format.HTML)
DEMO_FORMATS: tuple[Format, ...] = (Format.JSON, Format.HTML, Format.MD)


def file_name(fmt: Format) -> str:
    """The file a format is written to in a dossier's report folder."""
    return "notice.docx" if fmt is Format.NOTICE else f"report.{fmt.value}"


class FormatError(ValueError):
    """An unknown format; the message is for people."""


def parse_formats(value: str | Iterable[str]) -> list[Format]:
    """`json,html` (or a list of names) as formats, in order, without repeats; FormatError otherwise."""
    names = value.split(",") if isinstance(value, str) else list(value)
    cleaned = [str(n).strip().lower() for n in names if str(n).strip()]
    known = {f.value for f in Format}
    unknown = [n for n in cleaned if n not in known]
    if unknown or not cleaned:
        raise FormatError(
            f"不支持的报告格式：{','.join(unknown) or str(value)}（可选：{','.join(f.value for f in Format)}）"
        )
    return list(dict.fromkeys(Format(n) for n in cleaned))
