"""Settings of the upstream simulator, with their defaults and validation.

The defaults behave like the real upstream as its documentation describes it (upstream-api.md,
upstream-api-more.md §6-§7). Where the simulator used to be more generous than that, the generous
behaviour is kept as an opt-in setting, named after what it changes, so a test can run against both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import parse_error_overrides

QR_IMAGE_FORMATS = ("jpeg", "png")


@dataclass(frozen=True)
class SimulatorSettings:
    """Knobs of one simulator app. Every key is optional in the settings dict."""

    # Seconds a login QR code may stay unscanned before the instance is destroyed (callback 100009).
    qr_ttl: float = 600.0
    # Extra delivery attempts after the first one fails. The docs document no retry at all (§4, A19).
    callback_retries: int = 0
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
    # Replacements for the simulator's error answers: {name: [errcode, errmsg]} (see errors.py).
    errors: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    # JSON file keeping which accounts logged in on which device across restarts of the simulator
    # process (the upstream keeps device knowledge when it restarts); None keeps it in memory only.
    device_store: str | None = None
    # Rooms per account (GetSessionRoomList) and the most members one of them has (GetRoomUserList).
    rooms_per_account: int = 23
    room_members_max: int = 40
    # Friend requests waiting for an answer when an account is first seen (plus one accepted, one deleted).
    friend_requests: int = 2
    # Seconds after sending within which RevokeMsg takes a message back. The vendor documents no limit;
    # WeChat's is 2 minutes and WeCom's is reported anywhere from 2 minutes to 24 hours: 2 minutes is the
    # one every account has.
    revoke_limit_s: float = 120.0
    # The CDN: the largest file an upload takes, how long the *Link uploads wait for their URL, and how many
    # bytes of files (uploaded and received) are kept before the oldest go.
    upload_max_bytes: int = 20 * 1024 * 1024
    upload_fetch_timeout: float = 10.0
    media_keep_bytes: int = 64 * 1024 * 1024

    # ----- realistic behaviour and its opt-in generous variants ---------------------------------------
    # init with an id answers with that id as the uuid ("如果初始化传了id则用初始化的id作为uuid", A16).
    # False: a random uuid every time.
    init_uuid_is_vid: bool = True
    # getQrCode's image: "jpeg" as in the docs' sample (`qrcode_data` starts /9j/), or "png".
    qr_image_format: str = "jpeg"
    # True: the QR image's file name is its Key (the old demo's key-from-file-name fallback then works).
    # The docs' sample names the file with a random uuid.
    qr_file_name_is_key: bool = False
    # True: callback 104001 fills `Vid`, `Corpid` and `Corp_name`; the docs' sample has 0, 0 and "".
    login_callback_fills_ids: bool = False
    # True: GetRunClientByUuid still answers while secondary verification is pending. The docs say
    # -11025 comes back from any call (upstream-api-more.md §7).
    secondary_exempts_status_calls: bool = False
    # True: scanning a SecondaryValidation QR sends 100001, 100002 and 104001. The docs promise no
    # callback after secondary verification (00-basic, 二次验证注意事项).
    secondary_scan_sends_login_callbacks: bool = False
    # Seconds after a first login (new device) at which the upstream demands secondary verification
    # (the docs: "within about 30 minutes"); 0 never does.
    secondary_after_first_login_s: float = 0.0
    # True: SendCDNImgMsg/SendCDNFileMsg send whatever keys they are given. By default the send needs the
    # cdnkey, aeskey, md5 and size of an earlier upload (and the image fields it answered, where given).
    cdn_send_unchecked: bool = False
    # True: SendTextAtMsg(Two) @mentions anybody. By default every @ must be a member of the room.
    at_anyone: bool = False

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
            if value is None:
                continue
            if name == "errors":
                values[name] = parse_error_overrides(value)
                continue
            default = getattr(cls, name, None)
            if name in ("public_url", "device_store"):
                values[name] = str(value).rstrip("/") or None
            elif isinstance(default, bool):
                values[name] = _parse_bool(name, value)
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
        if self.qr_image_format not in QR_IMAGE_FORMATS:
            raise ValueError(f"qr_image_format must be one of {', '.join(QR_IMAGE_FORMATS)}")
        if self.secondary_after_first_login_s < 0:
            raise ValueError("secondary_after_first_login_s must be >= 0")
        if self.rooms_per_account < 1 or self.room_members_max < 2 or self.friend_requests < 0:
            raise ValueError("rooms_per_account must be >= 1, room_members_max >= 2, friend_requests >= 0")
        if self.revoke_limit_s <= 0 or self.upload_max_bytes <= 0 or self.upload_fetch_timeout <= 0:
            raise ValueError("revoke_limit_s, upload_max_bytes and upload_fetch_timeout must be positive")

    def public(self) -> dict[str, Any]:
        """Every setting, for the control surface."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "errors"}


def _parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{name} must be true or false")
