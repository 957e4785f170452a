"""One HTTP GET of a /metrics endpoint: the body as text, or `ScrapeFailed` in one line (the
endpoint unreachable, an HTTP error, a body too large or not UTF-8). The standard library's
client: one plain request needs nothing more."""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlsplit, urlunsplit

from pipelines.metrics import settings


class ScrapeFailed(Exception):
    """The endpoint gave no exposition; the message says why, in one line."""


def shown(url: str) -> str:
    """The URL as stored and logged: without query string or fragment (a token may be there)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def fetch(url: str, *, token: str | None, timeout: float, max_bytes: int) -> str:
    headers = {"Accept": settings.ACCEPT, "Accept-Encoding": "identity",
               "User-Agent": "thoth-metrics-scrape"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        hint = (": check SOURCES__ONTRACK_METRICS__BEARER_TOKEN" if exc.code in (401, 403)
                else "")
        raise ScrapeFailed(f"HTTP {exc.code} {exc.reason}{hint}") from None
    except urllib.error.URLError as exc:
        raise ScrapeFailed(f"unreachable: {_reason(exc.reason)}") from None
    except (TimeoutError, OSError) as exc:
        raise ScrapeFailed(f"unreachable: {_reason(exc)}") from None
    except ValueError as exc:  # http.client's InvalidURL and bad headers
        raise ScrapeFailed(f"not a usable URL: {_reason(exc)}") from None
    if len(body) > max_bytes:
        raise ScrapeFailed(f"the body is larger than {max_bytes:,} bytes "
                           "(SOURCES__ONTRACK_METRICS__MAX_BODY_BYTES)")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScrapeFailed(f"the body is not UTF-8 text (byte {exc.start:,})") from None


def _reason(reason: object) -> str:
    text = " ".join(str(reason).split())
    return text[:200] or type(reason).__name__
