"""Settings: defaults here, then ``config/kefu.toml``, then ``KEFU_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _config_file() -> Path:
    return Path(os.environ.get("KEFU_CONFIG", "config/kefu.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", extra="ignore")

    #: SQLAlchemy URL; SQLite (embedded) by default, ``postgresql+asyncpg://...`` in production.
    database_url: str = "sqlite+aiosqlite:///var/kefu.db"
    #: Redis URL; empty means embedded mode (in-process job runner and event bus).
    redis_url: str = ""
    #: Key for signing tokens and encrypting channel secrets; read from ``data_dir`` if empty.
    secret_key: str = ""
    #: The address customers' providers and browsers reach this hub at.
    public_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    #: The port of the built-in SMTP receiver (email channels); none when unset.
    smtp_port: int | None = None
    #: Where the connectors' own listeners (the SMTP receiver) listen.
    listen_host: str = "127.0.0.1"
    #: Where SQLite, the generated secret key and (by default) attachments live.
    data_dir: Path = Path("var")
    #: Attachment storage folder; defaults to ``data_dir/files``.
    storage_dir: Path | None = None
    max_upload_bytes: int = 10 * 1024 * 1024
    #: How long a file's signed URL works. Every read of a message signs its files afresh, so
    #: a thread reloaded in the inbox always has working links.
    file_url_ttl_s: float = 24 * 3600
    upload_types: list[str] = Field(
        default_factory=lambda: [
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "application/pdf",
            "text/plain",
            "audio/mpeg",
            "audio/amr",
            "video/mp4",
            "application/zip",
        ]
    )
    #: Largest webhook or API body accepted.
    max_body_bytes: int = 1024 * 1024
    #: Longest a job may run; a job of a worker that died is run again after this plus 10 s.
    job_timeout_s: float = 60.0
    max_delivery_attempts: int = 8
    #: arq worker: how often to look for jobs while they keep coming, and how many to run at
    #: once. An idle worker is woken by each enqueue and looks every ``worker_idle_poll_s``.
    worker_poll_delay_s: float = 0.01
    worker_idle_poll_s: float = 0.5
    worker_max_jobs: int = 50
    #: How old unfinished work must be before the sweeper enqueues it again.
    sweep_after_s: float = 30.0
    sweep_every_s: float = 15.0
    #: How long an agent whose last inbox page (or API websocket) closed still counts as
    #: connected: a page that reloads within it changes nothing.
    presence_grace_s: float = 30.0
    #: Channel pollers (a mailbox, a provider's sync API): how often a process looks after
    #: them, and how long its claim on one lasts before another process may take it over.
    poll_check_s: float = 5.0
    poll_lease_s: float = 30.0
    #: Lifetime of a login token (API tokens from ``kefu token create`` do not expire).
    session_hours: int = 12
    #: Failed logins allowed per account and client address, and per client address, in
    #: ``login_window_s``; per account from any address in ``login_account_window_s`` (short,
    #: so that nobody can lock a real agent out for long). See hub/services/login_guard.py.
    login_failures_per_account_address: int = 5
    login_failures_per_address: int = 30
    login_window_s: float = 900.0
    login_failures_per_account: int = 10
    login_account_window_s: float = 60.0
    #: each failure beyond the third (per account and address) answers this much later
    login_slowdown_s: float = 1.0
    #: Let channels' API addresses be private or loopback hosts (local fakes in tests, an
    #: on-premises gateway); link-local and metadata addresses are refused all the same.
    allow_private_networks: bool = False
    #: Reverse proxies whose ``X-Forwarded-For`` names the client (addresses or networks,
    #: JSON list): behind one, throttling counts clients rather than the proxy.
    trusted_proxies: list[str] = Field(default_factory=list)
    #: A MaxMind City or Country database (``.mmdb``, e.g. GeoLite2-City) that the live visitor
    #: panel reads visitors' regions from; none: no regions. Never looked up online.
    geoip_path: Path | None = None
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    #: arq queue name, so that several hubs can share one Redis.
    queue_name: str = "kefu:queue"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    @property
    def embedded(self) -> bool:
        return not self.redis_url

    @property
    def files_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "files"

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in ``data_dir``."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
