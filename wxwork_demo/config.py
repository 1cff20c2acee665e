"""Settings read once from the environment (and `.env`), typed and validated at start.

The names and defaults are the Node.js demo's, so an existing `.env` keeps working. A value that cannot
work stops the app with a `ConfigError` naming the variable, instead of failing on the first request.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import quote_plus, urlsplit

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "instance" / "wxwork.sqlite3"
SUPPORTED_DB_SCHEMES = ("sqlite", "mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql")


class ConfigError(ValueError):
    """A setting has a value the app cannot work with."""


@dataclass(frozen=True)
class Settings:
    port: int = 3000
    base_url: str = "http://47.94.7.218:9952"
    callback_url: str = ""
    database_url: str = ""
    max_events: int = 100
    monitor_interval_ms: int = 45000
    monitor_autostart: bool = True
    upstream_connect_timeout: float = 5.0
    upstream_read_timeout: float = 15.0
    # Keeping accounts online (services/monitor/runtime.py, services/monitor/reconnect.py).
    monitor_concurrency: int = 8
    monitor_tick_ms: int = 1000
    monitor_lease_s: float = 10.0
    reconnect_max_attempts: int = 3
    reconnect_debounce_s: float = 2.0
    reconnect_backoff_s: float = 5.0
    reconnect_backoff_max_s: float = 300.0
    callback_refresh_s: float = 600.0
    alert_webhook_url: str = ""
    # Disconnect codes reconnected without a person (the others wait for one): README "Keeping accounts online".
    reconnect_on: tuple = (100007,)
    # An online account without any callback for this long is checked and flagged "silent".
    silence_alert_s: float = 3600.0
    # Access and intake (wxwork_demo/access.py, services/intake/callbacks.py).
    host: str = "127.0.0.1"
    console_password: str = ""
    api_token: str = ""
    secret_key: str = ""
    callback_token: str = ""
    callback_allowed_ips: tuple = ()
    callback_dedup_hours: float = 48.0
    max_content_length: int = 1_048_576
    # Inbox and forwarding (services/inbox/, services/forwarding/); see forwarding_settings().
    forward_url: str = ""
    forward_targets: tuple = ()
    forward_secret: str = ""
    forward_types: str = "102000"
    forward_type_codes: frozenset | None = frozenset({102000})
    forward_timeout_s: float = 5.0
    forward_max_attempts: int = 12
    forward_backoff_s: float = 1.0
    forward_backoff_max_s: float = 600.0
    forward_concurrency: int = 8
    message_retention_days: int = 30
    # True when BASE_URL was not given: `make run` then starts the bundled simulator.
    base_url_is_default: bool = True

    def as_flask_config(self) -> dict:
        """The settings as upper-case Flask config keys."""
        values = {f.name.upper(): getattr(self, f.name) for f in fields(self)}
        values["MAX_CONTENT_LENGTH"] = self.max_content_length
        return values


def _int(env: dict, name: str, default: int, minimum: int = 0) -> int:
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


def _float(env: dict, name: str, default: float) -> float:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {value}")
    return value


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _http_url(env: dict, name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    if raw == "":
        return raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _database_url(env: dict) -> str:
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
            url = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SUPPORTED_DB_SCHEMES:
        raise ConfigError(
            f"DATABASE_URL has an unsupported scheme {scheme!r}; use one of {', '.join(SUPPORTED_DB_SCHEMES)}"
        )
    if scheme in ("mysql", "mariadb"):
        url = url.replace(f"{scheme}://", f"{scheme}+pymysql://", 1)
    return url


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_auth_beyond_loopback(host: str, console_password: str, api_token: str, name: str = "HOST") -> None:
    """Listening beyond loopback with no password and no token would hand the accounts to anyone."""
    if not is_loopback(host) and not (console_password or api_token):
        raise ConfigError(
            f"{name}={host} listens beyond loopback: set CONSOLE_PASSWORD (console login) and/or API_TOKEN "
            "(scripts) first, or listen on 127.0.0.1"
        )


def _token(env: dict, name: str) -> str:
    value = env.get(name, "").strip()
    if value and (len(value) < 16 or not value.replace("-", "").replace("_", "").isalnum()):
        raise ConfigError(f"{name} must be at least 16 letters, digits, '-' or '_'")
    return value


# The disconnect callbacks an automatic reconnect may answer (100009 and 100012 always need a person).
RECONNECTABLE = (100005, 100007, 100008)


def _reconnect_codes(env: dict, name: str) -> tuple:
    raw = env.get(name, "100007").strip()
    codes = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        if not part.isdigit() or int(part) not in RECONNECTABLE:
            allowed = ", ".join(str(c) for c in RECONNECTABLE)
            raise ConfigError(f"{name} must be a comma-separated list of {allowed} (or empty), got {part!r}")
        codes.append(int(part))
    return tuple(codes)


def _networks(env: dict, name: str) -> tuple:
    raw = env.get(name, "").strip()
    if not raw:
        return ()
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated IP addresses or networks: {exc}") from None


MAX_TARGET_LENGTH = 255


def forwarding_settings(values) -> dict:
    """FORWARD_TARGETS and FORWARD_TYPE_CODES from FORWARD_URL, FORWARD_SECRET and FORWARD_TYPES, checked.

    Run on the environment at start and again by `create_app` on its final config (tests and embedders
    pass settings directly): a forwarding that cannot work stops the app, naming the variable.
    """
    raw_url = values.get("FORWARD_URL") or ""
    parts = raw_url if isinstance(raw_url, (list, tuple)) else str(raw_url).split(",")
    targets: list[str] = []
    for part in (str(p).strip() for p in parts):
        if not part:
            continue
        split = urlsplit(part)
        if split.scheme not in ("http", "https") or not split.netloc:
            raise ConfigError(f"FORWARD_URL must be http(s) URLs, comma-separated; got {part!r}")
        if len(part) > MAX_TARGET_LENGTH:
            raise ConfigError(f"FORWARD_URL: each URL must be at most {MAX_TARGET_LENGTH} characters")
        if part not in targets:
            targets.append(part)
    secret = str(values.get("FORWARD_SECRET") or "")
    if targets and not secret.strip():
        raise ConfigError("FORWARD_SECRET is required when FORWARD_URL is set (deliveries are signed with it)")
    raw_types = values.get("FORWARD_TYPES")
    raw_types = "102000" if raw_types is None or str(raw_types).strip() == "" else str(raw_types).strip()
    codes: frozenset | None = None
    if raw_types != "*":
        try:
            codes = frozenset(int(code) for code in raw_types.split(",") if code.strip())
        except ValueError:
            raise ConfigError(
                f"FORWARD_TYPES must be callback type codes, comma-separated, or *; got {raw_types!r}"
            ) from None
    return {"FORWARD_TARGETS": tuple(targets), "FORWARD_TYPE_CODES": codes}


def load_settings(environ: dict | None = None, dotenv: bool = True) -> Settings:
    """Read every setting from `environ` (default: the process environment after loading `.env`)."""
    if environ is None:
        if dotenv:
            load_dotenv(PROJECT_ROOT / ".env", override=False)
        environ = dict(os.environ)
    env = {key: str(value) for key, value in environ.items()}
    port = _int(env, "PORT", 3000, minimum=1)
    if port > 65535:
        raise ConfigError(f"PORT must be at most 65535, got {port}")
    base_url_given = bool(env.get("BASE_URL", "").strip())
    host = env.get("HOST", "").strip() or "127.0.0.1"
    require_auth_beyond_loopback(host, env.get("CONSOLE_PASSWORD", ""), env.get("API_TOKEN", ""))
    forwarding = forwarding_settings(env)
    return Settings(
        port=port,
        base_url=_http_url(env, "BASE_URL", "http://47.94.7.218:9952"),
        callback_url=_http_url(env, "CALLBACK_URL", f"http://127.0.0.1:{port}/callback/wxwork"),
        database_url=_database_url(env),
        max_events=_int(env, "MAX_EVENTS", 100, minimum=1),
        monitor_interval_ms=_int(env, "MONITOR_INTERVAL_MS", 45000, minimum=100),
        monitor_autostart=_bool(env, "MONITOR_AUTOSTART", True),
        upstream_connect_timeout=_float(env, "UPSTREAM_CONNECT_TIMEOUT", 5.0),
        upstream_read_timeout=_float(env, "UPSTREAM_READ_TIMEOUT", 15.0),
        monitor_concurrency=_int(env, "MONITOR_CONCURRENCY", 8, minimum=1),
        monitor_tick_ms=_int(env, "MONITOR_TICK_MS", 1000, minimum=50),
        monitor_lease_s=_float(env, "MONITOR_LEASE_S", 10.0),
        reconnect_max_attempts=_int(env, "RECONNECT_MAX_ATTEMPTS", 3, minimum=1),
        reconnect_debounce_s=_float(env, "RECONNECT_DEBOUNCE_S", 2.0),
        reconnect_backoff_s=_float(env, "RECONNECT_BACKOFF_S", 5.0),
        reconnect_backoff_max_s=_float(env, "RECONNECT_BACKOFF_MAX_S", 300.0),
        callback_refresh_s=_float(env, "CALLBACK_REFRESH_S", 600.0),
        alert_webhook_url=_http_url(env, "ALERT_WEBHOOK_URL", ""),
        reconnect_on=_reconnect_codes(env, "RECONNECT_ON"),
        silence_alert_s=_float(env, "SILENCE_ALERT_S", 3600.0),
        host=host,
        console_password=env.get("CONSOLE_PASSWORD", ""),
        api_token=env.get("API_TOKEN", ""),
        secret_key=env.get("SECRET_KEY", ""),
        callback_token=_token(env, "CALLBACK_TOKEN"),
        callback_allowed_ips=_networks(env, "CALLBACK_ALLOWED_IPS"),
        callback_dedup_hours=_float(env, "CALLBACK_DEDUP_HOURS", 48.0),
        max_content_length=_int(env, "MAX_BODY_BYTES", 1_048_576, minimum=1024),
        forward_url=env.get("FORWARD_URL", "").strip(),
        forward_targets=forwarding["FORWARD_TARGETS"],
        forward_secret=env.get("FORWARD_SECRET", ""),
        forward_types=env.get("FORWARD_TYPES", "").strip() or "102000",
        forward_type_codes=forwarding["FORWARD_TYPE_CODES"],
        forward_timeout_s=_float(env, "FORWARD_TIMEOUT_S", 5.0),
        forward_max_attempts=_int(env, "FORWARD_MAX_ATTEMPTS", 12, minimum=1),
        forward_backoff_s=_float(env, "FORWARD_BACKOFF_S", 1.0),
        forward_backoff_max_s=_float(env, "FORWARD_BACKOFF_MAX_S", 600.0),
        forward_concurrency=_int(env, "FORWARD_CONCURRENCY", 8, minimum=1),
        message_retention_days=_int(env, "MESSAGE_RETENTION_DAYS", 30, minimum=1),
        base_url_is_default=not base_url_given,
    )
