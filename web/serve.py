"""Starting the desk (`dossier web`): its arguments checked, then uvicorn until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from . import WebConfig
from .auth import UsersError, is_local, load_users

logger = logging.getLogger("dossier.web")


class CannotStart(ValueError):
    """Bad arguments, or a desk that cannot start; the message is Chinese (exit 2)."""


def check_config(config: WebConfig) -> None:
    """CannotStart unless the desk can run as configured."""
    if not config.out.is_dir():
        raise CannotStart(f"找不到输出目录：{config.out}（请给出 dossier batch 或 dossier watch 的 --out 目录）")
    if config.inbox is not None and not config.inbox.is_dir():
        raise CannotStart(f"找不到收件箱目录：{config.inbox}")
    if not 1 <= config.port <= 65535:
        raise CannotStart(f"端口须在 1–65535 之间：{config.port}")
    if config.max_upload_mb < 1:
        raise CannotStart("--max-upload-mb 至少为 1")
    if not config.host.strip():
        raise CannotStart("--host 不能为空")
    if config.sign_in:
        try:
            users = load_users(config.users_path)
        except UsersError as exc:
            raise CannotStart(str(exc)) from exc
        if not users:
            raise CannotStart(
                f"在 {config.host} 上提供服务需要登录，但还没有用户（{config.users_path}）："
                f"请先运行 dossier user add {config.out} 用户名"
            )


def url_of(config: WebConfig) -> str:
    host = config.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{config.port}/"


def serve(config: WebConfig) -> None:
    """Run the desk until Ctrl-C or SIGTERM (a clean stop). CannotStart when the port cannot be bound."""
    import uvicorn

    from . import create_app

    check_config(config)
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host=config.host, port=config.port, log_level="warning", access_log=False, lifespan="off")
    )
    # uvicorn catches SIGINT and SIGTERM while it serves, stops cleanly, then raises the signal again for the
    # handler found before it: let that one do nothing, the stop is already done.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    where = "仅本机访问，无需登录" if is_local(config.host) else "需要登录"
    logger.info(
        f"办事员工作台：{url_of(config)}（{where}；Ctrl-C 停止）",
        extra={"event": "web_started", "url": url_of(config), "out": str(config.out)},
    )
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits when it cannot bind the address
        raise CannotStart(f"无法在 {config.host}:{config.port} 上启动（端口被占用或地址无效）") from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        raise CannotStart(f"无法在 {config.host}:{config.port} 上启动（端口被占用或地址无效）")
    logger.info("办事员工作台已停止", extra={"event": "web_stopped"})


def users_file(out: Path, users: str | None) -> Path:
    from . import users_file_of

    return Path(users) if users else users_file_of(out)
