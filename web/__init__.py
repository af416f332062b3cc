"""The clerk's desk (`dossier web OUT`): a web page over a batch or watch output folder.

Layout of the package:
- `app.py`: the routes (FastAPI), thin: they call the plain functions of the modules below;
- `round.py`: the round's rows (summary.json, the watch service's registry, final verdicts);
- `dossier.py`: one dossier's report, what the page shows beside each item, the clerk's decisions;
- `auth.py`: users (scrypt hashes), sessions, CSRF, the Host check;
- `upload.py`: uploads streamed into the inbox, atomically;
- `pages.py`: page images on demand, cached; boxes drawn on a page;
- `sources.py`: a dossier's source files for the routes (downloads, pages, boxes) through pages.py;
- `serve.py`: `dossier web`'s arguments checked, uvicorn until Ctrl-C or SIGTERM;
- `templates/`, `static/`: the pages (Jinja2, rendered on the server) and a little plain JavaScript.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

DEFAULT_PORT = 8400
WEB_FOLDER = ".web"  # under OUT: the users file and the sessions; never served


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "本机用户"


@dataclass(frozen=True)
class WebConfig:
    out: Path
    inbox: Path | None = None  # where uploads go (and the sources are read from); else summary.json's inbox
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    user: str = field(default_factory=login_name)  # who decides, on 127.0.0.1 (no sign-in there)
    users_file: Path | None = None  # default OUT/.web/users.json
    max_upload_mb: int = 200
    session_hours: float = 8.0  # a session idle for longer ends

    @property
    def users_path(self) -> Path:
        return self.users_file or users_file_of(self.out)

    @property
    def sessions_path(self) -> Path:
        return self.out / WEB_FOLDER / "sessions.sqlite3"

    @property
    def sign_in(self) -> bool:
        """Whether people must sign in: on any address but this machine's own."""
        from .auth import is_local

        return not is_local(self.host)


def users_file_of(out: Path) -> Path:
    return out / WEB_FOLDER / "users.json"


def create_app(config: WebConfig) -> FastAPI:
    """The desk's ASGI application."""
    from .app import build

    return build(config)
