"""`dossier` (CONTRACT.md): check, batch, watch, demo, seals, schema, serve, web, user — one typer application.

`main(argv)` returns the exit code (cli/exits.py) and is what tests call; `run()` is the console script.
Bad arguments exit 2 with a Chinese message on stderr; Ctrl-C and SIGTERM exit 130.

Start-up: `dossier check` should take well under a second before it reads anything, so only typer and the
extraction pool's module are imported here. A command imports what it needs itself: `check` starts its
reading processes first and imports the pipeline (jieba, spaCy …) while they start; `batch` and `watch`
start Prefect's temporary server before Prefect and the pipeline load.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from core.names import terminal_safe
from extractors.sandbox import DEFAULT_TIMEOUT, ExtractionPool, default_workers
from pipeline import DEFAULT_RULESET
from pipeline.formats import DEFAULT_FORMATS, DEMO_FORMATS, Format, FormatError, parse_formats
from web import DEFAULT_PORT

from .exits import ExitCode, UsageError
from .usage import UnknownCommand, click_errors, usage_message

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples" / "dossiers"
FORMAT_HELP = f"报告格式，逗号分隔：{','.join(Format)}"
RULESET_HELP = "规则集编号或 YAML 文件路径"
TIMEOUT_HELP = "单个文件或扫描页的处理时限（秒）"
SEALS_HELP = (
    "查找公章（红色圆形、椭圆形印章）：PDF 的每一页、图片文件的每一页（含多页 TIFF）、Word（.docx）中的每张图片。"
    "输出 JSON：一个文件输出一个对象，多个文件输出列表；"
    '{"file": …, "pages": [{"page": 1, "seals": [{"box": [x0, y0, x1, y1], "score": 0.93, "shape": "round"}]}]}。'
    "box 以左上角为原点：PDF 为该页的点（pt，1/72 英寸），图片文件为其像素；"
    "Word 中的图片：page 为 null，picture 为该图片在正文中的顺序（从 0 起，与 Word 正文中图片出现的先后一致），"
    "box 为该图片自身的像素。shape 为 round（圆形）或 oval（椭圆形）。"
    '无法读取的文件给出 {"file": …, "error": "原因"}。退出码：0；参数错误或文件不存在为 2。'
)


class _Commands(TyperGroup):
    """An unknown command is a usage error in Chinese, like every other."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            known = "、".join(self.list_commands(ctx))
            raise UnknownCommand(f"没有这个命令：{name}（可用的命令：{known}）", ctx)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="dossier",
    cls=_Commands,
    help="山东省特色产业集群申报材料完整性预审",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,  # help texts are plain: "[x0, y0, …]" is JSON, not markup
    pretty_exceptions_enable=False,
)


def _exits(command: Callable[..., ExitCode]) -> Callable[..., None]:
    """A command's exit code as typer's Exit; our usage errors and Ctrl-C as CONTRACT.md says."""

    @functools.wraps(command)
    def run_command(*args: Any, **kwargs: Any) -> None:
        try:
            code = command(*args, **kwargs)
        except UsageError as exc:
            print(terminal_safe(f"错误：{exc}"), file=sys.stderr)
            code = ExitCode.USAGE
        except KeyboardInterrupt:
            print("已中断", file=sys.stderr)
            code = ExitCode.INTERRUPTED
        raise typer.Exit(int(code))

    return run_command


def _formats(value: str) -> list[str]:
    try:
        return [f.value for f in parse_formats(value)]
    except FormatError as exc:
        raise UsageError(str(exc)) from exc


def _check_pool(workers: int, timeout: float) -> None:
    """--workers and --timeout of every command that reads files (a time limit of 0 would fail every file)."""
    if workers < 1 or timeout <= 0:
        raise UsageError("--workers 至少为 1，--timeout 须大于 0")


def _ruleset(value: str) -> Any:
    from pipeline.ruleset import RulesetError, load_ruleset

    try:
        return load_ruleset(value)
    except RulesetError as exc:
        raise UsageError(str(exc)) from exc


def _logging() -> None:
    from core.settings import Settings

    from .logs import configure_logging

    configure_logging(Settings().event_log)


Out = Annotated[str, typer.Option("--out", help="输出目录", show_default=False)]
Formats = Annotated[str, typer.Option("--format", help=FORMAT_HELP)]
RulesetOption = Annotated[str, typer.Option("--ruleset", help=RULESET_HELP)]
Timeout = Annotated[float, typer.Option("--timeout", help=TIMEOUT_HELP)]
FORMATS_DEFAULT = ",".join(DEFAULT_FORMATS)
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="按该日期（YYYY-MM-DD）判断依据文件是否有效（默认：检查当日）",
        show_default=False,
    ),
]

FullOcr = Annotated[
    bool,
    typer.Option(
        "--full-ocr",
        help="扫描页全部全文识别（默认：只需判定类别的页（证书、照片、名单等）仅识别页首与标题行，较快）",
    ),
]


def _as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"--as-of 须为日期（YYYY-MM-DD）：{value}") from exc


# ---------------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------------


@app.command(help="检查一个申报材料包（文件夹、zip 或单个 PDF/Word 文件）")
@_exits
def check(
    path: Annotated[
        str, typer.Argument(metavar="PATH", help="申报材料包：文件夹、zip 或单个 PDF/Word 文件", show_default=False)
    ],
    out: Annotated[
        str | None, typer.Option("--out", help="报告目录（默认 dossier-reports/<材料包>）", show_default=False)
    ] = None,
    format_: Formats = FORMATS_DEFAULT,
    ruleset: RulesetOption = DEFAULT_RULESET,
    timeout: Timeout = DEFAULT_TIMEOUT,
    workers: Annotated[
        int, typer.Option("--workers", help="并行处理扫描页的进程数（默认：CPU 核数）")
    ] = default_workers(),
    as_of: AsOf = None,
    full_ocr: FullOcr = False,
    notice_deadline: Annotated[
        str | None,
        typer.Option(
            "--notice-deadline", help="补正通知中的补正期限（如 2026年12月15日；默认留空待填）", show_default=False
        ),
    ] = None,
    notice_contact: Annotated[
        str | None,
        typer.Option("--notice-contact", help="补正通知中的联系人及电话（默认留空待填）", show_default=False),
    ] = None,
) -> ExitCode:
    day = _as_of(as_of)
    _check_pool(workers, timeout)
    dossier = Path(path)
    if not dossier.exists():
        raise UsageError(f"找不到申报材料：{dossier}")
    from pipeline.intake import NotADossier, require_readable_kind

    try:
        require_readable_kind(dossier)
    except NotADossier as exc:
        raise UsageError(f"{exc}：{dossier}") from exc
    formats = _formats(format_)
    if (notice_deadline or notice_contact) and Format.NOTICE.value not in formats:
        raise UsageError("--notice-deadline、--notice-contact 须与 --format notice 一起使用")
    # Every worker starts at once (forked from one fork server, the second costs little): the seal search
    # and the form's tables use them all right after the files are read, as scanned pages do. The pipeline
    # is imported while they start.
    with ExtractionPool(workers=workers, timeout=timeout).warm() as pool:
        rules = _ruleset(ruleset)
        from pipeline.batch import summary_line
        from pipeline.dossier import dossier_id, write_outputs
        from pipeline.engine import Engine

        engine = Engine(rules, pool=pool)  # jieba's dictionary and spaCy load now, while the files are read
        target = Path(out) if out else Path("dossier-reports") / dossier_id(dossier.name)
        report = engine.check(dossier, as_of=day, full_ocr=full_ocr)
    notice = None
    if Format.NOTICE.value in formats:  # python-docx loads only for the letter
        from pipeline.reports.notice import NoticeOptions

        notice = NoticeOptions(notice_deadline, notice_contact)
    written = write_outputs(report, target, formats, notice=notice)
    print(summary_line(report))  # terminal-safe, as every line printed here
    if report.ruleset.validity_note:
        print(terminal_safe(f"  注意：{report.ruleset.validity_note}"))
    for finding in report.findings:
        if finding.severity == "error":
            print(terminal_safe(f"  - {finding.message}"))
    print("报告：" + "、".join(str(p) for p in written))
    return ExitCode.OK if report.verdict == "complete" else ExitCode.INCOMPLETE


# ---------------------------------------------------------------------------------------------------
# batch, watch, serve: the Prefect flow
# ---------------------------------------------------------------------------------------------------


@app.command(help="逐个检查目录下的每个申报材料包")
@_exits
def batch(
    inbox: Annotated[
        str, typer.Argument(metavar="INBOX", help="收件目录：每个直接子项是一个申报材料包", show_default=False)
    ],
    out: Out,
    workers: Annotated[
        int,
        typer.Option("--workers", help="并行读取文件的进程数（在 Dask 集群上由各工作节点按自己的线程数决定）"),
    ] = default_workers(),
    format_: Formats = FORMATS_DEFAULT,
    ruleset: RulesetOption = DEFAULT_RULESET,
    timeout: Timeout = DEFAULT_TIMEOUT,
    quiet: Annotated[bool, typer.Option("--quiet", help="不逐个打印结果")] = False,
    dask_address: Annotated[
        str | None,
        typer.Option(
            "--dask-address",
            help="在 Dask 集群上检查（调度器地址，如 tcp://10.0.0.5:8786）；默认在本机多线程检查",
            show_default=False,
        ),
    ] = None,
    as_of: AsOf = None,
    full_ocr: FullOcr = False,
) -> ExitCode:
    day = _as_of(as_of)
    _check_pool(workers, timeout)
    folder, target = Path(inbox), Path(out)
    if not folder.is_dir():
        raise UsageError(f"找不到申报材料目录：{folder}")
    formats = _formats(format_)
    rules = _ruleset(ruleset)  # a bad ruleset is exit 2 before Prefect starts; the flow loads it itself
    from flows.server import dask_address_problem, start_server

    if dask_address and (problem := dask_address_problem(dask_address)):
        raise UsageError(problem)
    _logging()
    # Prefect's temporary server starts while Prefect and the pipeline load (Prefect's defaults first); it
    # dies with this process.
    server = start_server()
    from pipeline.engine import Engines
    from pipeline.runner import resolve_ruleset

    engines = Engines()
    if not dask_address:  # the workers and jieba load meanwhile too (Dask workers have their own)
        engines.get(resolve_ruleset(ruleset), workers, timeout)
    from flows.check import run_check_dossiers

    log = logging.getLogger("dossier.batch")
    try:
        rows = run_check_dossiers(
            folder,
            target,
            ruleset,
            formats,
            workers,
            timeout,
            dask_address=dask_address,
            progress=not quiet,
            engines=engines,
            as_of=day,
            server=server,
            full_ocr=full_ocr,
        )
    except Exception as exc:  # Prefect itself failed (server, cluster): nothing was summarised
        error = f"{type(exc).__name__}: {exc}"
        log.error(f"批量检查未能完成：{error}", extra={"event": "batch_failed", "error": error})
        return ExitCode.INCOMPLETE
    finally:
        engines.close()
    failed = [row["id"] for row in rows if row["verdict"] == "failed"]
    summary = target / "summary.json"
    # Said once for the round: the regulation applied was not in force on the check date (or --as-of).
    note = rules.validity_note(day or dt.date.today())
    log.info(
        f"汇总：{summary}、{target / 'summary.xlsx'}" + (f"；{note}" if note else ""),
        extra={
            "event": "batch_finished",
            "dossiers": len(rows),
            "failed": failed,
            "summary": str(summary),
            "ruleset_note": note,
        },
    )
    return ExitCode.INCOMPLETE if failed else ExitCode.OK


@app.command(help="监视收件箱：新到且已稳定的材料包自动检查")
@_exits
def watch(
    inbox: Annotated[
        str,
        typer.Argument(
            metavar="INBOX",
            help="收件箱目录：每个直接子项（文件夹、zip、单个文件）是一个申报材料包",
            show_default=False,
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out", help="输出目录：<材料包>/report.*、summary.json/.xlsx、registry.sqlite3", show_default=False
        ),
    ],
    once: Annotated[bool, typer.Option("--once", help="处理当前已有的材料包后退出（不等待稳定）")] = False,
    settle: Annotated[
        float, typer.Option("--settle", help="材料包大小和修改时间保持不变多少秒后才读取（默认 5）")
    ] = 5.0,
    rescan: Annotated[float, typer.Option("--rescan", help="每隔多少秒全盘扫描一次收件箱（默认 30）")] = 30.0,
    polling: Annotated[bool, typer.Option("--polling", help="用轮询代替文件系统事件（网络共享目录）")] = False,
    format_: Formats = FORMATS_DEFAULT,
    ruleset: RulesetOption = DEFAULT_RULESET,
    workers: Annotated[int, typer.Option("--workers", help="并行读取文件的进程数")] = default_workers(),
    timeout: Timeout = DEFAULT_TIMEOUT,
    full_ocr: FullOcr = False,
) -> ExitCode:
    formats = _formats(format_)
    _check_pool(workers, timeout)
    if settle < 0 or rescan <= 0:
        raise UsageError("--settle 不能为负数，--rescan 必须大于 0")
    _logging()
    from flows import Refused
    from flows.watch import watch as watch_inbox

    try:
        watch_inbox(
            Path(inbox),
            Path(out),
            once=once,
            settle=settle,
            rescan=rescan,
            polling=polling,
            formats=formats,
            ruleset=ruleset,
            workers=workers,
            timeout=timeout,
            full_ocr=full_ocr,
        )
    except Refused as exc:
        raise UsageError(str(exc)) from exc
    # A first Ctrl-C or SIGTERM stops it after the dossier in hand (exit 0); a second one interrupts that
    # dossier (exit 130), which is checked again at the next start.
    return ExitCode.OK


@app.command(
    help="在 Prefect 服务器上注册 check_dossiers 部署并执行其运行，直到停止（需先设置 PREFECT_API_URL，见 flows/SERVER.md）",
    short_help="从 Prefect 服务器提供批量检查（见 flows/SERVER.md）",
)
@_exits
def serve(
    name: Annotated[str, typer.Option("--name", help="部署名称")] = "dossier-check",
    inbox: Annotated[
        str | None, typer.Option("--inbox", help="运行表单中默认的收件目录（每次运行可另填）", show_default=False)
    ] = None,
    out: Annotated[str | None, typer.Option("--out", help="运行表单中默认的输出目录", show_default=False)] = None,
    cron: Annotated[
        str | None, typer.Option("--cron", help="另按计划检查收件目录，如 '0 18 * * 1-5'", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="同时运行的批次数（默认 1：一个批次已用满所有 CPU 核）")] = 1,
) -> ExitCode:
    _logging()
    from flows import Refused
    from flows.serve import serve as serve_flow

    try:
        serve_flow(name=name, inbox=inbox, out=out, cron=cron, limit=limit)
    except Refused as exc:
        raise UsageError(str(exc)) from exc
    return ExitCode.OK


# ---------------------------------------------------------------------------------------------------
# demo, seals, schema
# ---------------------------------------------------------------------------------------------------


@app.command(help="检查自带的示例申报材料")
@_exits
def demo(out: Annotated[str, typer.Option("--out", help="输出目录")] = "out/demo") -> ExitCode:
    if not SAMPLES.is_dir():
        raise UsageError(f"找不到示例申报材料：{SAMPLES}（请先运行 make fixtures）")
    target = Path(out)
    rules = _ruleset(DEFAULT_RULESET)
    _logging()
    print(f"示例申报材料：{SAMPLES}", flush=True)
    from pipeline.batch import run_batch

    formats = [f.value for f in DEMO_FORMATS]
    rows, _ = run_batch(SAMPLES, target, rules, formats, default_workers(), DEFAULT_TIMEOUT)
    complete = sum(1 for r in rows if r["verdict"] == "complete")
    print(f"\n共 {len(rows)} 个申报材料包：{complete} 个齐全，{len(rows) - complete} 个需补正或处理失败。")
    print(f"每个材料包的报告：{target}/<材料包>/report.html")
    print(f"汇总表：{target / 'summary.xlsx'}（{target / 'summary.json'}）")
    print(f"在浏览器中查看与人工确认：dossier web {target}（然后打开 http://127.0.0.1:{DEFAULT_PORT}/）")
    return ExitCode.OK


@app.command(help=SEALS_HELP, short_help="查找文件每一页上的公章，输出 JSON")
@_exits
def seals(
    files: Annotated[
        list[str],
        typer.Argument(metavar="FILE…", help="PDF、图片（JPG/PNG/TIFF/BMP）或 Word（.docx）文件", show_default=False),
    ],
    workers: Annotated[int, typer.Option("--workers", help="并行处理的进程数（默认：CPU 核数）")] = default_workers(),
    timeout: Annotated[float, typer.Option("--timeout", help="单页（或单个文件）的处理时限（秒）")] = DEFAULT_TIMEOUT,
) -> ExitCode:
    paths = [Path(p) for p in files]
    for path in paths:
        if not path.exists():
            raise UsageError(f"找不到文件：{path}")
        if not path.is_file():
            raise UsageError(f"不是文件：{path}（请给出 PDF、图片或 Word 文件）")
    _check_pool(workers, timeout)
    from extractors.seal import seal_report

    with ExtractionPool(workers=workers, timeout=timeout).warm() as pool:
        reports = seal_report(paths, pool)
    print(json.dumps(reports[0] if len(reports) == 1 else reports, ensure_ascii=False, indent=2))
    return ExitCode.OK


@app.command(help="输出 report.json 的 JSON Schema")
@_exits
def schema() -> ExitCode:
    from pipeline.report import report_schema

    print(json.dumps(report_schema(), ensure_ascii=False, indent=2))
    return ExitCode.OK


# ---------------------------------------------------------------------------------------------------
# web, user: the clerk's desk
# ---------------------------------------------------------------------------------------------------

UsersOption = Annotated[
    str | None,
    typer.Option("--users", help="用户文件（默认 OUT/.web/users.json）", show_default=False),
]


@app.command(help="办事员工作台：在浏览器中查看本轮预审结果、上传材料、人工确认、生成补正通知")
@_exits
def web(
    out: Annotated[
        str, typer.Argument(metavar="OUT", help="dossier batch 或 dossier watch 的输出目录", show_default=False)
    ],
    inbox: Annotated[
        str | None,
        typer.Option(
            "--inbox",
            help="收件箱目录：上传的材料放入这里，页面预览从这里读取原始材料（默认：汇总表记录的收件箱，不可上传）",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="监听地址；127.0.0.1 以外的地址需要登录")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口")] = DEFAULT_PORT,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", help="在本机（127.0.0.1）使用时记录的确认人（默认：当前系统用户名）", show_default=False
        ),
    ] = None,
    users: UsersOption = None,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", help="单个上传文件的大小上限（MB）")] = 200,
) -> ExitCode:
    from web import WebConfig, login_name
    from web.serve import CannotStart, check_config, serve, users_file

    config = WebConfig(
        out=Path(out),
        inbox=Path(inbox) if inbox else None,
        host=host,
        port=port,
        user=(user or "").strip() or login_name(),
        users_file=users_file(Path(out), users),
        max_upload_mb=max_upload_mb,
    )
    try:
        check_config(config)
        _logging()
        serve(config)
    except CannotStart as exc:
        raise UsageError(str(exc)) from exc
    return ExitCode.OK


user_app = typer.Typer(
    name="user",
    help="工作台的用户（在 127.0.0.1 以外的地址上使用工作台需要登录）",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(user_app)

UserOut = Annotated[str, typer.Argument(metavar="OUT", help="工作台所服务的输出目录", show_default=False)]


def _password(from_stdin: bool) -> str:
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码：")
    if getpass.getpass("再次输入密码：") != first:
        raise UsageError("两次输入的密码不一致")
    return first


@user_app.command("add", help="添加用户或为其设置新密码（密码以 scrypt 加盐散列保存）")
@_exits
def user_add(
    out: UserOut,
    name: Annotated[str, typer.Argument(metavar="NAME", help="用户名", show_default=False)],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="从标准输入读取密码（第一行），不提示")
    ] = False,
    users: UsersOption = None,
) -> ExitCode:
    from web.auth import UsersError, add_user, check_name
    from web.serve import users_file

    folder = Path(out)
    if not folder.is_dir():
        raise UsageError(f"找不到输出目录：{folder}")
    path = users_file(folder, users)
    try:
        check_name(name)
        new = add_user(path, name, _password(password_stdin))
    except UsersError as exc:
        raise UsageError(str(exc)) from exc
    print(terminal_safe(f"{'已添加用户' if new else '已更新密码'}：{name.strip()}（{path}）"))
    return ExitCode.OK


@user_app.command("list", help="列出用户")
@_exits
def user_list(out: UserOut, users: UsersOption = None) -> ExitCode:
    from web.auth import UsersError, load_users
    from web.serve import users_file

    folder = Path(out)
    if not folder.is_dir():
        raise UsageError(f"找不到输出目录：{folder}")
    try:
        found = load_users(users_file(folder, users))
    except UsersError as exc:
        raise UsageError(str(exc)) from exc
    for name, entry in sorted(found.items()):
        print(terminal_safe(f"{name}  {entry.get('changed', '')}"))
    if not found:
        print("（还没有用户）", file=sys.stderr)
    return ExitCode.OK


# ---------------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code."""
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(command.main(args=args, prog_name="dossier", standalone_mode=False) or 0)
    except click_errors.UsageError as exc:
        if isinstance(exc, click_errors.NoArgsIsHelpError) and exc.ctx is not None:
            print(exc.ctx.get_help(), file=sys.stderr)
        print(terminal_safe(f"错误：{usage_message(exc)}"), file=sys.stderr)
        where = exc.ctx.command_path if exc.ctx is not None else "dossier"
        print(f"（用法见 {where} --help）", file=sys.stderr)
        return ExitCode.USAGE
    except typer.Abort:  # input ended at a prompt (there is none today)
        print("已中断", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # the command says 已中断 and exits 130; exit handlers then clean up


def run() -> None:
    """The console script: `main()`, then a quick exit. Tearing the interpreter down module by module
    (spaCy, Prefect …) takes another 0.4–1.5 s after the reports are written; the exit handlers still
    run first (worker processes, the temporary Prefect server, logging, the scratch folder). SIGTERM ends
    the command as Ctrl-C does, through those handlers (the watch service sets its own). Tests call `main()`."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = main()
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the output piped into `head` or a closed pager: nothing left to say
        code = ExitCode.OK
    atexit._run_exitfuncs()  # CPython's own exit sequence, without the module teardown after it
    os._exit(code)


if __name__ == "__main__":
    run()
