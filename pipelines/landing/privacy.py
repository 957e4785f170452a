"""What of a request may be stored: IP addresses truncated, paths reduced to templates.

IP addresses are truncated, never stored whole: IPv4 to its /24 network (`203.0.113.0/24`),
IPv6 to its /48 (`2001:db8:1::/48`), as Google Analytics' IP anonymisation does. Truncation needs
no secret (an HMAC would tie the extract to TRANSFORMS__PSEUDONYM_KEY) and still shows which
campus or network a burst of errors comes from. Query strings are dropped (they carry tokens and
search terms) and ids in paths become `:id`.
"""

from __future__ import annotations

import ipaddress
import re

import polars as pl

# An id segment: a number, a UUID, a hex token (≥ 16 digits) or a long opaque token with a
# digit in it (base64/JWT-like), optionally with a format suffix (`/12.json`, `/34.pdf`).
_ID = (r"(?:\d+|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
       r"|[0-9A-Fa-f]{16,}|[A-Za-z_-]*\d[A-Za-z0-9_-]{19,})")
# Consumes the slash after the segment (Rust's regex has no look-ahead): two passes replace
# every segment of a run such as /12/34/56 (see path_template).
_SEGMENT = rf"/{_ID}(\.[A-Za-z0-9]+)?(/|$)"
_SEGMENT_RE = re.compile(_SEGMENT)


def path_template_expr(path: pl.Expr) -> pl.Expr:
    """`/api/units/12/tasks?abbr=1` → `/api/units/:id/tasks`, vectorised."""
    bare = path.str.replace(r"[?#].*$", "")
    once = bare.str.replace_all(_SEGMENT, "/:id${1}${2}")
    return once.str.replace_all(_SEGMENT, "/:id${1}${2}")


def path_template(path: str) -> str:
    """The same as path_template_expr, for one path."""
    bare = re.sub(r"[?#].*$", "", path)
    for _ in range(2):
        bare = _SEGMENT_RE.sub(lambda m: f"/:id{m[1] or ''}{m[2]}", bare)
    return bare


def truncate_ip(value: str | None) -> str | None:
    """`203.0.113.9` → `203.0.113.0/24`; IPv6 → its /48; anything else → None (never kept)."""
    if not value:
        return None
    text = value.strip().strip("[]")
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def truncate_ip_expr(ip: pl.Expr) -> pl.Expr:
    """truncate_ip, vectorised: IPv4 by a regex, the rare rest (IPv6, junk) one by one."""
    # Matching without captures, and Python only for the rows that are not IPv4: both ~10×.
    v4 = ip.str.contains(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
    other = pl.when(~v4).then(ip).map_elements(truncate_ip, return_dtype=pl.String,
                                                skip_nulls=True)
    return pl.when(v4).then(ip.str.replace(r"\.\d{1,3}$", ".0/24")).otherwise(other)


_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
                   r"(?![0-9A-Fa-f:])")


def _mask_v6(match: re.Match[str]) -> str:
    return truncate_ip(match[0]) or match[0]  # 09:00:01 is a time, not an address


def mask_line(line: str, limit: int) -> str:
    """A raw line safe to keep in quarantine: every IP address truncated, then cut to `limit`
    characters (masking first, so a cut never leaves half an address whole)."""
    masked = _IPV4.sub(lambda m: f"{m[1]}.0/24", line)
    masked = _IPV6.sub(_mask_v6, masked)
    return masked[:limit]


# What a quarantined log line may still hold of a person, beyond its addresses (extract.py masks
# those): a query string (tokens, search terms, a username parameter), nginx's $remote_user, the
# names Doubtfire logs (`Authenticate jsmith from …`, `Login …`, `jsmith assessing task …`).
_QUERY = re.compile(r"\?[^\s\"]*")
_NGINX_USER = re.compile(r"^(\S+ - )(?!- )\S+( \[)")
_NAMED = re.compile(r"\b(Authenticated?|Login) \S+ from\b")
_ASSESSOR = re.compile(r"(: )\S+( assessing task)")


def scrub_line(line: str) -> str:
    """A log line to keep in quarantine, without the people in it (addresses: see mask_line)."""
    line = _QUERY.sub("?…", line)
    line = _NGINX_USER.sub(r"\1…\2", line)
    line = _NAMED.sub(r"\1 … from", line)
    return _ASSESSOR.sub(r"\1…\2", line)
