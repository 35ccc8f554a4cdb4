"""Tracking links: signed tokens for the open pixel, click redirects and one-click unsubscribe,
and the rules that tell engagement from machines.

A token is ``base64url(payload) "." base64url(HMAC-SHA256(org key, payload))``; the payload is
compact JSON ``{"k": kind, "o": org, "s": send id, "c": contact, "i": link index, "x": expiry}``.
Stdlib ``hmac`` is all this needs: the format is ours, short, and has no dependency to audit.

* Each org has its own key (``new_org_key``), so a leaked key exposes one org; several keys may
  verify at once (the first signs), so a key can be rotated without breaking mail already sent.
* A click token carries the *index* of the link in the message, never the URL: the redirect
  goes only to the URL the send recorded at that index (``resolve_click``), so a token cannot be
  turned into an open redirect.
* Verification fails closed with ``token_invalid`` (malformed, forged, wrong kind, unknown
  org) or ``token_expired`` (genuine but past its expiry); the caller answers without detail.
* Tracking is idempotent by construction: a token names a send, so recording the same open or
  click twice is a question of counting, and an unsubscribe that is replayed finds the contact
  already unsubscribed.

Not engagement (recorded, flagged ``non_engagement``, never counted; see ``shared.automation``):

* opens fetched by mail-privacy proxies: Apple Mail Privacy Protection fetches every image on
  delivery with a bare ``Mozilla/5.0`` user agent; Google, Yahoo and others fetch through
  image proxies that name themselves;
* clicks by security scanners: a known scanner user agent, a click within
  ``SCANNER_WINDOW_S`` seconds of delivery, or every link of a message clicked within
  ``SCANNER_BURST_S`` seconds (a person clicks one or two).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import DeliveryCode, DeliveryError

MAX_TOKEN_CHARS = 2048
SCANNER_WINDOW_S = 10
SCANNER_BURST_S = 60
#: Default lifetimes: opens and clicks for a year and a half, unsubscribe links for ever
#: (a person may unsubscribe from an old message, and the law expects that to work).
OPEN_TTL_S = CLICK_TTL_S = 548 * 86_400

PRIVACY_PROXY = "privacy_proxy"
SCANNER = "scanner"
_PROXY_AGENTS = re.compile(
    r"GoogleImageProxy|ggpht\.com|YahooMailProxy|Yahoo! Slurp|OutlookImageProxy|"
    r"Mail\.RU_Bot|FeedFetcher|proxy",
    re.IGNORECASE,
)
_APPLE_MPP_AGENT = re.compile(r"^\s*Mozilla/5\.0\s*$")
_SCANNER_AGENTS = re.compile(
    r"Barracuda|Proofpoint|Mimecast|Symantec|Forcepoint|Trend ?Micro|FireEye|Cisco|IronPort|"
    r"SafeLinks|Sophos|Bitdefender|Kaspersky|ZScaler|Microsoft Office|BingPreview|"
    r"python-requests|python-urllib|aiohttp|curl/|Wget|Go-http-client|Java/|okhttp|"
    r"HeadlessChrome|PhantomJS|bot\b|crawler|spider|scanner",
    re.IGNORECASE,
)


class TokenKind(StrEnum):
    OPEN = "o"
    CLICK = "c"
    UNSUBSCRIBE = "u"


@dataclass(frozen=True, slots=True)
class TrackingToken:
    kind: TokenKind
    org: str
    send_id: str
    contact: str
    link: int | None = None  # clicks: the link's index in the message
    expires_at_s: int | None = None  # None: never


def new_org_key() -> bytes:
    """A fresh random per-org signing key (32 bytes)."""
    return secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def sign(token: TrackingToken, key: bytes) -> str:
    """The token as URL-safe text, signed with the org's key."""
    body: dict[str, Any] = {
        "k": str(token.kind),
        "o": token.org,
        "s": token.send_id,
        "c": token.contact,
    }
    if token.link is not None:
        body["i"] = token.link
    if token.expires_at_s is not None:
        body["x"] = token.expires_at_s
    payload = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def _invalid(message: str) -> DeliveryError:
    return DeliveryError(DeliveryCode.TOKEN_INVALID, message)


KeyLookup = Callable[[str], Sequence[bytes]] | Mapping[str, Sequence[bytes]]


def verify(
    text: str,
    keys: KeyLookup,
    *,
    now_s: int,
    kind: TokenKind | None = None,
) -> TrackingToken:
    """The token ``text`` stands for, if one of the org's ``keys`` signed it and it has not
    expired; DeliveryError(token_invalid | token_expired) otherwise. ``keys`` maps an org to its
    keys (newest first), as a mapping or a function."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_TOKEN_CHARS or text.count(".") != 1:
        raise _invalid("malformed tracking token")
    payload_text, mac_text = text.split(".")
    try:
        payload, mac = _unb64(payload_text), _unb64(mac_text)
        body = json.loads(payload)
    except (binascii.Error, ValueError):
        raise _invalid("malformed tracking token") from None
    if not isinstance(body, dict) or not isinstance(body.get("o"), str):
        raise _invalid("malformed tracking token")
    org_keys = keys(body["o"]) if callable(keys) else keys.get(body["o"], ())
    # compare against every key, so timing says nothing about which one (or none) matched
    matched = False
    for key in org_keys or ():
        matched |= hmac.compare_digest(_mac(key, payload), mac)
    if not matched:
        raise _invalid("tracking token signature does not match")
    try:
        token = TrackingToken(
            TokenKind(body["k"]),
            body["o"],
            _text(body["s"]),
            _text(body["c"]),
            _index(body.get("i")),
            _index(body.get("x")),
        )
    except (KeyError, ValueError):
        raise _invalid("malformed tracking token") from None
    if kind is not None and token.kind != kind:
        raise _invalid(f"a {token.kind.name.lower()} token used for {kind.name.lower()}")
    if token.kind == TokenKind.CLICK and token.link is None:
        raise _invalid("a click token without a link")
    if token.expires_at_s is not None and now_s > token.expires_at_s:
        raise DeliveryError(DeliveryCode.TOKEN_EXPIRED, "tracking link has expired")
    return token


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(value)
    return value


def _index(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(value)
    return value


def resolve_click(token: TrackingToken, links: Sequence[str]) -> str:
    """The URL a click token redirects to: the link the send recorded at the token's index;
    token_invalid when there is none (the redirect never goes anywhere else)."""
    if token.kind != TokenKind.CLICK or token.link is None or token.link >= len(links):
        raise _invalid("the tracking link names no link of its message")
    return links[token.link]


@dataclass(frozen=True)
class TrackingUrls:
    """The tracking URLs of one send: ``{base}/t/o/<token>``, ``/t/c/<token>``,
    ``/t/u/<token>`` (the routes the server serves)."""

    base_url: str
    org: str
    send_id: str
    contact: str
    key: bytes
    now_s: int
    open_ttl_s: int = OPEN_TTL_S
    click_ttl_s: int = CLICK_TTL_S

    def _url(self, kind: TokenKind, link: int | None, ttl_s: int | None) -> str:
        token = TrackingToken(
            kind,
            self.org,
            self.send_id,
            self.contact,
            link,
            None if ttl_s is None else self.now_s + ttl_s,
        )
        return f"{self.base_url.rstrip('/')}/t/{kind}/{sign(token, self.key)}"

    def open_url(self) -> str:
        return self._url(TokenKind.OPEN, None, self.open_ttl_s)

    def click_url(self, link: int) -> str:
        return self._url(TokenKind.CLICK, link, self.click_ttl_s)

    def unsubscribe_url(self) -> str:
        return self._url(TokenKind.UNSUBSCRIBE, None, None)


# ---------------------------------------------------------------------- not engagement


def classify_open(user_agent: str | None) -> str | None:
    """``privacy_proxy`` when the pixel was fetched by a mail-privacy or image proxy rather
    than by a person's mail client; None when it looks like a person."""
    agent = user_agent or ""
    if _APPLE_MPP_AGENT.match(agent) or _PROXY_AGENTS.search(agent):
        return PRIVACY_PROXY
    return None


@dataclass(frozen=True, slots=True)
class Click:
    link: int
    at_ms: int
    user_agent: str | None = None
    method: str = "GET"


def classify_clicks(
    clicks: Sequence[Click],
    *,
    delivered_at_ms: int | None,
    link_count: int,
    window_s: int = SCANNER_WINDOW_S,
    burst_s: int = SCANNER_BURST_S,
) -> list[str | None]:
    """For each click of one send, ``scanner`` when a machine made it, else None: a scanner
    user agent or a HEAD request; within ``window_s`` of delivery; or one of a burst in which
    every link of the message (two or more) was clicked within ``burst_s``. Re-run it over all
    of a send's clicks when one arrives: a burst is only recognised once it is complete."""
    flags: list[str | None] = [None] * len(clicks)
    order = sorted(range(len(clicks)), key=lambda i: clicks[i].at_ms)
    for i, click in enumerate(clicks):
        agent = click.user_agent or ""
        if not agent.strip() or _SCANNER_AGENTS.search(agent) or click.method.upper() == "HEAD":
            flags[i] = SCANNER
        elif delivered_at_ms is not None and click.at_ms - delivered_at_ms <= window_s * 1000:
            flags[i] = SCANNER
    if link_count >= 2:
        for start, i in enumerate(order):
            burst = [
                j for j in order[start:] if clicks[j].at_ms - clicks[i].at_ms <= burst_s * 1000
            ]
            if len({clicks[j].link for j in burst}) >= link_count:
                for j in burst:
                    flags[j] = SCANNER
    return flags


class RecentClicks:
    """Each recent send's clicks (in memory, the last ``per_send`` of the last ``sends``
    sends), so a scanner's burst over every link is recognised as the clicks arrive."""

    def __init__(self, sends: int = 10_000, per_send: int = 50) -> None:
        self._sends: OrderedDict[str, list[Click]] = OrderedDict()
        self._limit, self._per_send = sends, per_send

    def add(self, send_id: str, click: Click) -> list[Click]:
        """Note a click; the send's recent clicks, this one last."""
        clicks = self._sends.pop(send_id, [])
        clicks.append(click)
        self._sends[send_id] = clicks = clicks[-self._per_send :]
        while len(self._sends) > self._limit:
            self._sends.popitem(last=False)
        return clicks
