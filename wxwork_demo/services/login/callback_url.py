"""The callback URL the app registers with the upstream: CALLBACK_URL plus the secret token.

The upstream does not sign callbacks, so the URL itself carries the proof (`?token=`). The token is
shown to nobody: responses and events get the masked form.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from wxwork_demo.config import current_settings
from wxwork_demo.services.secrets import callback_token

CALLBACK_PATH = "/callback/wxwork"
MASK = "***"


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    query.append(("token", token))
    return urlunsplit(parts._replace(query=urlencode(query)))


def registered_callback_url(url: str = "") -> str:
    """What SetCallbackUrl receives: `url` (default CALLBACK_URL), with the token when it points at us."""
    url = url or current_settings().callback_url
    if urlsplit(url).path.rstrip("/").endswith(CALLBACK_PATH):
        return _with_token(url, callback_token())
    return url


def shown_callback_url(url: str) -> str:
    """The same URL with the token masked, for responses and logs."""
    if "token=" not in url:
        return url
    return _with_token(url, MASK).replace("token=%2A%2A%2A", "token=***")
