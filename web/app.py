"""The desk's routes. Thin: each one finds what it needs with the plain functions of round.py, dossier.py,
upload.py, auth.py and pages.py and answers. Every request passes `guard` first: the Host header, no
encoded slash or `..` in the path, a session (signed in where the desk is not local-only), and for a POST
the session's CSRF token and an Origin or Referer of this desk.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect

from pipeline.reports import wording
from pipeline.reports.render import TEMPLATES as REPORT_TEMPLATES
from pipeline.review import DecisionStore

from . import WebConfig
from . import auth as a
from . import dossier as d
from . import upload as up
from .round import STATES, RoundReader, RoundRow
from .sources import Unavailable

logger = logging.getLogger("dossier.web")

HERE = Path(__file__).resolve().parent
PUBLIC_PATHS = ("/login", "/healthz", "/static/")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
STATE_TEXT = {"queued": "排队中", "running": "检查中", "done": "已检查", "failed": "处理失败"}
VERDICT_FILTERS = (("complete", "齐全"), ("incomplete", "不齐全，需补正"), ("failed", "处理失败"))


class Desk:
    """What the routes share: the configuration, the round, reports, sessions, decisions, templates."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.out = config.out
        self.round = RoundReader(config.out)
        self.reports = d.ReportCache()
        self.sessions = a.Sessions(config.sessions_path, config.session_hours)
        self.throttle = a.Throttle()
        self._store: DecisionStore | None = None
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(HERE / "templates"), FileSystemLoader(REPORT_TEMPLATES)]),
            autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=StrictUndefined,
        )
        self.env.globals["words"] = wording
        self.env.filters["when"] = wording.datetime_text
        self.env.filters["quote"] = lambda text: urllib.parse.quote(str(text), safe="")

    @property
    def store(self) -> DecisionStore:
        if self._store is None:
            self._store = DecisionStore(self.out)
        return self._store

    def audit(self, user: str, action: str, dossier: str | None, detail: str) -> None:
        """Every decision, upload and sign-in: in OUT/decisions.sqlite3 and on the `dossier.web` logger."""
        self.store.log(user, action, dossier, detail)
        logger.info(f"{user}：{action} {dossier or ''} {detail}".strip(), extra={"event": f"web_{action}"})

    def inbox(self) -> Path | None:
        """Where the dossiers' sources are: --inbox, else the inbox summary.json names."""
        if self.config.inbox is not None:
            return self.config.inbox
        found = self.round.read().inbox
        return Path(found) if found else None

    def folder(self, ident: str) -> Path:
        return d.report_folder(self.out, ident, self.round.read().by_id)

    def report(self, ident: str) -> tuple[Path, Any]:
        folder = self.folder(ident)
        try:
            return folder, self.reports.get(folder)
        except (OSError, ValueError) as exc:
            raise d.NotFound(f"无法读取报告：{ident}") from exc

    def render(self, name: str, request: Request, **values: Any) -> HTMLResponse:
        session: a.Session | None = getattr(request.state, "session", None)
        page = self.env.get_template(name).render(
            csrf=session.csrf if session else "",
            user=session.user if session and session.user else "",
            sign_in=self.config.sign_in,
            **values,
        )
        return HTMLResponse(page)


# ---------------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------------


def wants_json(request: Request) -> bool:
    return (
        request.method != "GET"
        or request.url.path.startswith("/api/")
        or "application/json" in request.headers.get("accept", "")
    )


def refuse(request: Request, status: int, message: str) -> Response:
    """An error in Chinese: JSON for scripts and fetch(), a small page for a browser."""
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    desk: Desk = request.app.state.desk
    try:
        page = desk.env.get_template("error.html.j2").render(
            status=status, message=message, csrf="", user="", sign_in=False
        )
    except Exception:  # the error page must never fail itself
        page = f"<!DOCTYPE html><meta charset=utf-8><title>{status}</title><p>{status}</p>"
    return HTMLResponse(page, status_code=status)


def _bad_path(request: Request) -> bool:
    raw = request.scope.get("raw_path", b"").decode("latin-1").lower()
    if any(code in raw for code in ("%2f", "%5c", "%00", "%252")):
        return True
    return any(part in ("..", ".") for part in request.url.path.split("/"))


def _public(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC_PATHS)


def _set_cookie(response: Response, session: a.Session, config: WebConfig) -> None:
    # A browser-session cookie: the desk itself ends a session idle for longer than --session hours.
    response.set_cookie(
        a.COOKIE,
        session.token,
        httponly=True,
        samesite="strict",
        secure=False,  # the desk speaks plain HTTP itself; a bureau's TLS proxy may add Secure
        path="/",
    )


async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    desk: Desk = request.app.state.desk
    config = desk.config
    if not a.host_allowed(request.headers.get("host"), config.host):
        return refuse(request, 400, "主机名不符，已拒绝（请用启动时的地址访问）")
    if _bad_path(request):
        return refuse(request, 400, "路径不合法")
    path = request.url.path
    session = desk.sessions.get(request.cookies.get(a.COOKIE))
    new_session: a.Session | None = None
    if session is None and path not in ("/healthz",) and not path.startswith("/static/"):
        if not config.sign_in:
            new_session = session = desk.sessions.open(config.user)
        elif path == "/login":
            new_session = session = desk.sessions.open(None)
    if config.sign_in and not _public(path) and (session is None or session.user is None):
        if request.method == "GET" and not path.startswith("/api/"):
            target = "/login?next=" + urllib.parse.quote(
                request.url.path + ("?" + request.url.query if request.url.query else "")
            )
            return RedirectResponse(target, status_code=303)
        return refuse(request, 401, "请先登录")
    if request.method not in ("GET", "HEAD"):
        if not a.same_origin(
            request.headers.get("origin"), request.headers.get("referer"), request.headers.get("host")
        ):
            return refuse(request, 403, "请求来源不符，已拒绝")
        if path != "/login" and (session is None or not session.csrf_ok(request.headers.get(a.CSRF_HEADER))):
            return refuse(request, 403, "页面已过期或请求无效（CSRF 校验失败），请刷新页面后重试")
    request.state.session = session
    response = await call_next(request)
    if new_session is not None:
        _set_cookie(response, new_session, config)
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    if request.method == "GET" and not path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _user(request: Request) -> str:
    session: a.Session | None = getattr(request.state, "session", None)
    return session.user if session and session.user else ""


async def _json_body(request: Request, limit: int = 100_000) -> dict[str, Any]:
    body = await request.body()
    if len(body) > limit:
        raise ValueError("请求内容过长")
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise ValueError("请求内容不是 JSON") from exc
    if not isinstance(data, dict):
        raise ValueError("请求内容不是 JSON 对象")
    return data


def _download(path: Path, name: str, media_type: str | None = None, cleanup: Path | None = None) -> FileResponse:
    task = BackgroundTask(shutil.rmtree, cleanup, True) if cleanup else None
    return FileResponse(path, media_type=media_type, filename=name, background=task)


def _row_view(row: RoundRow) -> dict[str, Any]:
    """A round row as the page and /api/round show it: the row and its words."""
    verdict = wording.verdict_text(row.verdict, row.review_count, short=True) if row.verdict else "—"
    final = wording.verdict_text(row.final_verdict, row.final_review_count, short=True) if row.final_verdict else "—"
    tone = wording.verdict_tone(row.final_verdict, row.final_review_count) if row.final_verdict else "muted"
    return row.as_dict() | {
        "verdict_text": verdict,
        "final_text": final,
        "tone": "muted" if row.final_verdict == "failed" else tone,
        "state_text": STATE_TEXT.get(row.state, row.state),
        "checked_text": _short_time(row.checked_at),
        "url": "/d/" + urllib.parse.quote(row.id, safe=""),
    }


# ---------------------------------------------------------------------------------------------------
# The application
# ---------------------------------------------------------------------------------------------------


def build(config: WebConfig) -> FastAPI:
    desk = Desk(config)
    if config.inbox is not None:
        up.sweep(config.inbox)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title="申报材料预审")
    app.state.desk = desk
    app.middleware("http")(guard)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(d.NotFound)
    async def not_found(request: Request, exc: d.NotFound) -> Response:
        return refuse(request, 404, str(exc))

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable) -> Response:
        return refuse(request, 422, str(exc))

    @app.exception_handler(404)
    async def no_route(request: Request, exc: Exception) -> Response:
        return refuse(request, 404, "找不到该页面")

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    # -- the round -------------------------------------------------------------------------------------

    @app.get("/api/round")
    def api_round() -> JSONResponse:
        found = desk.round.read()
        data = {"stamp": found.stamp, "counts": found.counts, "rows": [_row_view(r) for r in found.rows]}
        return JSONResponse(data)

    @app.get("/", response_class=HTMLResponse)
    def round_page(request: Request) -> HTMLResponse:
        found = desk.round.read()
        return desk.render(
            "round.html.j2",
            request,
            stamp=found.stamp,
            counts=found.counts,
            rows=[_row_view(r) for r in found.rows],
            states=[(s, STATE_TEXT[s]) for s in STATES],
            verdicts=VERDICT_FILTERS,
            upload=desk.config.inbox is not None,
            max_upload_mb=config.max_upload_mb,
            allowed=up.ALLOWED_SUFFIXES,
            has_xlsx=(desk.out / "summary.xlsx").is_file(),
            has_json=(desk.out / "summary.json").is_file(),
        )

    @app.get("/summary.json")
    def summary_json() -> Response:
        path = desk.out / "summary.json"
        if not path.is_file():
            raise d.NotFound("还没有汇总表")
        return FileResponse(path, media_type="application/json")

    @app.get("/summary.xlsx")
    def summary_xlsx() -> Response:
        path = desk.out / "summary.xlsx"
        if not path.is_file():
            raise d.NotFound("还没有汇总表")
        return _download(path, "summary.xlsx")

    # -- signing in --------------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        if not config.sign_in:
            return RedirectResponse("/", status_code=303)
        return desk.render("login.html.j2", request, next=_safe_next(next), error="")

    @app.post("/login")
    async def login(request: Request) -> Response:
        if not config.sign_in:
            return RedirectResponse("/", status_code=303)
        session: a.Session | None = request.state.session
        fields = await _login_fields(request)
        sent = request.headers.get(a.CSRF_HEADER) or fields.get("csrf", "")
        if session is None or not session.csrf_ok(sent):
            return refuse(request, 403, "页面已过期，请刷新后重新登录")
        name, password = fields.get("user", ""), fields.get("password", "")
        next_url = _safe_next(fields.get("next", "/"))
        blocked = desk.throttle.blocked(name)
        if blocked or not a.verify_password(config.users_path, name, password):
            logger.warning(f"登录失败：{name}", extra={"event": "web_sign_in_failed", "user": name})
            desk.throttle.failed(name)
            message = "登录失败次数过多，请 5 分钟后再试" if blocked else "用户名或密码错误"
            status = 429 if blocked else 401
            if request.headers.get(a.CSRF_HEADER):
                return JSONResponse({"error": message}, status_code=status)
            page = desk.render("login.html.j2", request, next=next_url, error=message)
            page.status_code = status
            return page
        desk.throttle.succeeded(name)
        desk.sessions.close(session.token)
        signed = desk.sessions.open(name.strip())
        desk.audit(signed.user or name, "sign_in", None, "")
        response: Response
        if request.headers.get(a.CSRF_HEADER):
            response = JSONResponse({"ok": True, "next": next_url})
        else:
            response = RedirectResponse(next_url, status_code=303)
        _set_cookie(response, signed, config)
        return response

    @app.post("/logout")
    def logout(request: Request) -> Response:
        session: a.Session | None = request.state.session
        if session is not None:
            desk.sessions.close(session.token)
        response = JSONResponse({"ok": True, "next": "/login" if config.sign_in else "/"})
        response.delete_cookie(a.COOKIE, path="/")
        return response

    # -- a dossier -------------------------------------------------------------------------------------

    @app.get("/d/{ident}", response_class=HTMLResponse)
    def dossier_page(request: Request, ident: str) -> HTMLResponse:
        _, report = desk.report(ident)
        views = d.decision_views(report)
        blocks = d.page_outline(report)
        row = desk.round.read().by_id[ident]
        return desk.render(
            "dossier.html.j2",
            request,
            ident=ident,
            report=report,
            row=_row_view(row),
            blocks=blocks,
            items_at=d.items_table_index(blocks),
            items=d.item_views(report, ident, views),
            others=d.other_decisions(views),
            figure_src=d.figure_urls(report, ident),
            formats=[(f, d.FORMAT_TEXT[f]) for f in d.REPORT_FORMATS],
            files=list(enumerate(report.dossier.files)),
            has_source=desk.inbox() is not None,
        )

    @app.get("/d/{ident}/report.{fmt}")
    def report_download(ident: str, fmt: str) -> Response:
        folder = desk.folder(ident)
        path, scratch = d.report_file(folder, fmt)
        if fmt == "html":  # shown in the browser; its seal crops load from beside it
            return FileResponse(path, media_type=d.MEDIA_TYPES[fmt], background=_cleanup(scratch))
        return _download(path, f"{ident}-预审报告.{fmt}", d.MEDIA_TYPES[fmt], scratch)

    @app.get("/d/{ident}/notice.docx")
    def notice(ident: str, deadline: str = "", contact: str = "", authority: str = "") -> Response:
        _, report = desk.report(ident)  # the cached report: the letter needs no seal crops
        if len(deadline) > 100 or len(contact) > 200 or len(authority) > 100:
            return JSONResponse({"error": "期限、联系方式或发文机关过长"}, status_code=400)
        from pipeline.reports import write_notice

        scratch = Path(tempfile.mkdtemp(prefix="dossier-web-"))
        path = scratch / "notice.docx"
        write_notice(
            report,
            path,
            deadline=deadline.strip() or None,
            contact=contact.strip() or None,
            authority=authority.strip() or None,
        )
        return _download(path, f"{ident}-补正通知.docx", d.MEDIA_TYPES["docx"], scratch)

    @app.get("/d/{ident}/seal/{item}.png")
    def seal(ident: str, item: str) -> Response:
        folder, report = desk.report(ident)
        return FileResponse(d.seal_crop(folder, report, item), media_type="image/png")

    @app.get("/d/{ident}/file/{n}")
    def source_file(ident: str, n: int) -> Response:
        _, report = desk.report(ident)
        from . import sources

        if not 0 <= n < len(report.dossier.files):
            raise d.NotFound("没有这个文件")
        path, name, scratch = sources.source_file(desk.out, desk.inbox(), report, n)
        return _download(path, name, None, scratch)

    @app.get("/d/{ident}/source")
    def source(ident: str) -> Response:
        _, report = desk.report(ident)
        from . import sources

        path, name, scratch = sources.whole_source(desk.out, desk.inbox(), report)
        return _download(path, name, None, scratch)

    @app.get("/d/{ident}/page/{n}/{page}.png")
    def page_image(ident: str, n: int, page: int, w: int = 160) -> Response:
        _, report = desk.report(ident)
        from . import sources

        return Response(sources.page_png(desk.out, desk.inbox(), report, n, page, w), media_type="image/png")

    @app.get("/d/{ident}/boxes/{n}/{page}")
    def page_boxes(ident: str, n: int, page: int) -> JSONResponse:
        _, report = desk.report(ident)
        from . import sources

        return JSONResponse({"boxes": sources.boxes(desk.out, desk.inbox(), report, n, page)})

    @app.post("/d/{ident}/decisions")
    async def decide(request: Request, ident: str) -> JSONResponse:
        folder = desk.folder(ident)
        try:
            data = await _json_body(request)
            target, value = str(data.get("target", "")), str(data.get("value", ""))
            report = d.decide(desk.out, folder, desk.store, target, value, str(data.get("note", "")), _user(request))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        logger.info(
            f"{_user(request)}：人工确认 {ident} {target} = {value}",
            extra={"event": "web_decide", "user": _user(request), "dossier": ident, "target": target, "value": value},
        )
        return JSONResponse(_verdict_of(report))

    @app.post("/d/{ident}/decisions/withdraw")
    async def withdraw(request: Request, ident: str) -> JSONResponse:
        folder = desk.folder(ident)
        try:
            data = await _json_body(request)
            target = str(data.get("target", ""))
            report = d.withdraw(desk.out, folder, desk.store, target, _user(request))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        logger.info(
            f"{_user(request)}：撤销人工确认 {ident} {target}",
            extra={"event": "web_withdraw", "user": _user(request), "dossier": ident, "target": target},
        )
        return JSONResponse(_verdict_of(report))

    @app.get("/d/{ident}/{asset}")
    def report_asset(ident: str, asset: str) -> Response:
        """A seal crop named by report.html (`seal-<item>.png`), which the desk shows at /d/<id>/report.html."""
        folder, report = desk.report(ident)
        return FileResponse(d.seal_crop_by_name(folder, report, asset), media_type="image/png")

    # -- uploads -----------------------------------------------------------------------------------------

    @app.post("/upload")
    async def upload(
        request: Request, name: str = "", folder: str | None = None, batch: str | None = None, total: int = 1
    ) -> JSONResponse:
        inbox = desk.config.inbox
        if inbox is None:
            return JSONResponse({"error": "未指定收件箱（--inbox），不能上传"}, status_code=409)
        length = request.headers.get("content-length")
        try:
            done = await up.receive(
                request.stream(),
                inbox,
                name,
                cap_mb=config.max_upload_mb,
                declared_length=int(length) if length and length.isdigit() else None,
                folder=folder,
                batch=batch,
                total=total,
            )
        except up.UploadRefused as exc:
            logger.warning(f"{_user(request)}：上传被拒绝 {name}：{exc.message}", extra={"event": "web_upload_refused"})
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        except ClientDisconnect:
            return JSONResponse({"error": "上传中断"}, status_code=400)
        if done.complete:
            desk.audit(_user(request), "upload", None, f"{done.name}（{done.size} 字节）")
        return JSONResponse(done.as_dict() | {"message": _upload_message(done)})

    return app


def _short_time(value: str) -> str:
    """2026-12-04T15:47:07+08:00 → 2026-12-04 15:47 (the round's column; the dossier page says it in full)."""
    return value[:16].replace("T", " ") if len(value) >= 16 else (value or "—")


def _cleanup(scratch: Path | None) -> BackgroundTask | None:
    return BackgroundTask(shutil.rmtree, scratch, True) if scratch else None


def _upload_message(done: up.Uploaded) -> str:
    if not done.complete:
        return f"已接收：{done.file}"
    return f"已放入收件箱：{done.name}，等待检查"


def _verdict_of(report: Any) -> dict[str, Any]:
    reviews = report.final_review_count
    return {
        "ok": True,
        "verdict": report.verdict,
        "final_verdict": report.final_verdict,
        "final_text": wording.verdict_text(report.final_verdict, reviews),
    }


def _safe_next(value: str) -> str:
    """Where to go after signing in: a path of this desk only (never another site)."""
    if not value.startswith("/") or value.startswith("//") or "\\" in value or value.startswith("/login"):
        return "/"
    return value


async def _login_fields(request: Request) -> dict[str, str]:
    """The sign-in form: JSON (the page's script) or urlencoded (a browser without it)."""
    body = await request.body()
    if len(body) > 10_000:
        return {}
    if "json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(body)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}
