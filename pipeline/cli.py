"""`dossier` command line (CONTRACT.md): check, batch, demo."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from extractors.sandbox import DEFAULT_TIMEOUT, ExtractionPool, default_workers

from .ruleset import DEFAULT_RULESET, Ruleset, RulesetError, load_ruleset

# The pipeline (jieba, python-docx …) is imported inside the commands, after the extraction
# workers have started warming up: `dossier check` stays well under two seconds.

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2
SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples" / "dossiers"
VERDICT_TEXT = {"complete": "材料齐全", "incomplete": "材料不齐全，需补正", "failed": "处理失败"}


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


def _summary_line(report: dict[str, Any]) -> str:
    counts = report["counts"]
    missing = [i["title"] for i in report["items"] if i["required"] and not i["present"]]
    line = (
        f"{report['dossier']['id']}：{VERDICT_TEXT[report['verdict']]}"
        f"（错误 {counts['error']}，提醒 {counts['warning']}）"
    )
    if missing:
        line += "；缺少：" + "、".join(missing)
    return line


def cmd_check(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"找不到申报材料：{path}")
    with ExtractionPool(workers=1, timeout=args.timeout).warm() as pool:
        formats = _formats(args.format)
        ruleset = _ruleset(args.ruleset)
        from .dossier import check_dossier, dossier_id, segmenter_for
        from .reports import write_reports

        segmenter_for(ruleset)  # starts loading jieba's dictionary now
        out = Path(args.out) if args.out else Path("dossier-reports") / dossier_id(path.name)
        checked = check_dossier(path, ruleset, pool)
    written = write_reports(checked.report, out, formats)
    print(_summary_line(checked.report))
    for finding in checked.report["findings"]:
        if finding["severity"] == "error":
            print(f"  - {finding['message']}")
    print("报告：" + "、".join(str(p) for p in written))
    return EXIT_OK if checked.report["verdict"] == "complete" else EXIT_INCOMPLETE


def dossiers_in(inbox: Path) -> list[tuple[str, Path]]:
    """Every direct child of INBOX with its dossier id; clashing ids get -2, -3 … (CONTRACT.md)."""
    from .dossier import dossier_id
    from .intake import is_junk

    children = sorted((p for p in inbox.iterdir() if not is_junk(p.name)), key=lambda p: p.name)
    seen: dict[str, int] = {}
    result: list[tuple[str, Path]] = []
    for child in children:
        base = dossier_id(child.name)
        seen[base] = seen.get(base, 0) + 1
        result.append((base if seen[base] == 1 else f"{base}-{seen[base]}", child))
    return result


def run_batch(
    inbox: Path,
    out: Path,
    ruleset: Ruleset,
    formats: Sequence[str],
    workers: int,
    timeout: float,
    quiet: bool = False,
) -> tuple[list[dict[str, Any]], bool]:
    """Check every dossier of INBOX in turn; returns the summary rows and whether all got a report."""
    from .dossier import check_dossier
    from .reports import failed_row, summary_row, write_reports, write_summary

    rows: list[dict[str, Any]] = []
    all_reported = True
    out.mkdir(parents=True, exist_ok=True)
    with ExtractionPool(workers=workers, timeout=timeout).warm() as pool:
        for ident, child in dossiers_in(inbox):
            started = time.perf_counter()
            try:
                checked = check_dossier(child, ruleset, pool, dossier_name=child.name)
                checked.report["dossier"]["id"] = ident
                write_reports(checked.report, out / ident, formats)
                rows.append(summary_row(checked.report, ident))
                line = _summary_line(checked.report)
            except Exception as exc:  # one dossier's failure must not stop the batch
                all_reported = False
                reason = f"处理失败：{type(exc).__name__}: {exc}"
                (out / ident).mkdir(parents=True, exist_ok=True)
                (out / ident / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
                rows.append(failed_row(ident, child.name, reason))
                line = f"{ident}：{reason}"
            if not quiet:
                print(f"{line}  [{time.perf_counter() - started:.1f} 秒]", flush=True)
    write_summary(rows, out)
    return rows, all_reported


def cmd_batch(args: argparse.Namespace) -> int:
    inbox = Path(args.inbox)
    if not inbox.is_dir():
        raise UsageError(f"找不到申报材料目录：{inbox}")
    formats = _formats(args.format)
    ruleset = _ruleset(args.ruleset)
    out = Path(args.out)
    _, all_reported = run_batch(inbox, out, ruleset, formats, args.workers, args.timeout, quiet=args.quiet)
    print(f"汇总：{out / 'summary.json'}、{out / 'summary.xlsx'}")
    return EXIT_OK if all_reported else EXIT_INCOMPLETE


def cmd_demo(args: argparse.Namespace) -> int:
    if not SAMPLES.is_dir():
        raise UsageError(f"找不到示例申报材料：{SAMPLES}（请先运行 make fixtures）")
    out = Path(args.out)
    ruleset = _ruleset(DEFAULT_RULESET)
    print(f"示例申报材料：{SAMPLES}")
    rows, _ = run_batch(SAMPLES, out, ruleset, ["json", "html", "md"], default_workers(), DEFAULT_TIMEOUT)
    complete = sum(1 for r in rows if r["verdict"] == "complete")
    print(f"\n共 {len(rows)} 个申报材料包：{complete} 个齐全，{len(rows) - complete} 个需补正或处理失败。")
    print(f"每个材料包的报告：{out}/<材料包>/report.html")
    print(f"汇总表：{out / 'summary.xlsx'}（{out / 'summary.json'}）")
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dossier", description="山东省特色产业集群申报材料完整性预审")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="检查一个申报材料包（文件夹、zip 或单个 PDF/Word 文件）")
    check.add_argument("path")
    check.add_argument("--out", help="报告目录（默认 dossier-reports/<材料包>）")
    check.add_argument("--format", default="json,html", help="报告格式，逗号分隔：json,html,md,docx")
    check.add_argument("--ruleset", default=DEFAULT_RULESET, help="规则集编号或 YAML 文件路径")
    check.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="单个文件的读取时限（秒）")
    check.set_defaults(run=cmd_check)

    batch = sub.add_parser("batch", help="逐个检查目录下的每个申报材料包")
    batch.add_argument("inbox")
    batch.add_argument("--out", required=True)
    batch.add_argument("--workers", type=int, default=default_workers(), help="并行读取文件的进程数")
    batch.add_argument("--format", default="json,html", help="报告格式，逗号分隔：json,html,md,docx")
    batch.add_argument("--ruleset", default=DEFAULT_RULESET)
    batch.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    batch.add_argument("--quiet", action="store_true", help="不逐个打印结果")
    batch.set_defaults(run=cmd_batch)

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
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
