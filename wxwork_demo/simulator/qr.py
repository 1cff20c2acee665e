"""Login QR codes: keys in the upstream format and real, scannable images.

The docs' getQrCode sample carries a JPEG in `qrcode_data` (it starts `/9j/`) and links an image whose file
name is a random uuid, not the Key (upstream-api-more.md §7); PNG and key-named files are opt-in settings.
"""

from __future__ import annotations

import io
import uuid

import qrcode
from qrcode.image.pil import PilImage

MIME_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}


def new_qrcode_key() -> str:
    """A qrcodeKey as upstream issues it: 32 upper-case hex characters."""
    return uuid.uuid4().hex.upper()


def new_image_name() -> str:
    """A file name for a QR image as in the docs' sample URL (`…/980343ff-bf71-4789-8a0a-af3f7fd40bc0.png`)."""
    return str(uuid.uuid4())


def qr_image(text: str, image_format: str) -> bytes:
    """Encode `text` as a QR code image, "jpeg" or "png"."""
    image = qrcode.make(text, image_factory=PilImage, box_size=6, border=2).get_image().convert("L")
    buffer = io.BytesIO()
    if image_format == "jpeg":
        image.save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_mime_type(data: bytes) -> str:
    """The content type of an image this module made, told by its first bytes."""
    return MIME_TYPES["jpeg"] if data.startswith(b"\xff\xd8") else MIME_TYPES["png"]


def login_qr_text(key: str) -> str:
    """What the phone would read from the QR code; it only has to be unique per key."""
    return f"https://wx.work.weixin.qq.com/cgi-bin/crtx_auth?key={key}&wx=1"
