"""Usage errors as people read them: typer (click) explains bad arguments in English, the clerk reads Chinese."""

from __future__ import annotations

from typing import Any

try:  # typer ≥ 0.24 carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover — older typer, on click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

__all__ = ["UnknownCommand", "click_errors", "usage_message"]


class UnknownCommand(click_errors.UsageError):
    """`dossier frobnicate`: the message is ours, already in Chinese."""


def _name(param: Any) -> str:
    """`--workers` for an option, `PATH` for an argument."""
    if param is None:
        return ""
    if getattr(param, "param_type_name", "") == "argument":
        return str(getattr(param, "metavar", None) or param.name or "").upper()
    opts = getattr(param, "opts", None) or []
    return str(opts[0]) if opts else str(param.name or "")


def _expected(param: Any) -> str:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)  # typer's own click
    kind = getattr(getattr(param, "type", None), "name", "")  # click's parameter types
    if annotation is int or kind == "integer":
        return "，须为整数"
    if annotation is float or kind == "float":
        return "，须为数字"
    return ""


def usage_message(exc: Any) -> str:
    """What was wrong with the arguments, in Chinese (the English original for anything not foreseen)."""
    param = getattr(exc, "param", None)
    if isinstance(exc, UnknownCommand):
        return exc.message
    if isinstance(exc, click_errors.NoArgsIsHelpError):
        return "请给出要执行的命令（见上）"
    if isinstance(exc, click_errors.NoSuchOption):
        return f"没有这个选项：{exc.option_name}"
    if isinstance(exc, click_errors.BadOptionUsage):
        return f"选项 {exc.option_name} 需要一个值"
    if isinstance(exc, click_errors.MissingParameter):
        what = "参数" if getattr(param, "param_type_name", "") == "argument" else "选项"
        return f"缺少{what} {_name(param)}".rstrip()
    if isinstance(exc, click_errors.BadParameter):
        return f"{_name(param) or '参数'} 的值无效{_expected(param)}"
    message = exc.format_message()
    if message.startswith("Got unexpected extra argument"):
        return f"多余的参数：{message[message.rfind('(') + 1 : message.rfind(')')]}"
    return f"参数有误：{message}"
