"""Draw a QR code image in the terminal with block characters, so a phone can scan the screen."""

from __future__ import annotations

import base64
import binascii
import io

DARK = 128


def decode_image(data: bytes) -> list[list[bool]]:
    """Pixels of an image (the upstream sends a JPEG, some deployments a PNG) as rows of booleans (True = dark)."""
    # Imported here: the login flow imports this module for image_bytes, and Pillow would add about 2 MB to
    # every worker that never draws a QR code.
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        gray = image.convert("L")
        width, height = gray.size
        values = gray.tobytes()
    return [[values[y * width + x] < DARK for x in range(width)] for y in range(height)]


def modules_from_pixels(pixels: list[list[bool]]) -> list[list[bool]]:
    """Sample one pixel per QR module: the finder pattern at the top left is 7 modules wide."""
    top = next(y for y, row in enumerate(pixels) if any(row))
    left = pixels[top].index(True)
    run = 0
    while left + run < len(pixels[top]) and pixels[top][left + run]:
        run += 1
    size = max(run / 7, 1)
    right = max(x for x, dark in enumerate(pixels[top]) if dark)
    count = round((right - left + 1) / size)
    return [
        [pixels[int(top + (j + 0.5) * size)][int(left + (i + 0.5) * size)] for i in range(count)] for j in range(count)
    ]


def render_modules(modules: list[list[bool]], quiet: int = 2) -> str:
    """Two module rows per text line; light modules are drawn, so dark terminals show dark-on-light."""
    size = len(modules)
    padded = [[False] * (size + 2 * quiet) for _ in range(quiet)]
    padded += [[False] * quiet + row + [False] * quiet for row in modules]
    padded += [[False] * (size + 2 * quiet) for _ in range(quiet + 1)]
    lines = []
    for y in range(0, len(padded) - 1, 2):
        upper, lower = padded[y], padded[y + 1]
        chars = {(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}
        lines.append("".join(chars[(a, b)] for a, b in zip(upper, lower, strict=True)))
    return "\n".join(lines)


def render_qr_image(data: bytes) -> str | None:
    """The QR drawn as text, or None when the image is not one this can read."""
    try:
        return render_modules(modules_from_pixels(decode_image(data)))
    except (OSError, StopIteration, IndexError, ValueError):  # OSError: PIL's UnidentifiedImageError too
        return None


def image_bytes(qrcode: str) -> bytes | None:
    """The bytes of a `data:image/...;base64,` URL or bare base64; None for a plain URL."""
    payload = qrcode.split(",", 1)[1] if qrcode.startswith("data:") else qrcode
    if payload.startswith(("http://", "https://")):
        return None
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        return None
