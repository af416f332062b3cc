"""The clerk's desk (`dossier web`): every route over HTTP, against a real round of sample dossiers.

The round is checked once (the real batch over four samples: a folder, a zip, a bound PDF and a folder
with missing items); each test that changes something works on its own copy of it.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import threading
import time
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

with warnings.catch_warnings():  # starlette's note that httpx will give way to httpx2 in its test client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from cli.main import main
from tests.conftest import SAMPLES, inbox_of
from web import WebConfig, create_app
from web.auth import add_user, verify_password
from web.upload import STAGING

FOLDER = "01-临朐县铝型材加工"
ZIPPED = "02-滕州市煤化工"
BOUND = "04-临朐县铝型材加工申报材料（合订本）.pdf"
MISSING = "08-临朐县铝型材加工-缺项"
SOURCES = (FOLDER, f"{ZIPPED}.zip", BOUND, MISSING)
LOCAL = "http://127.0.0.1:8400"
REMOTE = "http://192.0.2.10:8400"


@pytest.fixture(scope="session")
def checked_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """inbox/ with four sample dossiers and out/ with the batch's reports (json and html only: the desk
    writes the other formats when asked)."""
    from pipeline.batch import run_batch
    from pipeline.ruleset import load_ruleset

    root = tmp_path_factory.mktemp("web-round")
    inbox = inbox_of(root, SOURCES)
    rows, all_reported = run_batch(inbox, root / "out", load_ruleset(), ["json", "html"], workers=2, timeout=120)
    assert all_reported and len(rows) == 4
    return root


@pytest.fixture
def round_dir(checked_round: Path, tmp_path: Path) -> Path:
    """A copy of the checked round this test may change (decisions, uploads, links)."""
    shutil.copytree(checked_round / "inbox", tmp_path / "inbox", symlinks=True)
    shutil.copytree(checked_round / "out", tmp_path / "out", symlinks=True)
    return tmp_path


def desk(root: Path, **options: Any) -> TestClient:
    config = WebConfig(out=root / "out", inbox=options.pop("inbox", root / "inbox"), user="张三", **options)
    base = REMOTE if config.sign_in else LOCAL
    return TestClient(create_app(config), base_url=base)


@pytest.fixture
def client(checked_round: Path) -> TestClient:
    """The desk over the shared round, read only."""
    return desk(checked_round)


@pytest.fixture
def own_client(round_dir: Path) -> TestClient:
    return desk(round_dir)


def csrf_of(client: TestClient, path: str = "/") -> str:
    page = client.get(path)
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def post(client: TestClient, url: str, token: str, origin: str | None = LOCAL, **kwargs: Any) -> httpx.Response:
    headers = {"X-CSRF-Token": token, **kwargs.pop("headers", {})}
    if origin:
        headers["Origin"] = origin
    return client.post(url, headers=headers, **kwargs)


def d(ident: str, rest: str = "") -> str:
    return f"/d/{quote(ident, safe='')}{rest}"


def report_of(root: Path, ident: str) -> dict[str, Any]:
    return json.loads((root / "out" / ident / "report.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------------
# The round
# ---------------------------------------------------------------------------------------------------


def test_round_json(client: TestClient) -> None:
    data = client.get("/api/round").json()
    assert data["counts"] == {"complete": 3, "incomplete": 1, "failed": 0, "queued": 0, "running": 0, "total": 4}
    rows = {row["id"]: row for row in data["rows"]}
    assert set(rows) == {FOLDER, ZIPPED, BOUND, MISSING}
    for key in ("id", "source", "verdict", "final_verdict", "state", "errors", "warnings", "review_count"):
        assert key in rows[FOLDER]
    for key in ("checked_at", "decisions", "stale"):
        assert key in rows[FOLDER]
    assert (rows[MISSING]["verdict"], rows[MISSING]["final_verdict"], rows[MISSING]["state"]) == (
        "incomplete",
        "incomplete",
        "done",
    )
    assert rows[MISSING]["errors"] == 2 and rows[ZIPPED]["source"] == f"{ZIPPED}.zip"
    assert rows[FOLDER]["checked_at"].startswith("20") and data["stamp"]
    assert client.get("/api/round").json()["stamp"] == data["stamp"]  # nothing changed


def test_round_page(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<table id="round"' in html and 'id="user">张三<' in html
    for ident, verdict in ((FOLDER, "complete"), (MISSING, "incomplete")):
        row = re.search(
            rf'<tr data-id="{re.escape(ident)}" data-verdict="(\w+)" data-final="(\w+)" data-state="(\w+)"', html
        )
        assert row and row.groups() == (verdict, verdict, "done")
    assert f'<a class="dossier-link" href="{d(MISSING)}">' in html
    assert '<td class="verdict">不齐全</td>' in html
    for key, n in (("total", 4), ("complete", 3), ("incomplete", 1), ("queued", 0), ("running", 0), ("failed", 0)):
        assert f'data-count="{key}">{n}<' in html
    for control in ('id="filter-verdict"', 'id="filter-state"', 'id="search"', 'th data-sort="id"'):
        assert control in html
    for upload in (
        'id="dropzone"',
        'id="upload-input" type="file" multiple',
        'id="upload-progress"',
        'id="upload-message"',
    ):
        assert upload in html
    assert 'href="/summary.xlsx"' in html and 'href="/summary.json"' in html
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_round_without_an_inbox_has_no_upload(checked_round: Path) -> None:
    client = desk(checked_round, inbox=None)
    assert 'id="dropzone"' not in client.get("/").text
    assert post(client, "/upload?name=a.pdf", csrf_of(client), content=b"%PDF").status_code == 409


def test_summaries_and_static_files(client: TestClient, checked_round: Path) -> None:
    assert client.get("/summary.json").json()["dossiers"][0]["id"] == FOLDER
    xlsx = client.get("/summary.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "attachment" in xlsx.headers["content-disposition"]
    assert "setupRound" in client.get("/static/app.js").text
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/healthz").json() == {"ok": True}


def test_round_shows_the_watch_services_queue(round_dir: Path) -> None:
    from pipeline.registry import Registry

    with Registry(round_dir / "out" / "registry.sqlite3") as registry:
        registry.seen("新到的材料.zip", "0" * 64, base_id="新到的材料")
        registry.seen(FOLDER, "1" * 64)
        registry.start(FOLDER)
    data = desk(round_dir).get("/api/round").json()
    rows = {row["id"]: row for row in data["rows"]}
    assert (rows["新到的材料"]["state"], rows["新到的材料"]["verdict"]) == ("queued", "")
    assert (rows[FOLDER]["state"], rows[FOLDER]["verdict"]) == ("running", "complete")  # checked again
    assert data["counts"]["queued"] == 1 and data["counts"]["running"] == 1 and data["counts"]["total"] == 5


# ---------------------------------------------------------------------------------------------------
# A dossier
# ---------------------------------------------------------------------------------------------------


def test_dossier_page(client: TestClient, checked_round: Path) -> None:
    page = client.get(d(MISSING))
    assert page.status_code == 200
    html = page.text
    assert 'id="verdict"' in html and 'data-verdict="incomplete" data-final="incomplete"' in html
    report = report_of(checked_round, MISSING)
    for item in report["items"]:
        assert '<section class="item' in html and f'data-item="{item["id"]}"' in html
        assert f'data-target="item:{item["id"]}"' in html
    assert 'data-target="seal:authenticity_declaration"' in html
    assert '<select name="value"' in html and '<textarea name="note"' in html and '<button type="submit">' in html
    assert "补正清单" in html and "申报材料逐项核对（第六条）" in html  # the report's outline
    assert re.search(r'<img class="thumb" data-file="0" data-page="\d+"', html)
    assert 'id="viewer"' in html and 'id="viewer-page"' in html and "hidden" in html
    for fmt in ("json", "html", "md", "docx"):
        assert f'href="{d(MISSING, f"/report.{fmt}")}"' in html
    assert f'action="{d(MISSING, "/notice.docx")}"' in html and f'href="{d(MISSING, "/source")}"' in html


def test_seal_crop_beside_the_item(client: TestClient, checked_round: Path) -> None:
    html = client.get(d(FOLDER)).text
    crop_url = d(FOLDER, "/seal/authenticity_declaration.png")
    assert f'<img class="seal-crop" src="{crop_url}"' in html
    crop = client.get(crop_url)
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/png"
    assert crop.content == (checked_round / "out" / FOLDER / "seal-authenticity_declaration.png").read_bytes()
    assert client.get(d(FOLDER, "/seal/introduction.png")).status_code == 404
    # report.html names its crop beside itself: shown from the desk too
    assert client.get(d(FOLDER, "/seal-authenticity_declaration.png")).content == crop.content
    assert client.get(d(FOLDER, "/report.json.png")).status_code == 404


@pytest.mark.parametrize("fmt", ["json", "html", "md", "docx"])
def test_report_downloads(client: TestClient, checked_round: Path, fmt: str) -> None:
    response = client.get(d(MISSING, f"/report.{fmt}"))
    assert response.status_code == 200
    body = response.content
    if fmt == "json":
        assert response.json() == report_of(checked_round, MISSING)
    elif fmt == "html":
        assert response.headers["content-type"].startswith("text/html") and "材料不齐全".encode() in body
    elif fmt == "md":
        assert "# 申报材料预审报告".encode() in body  # written now: the batch wrote json and html only
    else:
        names = zipfile.ZipFile(io.BytesIO(body)).namelist()
        assert "word/document.xml" in names and "attachment" in response.headers["content-disposition"]


def test_unknown_report_format(client: TestClient) -> None:
    assert client.get(d(MISSING, "/report.exe")).status_code == 404


# ---------------------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------------------


def test_a_decision_changes_the_verdict_and_survives_a_restart(round_dir: Path) -> None:
    client = desk(round_dir)
    token = csrf_of(client)
    for target in ("item:development_plan", "item:authenticity_declaration", "seal:authenticity_declaration"):
        answer = post(
            client, d(MISSING, "/decisions"), token, json={"target": target, "value": "present", "note": "纸质件已核"}
        )
        assert answer.status_code == 200, answer.text
    assert answer.json()["final_verdict"] == "complete" and answer.json()["verdict"] == "incomplete"
    report = report_of(round_dir, MISSING)
    assert report["verdict"] == "incomplete" and report["review"]["verdict"] == "complete"
    summary = json.loads((round_dir / "out" / "summary.json").read_text(encoding="utf-8"))
    row = next(r for r in summary["dossiers"] if r["id"] == MISSING)
    assert (row["final_verdict"], row["decisions"]) == ("complete", 3)
    assert (row["errors"], row["final_errors"]) == (2, 0)
    assert summary["inbox"]  # kept as the batch wrote it

    restarted = desk(round_dir)
    rows = {r["id"]: r for r in restarted.get("/api/round").json()["rows"]}
    assert (rows[MISSING]["verdict"], rows[MISSING]["final_verdict"], rows[MISSING]["decisions"]) == (
        "incomplete",
        "complete",
        3,
    )
    assert (rows[MISSING]["errors"], rows[MISSING]["final_errors"]) == (2, 0)
    html = restarted.get(d(MISSING)).text
    assert 'data-verdict="incomplete" data-final="complete"' in html
    assert html.count('<div class="decided">') == 3 and "张三" in html and "纸质件已核" in html
    assert 'data-final="complete" data-state="done"' in restarted.get("/").text

    # the audit log names the clerk
    with sqlite3.connect(round_dir / "out" / "decisions.sqlite3") as db:
        assert db.execute("SELECT user, action FROM audit WHERE dossier = ?", (MISSING,)).fetchall()[0] == (
            "张三",
            "decide",
        )

    withdrawn = post(
        restarted, d(MISSING, "/decisions/withdraw"), csrf_of(restarted), json={"target": "item:development_plan"}
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["final_verdict"] == "incomplete"


def test_a_bad_decision_is_refused(round_dir: Path) -> None:
    client = desk(round_dir)
    token = csrf_of(client)
    bad_value = post(client, d(MISSING, "/decisions"), token, json={"target": "item:introduction", "value": "maybe"})
    assert bad_value.status_code == 400 and "只能确认为" in bad_value.json()["error"]
    bad_target = post(client, d(MISSING, "/decisions"), token, json={"target": "item:nothing", "value": "present"})
    assert bad_target.status_code == 400
    not_json = post(client, d(MISSING, "/decisions"), token, content=b"target=x")
    assert not_json.status_code == 400
    nothing = post(client, d(MISSING, "/decisions/withdraw"), token, json={"target": "item:introduction"})
    assert nothing.status_code == 400
    assert post(client, d("不存在", "/decisions"), token, json={}).status_code == 404


def test_csrf_and_origin(round_dir: Path) -> None:
    client = desk(round_dir)
    token = csrf_of(client)
    decision = {"target": "item:introduction", "value": "present", "note": ""}
    assert post(client, d(MISSING, "/decisions"), "", json=decision).status_code == 403  # no token
    assert post(client, d(MISSING, "/decisions"), "forged", json=decision).status_code == 403
    assert post(client, d(MISSING, "/decisions"), token, origin="http://evil.example", json=decision).status_code == 403
    assert post(client, d(MISSING, "/decisions"), token, origin=None, json=decision).status_code == 403  # neither
    referred = post(
        client, d(MISSING, "/decisions"), token, origin=None, json=decision, headers={"Referer": f"{LOCAL}{d(MISSING)}"}
    )
    assert referred.status_code == 200
    stranger = desk(round_dir)  # another browser: its own session, its own token
    assert post(stranger, d(MISSING, "/decisions"), token, json=decision).status_code == 403
    upload = post(client, "/upload?name=x.pdf", "", content=b"%PDF-1.4")
    assert upload.status_code == 403 and not (round_dir / "inbox" / "x.pdf").exists()
    with sqlite3.connect(round_dir / "out" / "decisions.sqlite3") as db:  # only the referred post was recorded
        assert db.execute("SELECT dossier, target FROM decisions").fetchall() == [(MISSING, "item:introduction")]


def test_host_header_is_checked(client: TestClient) -> None:
    assert client.get("/", headers={"Host": "evil.example:8400"}).status_code == 400  # DNS rebinding
    assert client.get("/", headers={"Host": "localhost:8400"}).status_code == 200


# ---------------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/d/..%2F..%2Fetc%2Fpasswd",
        "/d/%2e%2e/report.json",
        "/d/%2e%2e%2f%2e%2e/summary.json",
        f"/d/{quote(MISSING)}%2F..%2F{quote(FOLDER)}/report.json",
        "/d/..%5Csummary.json",
        "/d/unknown-dossier",
        "/d/unknown-dossier/report.json",
        "/d/.web/users.json",
        "/d/.web",
        "/.web/users.json",
        "/static/..%2F..%2F.web/users.json",
        "/static/%2e%2e/app.py",
        f"/d/{quote(MISSING)}/file/99",
        f"/d/{quote(MISSING)}/file/-1",
        f"/d/{quote(MISSING)}/seal/..%2F..%2Fsummary.png",
        f"/d/{quote(MISSING)}/report.json%00.html",
        "/registry.sqlite3",
        "/decisions.sqlite3",
    ],
)
def test_paths_out_of_reach(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (400, 404, 422), (url, response.status_code)
    assert b'"users"' not in response.content and b"scrypt" not in response.content


def test_users_file_is_never_served(round_dir: Path) -> None:
    add_user(round_dir / "out" / ".web" / "users.json", "李四", "correct horse battery")
    client = desk(round_dir)
    for url in ("/.web/users.json", "/d/.web/users.json", "/d/%2Eweb/users.json", "/summary.json/../.web/users.json"):
        assert b"scrypt" not in client.get(url).content


def test_symlinked_dossier_in_the_inbox_is_refused(round_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"%PDF-1.4 secret")
    (round_dir / "inbox" / BOUND).unlink()
    (round_dir / "inbox" / BOUND).symlink_to(secret)
    client = desk(round_dir)
    for url in (d(BOUND, "/source"), d(BOUND, "/file/0"), d(BOUND, "/page/0/1.png")):
        response = client.get(url)
        assert response.status_code == 404 and b"secret" not in response.content, url


def test_symlink_inside_a_folder_dossier_is_refused(round_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret", encoding="utf-8")
    report = report_of(round_dir, FOLDER)
    first = round_dir / "inbox" / FOLDER / report["dossier"]["files"][0]["path"]
    first.unlink()
    first.symlink_to(secret)
    client = desk(round_dir)
    response = client.get(d(FOLDER, "/file/0"))
    assert response.status_code == 404 and b"secret" not in response.content
    whole = client.get(d(FOLDER, "/source"))
    assert whole.status_code == 200 and b"secret" not in whole.content  # links are left out of the zip


# ---------------------------------------------------------------------------------------------------
# Sources and pages
# ---------------------------------------------------------------------------------------------------


def test_file_downloads(client: TestClient, checked_round: Path) -> None:
    inbox = checked_round / "inbox"
    folder_file = report_of(checked_round, FOLDER)["dossier"]["files"][1]["path"]
    response = client.get(d(FOLDER, "/file/1"))
    assert response.status_code == 200 and response.content == (inbox / FOLDER / folder_file).read_bytes()
    member = report_of(checked_round, ZIPPED)["dossier"]["files"][0]["path"]
    with zipfile.ZipFile(inbox / f"{ZIPPED}.zip") as archive:
        expected = {len(archive.read(info)) for info in archive.infolist()}
    response = client.get(d(ZIPPED, "/file/0"))
    assert response.status_code == 200 and len(response.content) in expected
    assert quote(Path(member).name) in response.headers["content-disposition"]
    response = client.get(d(BOUND, "/file/0"))
    assert response.content == (inbox / BOUND).read_bytes()


def test_source_downloads(client: TestClient, checked_round: Path) -> None:
    inbox = checked_round / "inbox"
    assert client.get(d(ZIPPED, "/source")).content == (inbox / f"{ZIPPED}.zip").read_bytes()
    zipped = zipfile.ZipFile(io.BytesIO(client.get(d(FOLDER, "/source")).content))
    expected = sorted(p.relative_to(inbox / FOLDER).as_posix() for p in (inbox / FOLDER).rglob("*") if p.is_file())
    assert sorted(zipped.namelist()) == expected


def test_page_images_and_boxes(client: TestClient, checked_round: Path) -> None:
    report = report_of(checked_round, BOUND)
    seal = next(i["seal"] for i in report["items"] if i["id"] == "authenticity_declaration")
    thumb = client.get(d(BOUND, f"/page/0/{seal['page']}.png?w=160"))
    assert thumb.status_code == 200 and thumb.content[:8] == b"\x89PNG\r\n\x1a\n"
    boxes = client.get(d(BOUND, f"/boxes/0/{seal['page']}")).json()["boxes"]
    marks = [b for b in boxes if b["kind"] == "seal"]
    assert marks and all(0 <= marks[0][k] <= 1 for k in ("x0", "y0", "x1", "y1"))
    assert client.get(d(BOUND, "/page/0/9999.png")).status_code in (404, 422)


def test_notice_download(client: TestClient) -> None:
    response = client.get(
        d(MISSING, "/notice.docx"), params={"deadline": "2026年12月20日前", "contact": "王科长 0536-1234567"}
    )
    assert response.status_code == 200
    document = zipfile.ZipFile(io.BytesIO(response.content)).read("word/document.xml").decode("utf-8")
    assert "2026年12月20日前" in document and "王科长" in document
    assert client.get(d(MISSING, "/notice.docx"), params={"deadline": "长" * 101}).status_code == 400


# ---------------------------------------------------------------------------------------------------
# Uploads
# ---------------------------------------------------------------------------------------------------


def inbox_children(root: Path) -> set[str]:
    return {p.name for p in (root / "inbox").iterdir() if p.name != STAGING}


def staged(root: Path) -> list[Path]:
    """What the upload staging folder still holds."""
    folder = root / "inbox" / STAGING
    return list(folder.iterdir()) if folder.is_dir() else []


def test_upload_lands_in_the_inbox(round_dir: Path) -> None:
    client = desk(round_dir, max_upload_mb=1)
    token = csrf_of(client)
    body = (SAMPLES / "dossiers" / f"{ZIPPED}.zip").read_bytes()[: 2**19]
    answer = post(client, "/upload?name=新材料.zip", token, content=body)
    assert answer.status_code == 200 and answer.json()["name"] == "新材料.zip" and answer.json()["complete"]
    assert (round_dir / "inbox" / "新材料.zip").read_bytes() == body
    again = post(client, "/upload?name=新材料.zip", token, content=b"other")
    assert again.json()["name"] == "新材料-2.zip" and (round_dir / "inbox" / "新材料.zip").read_bytes() == body
    taken = post(client, f"/upload?name={quote(BOUND)}", token, content=b"%PDF-1.4")
    assert taken.json()["name"] == BOUND.removesuffix(".pdf") + "-2.pdf"
    assert not staged(round_dir)


def test_upload_refusals(round_dir: Path) -> None:
    client = desk(round_dir, max_upload_mb=1)
    token = csrf_of(client)
    before = inbox_children(round_dir)
    too_big = post(client, "/upload?name=big.pdf", token, content=b"x" * (2**20 + 1))
    assert too_big.status_code == 413 and "上传上限 1 MB" in too_big.json()["error"]
    bad_type = post(client, "/upload?name=run.exe", token, content=b"MZ")
    assert bad_type.status_code == 415 and "不支持的文件类型" in bad_type.json()["error"]
    for name in ("../evil.pdf", "a/b.pdf", "a\\b.pdf", ".hidden.pdf", "..", "", "a\x01.pdf"):
        refused = post(client, "/upload", token, params={"name": name}, content=b"%PDF")
        assert refused.status_code == 400, name
    folder = post(
        client, "/upload", token, params={"name": "a.pdf", "folder": "../x", "batch": "abcdefgh12"}, content=b"1"
    )
    assert folder.status_code == 400
    assert inbox_children(round_dir) == before and not staged(round_dir)


def test_folder_upload_moves_in_whole(round_dir: Path) -> None:
    client = desk(round_dir)
    token = csrf_of(client)
    params = {"folder": "新材料包", "batch": "a1b2c3d4e5f6", "total": "2"}
    first = post(client, "/upload", token, params={"name": "1.申请表.pdf", **params}, content=b"%PDF-1")
    assert first.json()["complete"] is False and "新材料包" not in inbox_children(round_dir)
    second = post(client, "/upload", token, params={"name": "2.简介.docx", **params}, content=b"PK")
    answer = second.json()
    assert {k: answer[k] for k in ("name", "file", "complete", "size")} == {
        "name": "新材料包",
        "file": "2.简介.docx",
        "complete": True,
        "size": 2,
    }
    assert "新材料包" in answer["message"]
    assert sorted(p.name for p in (round_dir / "inbox" / "新材料包").iterdir()) == ["1.申请表.pdf", "2.简介.docx"]
    params |= {"batch": "ffffeeeedddd"}
    post(client, "/upload", token, params={"name": "a.pdf", **params, "total": "1"}, content=b"%PDF")
    assert "新材料包-2" in inbox_children(round_dir)
    with sqlite3.connect(round_dir / "out" / "decisions.sqlite3") as db:
        assert ("张三", "upload") in db.execute("SELECT user, action FROM audit").fetchall()


@pytest.fixture
def live_desk(round_dir: Path) -> Iterator[str]:
    """The desk on a real socket (uvicorn in a thread): uploads stream in chunks as from a browser."""
    import socket

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = WebConfig(out=round_dir / "out", inbox=round_dir / "inbox", port=port, user="张三", max_upload_mb=1)
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_streamed_upload_is_never_half_visible(live_desk: str, round_dir: Path) -> None:
    seen: list[set[str]] = []
    before = inbox_children(round_dir)

    def body() -> Iterator[bytes]:
        for _ in range(8):
            yield b"%" * 65536
            time.sleep(0.02)
            seen.append(inbox_children(round_dir) - before)

    with httpx.Client(base_url=live_desk) as http:
        token = re.search(r'name="csrf-token" content="([^"]+)"', http.get("/").text).group(1)  # type: ignore[union-attr]
        headers = {"X-CSRF-Token": token, "Origin": live_desk}
        answer = http.post("/upload", params={"name": "流式.pdf"}, content=body(), headers=headers)
        assert answer.status_code == 200, answer.text
        assert all(not new for new in seen) and inbox_children(round_dir) - before == {"流式.pdf"}
        assert (round_dir / "inbox" / "流式.pdf").stat().st_size == 8 * 65536

        def endless() -> Iterator[bytes]:
            for _ in range(40):  # 2.5 MB without a Content-Length: stopped at the cap
                yield b"x" * 65536

        try:
            refused = http.post("/upload", params={"name": "大.pdf"}, content=endless(), headers=headers)
            assert refused.status_code == 413 and "上传上限" in refused.json()["error"]
        except httpx.TransportError:
            pass  # the desk answered and closed before the client had sent everything
    assert "大.pdf" not in inbox_children(round_dir)
    assert not staged(round_dir)


# ---------------------------------------------------------------------------------------------------
# Signing in
# ---------------------------------------------------------------------------------------------------


def sign_in(client: TestClient, name: str, password: str) -> httpx.Response:
    token = csrf_of(client, "/login")
    return post(client, "/login", token, origin=REMOTE, json={"user": name, "password": password, "next": "/"})


def test_sign_in_away_from_this_machine(round_dir: Path) -> None:
    users = round_dir / "out" / ".web" / "users.json"
    add_user(users, "李四", "correct horse battery")
    assert "correct horse" not in users.read_text(encoding="utf-8") and verify_password(
        users, "李四", "correct horse battery"
    )
    client = desk(round_dir, host="192.0.2.10")
    first = client.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/login?next=/"
    assert client.get("/api/round").status_code == 401
    assert client.get(d(MISSING, "/report.json"), follow_redirects=False).status_code == 303
    login = client.get("/login")
    assert '<form id="login"' in login.text and 'name="user"' in login.text and 'name="password"' in login.text
    wrong = sign_in(client, "李四", "wrong password")
    assert wrong.status_code == 401 and wrong.json()["error"] == "用户名或密码错误"
    assert sign_in(client, "nobody", "correct horse battery").status_code == 401
    assert client.get("/api/round").status_code == 401
    right = sign_in(client, "李四", "correct horse battery")
    assert right.status_code == 200 and right.json()["next"] == "/"
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get("/")
    assert page.status_code == 200 and 'id="user">李四<' in page.text
    assert client.get("/api/round").json()["counts"]["total"] == 4
    decided = post(
        client,
        d(MISSING, "/decisions"),
        csrf_of(client),
        origin=REMOTE,
        json={"target": "item:introduction", "value": "present"},
    )
    assert decided.status_code == 200
    assert report_of(round_dir, MISSING)["review"]["decisions"][0]["user"] == "李四"
    # a form posted without the script: urlencoded, redirected
    other = desk(round_dir, host="192.0.2.10")
    token = csrf_of(other, "/login")
    form = other.post(
        "/login",
        content="user=%E6%9D%8E%E5%9B%9B&password=correct+horse+battery&next=%2Fd%2Fx&csrf=" + token,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": REMOTE},
        follow_redirects=False,
    )
    assert form.status_code == 303 and form.headers["location"] == "/d/x"
    # signing out ends the session
    assert post(client, "/logout", csrf_of(client), origin=REMOTE).status_code == 200
    assert client.get("/api/round").status_code == 401


def test_sessions_expire(round_dir: Path) -> None:
    add_user(round_dir / "out" / ".web" / "users.json", "李四", "correct horse battery")
    client = desk(round_dir, host="192.0.2.10", session_hours=1)
    assert sign_in(client, "李四", "correct horse battery").status_code == 200
    assert client.get("/api/round").status_code == 200
    with sqlite3.connect(round_dir / "out" / ".web" / "sessions.sqlite3") as db:
        db.execute("UPDATE sessions SET last_seen = last_seen - 3601")
    assert client.get("/api/round").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_guessing_passwords_is_slowed_down(round_dir: Path) -> None:
    add_user(round_dir / "out" / ".web" / "users.json", "李四", "correct horse battery")
    client = desk(round_dir, host="192.0.2.10")
    for _ in range(5):
        assert sign_in(client, "李四", "guess").status_code == 401
    blocked = sign_in(client, "李四", "correct horse battery")
    assert blocked.status_code == 429 and "次数过多" in blocked.json()["error"]
    assert sign_in(client, "王五", "guess").status_code == 401  # another name is not held up


def test_login_is_not_needed_on_this_machine(client: TestClient) -> None:
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"


def test_next_after_sign_in_stays_on_the_desk(round_dir: Path) -> None:
    add_user(round_dir / "out" / ".web" / "users.json", "李四", "correct horse battery")
    client = desk(round_dir, host="192.0.2.10")
    token = csrf_of(client, "/login")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        answer = post(
            client,
            "/login",
            token,
            origin=REMOTE,
            json={"user": "李四", "password": "correct horse battery", "next": target},
        )
        assert answer.json()["next"] == "/"
        token = csrf_of(client, "/login")


# ---------------------------------------------------------------------------------------------------
# The commands
# ---------------------------------------------------------------------------------------------------


def test_web_command_refuses_bad_arguments(
    checked_round: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(checked_round / "out")
    assert main(["web", str(tmp_path / "missing")]) == 2
    assert "找不到输出目录" in capsys.readouterr().err
    assert main(["web", out, "--port", "70000"]) == 2
    assert main(["web", out, "--port", "0"]) == 2
    assert main(["web", out, "--inbox", str(tmp_path / "missing")]) == 2
    assert main(["web", out, "--max-upload-mb", "0"]) == 2
    empty = tmp_path / "out"
    empty.mkdir()
    assert main(["web", str(empty), "--host", "0.0.0.0"]) == 2
    assert "dossier user add" in capsys.readouterr().err


def test_user_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["user", "add", str(tmp_path), "王五", "--password-stdin"]) == 0
    users = tmp_path / ".web" / "users.json"
    assert verify_password(users, "王五", "a long password") and not verify_password(users, "王五", "wrong")
    assert os.stat(users).st_mode & 0o077 == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "add", str(tmp_path), "赵六", "--password-stdin"]) == 2
    assert main(["user", "add", str(tmp_path / "missing"), "x", "--password-stdin"]) == 2
    capsys.readouterr()
    assert main(["user", "list", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("王五  ")


def test_web_command_serves_and_stops_cleanly(checked_round: Path) -> None:
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from cli.main import run; run()",
            "web",
            str(checked_round / "out"),
            "--port",
            str(port),
        ],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/api/round").json()["counts"]["total"] == 4
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        process.kill()
        process.wait()
