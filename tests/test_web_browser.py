"""The clerk's desk in a real browser: Debian's headless Chromium driven by Playwright, against `dossier web`
running as a process over a round that the real batch made of bundled sample dossiers.

What the page shows is compared with the reports on disk (`OUT/<id>/report.json`), never with verdicts
written here. The upload test runs a second desk as a bureau runs it: `dossier watch` and `dossier web`
side by side over one inbox. With DOSSIER_SCREENSHOTS=1 (`make screenshots`) the round covers every
sample dossier and the screenshots for the README are written to docs/screenshots/.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pypdfium2 as pdfium
import pytest

from pipeline.batch import run_batch
from pipeline.ruleset import load_ruleset
from tests.conftest import SAMPLES, inbox_of
from tests.web_server import DOSSIER, ROOT, Watch, Web, browser_missing, child_env, wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

MISSING = browser_missing()
if MISSING:
    pytest.skip(f"浏览器测试跳过：{MISSING}", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402  (only once the browser is known to be there)

from tests.web_server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

SCREENSHOTS = os.environ.get("DOSSIER_SCREENSHOTS") == "1"
# A handful of samples: a folder whose declaration is a sealed PDF page, a GBK zip, a bound PDF, a folder
# with two items missing, one with a damaged file. The screenshots show the whole bundled round.
ROUND = (
    tuple(sorted(p.name for p in (SAMPLES / "dossiers").iterdir()))
    if SCREENSHOTS
    else (
        "01-临朐县铝型材加工",
        "03-泰安市岱岳区绿色建材.zip",
        "04-临朐县铝型材加工申报材料（合订本）.pdf",
        "08-临朐县铝型材加工-缺项",
        "14-临朐县铝型材加工-文件损坏",
    )
)
UPLOAD = SAMPLES / "dossiers" / "11-临朐县铝型材加工-简介2990字.zip"
CLERK = "王科员"
VERDICTS = re.compile(r"^(complete|incomplete)$")
SCREENSHOT_DIR = ROOT / "docs" / "screenshots"

expect.set_options(timeout=15_000)


@dataclass(frozen=True)
class Round:
    inbox: Path
    out: Path
    ids: tuple[str, ...]

    def report(self, ident: str) -> dict[str, Any]:
        return json.loads((self.out / ident / "report.json").read_text(encoding="utf-8"))


def final_verdict(report: dict[str, Any]) -> str:
    """The verdict after the clerk's decisions (the tool's own when there are none)."""
    return report["review"]["verdict"] if report.get("review") else report["verdict"]


def css(value: str) -> str:
    """A value for a quoted CSS attribute selector."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def row(page: Page, ident: str) -> Locator:
    return page.locator(f'table#round tr[data-id="{css(ident)}"]')


def shown_only_if(locator: Locator, shown: bool) -> None:
    if shown:
        expect(locator).to_be_visible()
    else:
        expect(locator).to_be_hidden()


def dossier_url(ident: str) -> str:
    return "/d/" + quote(ident, safe="")


# ---------------------------------------------------------------------------------------------------
# The round, the desk over it, the browser
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Round:
    """A real round: the batch over copies of the sample dossiers, reports as `dossier batch` writes them."""
    root = tmp_path_factory.mktemp("web-round")
    inbox, out = inbox_of(root, ROUND), root / "out"
    rows, all_reported = run_batch(inbox, out, load_ruleset(), ["json", "html"], workers=2, timeout=120, quiet=True)
    assert all_reported, [r for r in rows if r["verdict"] == "failed"]
    return Round(inbox, out, tuple(r["id"] for r in rows))


@pytest.fixture(scope="session")
def desk(round_: Round, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """`dossier web OUT --inbox INBOX` on 127.0.0.1 (no sign-in there); stopped with SIGTERM, exit 0."""
    web = Web(round_.out, round_.inbox, tmp_path_factory.mktemp("web-logs") / "web", "127.0.0.1", "--user", CLERK)
    yield web
    code = web.stop()
    assert code == 0, web.output()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (Playwright's own browsers are never downloaded)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, desk: Web) -> Iterator[Page]:
    context = browser.new_context(base_url=desk.url, locale="zh-CN", viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def sealed_declaration(round_: Round) -> tuple[str, int, int, dict[str, Any], Path]:
    """A dossier of the round whose declaration's seal was found on a page of a PDF that sits in the inbox as
    it is (a folder or a single file): its id, the file's index, the page, the seal, the PDF."""
    for ident in round_.ids:
        report = round_.report(ident)
        source = round_.inbox / report["dossier"]["source"]
        item = next(i for i in report["items"] if i["id"] == "authenticity_declaration")
        seal = item["seal"] or {}
        if not (seal.get("detected") and seal.get("page") and str(seal.get("file", "")).endswith(".pdf")):
            continue
        paths = [f["path"] for f in report["dossier"]["files"]]
        pdf = source / seal["file"] if source.is_dir() else source
        if pdf.is_file():
            return ident, paths.index(seal["file"]), int(seal["page"]), seal, pdf
    raise AssertionError("no dossier of the round has its declaration's seal found on a PDF page")


def open_seal_in_viewer(page: Page, round_: Round) -> tuple[dict[str, Any], Path, int]:
    """Open the dossier page of a sealed declaration and click its thumbnail; the seal, the PDF, the page."""
    ident, n, number, seal, pdf = sealed_declaration(round_)
    page.goto(dossier_url(ident))
    viewer = page.locator("#viewer")
    expect(viewer).to_be_hidden()
    thumb = page.locator(
        f'section.item[data-item="authenticity_declaration"] img.thumb[data-file="{n}"][data-page="{number}"]'
    )
    expect(thumb).to_be_visible()
    thumb.scroll_into_view_if_needed()
    thumb.click()
    expect(viewer).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('#viewer img#viewer-page');"
        " return i !== null && i.complete && i.naturalWidth > 0; }"
    )
    return seal, pdf, number


# ---------------------------------------------------------------------------------------------------
# The round page
# ---------------------------------------------------------------------------------------------------


def test_round_lists_the_dossiers_with_their_verdicts(page: Page, round_: Round) -> None:
    page.goto("/")
    expect(page.locator("meta[name=csrf-token]")).to_have_count(1)
    expect(page.locator("#user")).to_contain_text(CLERK)
    rows = page.locator("table#round tr[data-id]")
    expect(rows).to_have_count(len(round_.ids))
    finals: dict[str, str] = {}
    for ident in round_.ids:
        report = round_.report(ident)
        finals[ident] = final_verdict(report)
        line = row(page, ident)
        expect(line).to_have_attribute("data-verdict", report["verdict"])
        expect(line).to_have_attribute("data-final", finals[ident])
        expect(line.locator("td.verdict")).not_to_be_empty()
        expect(line.locator("a.dossier-link")).to_have_attribute("href", re.compile(re.escape(dossier_url(ident))))
    counts = page.locator("#counts")
    expect(counts.locator('[data-count="total"]')).to_have_text(re.compile(rf"(?<!\d){len(round_.ids)}(?!\d)"))
    for verdict in ("complete", "incomplete"):
        number = sum(1 for v in finals.values() if v == verdict)
        expect(counts.locator(f'[data-count="{verdict}"]')).to_have_text(re.compile(rf"(?<!\d){number}(?!\d)"))

    # The verdict filter leaves the incomplete ones; the search, the one named.
    page.locator("select#filter-verdict").select_option("incomplete")
    for ident, verdict in finals.items():
        shown_only_if(row(page, ident), verdict == "incomplete")
    page.locator("select#filter-verdict").select_option("")
    wanted = next(i for i in round_.ids if i.startswith("08-"))
    page.locator("input#search").fill("缺项")
    for ident in round_.ids:
        shown_only_if(row(page, ident), ident == wanted)

    page.locator("input#search").fill("")

    # Every dossier of a batch is checked: the state filter "queued" hides them all, "done" shows them all.
    state = page.locator("select#filter-state")
    state.select_option("queued")
    expect(page.locator("table#round tr[data-id]:visible")).to_have_count(0)
    state.select_option("done")
    expect(page.locator("table#round tr[data-id]:visible")).to_have_count(len(round_.ids))
    state.select_option("")

    # Sorting by name: ascending, then (clicked again) descending.
    header = page.locator('table#round th[data-sort="id"]')
    shown = page.locator("table#round tr[data-id]")
    header.click()
    assert shown.evaluate_all("rows => rows.map(r => r.dataset.id)") == sorted(round_.ids)
    header.click()
    assert shown.evaluate_all("rows => rows.map(r => r.dataset.id)") == sorted(round_.ids, reverse=True)

    # The link opens the dossier, its verdict as its report has it.
    row(page, wanted).locator("a.dossier-link").click()
    expect(page.locator("#verdict")).to_have_attribute("data-final", finals[wanted])
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", round_.report(wanted)["verdict"])


# ---------------------------------------------------------------------------------------------------
# A dossier: the page viewer, the clerk's decisions
# ---------------------------------------------------------------------------------------------------


def test_page_viewer_draws_the_seal_box_on_the_page(page: Page, round_: Round) -> None:
    seal, pdf, number = open_seal_in_viewer(page, round_)
    box = page.locator("#viewer .box.seal")
    expect(box).to_be_visible()
    # Both rectangles in one frame: the viewer scrolls the box into view once the page image is decoded,
    # and two separate reads could straddle that scroll.
    rects = page.evaluate(
        """() => {
            const rect = (node) => { const r = node.getBoundingClientRect();
                return {x: r.x, y: r.y, width: r.width, height: r.height}; };
            return {outer: rect(document.querySelector("#viewer img#viewer-page")),
                    inner: rect(document.querySelector("#viewer .box.seal"))};
        }"""
    )
    outer, inner = rects["outer"], rects["inner"]
    assert inner["x"] >= outer["x"] - 1 and inner["y"] >= outer["y"] - 1
    assert inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
    assert inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1

    # Where the report says the seal is (points, top-left origin): the box's centre within 3 % of the page.
    document = pdfium.PdfDocument(str(pdf))
    width, height = document[number - 1].get_size()
    document.close()
    x0, y0, x1, y1 = seal["bbox"]
    centre_x = (inner["x"] + inner["width"] / 2 - outer["x"]) / outer["width"]
    centre_y = (inner["y"] + inner["height"] / 2 - outer["y"]) / outer["height"]
    assert abs(centre_x - (x0 + x1) / 2 / width) < 0.03, (centre_x, seal["bbox"], width)
    assert abs(centre_y - (y0 + y1) / 2 / height) < 0.03, (centre_y, seal["bbox"], height)


def test_decision_changes_the_verdict_and_survives_a_restart(page: Page, round_: Round, desk: Web) -> None:
    # A dossier whose only errors are missing items: the clerk has them on paper.
    def only_missing(report: dict[str, Any]) -> list[str]:
        errors = [f for f in report["findings"] if f["severity"] == "error"]
        return [f["item"] for f in errors] if errors and all(f["code"] == "ITEM_MISSING" for f in errors) else []

    ident, items = next((i, m) for i in round_.ids if (m := only_missing(round_.report(i))))
    tool = round_.report(ident)["verdict"]
    page.goto(dossier_url(ident))
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-final", final_verdict(round_.report(ident)))
    for item in items:
        form = page.locator(f'form.decision[data-target="item:{item}"]')
        form.locator("select[name=value]").select_option("present")
        form.locator("textarea[name=note]").fill("纸质材料已当面补交，核对无误")
        form.locator("button[type=submit]").click()
        expect(page.locator(f'section.item[data-item="{item}"] .decided')).to_contain_text(CLERK)

    # The reports on disk follow the decisions; the page shows the verdict they give, the tool's kept beside.
    report = round_.report(ident)
    assert report.get("review") and len(report["review"]["decisions"]) == len(items), report.get("review")
    final = final_verdict(report)
    assert final != tool, "deciding every missing item present left the verdict as it was"
    expect(verdict).to_have_attribute("data-final", final)
    expect(verdict).to_have_attribute("data-verdict", tool)
    page.goto("/")
    expect(row(page, ident)).to_have_attribute("data-final", final)
    expect(row(page, ident)).to_have_attribute("data-verdict", tool)

    # A restart (SIGTERM, start again): the decisions are still there.
    assert desk.restart() == 0, desk.output()
    page.goto(dossier_url(ident))
    expect(verdict).to_have_attribute("data-final", final)
    for item in items:
        expect(page.locator(f'section.item[data-item="{item}"] .decided')).to_contain_text(CLERK)
    page.goto("/")
    expect(row(page, ident)).to_have_attribute("data-final", final)


# ---------------------------------------------------------------------------------------------------
# Nothing outside OUT and the inbox
# ---------------------------------------------------------------------------------------------------


def test_path_traversal_is_refused(page: Page, round_: Round, desk: Web, tmp_path: Path) -> None:
    marker = b"SECRET-OUTSIDE-THE-INBOX-7f3c"
    secret = tmp_path / "secret.txt"
    secret.write_bytes(marker)
    ident = next(i for i in round_.ids if (round_.inbox / round_.report(i)["dossier"]["source"]).is_dir())
    report = round_.report(ident)
    enc = quote(ident, safe="")
    rel = os.path.relpath(secret, round_.inbox)
    probes = [
        "/d/..%2F..%2Fetc/file/0",
        "/d/..%2F..%2F..%2F..%2Fetc%2Fpasswd/file/0",
        "/d/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd/source",
        "/d/../../etc/passwd",
        f"/d/{enc}/file/..",
        f"/d/{enc}/file/../../../../etc/passwd",
        f"/d/{enc}/file/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"/d/{enc}/file/{quote(rel, safe='')}",
        f"/d/{enc}/file/-1",
        f"/d/{enc}/file/{len(report['dossier']['files'])}",
        f"/d/{enc}/page/..%2F0/1.png?w=160",
        f"/d/{enc}/seal/..%2F..%2F..%2Fetc%2Fpasswd.png",
        f"/d/{enc}%2F..%2F..%2F{quote(rel, safe='')}/source",
        "/d/.web/file/0",
        "/d/registry.sqlite3/report.json",
        "/static/..%2F..%2Fauth.py",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/.web/users.json",
        "/d/%2Fetc%2Fpasswd/source",
    ]
    for probe in probes:
        status, body = desk.get(probe)
        assert status in (400, 403, 404), (probe, status, body[:200])
        assert marker not in body and b"root:x:" not in body, probe
    # In the browser, an encoded slash is not unfolded either.
    response = page.goto("/d/..%2F..%2Fetc/file/0")
    assert response is not None and response.status in (400, 403, 404)

    # A file of the dossier swapped for a link to a file outside: neither served alone nor in the source zip.
    n, entry = 0, report["dossier"]["files"][0]
    target = round_.inbox / report["dossier"]["source"] / entry["path"]
    kept = target.with_name(target.name + ".kept")
    target.rename(kept)
    try:
        target.symlink_to(secret)
        status, body = desk.get(f"/d/{enc}/file/{n}")
        assert status in (400, 403, 404) and marker not in body, (status, body[:200])
        status, body = desk.get(f"/d/{enc}/source")
        if status == 200:
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                assert all(marker not in archive.read(name) for name in archive.namelist())
        else:
            assert status in (400, 403, 404) and marker not in body
    finally:
        target.unlink()
        kept.rename(target)
    status, body = desk.get(f"/d/{enc}/file/{n}")
    assert status == 200 and body == target.read_bytes()


# ---------------------------------------------------------------------------------------------------
# Sign-in away from 127.0.0.1
# ---------------------------------------------------------------------------------------------------


def test_sign_in_is_required_on_another_address(browser: Browser, round_: Round, tmp_path: Path) -> None:
    password = "correct-horse-42"
    added = subprocess.run(
        [DOSSIER, "user", "add", str(round_.out), "李审核", "--password-stdin"],
        input=f"{password}\n",
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    assert password not in (round_.out / ".web" / "users.json").read_text(encoding="utf-8")

    # 127.0.0.2 is this machine too, but not an address the app takes for local: it asks who is there.
    # No --inbox: the sources are found through summary.json's "inbox".
    web = Web(round_.out, None, tmp_path / "web", "127.0.0.2")
    context = browser.new_context(base_url=web.url, locale="zh-CN")
    try:
        assert web.get("/api/round")[0] in (302, 303, 401, 403)
        assert web.get(dossier_url(round_.ids[0]) + "/report.json")[0] in (302, 303, 401, 403)
        assert web.get("/.web/users.json")[0] in (302, 303, 401, 403, 404)
        tab = context.new_page()
        tab.goto("/")
        form = tab.locator("form#login")
        expect(form).to_be_visible()
        expect(tab.locator("table#round")).to_have_count(0)

        form.locator("input[name=user]").fill("李审核")
        form.locator("input[name=password]").fill("wrong-password")
        form.locator("input[name=password]").press("Enter")
        expect(tab.locator("#login-error")).to_be_visible()
        expect(tab.locator("#login-error")).not_to_be_empty()
        expect(tab.locator("table#round")).to_have_count(0)

        form.locator("input[name=user]").fill("李审核")
        form.locator("input[name=password]").fill(password)
        form.locator("input[name=password]").press("Enter")
        expect(tab.locator("#user")).to_contain_text("李审核")
        expect(tab.locator("table#round tr[data-id]")).to_have_count(len(round_.ids))

        # Signed in, the page previews load (the session's cookie goes with every picture).
        ident, n, number, _, _ = sealed_declaration(round_)
        tab.goto(dossier_url(ident))
        thumb = tab.locator(f'img.thumb[data-file="{n}"][data-page="{number}"]').first
        thumb.scroll_into_view_if_needed()
        expect(thumb).to_have_js_property("naturalWidth", 160)
    finally:
        context.close()
        code = web.stop()
    assert code == 0, web.output()


# ---------------------------------------------------------------------------------------------------
# Upload: the watch service and the desk side by side
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bureau(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Web, Watch, Path, Path]]:
    """`dossier watch INBOX --out OUT` and `dossier web OUT --inbox INBOX` over an empty inbox."""
    root = tmp_path_factory.mktemp("bureau")
    inbox, out = root / "inbox", root / "out"
    inbox.mkdir()
    out.mkdir()
    watch = Watch(inbox, out, root / "logs" / "watch")
    web: Web | None = None
    try:
        web = Web(out, inbox, root / "logs" / "web", "127.0.0.1", "--user", CLERK)
        watch.wait_started()
        yield web, watch, inbox, out
    finally:
        codes = {"web": web.stop() if web else 0, "watch": watch.stop()}
        assert codes == {"web": 0, "watch": 0}, (web.output() if web else "") + watch.output()


def test_upload_lands_in_the_inbox_and_gets_its_verdict(
    browser: Browser, bureau: tuple[Web, Watch, Path, Path], tmp_path: Path
) -> None:
    web, watch, inbox, out = bureau
    context = browser.new_context(base_url=web.url, locale="zh-CN")
    try:
        tab = context.new_page()
        tab.goto("/")
        expect(tab.locator("#dropzone")).to_be_visible()
        picker = tab.locator("input#upload-input[type=file]")
        expect(picker).to_have_attribute("multiple", re.compile(".*"))

        # A kind of file the desk does not take: a message, nothing in the inbox.
        def dossiers() -> list[str]:
            return sorted(p.name for p in inbox.iterdir() if not p.name.startswith("."))

        before = dossiers()
        wrong = tmp_path / "说明.exe"
        wrong.write_bytes(b"MZ" + b"\0" * 64)
        picker.set_input_files(str(wrong))
        expect(tab.locator("#upload-message")).not_to_be_empty()
        assert dossiers() == before

        picker.set_input_files(str(UPLOAD))
        tab.wait_for_function(
            "() => { const p = document.querySelector('progress#upload-progress');"
            " return p !== null && p.max > 0 && p.value >= p.max; }"
        )
        expect(tab.locator("#upload-message")).to_contain_text(UPLOAD.stem)
        assert (inbox / UPLOAD.name).read_bytes() == UPLOAD.read_bytes()
        assert not list((inbox / ".uploading").glob("*")), "the upload's staging copy was left behind"

        # The row appears without a reload, and turns into the verdict the watch service wrote.
        ident = UPLOAD.stem
        line = row(tab, ident)
        expect(line).to_be_visible(timeout=60_000)
        expect(line).to_have_attribute("data-final", VERDICTS, timeout=120_000)
        report = json.loads((out / ident / "report.json").read_text(encoding="utf-8"))
        expect(line).to_have_attribute("data-verdict", report["verdict"])
        expect(line).to_have_attribute("data-final", final_verdict(report))
        # Checked once (the flow's own DEBUG record of the same check aside).
        assert len(checked(watch, ident)) == 1, watch.events("dossier_checked")
    finally:
        context.close()


def drop(source: Path, inbox: Path, name: str) -> None:
    """Put a dossier into the inbox as a county's share would, whole (copied beside it, then renamed)."""
    staged = inbox / f".{name}.part"
    shutil.copy2(source, staged)
    os.replace(staged, inbox / name)


def test_a_recheck_of_changed_content_flags_the_decision(
    browser: Browser, bureau: tuple[Web, Watch, Path, Path]
) -> None:
    web, watch, inbox, out = bureau
    name, ident = "复核测试.zip", "复核测试"
    drop(SAMPLES / "dossiers" / "02-滕州市煤化工.zip", inbox, name)
    context = browser.new_context(base_url=web.url, locale="zh-CN")
    try:
        tab = context.new_page()
        tab.goto("/")
        expect(row(tab, ident)).to_have_attribute("data-final", VERDICTS, timeout=120_000)
        first = json.loads((out / ident / "report.json").read_text(encoding="utf-8"))

        # The clerk finds the application form unusable: the final verdict follows.
        tab.goto(dossier_url(ident))
        form = tab.locator('form.decision[data-target="item:application_form"]')
        form.locator("select[name=value]").select_option("missing")
        form.locator("textarea[name=note]").fill("申请表未盖章，不予认可")
        form.locator("button[type=submit]").click()
        decided = form.locator(".decided")
        expect(decided).to_contain_text(CLERK)
        expect(tab.locator("#verdict")).to_have_attribute("data-final", "incomplete")
        expect(tab.locator("#verdict")).to_have_attribute("data-verdict", first["verdict"])

        # The county sends the package again with other files: checked again, the decision no longer applies.
        drop(UPLOAD, inbox, name)
        wait_for(lambda: len(checked(watch, ident)) >= 2, 120, "the changed dossier to be checked again", watch)
        again = json.loads((out / ident / "report.json").read_text(encoding="utf-8"))
        assert again["dossier"]["checked_at"] != first["dossier"]["checked_at"]
        tab.reload()
        expect(decided).to_have_class(re.compile(r"\bstale\b"))
        expect(tab.locator("#verdict")).to_have_attribute("data-final", final_verdict(again))
    finally:
        context.close()


def checked(watch: Watch, ident: str) -> list[dict[str, Any]]:
    """The watch service's checks of one dossier (its own records, not the flow's DEBUG twins)."""
    return [e for e in watch.events("dossier_checked") if e["level"] == "INFO" and e["dossier"] == ident]


# ---------------------------------------------------------------------------------------------------
# Screenshots for the README
# ---------------------------------------------------------------------------------------------------


def images_shown(page: Page) -> None:
    """Wait until every picture in the window has loaded (thumbnails load lazily, and render on demand)."""
    page.wait_for_function(
        "() => Array.from(document.images).filter(i => { const r = i.getBoundingClientRect();"
        " return r.bottom > 0 && r.top < window.innerHeight && r.width > 0; })"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )


@pytest.mark.skipif(not SCREENSHOTS, reason="只在 DOSSIER_SCREENSHOTS=1（make screenshots）时生成截图")
def test_screenshots(browser: Browser, round_: Round, desk: Web) -> None:
    """docs/screenshots/: the round, a dossier with a clerk's decision, its item cards, the page viewer on a
    seal."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        base_url=desk.url, locale="zh-CN", viewport={"width": 1366, "height": 860}, device_scale_factor=1
    )
    try:
        tab = context.new_page()
        # A dossier with an item missing that the clerk has on paper: one decision, shown on both pages.
        ident = next(i for i in round_.ids if i.startswith("08-"))
        item = next(f["item"] for f in round_.report(ident)["findings"] if f["code"] == "ITEM_MISSING")
        tab.goto(dossier_url(ident))
        section = tab.locator(f'section.item[data-item="{item}"]')
        if not section.locator(".decided").count():
            form = tab.locator(f'form.decision[data-target="item:{item}"]')
            form.locator("select[name=value]").select_option("present")
            form.locator("textarea[name=note]").fill("纸质材料已当面补交，核对无误")
            form.locator("button[type=submit]").click()
            expect(section.locator(".decided")).to_contain_text(CLERK)
        tab.goto("/")
        expect(tab.locator("table#round tr[data-id]")).to_have_count(len(round_.ids))
        tab.evaluate("document.fonts.ready")
        tab.screenshot(path=str(SCREENSHOT_DIR / "round.png"))

        tab.goto(dossier_url(ident))
        images_shown(tab)
        tab.screenshot(path=str(SCREENSHOT_DIR / "dossier.png"))
        tab.locator("section.item").first.evaluate("node => node.scrollIntoView({block: 'start'})")
        images_shown(tab)
        tab.screenshot(path=str(SCREENSHOT_DIR / "items.png"))

        open_seal_in_viewer(tab, round_)
        box = tab.locator("#viewer .box.seal")
        expect(box).to_be_visible()
        box.scroll_into_view_if_needed()
        tab.screenshot(path=str(SCREENSHOT_DIR / "viewer.png"))
    finally:
        context.close()
