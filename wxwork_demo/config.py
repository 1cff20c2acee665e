"""Settings read once from the environment (and `.env`), typed and validated at start.

The names and defaults are the Node.js demo's, so an existing `.env` keeps working. A value that cannot
work stops the app with a `ConfigError` naming the variable, instead of failing on the first request.
`create_app` keeps the one `Settings` object on the app (`current_settings()` reads it); nothing else in
the app reads the environment. Tests give `create_app` a mapping instead, read exactly like the
environment but without it (or `.env`): what a developer has set cannot change what a test sees.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlsplit

from dotenv import load_dotenv
from flask import Flask, current_app

from wxwork_demo.paths import PROJECT_ROOT as PROJECT_ROOT  # re-exported: schema.py and tests read it here
from wxwork_demo.paths import working_folder

DEFAULT_KEY_FILE = Path("instance") / "secret_key"
SUPPORTED_DB_SCHEMES = ("sqlite", "mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql")
EXTENSION_KEY = "wxwork_settings"
# Environment text by variable name, as load_settings reads it.
Env = Mapping[str, str]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def key_file_path(configured: str) -> Path:
    """SECRET_KEY_FILE as a path: a relative one (the default `instance/secret_key` too) is taken in the working
    folder (paths.py: the clone, or the current directory of an installed copy), never inside site-packages."""
    return working_folder() / (configured.strip() or DEFAULT_KEY_FILE)


def default_sqlite_path() -> Path:
    """The database when none is configured: instance/wxwork.sqlite3 in the working folder (paths.py)."""
    return working_folder() / "instance" / "wxwork.sqlite3"


class ConfigError(ValueError):
    """A setting has a value the app cannot work with."""


@dataclass(frozen=True)
class Settings:
    port: int = 3000
    # BASE_URL unset: the bundled simulator at 127.0.0.1:SIMULATOR_PORT, for every entry point (`wxwork run` also
    # starts it). The old demo defaulted to its public upstream, http://47.94.7.218:9952: set BASE_URL to use it.
    base_url: str = "http://127.0.0.1:9952"
    callback_url: str = ""
    database_url: str = ""
    max_events: int = 100
    monitor_interval_ms: int = 45000
    monitor_autostart: bool = True
    upstream_connect_timeout: float = 5.0
    upstream_read_timeout: float = 15.0
    # Keeping accounts online (services/monitor/runtime.py, services/monitor/reconnect.py).
    monitor_concurrency: int = 32
    monitor_tick_ms: int = 1000
    monitor_lease_s: float = 10.0
    reconnect_max_attempts: int = 3
    reconnect_debounce_s: float = 2.0
    reconnect_backoff_s: float = 5.0
    reconnect_backoff_max_s: float = 300.0
    # How long one reconnect attempt may take before the monitor takes it for interrupted and starts again.
    reconnect_deadline_s: float = 110.0
    callback_refresh_s: float = 600.0
    alert_webhook_url: str = ""
    # Disconnect codes reconnected without a person (the others wait for one): README "Keeping accounts online".
    reconnect_on: tuple[int, ...] = (100007,)
    # An online account without any callback for this long is checked and flagged "silent".
    silence_alert_s: float = 3600.0
    # Access and intake (wxwork_demo/access.py, services/intake/callbacks.py).
    host: str = "127.0.0.1"
    console_password: str = ""
    api_token: str = ""
    secret_key: str = ""
    # Where the app key is kept when SECRET_KEY is unset (services/secrets.py).
    secret_key_file: str = str(DEFAULT_KEY_FILE)
    callback_token: str = ""
    callback_allowed_ips: tuple[IPNetwork, ...] = ()
    callback_dedup_hours: float = 48.0
    max_body_bytes: int = 1_048_576
    # Reverse proxies in front (nginx: 1) whose X-Forwarded-For/-Proto/-Host the app believes; 0: none.
    trusted_proxies: int = 0
    # The longest a client may take to send a request (slow_clients.py, gunicorn_conf.py).
    client_timeout: float = 5.0
    # Serving (wxwork_demo/gunicorn_conf.py, serve.py). gunicorn_bind: what gunicorn listens on (default
    # HOST:PORT); web_concurrency: worker processes (0: one per core, at most 4); gunicorn_threads: request
    # threads per worker, which also sizes each process's database pool (db.pool_size_for).
    gunicorn_bind: str = ""
    web_concurrency: int = 0
    # "auto": gevent when listening beyond the loopback, else gthread (gunicorn_conf.py says why).
    gunicorn_worker_class: str = "auto"
    gunicorn_connections: int = 1000
    gunicorn_threads: int = 16
    gunicorn_timeout: int = 60
    gunicorn_keepalive: int = 5
    gunicorn_accesslog: str = ""
    log_level: str = "info"
    # The CA bundle for an https upstream (requests' own variables), the bundled simulator's port for `run`.
    upstream_ca_bundle: str = ""
    simulator_port: int = 9952
    # Log lines as text or one JSON object per line (log_format.py).
    log_format: str = "text"
    # True when BASE_URL was not given: `make run` then starts the bundled simulator.
    base_url_is_default: bool = True
    # Sending more than text (services/business/pacing.py, services/business/media_source.py, services/rooms/).
    # Sends through one account at least SEND_MIN_INTERVAL_MS apart, plus up to SEND_JITTER_MS; a send that
    # would wait longer than SEND_MAX_WAIT_MS is refused (429); more than SEND_REPEAT_LIMIT identical sends to
    # one conversation within a minute too.
    send_min_interval_ms: int = 1000
    send_jitter_ms: int = 300
    send_max_wait_ms: int = 10000
    send_repeat_limit: int = 5
    # The largest image or file sent (by URL or upload), and how long its URL may take to answer.
    media_max_bytes: int = 20 * 1024 * 1024
    media_fetch_timeout_s: float = 10.0
    # Links to send are fetched from this host: public addresses only, unless this lets loopback, private and
    # link-local ones through (files on a LAN server; services/business/public_links.py).
    media_url_allow_private: bool = False
    # Received media (GET /api/messages/<id>/media): kept under MEDIA_DIR (default instance/media in the working
    # folder), each file at most MEDIA_MAX_BYTES, for MEDIA_RETENTION_DAYS.
    media_dir: str = ""
    media_retention_days: int = 30
    # A cached room list is read again from the upstream after this long (room callbacks refresh it sooner).
    rooms_cache_s: float = 3600.0
    # Inbox and forwarding (services/inbox/, services/forwarding/). forward_url: the targets (FORWARD_URL,
    # comma-separated; none: forwarding is off); forward_types: the callback type codes forwarded (None for
    # FORWARD_TYPES=*: every type the inbox keeps).
    forward_url: tuple[str, ...] = ()
    forward_secret: str = ""
    forward_types: frozenset[int] | None = frozenset({102000})
    forward_timeout_s: float = 5.0
    forward_max_attempts: int = 12
    forward_backoff_s: float = 1.0
    forward_backoff_max_s: float = 600.0
    forward_concurrency: int = 8
    message_retention_days: int = 30


DEFAULTS = Settings()
# The variables read by load_settings, beyond the upper-case names of the fields.
OTHER_NAMES = {
    "MYSQL_HOST",
    "MYSQL_PORT",
    "MYSQL_USER",
    "MYSQL_PASSWORD",
    "MYSQL_DATABASE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
}
SETTING_NAMES = frozenset({f.name.upper() for f in fields(Settings)} | OTHER_NAMES)


def current_settings() -> Settings:
    """The settings of the app handling the current request, command or job."""
    return settings_of(current_app)


def settings_of(app: Flask) -> Settings:
    settings = app.extensions.get(EXTENSION_KEY)
    if not isinstance(settings, Settings):
        raise RuntimeError("this Flask app has no wxwork settings: build it with wxwork_demo.create_app")
    return settings


def as_environment(mapping: Mapping[str, Any]) -> dict[str, str]:
    """A mapping of setting names to values (typed or text) as environment text, for `load_settings`."""

    def text(value: Any) -> str:
        if isinstance(value, (list, tuple, set)):
            return ",".join(str(item) for item in value)
        return "" if value is None else str(value)

    return {name: text(value) for name, value in mapping.items() if name in SETTING_NAMES}


def _int(env: Env, name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Env, name: str, default: float, *, zero_ok: bool = False) -> float:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0 or (value == 0 and not zero_ok):
        raise ConfigError(f"{name} must be {'at least' if zero_ok else 'greater than'} 0, got {value}")
    return value


def _bool(env: Env, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _choice(env: Env, name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first when unset)."""
    raw = env.get(name, "").strip().lower() or choices[0]
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _http_url(env: Env, name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    if raw == "":
        return raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _database_url(env: Env) -> str:
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        mysql_keys = ("MYSQL_HOST", "MYSQL_PORT", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DATABASE")
        if any(env.get(key, "").strip() for key in mysql_keys):
            host = env.get("MYSQL_HOST", "").strip() or "127.0.0.1"
            port = _int(env, "MYSQL_PORT", 3306, minimum=1)
            user = env.get("MYSQL_USER", "").strip() or "root"
            password = env.get("MYSQL_PASSWORD", "")
            database = env.get("MYSQL_DATABASE", "").strip() or "wxwork"
            auth = quote_plus(user) + (":" + quote_plus(password) if password else "")
            url = f"mysql+pymysql://{auth}@{host}:{port}/{database}?charset=utf8mb4"
        else:
            url = f"sqlite:///{default_sqlite_path()}"
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SUPPORTED_DB_SCHEMES:
        raise ConfigError(
            f"DATABASE_URL has an unsupported scheme {scheme!r}; use one of {', '.join(SUPPORTED_DB_SCHEMES)}"
        )
    if scheme in ("mysql", "mariadb"):
        url = url.replace(f"{scheme}://", f"{scheme}+pymysql://", 1)
    folder = sqlite_folder(url)
    if folder is not None and folder != default_sqlite_path().parent and not folder.is_dir():
        # A mistyped path must not become a new tree of folders holding an empty database.
        raise ConfigError(
            f"DATABASE_URL names a SQLite file in {folder}, which does not exist: correct the path, or create the "
            f"folder first (mkdir -p {folder})"
        )
    return url


def sqlite_folder(url: str) -> Path | None:
    """The folder of a SQLite database file (None for another database, or one in memory)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path).parent


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 from a dual-stack listener
    return (mapped or address).is_loopback


def require_auth_beyond_loopback(host: str, console_password: str, api_token: str, name: str = "HOST") -> None:
    """Listening beyond loopback with no password and no token would hand the accounts to anyone."""
    if not is_loopback(host) and not (console_password or api_token):
        raise ConfigError(
            f"{name}={host} listens beyond loopback: set CONSOLE_PASSWORD (console login) and/or API_TOKEN "
            "(scripts) first, or listen on 127.0.0.1"
        )


def _token(env: Env, name: str) -> str:
    value = env.get(name, "").strip()
    if value and (len(value) < 16 or not value.replace("-", "").replace("_", "").isalnum()):
        raise ConfigError(f"{name} must be at least 16 letters, digits, '-' or '_'")
    return value


# The disconnect callbacks an automatic reconnect may answer (100009 and 100012 always need a person).
RECONNECTABLE = (100005, 100007, 100008)


def _reconnect_codes(env: Env, name: str) -> tuple[int, ...]:
    raw = env.get(name, ",".join(str(code) for code in DEFAULTS.reconnect_on)).strip()
    codes: list[int] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        if not part.isdigit() or int(part) not in RECONNECTABLE:
            allowed = ", ".join(str(c) for c in RECONNECTABLE)
            raise ConfigError(f"{name} must be a comma-separated list of {allowed} (or empty), got {part!r}")
        codes.append(int(part))
    return tuple(codes)


# A console password is typed by people (and throttled); an API token, like the callback token, is pasted.
MIN_CONSOLE_PASSWORD = 12
MIN_API_TOKEN = 16


def _credential(env: Env, name: str, minimum: int) -> str:
    value = env.get(name, "")
    if value and len(value) < minimum:
        raise ConfigError(f"{name} must be at least {minimum} characters long, got {len(value)}")
    return value


def _networks(env: Env, name: str) -> tuple[IPNetwork, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return ()
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated IP addresses or networks: {exc}") from None


def _reconnect_deadline(env: Env, connect_timeout: float, read_timeout: float) -> float:
    """An attempt makes at most four upstream calls (init, SetCallbackUrl, CloseConnent, automaticLogin):
    its deadline must leave them their whole timeouts, or a slow attempt would be started twice. The default
    is their longest total plus 30 s (110 s with the default timeouts)."""
    longest = 4 * (connect_timeout + read_timeout)
    deadline = _float(env, "RECONNECT_DEADLINE_S", longest + 30)
    if deadline <= longest:
        raise ConfigError(
            f"RECONNECT_DEADLINE_S must be more than 4 × (UPSTREAM_CONNECT_TIMEOUT + UPSTREAM_READ_TIMEOUT) "
            f"= {longest:g} s, got {deadline:g}"
        )
    return deadline


MAX_TARGET_LENGTH = 255  # the deliveries.target column


def _forward_targets(env: Env) -> tuple[str, ...]:
    """FORWARD_URL: http(s) URLs, comma-separated; FORWARD_SECRET is required with them (deliveries are signed)."""
    targets: list[str] = []
    for part in (p.strip() for p in env.get("FORWARD_URL", "").split(",")):
        if not part:
            continue
        split = urlsplit(part)
        if split.scheme not in ("http", "https") or not split.netloc:
            raise ConfigError(f"FORWARD_URL must be http(s) URLs, comma-separated; got {part!r}")
        if len(part) > MAX_TARGET_LENGTH:
            raise ConfigError(f"FORWARD_URL: each URL must be at most {MAX_TARGET_LENGTH} characters")
        if part not in targets:
            targets.append(part)
    if targets and not env.get("FORWARD_SECRET", "").strip():
        raise ConfigError("FORWARD_SECRET is required when FORWARD_URL is set (deliveries are signed with it)")
    return tuple(targets)


def _forward_types(env: Env) -> frozenset[int] | None:
    raw = env.get("FORWARD_TYPES", "").strip()
    if raw == "":
        return DEFAULTS.forward_types
    if raw == "*":
        return None
    try:
        return frozenset(int(code) for code in raw.split(",") if code.strip())
    except ValueError:
        raise ConfigError(f"FORWARD_TYPES must be callback type codes, comma-separated, or *; got {raw!r}") from None


def _port(env: Env, name: str, default: int) -> int:
    port = _int(env, name, default, minimum=1)
    if port > 65535:
        raise ConfigError(f"{name} must be at most 65535, got {port}")
    return port


def load_settings(environ: Mapping[str, Any] | None = None, dotenv: bool = True) -> Settings:
    """Read every setting from `environ` (default: the process environment after loading `.env`)."""
    if environ is None:
        if dotenv:
            load_dotenv(working_folder() / ".env", override=False)
        environ = dict(os.environ)
    env = {key: str(value) for key, value in environ.items()}
    port = _port(env, "PORT", DEFAULTS.port)
    base_url_given = bool(env.get("BASE_URL", "").strip())
    simulator_port = _port(env, "SIMULATOR_PORT", DEFAULTS.simulator_port)
    host = env.get("HOST", "").strip() or DEFAULTS.host
    require_auth_beyond_loopback(host, env.get("CONSOLE_PASSWORD", ""), env.get("API_TOKEN", ""))
    connect_timeout = _float(env, "UPSTREAM_CONNECT_TIMEOUT", DEFAULTS.upstream_connect_timeout)
    read_timeout = _float(env, "UPSTREAM_READ_TIMEOUT", DEFAULTS.upstream_read_timeout)
    return Settings(
        port=port,
        base_url=_http_url(env, "BASE_URL", f"http://127.0.0.1:{simulator_port}"),
        callback_url=_http_url(env, "CALLBACK_URL", f"http://127.0.0.1:{port}/callback/wxwork"),
        database_url=_database_url(env),
        max_events=_int(env, "MAX_EVENTS", DEFAULTS.max_events, minimum=1),
        monitor_interval_ms=_int(env, "MONITOR_INTERVAL_MS", DEFAULTS.monitor_interval_ms, minimum=100),
        monitor_autostart=_bool(env, "MONITOR_AUTOSTART", DEFAULTS.monitor_autostart),
        upstream_connect_timeout=connect_timeout,
        upstream_read_timeout=read_timeout,
        monitor_concurrency=_int(env, "MONITOR_CONCURRENCY", DEFAULTS.monitor_concurrency, minimum=1),
        monitor_tick_ms=_int(env, "MONITOR_TICK_MS", DEFAULTS.monitor_tick_ms, minimum=50),
        monitor_lease_s=_float(env, "MONITOR_LEASE_S", DEFAULTS.monitor_lease_s),
        reconnect_max_attempts=_int(env, "RECONNECT_MAX_ATTEMPTS", DEFAULTS.reconnect_max_attempts, minimum=1),
        reconnect_debounce_s=_float(env, "RECONNECT_DEBOUNCE_S", DEFAULTS.reconnect_debounce_s, zero_ok=True),
        reconnect_backoff_s=_float(env, "RECONNECT_BACKOFF_S", DEFAULTS.reconnect_backoff_s),
        reconnect_backoff_max_s=_float(env, "RECONNECT_BACKOFF_MAX_S", DEFAULTS.reconnect_backoff_max_s),
        reconnect_deadline_s=_reconnect_deadline(env, connect_timeout, read_timeout),
        callback_refresh_s=_float(env, "CALLBACK_REFRESH_S", DEFAULTS.callback_refresh_s),
        alert_webhook_url=_http_url(env, "ALERT_WEBHOOK_URL", DEFAULTS.alert_webhook_url),
        reconnect_on=_reconnect_codes(env, "RECONNECT_ON"),
        silence_alert_s=_float(env, "SILENCE_ALERT_S", DEFAULTS.silence_alert_s),
        host=host,
        console_password=_credential(env, "CONSOLE_PASSWORD", MIN_CONSOLE_PASSWORD),
        api_token=_credential(env, "API_TOKEN", MIN_API_TOKEN),
        secret_key=env.get("SECRET_KEY", ""),
        secret_key_file=str(key_file_path(env.get("SECRET_KEY_FILE", ""))),
        callback_token=_token(env, "CALLBACK_TOKEN"),
        callback_allowed_ips=_networks(env, "CALLBACK_ALLOWED_IPS"),
        callback_dedup_hours=_float(env, "CALLBACK_DEDUP_HOURS", DEFAULTS.callback_dedup_hours),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", DEFAULTS.max_body_bytes, minimum=1024),
        trusted_proxies=_int(env, "TRUSTED_PROXIES", DEFAULTS.trusted_proxies),
        client_timeout=_float(env, "CLIENT_TIMEOUT", DEFAULTS.client_timeout),
        gunicorn_bind=env.get("GUNICORN_BIND", "").strip(),
        web_concurrency=_int(env, "WEB_CONCURRENCY", DEFAULTS.web_concurrency, minimum=1),
        gunicorn_worker_class=env.get("GUNICORN_WORKER_CLASS", "").strip() or DEFAULTS.gunicorn_worker_class,
        gunicorn_connections=_int(env, "GUNICORN_CONNECTIONS", DEFAULTS.gunicorn_connections, minimum=1),
        gunicorn_threads=_int(env, "GUNICORN_THREADS", DEFAULTS.gunicorn_threads, minimum=1),
        gunicorn_timeout=_int(env, "GUNICORN_TIMEOUT", DEFAULTS.gunicorn_timeout),
        gunicorn_keepalive=_int(env, "GUNICORN_KEEPALIVE", DEFAULTS.gunicorn_keepalive),
        gunicorn_accesslog=env.get("GUNICORN_ACCESSLOG", "").strip(),
        log_level=env.get("LOG_LEVEL", "").strip() or DEFAULTS.log_level,
        upstream_ca_bundle=(env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or "").strip(),
        simulator_port=simulator_port,
        log_format=_choice(env, "LOG_FORMAT", ("text", "json")),
        base_url_is_default=not base_url_given,
        send_min_interval_ms=_int(env, "SEND_MIN_INTERVAL_MS", DEFAULTS.send_min_interval_ms),
        send_jitter_ms=_int(env, "SEND_JITTER_MS", DEFAULTS.send_jitter_ms),
        send_max_wait_ms=_int(env, "SEND_MAX_WAIT_MS", DEFAULTS.send_max_wait_ms),
        send_repeat_limit=_int(env, "SEND_REPEAT_LIMIT", DEFAULTS.send_repeat_limit, minimum=1),
        media_max_bytes=_int(env, "MEDIA_MAX_BYTES", DEFAULTS.media_max_bytes, minimum=1024),
        media_fetch_timeout_s=_float(env, "MEDIA_FETCH_TIMEOUT_S", DEFAULTS.media_fetch_timeout_s),
        media_url_allow_private=_bool(env, "MEDIA_URL_ALLOW_PRIVATE", DEFAULTS.media_url_allow_private),
        rooms_cache_s=_float(env, "ROOMS_CACHE_S", DEFAULTS.rooms_cache_s, zero_ok=True),
        media_dir=str(working_folder() / (env.get("MEDIA_DIR", "").strip() or "instance/media")),
        media_retention_days=_int(env, "MEDIA_RETENTION_DAYS", DEFAULTS.media_retention_days, minimum=1),
        forward_url=_forward_targets(env),
        forward_secret=env.get("FORWARD_SECRET", ""),
        forward_types=_forward_types(env),
        forward_timeout_s=_float(env, "FORWARD_TIMEOUT_S", DEFAULTS.forward_timeout_s),
        forward_max_attempts=_int(env, "FORWARD_MAX_ATTEMPTS", DEFAULTS.forward_max_attempts, minimum=1),
        forward_backoff_s=_float(env, "FORWARD_BACKOFF_S", DEFAULTS.forward_backoff_s),
        forward_backoff_max_s=_float(env, "FORWARD_BACKOFF_MAX_S", DEFAULTS.forward_backoff_max_s),
        forward_concurrency=_int(env, "FORWARD_CONCURRENCY", DEFAULTS.forward_concurrency, minimum=1),
        message_retention_days=_int(env, "MESSAGE_RETENTION_DAYS", DEFAULTS.message_retention_days, minimum=1),
    )
