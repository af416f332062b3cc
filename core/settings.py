"""Every environment variable the product reads, in one place: `Settings()` (pydantic-settings).

Each is `DOSSIER_<NAME>` (e.g. `DOSSIER_PAGES_PER_FILE=500`), read when a `Settings` is constructed: the
code that needs a value constructs one (≈1 ms) rather than keeping one in a module, so a test or a worker
whose environment changed sees the change. `XDG_CACHE_HOME` is read too (the cache's fallback place).

Variables the product *sets* for libraries (PREFECT_*, ORT_DISABLE_TELEMETRY, TMPDIR …) are not here:
they stay where they are set (flows/server.py, extractors/ocr.py, core/scratch.py).

Importing this module costs ~0.2 s (pydantic-settings): import it inside the functions that need it
(`core.paths.cache_root`, `core.limits.Limits.from_env`), never at the top of a module that
`dossier check` imports before its reading processes start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, create_model, field_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.limits import ENV_PREFIX, Limits

LIMIT_NAMES = tuple(Limits.__dataclass_fields__)
# core/limits.py: how much of a dossier is read at most, one DOSSIER_<NAME> each, Limits' defaults.
_LimitSettings: Any = create_model(
    "_LimitSettings",
    __base__=BaseSettings,
    **{name: (int, field.default) for name, field in Limits.__dataclass_fields__.items()},
)


class Settings(_LimitSettings):  # type: ignore[misc]
    """The product's settings from the environment (README "Limits"); defaults where a variable is unset,
    empty or not a positive integer (a limit's nonsense is ignored, not fatal)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True)

    # Where the product keeps what it can rebuild (OCR results, jieba's dictionary, Prefect's results).
    cache_dir: Path | None = Field(None, description="DOSSIER_CACHE_DIR：缓存目录")
    xdg_cache_home: Path | None = Field(None, validation_alias="XDG_CACHE_HOME")
    # Every log event also as a JSON line appended to this file (for scripts and tests).
    event_log: Path | None = Field(None, description="DOSSIER_EVENT_LOG：事件日志（JSON Lines）")

    @field_validator(*LIMIT_NAMES, mode="before")
    @classmethod
    def _positive_integer(cls, value: Any) -> int:
        text = str(value).strip()
        if text.isdigit() and int(text) > 0:
            return int(text)
        raise PydanticUseDefault()

    @property
    def limits(self) -> Limits:
        return Limits(**{name: getattr(self, name) for name in LIMIT_NAMES})

    @property
    def cache_root(self) -> Path:
        """$DOSSIER_CACHE_DIR, else $XDG_CACHE_HOME/dossier-check, else ~/.cache/dossier-check."""
        if self.cache_dir is not None:
            return self.cache_dir
        return (self.xdg_cache_home or Path.home() / ".cache") / "dossier-check"
