"""Settings of the upstream simulator, with their defaults and validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class SimulatorSettings:
    """Knobs of one simulator app. Every key is optional in the settings dict."""

    # Seconds a login QR code may stay unscanned before the instance is destroyed (callback 100009).
    qr_ttl: float = 600.0
    # Extra delivery attempts after the first one fails (connection error or non-2xx answer).
    callback_retries: int = 3
    # Pause before retry n is n * callback_retry_delay seconds.
    callback_retry_delay: float = 0.5
    # Per-attempt timeout of a callback POST.
    callback_timeout: float = 5.0
    # Delivery threads; each instance always maps to the same thread, which keeps its callbacks in order.
    callback_workers: int = 4
    # Size of the generated directories.
    contacts_inner_people: int = 60
    contacts_external: int = 300
    # Seed of the generated directory and profiles, so two runs see the same people.
    seed: int = 20240507
    # Base URL put into QR image URLs; None means "the host the request came in on".
    public_url: str | None = None
    # Error texts, configurable because the real upstream does not document them (upstream-api.md §6).
    errmsg_unknown_instance: str = "实例不存在"
    errmsg_not_logged_in: str = "实例未登录"

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any] | None) -> SimulatorSettings:
        """Build settings from a plain dict, rejecting unknown keys so a typo does not pass silently."""
        settings = dict(settings or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise ValueError(f"unknown simulator settings: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in settings.items():
            default = getattr(cls, name)
            if value is None:
                values[name] = default if name != "public_url" else None
            elif name == "public_url":
                values[name] = str(value).rstrip("/") or None
            elif isinstance(default, str):
                values[name] = str(value)
            elif isinstance(default, float):
                values[name] = float(value)
            else:
                values[name] = int(value)
        result = cls(**values)
        result._validate()
        return result

    def _validate(self) -> None:
        if self.qr_ttl <= 0:
            raise ValueError("qr_ttl must be positive")
        if self.callback_retries < 0:
            raise ValueError("callback_retries must be >= 0")
        if self.callback_workers < 1:
            raise ValueError("callback_workers must be >= 1")
        if self.contacts_inner_people < 0 or self.contacts_external < 0:
            raise ValueError("contact counts must be >= 0")
