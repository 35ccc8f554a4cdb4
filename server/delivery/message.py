"""One marketing email as an RFC 5322 message, ready for SMTP.

``build_message`` takes rendered content and returns an ``EmailMessage`` with:

* a plain-text part and an HTML part (``multipart/alternative``); when the variant has no HTML,
  the HTML part is made from the text (paragraphs, line breaks, links);
* a deterministic ``Message-ID`` derived from the send's idempotency key, so a retry after a
  crash carries the same id and receivers (and our own records) can tell it is the same mail;
* ``List-Unsubscribe`` with the one-click https URL and, when given, a mailto address, plus
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058; the relay's DKIM signature
  must cover both headers for mailbox providers to honour them);
* every http(s) link rewritten to a tracked click URL that names the link by its index, and an
  open pixel; ``BuiltMessage.links`` lists the original URLs by index, and the send must keep
  them: the click redirect goes only to those. Links to the unsubscribe URL and to the tracking
  host itself are left alone.

Addresses and the subject cannot carry line breaks into headers (``address_invalid``; the
renderer folds the subject onto one line).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from .errors import DeliveryCode, DeliveryError
from .render import RenderedContent
from .tracking import TrackingUrls

_ANCHOR_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_TEXT_URL = re.compile(r"""https?://[^\s<>"'()\[\]{}]+""", re.IGNORECASE)
_TRAILING = ".,;:!?"
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
#: How messages go on the wire: CRLF, and header lines up to RFC 5322's 998 characters, so a
#: long tracking URL in List-Unsubscribe is never folded into an encoded word (which mailbox
#: providers would not read as a URL).
WIRE_POLICY = email_policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class BuiltMessage:
    message: EmailMessage
    message_id: str
    links: tuple[str, ...]  # the original URLs, by the index their click tokens carry

    def to_wire(self) -> bytes:
        return to_wire(self.message)


def to_wire(message: EmailMessage) -> bytes:
    """The message's bytes as SMTP sends them (``WIRE_POLICY``)."""
    return message.as_bytes(policy=WIRE_POLICY)


def message_id_for(idempotency_key: str, domain: str) -> str:
    """``<digest@domain>``: the same key always gives the same Message-ID."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def check_address(address: str, *, what: str = "recipient") -> Address:
    """A single plain email address; DeliveryError(address_invalid) otherwise."""
    if not isinstance(address, str) or any(c in address for c in "\r\n\0"):
        raise DeliveryError(DeliveryCode.ADDRESS_INVALID, f"{what} address is not usable")
    name, addr = parseaddr(address)
    local, at, domain = addr.rpartition("@")
    if not at or not local or "." not in domain or " " in addr:
        raise DeliveryError(
            DeliveryCode.ADDRESS_INVALID, f"{what} {address!r} is not an email address"
        )
    try:
        return Address(display_name=name, username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise DeliveryError(
            DeliveryCode.ADDRESS_INVALID, f"{what} {address!r} is not an email address: {exc}"
        ) from None


def html_from_text(text: str) -> str:
    """A simple HTML body for a text-only variant: paragraphs, line breaks and live links."""

    def para(block: str) -> str:
        escaped = html.escape(block, quote=True)
        linked = _TEXT_URL.sub(lambda m: _anchor(m.group(0)), escaped)
        return "<p>" + linked.replace("\n", "<br>\n") + "</p>"

    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    body = "\n".join(para(b) for b in blocks if b.strip())
    return f'<!doctype html>\n<html><head><meta charset="utf-8"></head><body>\n{body}\n</body></html>\n'


def _anchor(escaped_url: str) -> str:
    url, tail = _split_trailing(escaped_url)
    return f'<a href="{url}">{url}</a>{tail}'


def _split_trailing(url: str) -> tuple[str, str]:
    stripped = url.rstrip(_TRAILING)
    return stripped, url[len(stripped) :]


class _Links:
    """Collects the message's links in order and hands out their tracked URLs."""

    def __init__(self, urls: TrackingUrls, skip: set[str]) -> None:
        self.urls = urls
        self.skip = skip
        self.order: list[str] = []
        self.index: dict[str, int] = {}

    def tracked(self, url: str) -> str | None:
        if not url.lower().startswith(("http://", "https://")) or url in self.skip:
            return None
        if url.startswith(self.urls.base_url.rstrip("/") + "/"):
            return None
        if url not in self.index:
            self.index[url] = len(self.order)
            self.order.append(url)
        return self.urls.click_url(self.index[url])

    def rewrite_html(self, body: str) -> str:
        def swap(match: re.Match[str]) -> str:
            url = html.unescape(match.group(3).strip())
            tracked = self.tracked(url)
            if tracked is None:
                return match.group(0)
            return f"{match.group(1)}{match.group(2)}{html.escape(tracked)}{match.group(2)}"

        return _ANCHOR_HREF.sub(swap, body)

    def rewrite_text(self, body: str) -> str:
        def swap(match: re.Match[str]) -> str:
            url, tail = _split_trailing(match.group(0))
            tracked = self.tracked(url)
            return match.group(0) if tracked is None else tracked + tail

        return _TEXT_URL.sub(swap, body)


def _with_pixel(body: str, pixel_url: str) -> str:
    pixel = (
        f'<img src="{html.escape(pixel_url)}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    found = list(_BODY_END.finditer(body))
    if not found:
        return body + pixel
    at = found[-1].start()
    return body[:at] + pixel + body[at:]


def build_message(
    *,
    sender: str,
    recipient: str,
    content: RenderedContent,
    idempotency_key: str,
    tracking: TrackingUrls | None = None,
    unsubscribe_mailto: str | None = None,
    reply_to: str | None = None,
    date_ms: int | None = None,
    domain: str | None = None,
) -> BuiltMessage:
    """The message for one send (see the module rules). ``tracking`` None builds an untracked
    message (a test send from the app), still with its List-Unsubscribe mailto if given."""
    from_address = check_address(sender, what="sender")
    to_address = check_address(recipient)
    message_id = message_id_for(idempotency_key, domain or from_address.domain)
    text = content.text
    body_html = content.html if content.html else html_from_text(text)
    links: tuple[str, ...] = ()
    unsubscribe_url = tracking.unsubscribe_url() if tracking is not None else None
    if tracking is not None:
        collector = _Links(tracking, {unsubscribe_url} if unsubscribe_url else set())
        body_html = collector.rewrite_html(body_html)
        text = collector.rewrite_text(text)
        body_html = _with_pixel(body_html, tracking.open_url())
        links = tuple(collector.order)

    message = EmailMessage(policy=WIRE_POLICY)
    message["From"] = from_address
    message["To"] = to_address
    message["Subject"] = content.subject
    moment = datetime.fromtimestamp(date_ms / 1000, tz=UTC) if date_ms is not None else None
    message["Date"] = format_datetime(moment or datetime.now(UTC))
    message["Message-ID"] = message_id
    if reply_to:
        message["Reply-To"] = check_address(reply_to, what="reply-to")
    targets = []
    if unsubscribe_url:
        targets.append(f"<{unsubscribe_url}>")
    if unsubscribe_mailto:
        check_address(unsubscribe_mailto, what="unsubscribe mailbox")
        targets.append(f"<mailto:{unsubscribe_mailto}?subject=unsubscribe>")
    if targets:
        message["List-Unsubscribe"] = ", ".join(targets)
    if unsubscribe_url and unsubscribe_url.startswith("https://"):
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(body_html, subtype="html")
    return BuiltMessage(message, message_id, links)
