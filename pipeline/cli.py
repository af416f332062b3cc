"""`dossier` command line (CONTRACT.md): check, batch, demo."""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from core.names import terminal_safe
from extractors.sandbox import DEFAULT_TIMEOUT, ExtractionPool, default_workers

from .ruleset import DEFAULT_RULESET, Ruleset, RulesetError, load_ruleset

# The pipeline (jieba, python-docx …) is imported inside the commands, after the extraction
# workers have started warming up: `dossier check` stays well under two seconds.

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2
SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples" / "dossiers"


class UsageError(Exception):
    """Bad arguments: exit code 2 with a message for people."""


def _formats(value: str) -> list[str]:
    from .reports import FORMATS

    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"不支持的报告格式：{','.join(unknown) or value}（可选：{','.join(FORMATS)}）")
    return formats


def _ruleset(value: str) -> Ruleset:
    try:
        return load_ruleset(value)
    except RulesetError as exc:
        raise UsageError(str(exc)) from exc


def cmd_check(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"找不到申报材料：{path}")
    from .intake import NotADossier, require_readable_kind

    try:
        require_readable_kind(path)
    except NotADossier as exc:
        raise UsageError(f"{exc}：{path}") from exc
    # Every worker starts at once (forked from one fork server, the second costs little): the seal search
    # and the form's tables use them all right after the files are read, as scanned pages do.
    with ExtractionPool(workers=args.workers, timeout=args.timeout).warm() as pool:
        formats = _formats(args.format)
        ruleset = _ruleset(args.ruleset)
        from .batch import summary_line
        from .dossier import check_dossier, dossier_id, segmenter_for, write_outputs
        from .evidence import preload

        segmenter_for(ruleset)  # starts loading jieba's dictionary now
        preload()  # and spaCy's evidence pipeline, both while the files are read
        out = Path(args.out) if args.out else Path("dossier-reports") / dossier_id(path.name)
        checked = check_dossier(path, ruleset, pool)
    written = write_outputs(checked, out, formats)
    print(summary_line(checked.report))  # terminal-safe, as every line printed here
    for finding in checked.report["findings"]:
        if finding["severity"] == "error":
            print(terminal_safe(f"  - {finding['message']}"))
    print("报告：" + "、".join(str(p) for p in written))
    return EXIT_OK if checked.report["verdict"] == "complete" else EXIT_INCOMPLETE


def cmd_batch(args: argparse.Namespace) -> int:
    inbox = Path(args.inbox)
    if not inbox.is_dir():
        raise UsageError(f"找不到申报材料目录：{inbox}")
    formats = _formats(args.format)
    _ruleset(args.ruleset)  # a bad ruleset is exit 2 before Prefect starts; the flow loads it itself
    out = Path(args.out)
    from flows.server import start_server

    start_server()  # Prefect's temporary server starts while Prefect and the pipeline load
    if not args.dask_address:  # the workers and jieba load meanwhile too (Dask workers have their own)
        from .runner import resolve_ruleset, ruleset_for, shared_pool

        shared_pool(args.workers, args.timeout)
        ruleset_for(resolve_ruleset(args.ruleset))
    from flows.check import dask_address_problem, run_check_dossiers

    if args.dask_address and (problem := dask_address_problem(args.dask_address)):
        raise UsageError(problem)
    try:
        rows = run_check_dossiers(
            inbox,
            out,
            args.ruleset,
            formats,
            args.workers,
            args.timeout,
            dask_address=args.dask_address,
            progress=not args.quiet,
        )
    except Exception as exc:  # Prefect itself failed (server, cluster): nothing was summarised
        print(terminal_safe(f"批量检查未能完成：{type(exc).__name__}: {exc}"), file=sys.stderr)
        return EXIT_INCOMPLETE
    print(f"汇总：{out / 'summary.json'}、{out / 'summary.xlsx'}")
    return EXIT_OK if all(row["verdict"] != "failed" for row in rows) else EXIT_INCOMPLETE


def cmd_demo(args: argparse.Namespace) -> int:
    if not SAMPLES.is_dir():
        raise UsageError(f"找不到示例申报材料：{SAMPLES}（请先运行 make fixtures）")
    out = Path(args.out)
    ruleset = _ruleset(DEFAULT_RULESET)
    print(f"示例申报材料：{SAMPLES}")
    from .batch import run_batch

    rows, _ = run_batch(SAMPLES, out, ruleset, ["json", "html", "md"], default_workers(), DEFAULT_TIMEOUT)
    complete = sum(1 for r in rows if r["verdict"] == "complete")
    print(f"\n共 {len(rows)} 个申报材料包：{complete} 个齐全，{len(rows) - complete} 个需补正或处理失败。")
    print(f"每个材料包的报告：{out}/<材料包>/report.html")
    print(f"汇总表：{out / 'summary.xlsx'}（{out / 'summary.json'}）")
    return EXIT_OK


def cmd_seals(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.files]
    for path in paths:
        if not path.exists():
            raise UsageError(f"找不到文件：{path}")
        if not path.is_file():
            raise UsageError(f"不是文件：{path}（请给出 PDF、图片或 Word 文件）")
    if args.workers < 1 or args.timeout <= 0:
        raise UsageError("--workers 至少为 1，--timeout 须大于 0")
    import json

    from extractors.seal import seal_report

    with ExtractionPool(workers=args.workers, timeout=args.timeout).warm() as pool:
        reports = seal_report(paths, pool)
    print(json.dumps(reports[0] if len(reports) == 1 else reports, ensure_ascii=False, indent=2))
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dossier", description="山东省特色产业集群申报材料完整性预审")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="检查一个申报材料包（文件夹、zip 或单个 PDF/Word 文件）")
    check.add_argument("path")
    check.add_argument("--out", help="报告目录（默认 dossier-reports/<材料包>）")
    check.add_argument("--format", default="json,html", help="报告格式，逗号分隔：json,html,md,docx")
    check.add_argument("--ruleset", default=DEFAULT_RULESET, help="规则集编号或 YAML 文件路径")
    check.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="单个文件或扫描页的处理时限（秒）")
    check.add_argument(
        "--workers", type=int, default=default_workers(), help="并行处理扫描页的进程数（默认：CPU 核数）"
    )
    check.set_defaults(run=cmd_check)

    batch = sub.add_parser("batch", help="逐个检查目录下的每个申报材料包")
    batch.add_argument("inbox")
    batch.add_argument("--out", required=True)
    batch.add_argument("--workers", type=int, default=default_workers(), help="并行读取文件的进程数")
    batch.add_argument("--format", default="json,html", help="报告格式，逗号分隔：json,html,md,docx")
    batch.add_argument("--ruleset", default=DEFAULT_RULESET)
    batch.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    batch.add_argument("--quiet", action="store_true", help="不逐个打印结果")
    batch.add_argument(
        "--dask-address", help="在 Dask 集群上检查（调度器地址，如 tcp://10.0.0.5:8786）；默认在本机多线程检查"
    )
    batch.set_defaults(run=cmd_batch)

    seals = sub.add_parser(
        "seals",
        help="查找文件每一页上的公章，输出 JSON",
        description=(
            "查找公章（红色圆形、椭圆形印章）：PDF 的每一页、图片文件的每一页（含多页 TIFF）、Word（.docx）中的每张图片。"
            "输出 JSON：一个文件输出一个对象，多个文件输出列表；"
            '{"file": …, "pages": [{"page": 1, "seals": [{"box": [x0, y0, x1, y1], "score": 0.93, "shape": "round"}]}]}。'
            "box 以左上角为原点：PDF 为该页的点（pt，1/72 英寸），图片文件为其像素；"
            "Word 中的图片：page 为 null，picture 为该图片在正文中的顺序（从 0 起，与 Word 正文中图片出现的先后一致），"
            "box 为该图片自身的像素。shape 为 round（圆形）或 oval（椭圆形）。"
            '无法读取的文件给出 {"file": …, "error": "原因"}。退出码：0；参数错误或文件不存在为 2。'
        ),
    )
    seals.add_argument("files", nargs="+", metavar="FILE", help="PDF、图片（JPG/PNG/TIFF/BMP）或 Word（.docx）文件")
    seals.add_argument("--workers", type=int, default=default_workers(), help="并行处理的进程数（默认：CPU 核数）")
    seals.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="单页（或单个文件）的处理时限（秒）")
    seals.set_defaults(run=cmd_seals)

    from flows.watch import add_watch_parser

    add_watch_parser(sub)

    demo = sub.add_parser("demo", help="检查自带的示例申报材料")
    demo.add_argument("--out", default="out/demo")
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exc.code or 0)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(terminal_safe(f"错误：{exc}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # main() says 已中断 and returns 130; exit handlers then clean up


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
        code = EXIT_OK
    atexit._run_exitfuncs()  # CPython's own exit sequence, without the module teardown after it
    os._exit(code)


if __name__ == "__main__":
    run()
