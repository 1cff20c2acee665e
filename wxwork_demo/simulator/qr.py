"""Login QR codes: keys in the upstream format and real, scannable PNG images."""

from __future__ import annotations

import io
import uuid

import qrcode
from qrcode.image.pure import PyPNGImage


def new_qrcode_key() -> str:
    """A qrcodeKey as upstream issues it: 32 upper-case hex characters."""
    return uuid.uuid4().hex.upper()


def qr_png(text: str) -> bytes:
    """Encode `text` as a PNG QR code (pure Python via pypng, so Pillow is not needed)."""
    image = qrcode.make(text, image_factory=PyPNGImage, box_size=6, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def login_qr_text(key: str) -> str:
    """What the phone would read from the QR code; it only has to be unique per key."""
    return f"https://wx.work.weixin.qq.com/cgi-bin/crtx_auth?key={key}&wx=1"
