import email
import email.policy
import re

import pytest

from server.delivery.errors import DeliveryCode, DeliveryError
from server.delivery.message import build_message, html_from_text, message_id_for
from server.delivery.render import RenderedContent
from server.delivery.tracking import TokenKind, TrackingUrls, resolve_click, verify

KEY = b"k" * 32
NOW_S = 1_780_000_000
URLS = TrackingUrls("https://track.wedsync.example", "org1", "SEND1", "ana@example.com", KEY, NOW_S)


def build(content, **kw):
    kw.setdefault("tracking", URLS)
    return build_message(
        sender="Barn at Bath <hello@barn.example>",
        recipient="ana@example.com",
        content=content,
        idempotency_key="en1/s1",
        unsubscribe_mailto="unsubscribe@barn.example",
        date_ms=NOW_S * 1000,
        **kw,
    )


def parsed(built):
    return email.message_from_bytes(built.to_wire(), policy=email.policy.default)


def token_of(url):
    return url.rsplit("/", 1)[1]


def test_headers_parts_and_a_deterministic_message_id():
    built = build(RenderedContent("Your day, Ana", "Hi Ana\n\nhttps://barn.example/menu", None))
    msg = parsed(built)
    assert msg["Message-ID"] == built.message_id == message_id_for("en1/s1", "barn.example")
    assert build(RenderedContent("x", "y", None)).message_id == built.message_id  # a retry
    assert msg["From"] == "Barn at Bath <hello@barn.example>" and msg["To"] == "ana@example.com"
    assert msg["Subject"] == "Your day, Ana"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    targets = re.findall(r"<([^>]+)>", msg["List-Unsubscribe"])
    assert targets[0].startswith("https://track.wedsync.example/t/u/")
    assert targets[1] == "mailto:unsubscribe@barn.example?subject=unsubscribe"
    assert verify(token_of(targets[0]), {"org1": [KEY]}, now_s=NOW_S).kind == TokenKind.UNSUBSCRIBE
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_no_header_line_is_folded_into_an_encoded_word():
    raw = build(RenderedContent("Hi", "x", None)).to_wire().decode()
    unsubscribe = next(line for line in raw.split("\r\n") if line.startswith("List-Unsubscribe:"))
    assert "=?" not in unsubscribe and "https://track.wedsync.example/t/u/" in unsubscribe


def test_links_become_tracked_clicks_that_resolve_to_the_original_urls():
    content = RenderedContent(
        "Hi",
        "Menu: https://barn.example/menu?a=1&b=2. Again https://barn.example/menu?a=1&b=2",
        '<p><a href="https://barn.example/menu?a=1&amp;b=2">menu</a> '
        "<a href='https://barn.example/rooms'>rooms</a> <a href=\"mailto:x@barn.example\">mail</a> "
        '<a href="#top">top</a></p></body>',
    )
    built = build(content)
    assert built.links == ("https://barn.example/menu?a=1&b=2", "https://barn.example/rooms")
    msg = parsed(built)
    html = msg.get_body(("html",)).get_content()
    hrefs = re.findall(r"""href=["']([^"']+)""", html)
    assert hrefs[2:] == ["mailto:x@barn.example", "#top"]  # left alone
    for href, want in zip(hrefs[:2], built.links, strict=True):
        token = verify(token_of(href), {"org1": [KEY]}, now_s=NOW_S, kind=TokenKind.CLICK)
        assert resolve_click(token, built.links) == want
    text = msg.get_body(("plain",)).get_content()
    text_urls = re.findall(r"https://track\.wedsync\.example/t/c/[\w-]+\.[\w-]+", text)
    assert len(text_urls) == 2
    assert text_urls[0] == text_urls[1] == hrefs[0].replace("&amp;", "&")
    # the open pixel sits just before </body>
    assert re.search(r'<img src="https://track\.wedsync\.example/t/o/[^"]+"[^>]*></body>', html)


def test_the_unsubscribe_link_in_the_body_is_not_tracked_as_a_click():
    unsubscribe = URLS.unsubscribe_url()
    built = build(RenderedContent("Hi", f"Leave: {unsubscribe}", None))
    assert built.links == ()
    assert unsubscribe in parsed(built).get_body(("plain",)).get_content()


def test_a_text_only_variant_gets_an_html_part_with_live_links():
    html = html_from_text("Hi <Ana>,\n\nSee https://barn.example/a?x=1&y=2.\nBye")
    assert "<p>Hi &lt;Ana&gt;,</p>" in html
    assert (
        '<a href="https://barn.example/a?x=1&amp;y=2">https://barn.example/a?x=1&amp;y=2</a>.<br>'
        in html
    )


def test_an_untracked_test_send_keeps_its_links():
    built = build(RenderedContent("Hi", "https://barn.example/menu", None), tracking=None)
    msg = parsed(built)
    assert "https://barn.example/menu" in msg.get_body(("plain",)).get_content()
    assert msg["List-Unsubscribe-Post"] is None  # one-click needs the https link
    assert built.links == ()


@pytest.mark.parametrize(
    "address", ["", "ana", "ana@localhost", "ana@example.com\r\nBcc: x@y.z", "a b@example.com"]
)
def test_a_contact_without_a_usable_address_is_address_invalid(address):
    with pytest.raises(DeliveryError) as err:
        build_message(
            sender="hello@barn.example",
            recipient=address,
            content=RenderedContent("s", "t"),
            idempotency_key="k",
        )
    assert err.value.code == DeliveryCode.ADDRESS_INVALID
