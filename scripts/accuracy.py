"""Accuracy of the pipeline on varied dossiers (fixtures.vary): generate, check, score.

``python -m scripts.accuracy [--count 200] [--seed 1] [--out out/accuracy] [--workers 2] [--keep] [--check]``

Generates ``--count`` dossiers into OUT (reused when seed, count and generator version match), runs the real
pipeline on them in-process (``pipeline.batch.run_batch``), compares every ``report.json`` with the truth and
prints a markdown table; writes ``OUT/score.json`` (every figure) and ``OUT/mistakes.md`` (every wrong thing,
dossier by dossier, with the report's locations and findings, and which axes the mistakes concentrate on).
``--check`` exits 1 when a figure is below what is needed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fixtures.forms import FIELDS
from fixtures.forms import NUMERIC_FIELDS as NUMERIC
from fixtures.model import ITEM_IDS as ITEMS
from fixtures.model import REQUIRED_ITEMS as REQUIRED

CONDITIONS = ("area_max", "enterprise_min", "revenue_min")
PACKAGINGS = ("folder", "zip", "zip-gbk", "bound-pdf", "bound-docx", "mixed")
LIMIT = 3000

# measure → share needed (1.0: all)
NEEDED: dict[str, float] = {
    "items": 0.995,
    "missing": 1.0,
    "verdict": 0.98,
    "oversize": 1.0,
    "count": 1.0,
    "seal": 0.99,
    "fields": 0.98,
    "conditions": 0.98,
    "packaging": 0.995,
}


@dataclass
class DossierScore:
    id: str
    packaging: str
    reported: bool
    items_right: int = 0
    items_total: int = 0
    missing_caught: int = 0
    missing_total: int = 0
    verdict_right: bool = False
    oversize_right: bool | None = None
    count_exact: bool | None = None
    seal_right: bool | None = None
    fields_right: dict[str, bool] = field(default_factory=dict)
    conditions_right: dict[str, bool] = field(default_factory=dict)
    wrongly_complete: bool = False
    complete_review: bool = False
    seconds: float | None = None
    mistakes: list[str] = field(default_factory=list)
    wrong_kinds: list[str] = field(default_factory=list)


def norm_text(v: object) -> str:
    return "".join(unicodedata.normalize("NFKC", str(v)).split())


def same_value(field_id: str, want: object, got: object) -> bool:
    if want is None or got is None:
        return want is None and got is None
    if field_id in NUMERIC:
        try:
            w, g = float(want), float(got)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return abs(w - g) <= 0.001 * max(abs(w), 1e-9)
    return norm_text(want) == norm_text(got)


def _findings(report: dict[str, Any], item: str | None = None) -> list[dict[str, Any]]:
    return [f for f in report.get("findings", []) if item is None or f.get("item") == item]


def _where(locs: Sequence[dict[str, Any]]) -> str:
    return (
        "; ".join(
            f"{loc.get('file')} p{loc.get('pages')}" if loc.get("pages") else str(loc.get("file")) for loc in locs
        )
        or "—"
    )


def score_dossier(truth: dict[str, Any], report: dict[str, Any] | None) -> DossierScore:
    """Compare one dossier's truth (fixtures.vary truth.json entry) with its report.json (None: no report)."""
    source = str(truth["source"])
    s = DossierScore(
        source[:-4] if source.lower().endswith(".zip") else source, str(truth["packaging"]), report is not None
    )
    rep_items = {i["id"]: i for i in (report or {}).get("items", [])}
    if report is None:
        s.mistakes.append("no report (the dossier could not be checked)")
        s.wrong_kinds.append("no-report")
    codes = {f"{f['code']}:{f['item']}" if f.get("item") else f["code"] for f in _findings(report or {})}
    # items present / absent
    for item in ITEMS:
        want = truth["items"][item]
        got = rep_items.get(item, {})
        present = bool(got.get("present"))
        s.items_total += 1
        if present == want["present"]:
            s.items_right += 1
        else:
            s.wrong_kinds.append(f"item:{item}")
            msgs = [f["message"] for f in _findings(report or {}, item)]
            s.mistakes.append(
                f"{item}: truth {'present' if want['present'] else 'absent'}"
                + (" (empty)" if want.get("empty") else "")
                + (f" in {_where(want['locations'])}" if want["present"] else "")
                + f"; report {'present' if present else 'absent'}"
                + (f" at {_where(got.get('locations', []))} (confidence {got.get('confidence')})" if present else "")
                + (f"; findings: {' | '.join(msgs)}" if msgs else "")
            )
        if item in REQUIRED and not want["present"]:
            s.missing_total += 1
            s.missing_caught += int(not present)
    # verdict
    want_v = truth["verdict"]
    got_v = (report or {}).get("verdict")
    s.verdict_right = got_v == want_v
    if not s.verdict_right:
        s.wrong_kinds.append("verdict")
        errs = sorted(
            f"{f['code']}:{f.get('item') or ''}".rstrip(":")
            for f in _findings(report or {})
            if f.get("severity") == "error"
        )
        s.mistakes.append(f"verdict: truth {want_v} {truth['expected_errors']}; report {got_v} {errs}")
    s.wrongly_complete = want_v == "incomplete" and got_v == "complete"
    if got_v == "complete":
        s.complete_review = any(f["code"] == "LOW_CONFIDENCE" for f in _findings(report or {}))
    # introduction
    intro = truth.get("introduction")
    if intro is not None:
        wc = int(intro["word_count"])
        flagged = "ITEM_OVERSIZED:introduction" in codes
        s.oversize_right = flagged == (wc > LIMIT)
        got_intro = rep_items.get("introduction", {})
        got_wc = (got_intro.get("metrics") or {}).get("word_count") if got_intro.get("present") else None
        if not s.oversize_right:
            s.wrong_kinds.append("oversize")
            s.mistakes.append(
                f"introduction over 3000: truth {wc} 字, report {got_wc} ({'flagged' if flagged else 'not flagged'})"
            )
        if intro.get("text_layer") and not truth["items"]["introduction"].get("empty"):
            s.count_exact = got_wc == wc
            if not s.count_exact:
                s.wrong_kinds.append("count")
                s.mistakes.append(
                    f"introduction 字 count: truth {wc}, report {got_wc} (diff {None if got_wc is None else got_wc - wc}) "
                    f"truth at {_where(truth['items']['introduction']['locations'])}, report at {_where(got_intro.get('locations', []))}"
                )
    # declaration seal
    decl = truth.get("declaration")
    if decl is not None:
        seal = rep_items.get("authenticity_declaration", {}).get("seal") or {}
        detected = seal.get("detected") is True
        s.seal_right = detected == bool(decl["sealed"])
        if not s.seal_right:
            s.wrong_kinds.append("seal")
            s.mistakes.append(
                f"seal: truth {'sealed' if decl['sealed'] else 'unsealed'} ({truth['axes'].get('seal_method')}, decoys "
                f"{truth['axes'].get('decoys')}), report detected={seal.get('detected')} page {seal.get('page')} score "
                f"{seal.get('score')} checked {seal.get('checked')}"
            )
    # form fields and conditions
    want_fields = truth.get("fields")
    if want_fields is not None:
        got_fields = (report or {}).get("fields") or {}
        form_rows = {norm_text(r.get("label", "")): r for r in (report or {}).get("form", []) if isinstance(r, dict)}
        for f in FIELDS:
            ok = same_value(f, want_fields.get(f), got_fields.get(f))
            s.fields_right[f] = ok
            if not ok:
                s.wrong_kinds.append(f"field:{f}")
                cell = (truth["axes"].get("form_cells") or {}).get(f)
                written = (
                    f" (form cell {cell[0]!r} = {cell[1]!r}, {truth['axes'].get('formats', {}).get('application_form', truth['packaging'])})"
                    if cell
                    else ""
                )
                s.mistakes.append(f"field {f}: truth {want_fields.get(f)!r}, report {got_fields.get(f)!r}{written}")
        del form_rows
    want_cond = truth.get("conditions")
    if want_cond is not None:
        got_cond = {c["id"]: c.get("status") for c in (report or {}).get("conditions", [])}
        for cid in CONDITIONS:
            ok = got_cond.get(cid) == want_cond[cid]
            s.conditions_right[cid] = ok
            if not ok:
                s.wrong_kinds.append(f"condition:{cid}")
                s.mistakes.append(f"condition {cid}: truth {want_cond[cid]}, report {got_cond.get(cid)}")
    if report is not None:
        s.seconds = report.get("elapsed_seconds")
    return s


# --------------------------------------------------------------------------------------------------
# figures and the table
# --------------------------------------------------------------------------------------------------


def _ratio(k: int, n: int) -> float | None:
    return k / n if n else None


def figures(scores: Sequence[DossierScore]) -> dict[str, Any]:
    """Every figure of the table (and more) as a dict: measure → {right, total, share, needed}."""
    out: dict[str, Any] = {}

    def put(key: str, right: int, total: int, needed: float | None) -> None:
        out[key] = {"right": right, "total": total, "share": _ratio(right, total), "needed": needed}

    put("items", sum(s.items_right for s in scores), sum(s.items_total for s in scores), NEEDED["items"])
    put("missing", sum(s.missing_caught for s in scores), sum(s.missing_total for s in scores), NEEDED["missing"])
    put("verdict", sum(s.verdict_right for s in scores), len(scores), NEEDED["verdict"])
    ov = [s.oversize_right for s in scores if s.oversize_right is not None]
    put("oversize", sum(ov), len(ov), NEEDED["oversize"])
    ce = [s.count_exact for s in scores if s.count_exact is not None]
    put("count", sum(ce), len(ce), NEEDED["count"])
    se = [s.seal_right for s in scores if s.seal_right is not None]
    put("seal", sum(se), len(se), NEEDED["seal"])
    fr = [v for s in scores for v in s.fields_right.values()]
    put("fields", sum(fr), len(fr), NEEDED["fields"])
    for f in FIELDS:
        vals = [s.fields_right[f] for s in scores if f in s.fields_right]
        put(f"field:{f}", sum(vals), len(vals), None)
    cr = [v for s in scores for v in s.conditions_right.values()]
    put("conditions", sum(cr), len(cr), NEEDED["conditions"])
    for p in PACKAGINGS:
        ps = [s for s in scores if s.packaging == p]
        if ps:
            put(f"packaging:{p}", sum(s.items_right for s in ps), sum(s.items_total for s in ps), NEEDED["packaging"])
    out["wrongly_complete"] = sum(s.wrongly_complete for s in scores)
    out["complete_review"] = sum(s.complete_review for s in scores)
    out["no_report"] = sum(not s.reported for s in scores)
    secs = [s.seconds for s in scores if s.seconds is not None]
    out["mean_seconds"] = sum(secs) / len(secs) if secs else None
    out["dossiers"] = len(scores)
    return out


def below(figs: dict[str, Any]) -> list[str]:
    """Measures whose share is below what is needed."""
    bad = []
    for key, v in figs.items():
        if isinstance(v, dict) and v.get("needed") is not None and v["total"] and v["share"] + 1e-12 < v["needed"]:
            bad.append(key)
    if figs.get("no_report"):
        bad.append("no_report")
    return bad


def _pct(v: dict[str, Any]) -> str:
    if v["share"] is None:
        return "—"
    shown = math.floor(1000 * v["share"] + 1e-9) / 10  # rounded down: 97.96 % shows as 97.9 %, not 98.0 %
    return f"{shown:.1f} % ({v['right']} of {v['total']})"


def _need(x: float | None) -> str:
    if x is None:
        return "—"
    return "all" if x >= 1.0 else f"≥ {100 * x:g} %"


ROWS: tuple[tuple[str, str], ...] = (
    ("items", "items right (present/absent, 8 per dossier)"),
    ("missing", "truly missing required items reported missing"),
    ("verdict", "verdict right (齐全 / 需补正)"),
    ("oversize", "introduction over 3000 字 flagged right"),
    ("count", "introduction 字 count exact (text-layer introductions)"),
    ("seal", "declaration seal right (dossiers with a declaration)"),
    ("fields", "form fields right (per field)"),
    *((f"field:{f}", f"  – {f}") for f in FIELDS),
    ("conditions", "Art. 4 conditions right (per condition)"),
    *((f"packaging:{p}", f"items right: {p}") for p in PACKAGINGS),
)


def table(scores: Sequence[DossierScore]) -> str:
    figs = figures(scores)
    lines = ["| measure | result | needed |", "| --- | --- | --- |"]
    for key, label in ROWS:
        if key not in figs:
            continue
        v = figs[key]
        result = f"{v['right']} of {v['total']}" if key in ("missing", "count") else _pct(v)
        flag = " **below**" if key in below(figs) else ""
        lines.append(f"| {label} | {result}{flag} | {_need(v['needed'])} |")
    n = figs["dossiers"]
    lines.append(f"| wrongly 材料齐全 (truth incomplete, reported complete) | {figs['wrongly_complete']} of {n} | — |")
    lines.append(f"| complete dossiers carrying LOW_CONFIDENCE (review) | {figs['complete_review']} | — |")
    lines.append(f"| dossiers without a report | {figs['no_report']} | 0 |")
    ms = figs["mean_seconds"]
    lines.append(f"| mean seconds per dossier | {'—' if ms is None else f'{ms:.1f} s'} | — |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# mistakes.md
# --------------------------------------------------------------------------------------------------


def _axis_values(axes: dict[str, Any]) -> dict[str, str]:
    """Axis → value as text; lists as JSON, ``formats`` one axis per item, other dicts left out."""
    out = {}
    for k, v in axes.items():
        if isinstance(v, dict):
            continue
        out[k] = json.dumps(v, ensure_ascii=False) if isinstance(v, list) else str(v)
    for item, fmt in (axes.get("formats") or {}).items():
        out[f"format:{item}"] = str(fmt)
    return out


def concentration(
    scores: Sequence[DossierScore], truths: dict[str, dict[str, Any]], kind_prefix: str = ""
) -> list[tuple[str, str, int, int, float]]:
    """(axis, value, dossiers with a mistake, dossiers, rate) for axis values over-represented among mistakes."""
    seen: Counter[tuple[str, str]] = Counter()
    bad: Counter[tuple[str, str]] = Counter()
    for s in scores:
        vals = _axis_values(truths[s.id]["axes"])
        wrong = any(k == kind_prefix or k.startswith(kind_prefix + ":") for k in s.wrong_kinds)
        for kv in vals.items():
            seen[kv] += 1
            bad[kv] += int(wrong)
    total_bad = sum(
        1 for s in scores if any(k == kind_prefix or k.startswith(kind_prefix + ":") for k in s.wrong_kinds)
    )
    base = total_bad / len(scores) if scores else 0
    rows = []
    for (axis, value), n in seen.items():
        if n >= 4 and bad[(axis, value)] >= 2:
            rate = bad[(axis, value)] / n
            if rate >= base * 2:
                rows.append((axis, value, bad[(axis, value)], n, rate))
    rows.sort(key=lambda r: (-r[4] * r[2], r[0]))
    return rows


def _labels(scores: Sequence[DossierScore], truths: dict[str, dict[str, Any]], field_id: str) -> list[str]:
    """For a form field: how often each label (and each way of writing the value) was read wrong."""
    seen: Counter[str] = Counter()
    bad: Counter[str] = Counter()
    for s in scores:
        if field_id not in s.fields_right:
            continue
        axes = truths[s.id]["axes"]
        cell = (axes.get("form_cells") or {}).get(field_id)
        style = {"area_km2": "form_area", "enterprise_count": "form_count", "annual_revenue_cny": "form_revenue"}
        keys = [f"label {cell[0]!r}" if cell else "label ?"]
        if field_id in style:
            keys.append(f"written {axes.get(style[field_id])}")
        if field_id == "region":
            keys.append(f"written {axes.get('form_region')}")
        fmt = (axes.get("formats") or {}).get("application_form") or axes.get("packaging")
        keys.append(f"form as {fmt}")
        for k in keys:
            seen[k] += 1
            bad[k] += int(not s.fields_right[field_id])
    rows = [(k, bad[k], n) for k, n in seen.items() if bad[k]]
    rows.sort(key=lambda r: (-r[1] / r[2], -r[1]))
    return [f"- {k}: {b} of {n} wrong" for k, b, n in rows[:12]]


def mistakes_md(scores: Sequence[DossierScore], truths: dict[str, dict[str, Any]]) -> str:
    out = ["# Mistakes", ""]
    kinds: Counter[str] = Counter(k for s in scores for k in s.wrong_kinds)
    out.append("## Most frequent kinds (dossiers)")
    out.append("")
    for k, n in kinds.most_common():
        out.append(f"- {k}: {n}")
    out.append("")
    out.append("## Where they concentrate (axis values with at least twice the overall rate of that kind)")
    for kind, _n in kinds.most_common(14):
        rows = concentration(scores, truths, kind)[:8]
        extra = _labels(scores, truths, kind.split(":", 1)[1]) if kind.startswith("field:") else []
        if not rows and not extra:
            continue
        out.append("")
        out.append(f"### {kind}")
        for axis, value, b, n, rate in rows:
            out.append(f"- `{axis}` = `{value}`: {b} of {n} ({100 * rate:.0f} %)")
        out.extend(extra)
    out.append("")
    out.append("## Dossier by dossier")
    for s in scores:
        if not s.mistakes:
            continue
        t = truths[s.id]
        out.append("")
        out.append(f"### {s.id}")
        out.append(
            f"packaging {s.packaging}, scanned pages {t['scanned_pages']}, truth {t['verdict']} {t['expected_errors']}"
        )
        ax = t["axes"]
        keys = (
            "title_numbering",
            "toc",
            "bound_maker",
            "docx_title",
            "docx_headings",
            "pdf_look",
            "covers",
            "page_numbering",
            "run_on",
            "formats",
            "missing",
            "empty",
            "seal_method",
            "decoys",
            "intro_numbering",
            "intro_words",
        )
        out.append("axes: " + ", ".join(f"{k}={json.dumps(ax[k], ensure_ascii=False)}" for k in keys if k in ax))
        out.extend(f"- {m}" for m in s.mistakes)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------------


def load_reports(reports: Path, truths: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
    out: dict[str, dict[str, Any] | None] = {}
    for did in truths:
        f = reports / did / "report.json"
        out[did] = json.loads(f.read_text(encoding="utf-8")) if f.exists() else None
    return out


def score_all(truths: dict[str, dict[str, Any]], reports: dict[str, dict[str, Any] | None]) -> list[DossierScore]:
    return [score_dossier(t, reports.get(did)) for did, t in truths.items()]


def ensure_generated(
    out: Path, count: int, seed: int, scan_share: float, max_pages: int
) -> tuple[dict[str, Any], float]:
    from fixtures.vary.dossier import Options
    from fixtures.vary.run import cache_key, generate

    opts = Options(scan_share, max_pages)
    f = out / "truth.json"
    if f.exists():
        doc = json.loads(f.read_text(encoding="utf-8"))
        if doc.get("key") == cache_key(seed, opts) and doc.get("count") == count:
            return doc, 0.0
    t0 = time.monotonic()
    doc = generate(out, count, seed, opts, log=lambda m: print(m, file=sys.stderr))
    return doc, time.monotonic() - t0


def run_pipeline(dossiers: Path, reports: Path, workers: int) -> float:
    from pipeline.batch import run_batch
    from pipeline.ruleset import load_ruleset

    if reports.exists():
        shutil.rmtree(reports)
    t0 = time.monotonic()
    run_batch(dossiers, reports, load_ruleset(), ["json"], workers, timeout=120, quiet=True)
    return time.monotonic() - t0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.accuracy", description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out/accuracy")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep everything the pipeline wrote (crops, summaries)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a figure is below what is needed")
    ap.add_argument("--score-only", action="store_true", help="score the reports already in OUT/reports")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="check the dossiers already in OUT as they are, even if the generator changed",
    )
    ap.add_argument("--scan-share", type=float, default=None, help="share of dossiers with scanned pages")
    ap.add_argument("--max-scanned-pages", type=int, default=None, help="per dossier; 0: text only")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DOSSIER_CACHE_DIR", str((out / "ocr-cache").resolve()))
    from fixtures.vary.dossier import Options

    share = Options.scan_share if args.scan_share is None else args.scan_share
    pages = Options.max_scanned_pages if args.max_scanned_pages is None else args.max_scanned_pages
    if args.score_only or args.reuse:  # the generation (and with --score-only the reports) already in OUT
        doc, gen_s = json.loads((out / "truth.json").read_text(encoding="utf-8")), 0.0
    else:
        doc, gen_s = ensure_generated(out, args.count, args.seed, share, pages)
    truths: dict[str, dict[str, Any]] = doc["dossiers"]
    reports_dir = out / "reports"
    check_s = 0.0
    if not args.score_only:
        check_s = run_pipeline(out / "dossiers", reports_dir, args.workers)
    scores = score_all(truths, load_reports(reports_dir, truths))
    figs = figures(scores)
    figs.update(
        {
            "seed": args.seed,
            "count": args.count,
            "generate_seconds": round(gen_s, 1),
            "check_seconds": round(check_s, 1),
        }
    )
    figs["scanned_pages"] = sum(int(t["scanned_pages"]) for t in truths.values())
    (out / "score.json").write_text(
        json.dumps({"figures": figs, "dossiers": [asdict(s) for s in scores]}, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    (out / "mistakes.md").write_text(mistakes_md(scores, truths), encoding="utf-8")
    if not args.keep and reports_dir.exists():
        for p in reports_dir.rglob("*"):
            if p.is_file() and p.name != "report.json":
                p.unlink()
    print(table(scores))
    print()
    print(
        f"{len(truths)} dossiers (seed {args.seed}, {figs['scanned_pages']} scanned pages): generated in {gen_s:.0f} s"
        f"{' (reused)' if not gen_s else ''}, checked in {check_s:.0f} s; {out / 'mistakes.md'}"
    )
    return 1 if args.check and below(figs) else 0


if __name__ == "__main__":
    sys.exit(main())
