import pytest

from server.delivery import tracking as t
from server.delivery.errors import DeliveryCode, DeliveryError

NOW_S = 1_780_000_000
KEY, OTHER = b"k" * 32, b"o" * 32
KEYS = {"org1": [KEY]}


def token(kind=t.TokenKind.CLICK, link=2, expires=NOW_S + 60):
    return t.TrackingToken(kind, "org1", "SEND1", "ana@example.com", link, expires)


def test_a_signed_token_verifies_to_what_was_signed():
    text = t.sign(token(), KEY)
    assert t.verify(text, KEYS, now_s=NOW_S, kind=t.TokenKind.CLICK) == token()
    assert t.verify(text, lambda org: [OTHER, KEY] if org == "org1" else [], now_s=NOW_S) == token()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-2] + ("AA" if not s.endswith("AA") else "BB"),  # forged signature
        lambda s: s.split(".")[0],  # no signature
        lambda s: "x" + s,  # tampered payload
        lambda s: "",
        lambda s: s + "." + s,
        lambda s: "!!!.???",
        lambda s: "a" * 3000,
    ],
)
def test_tampered_tokens_are_token_invalid(mangle):
    with pytest.raises(DeliveryError) as err:
        t.verify(mangle(t.sign(token(), KEY)), KEYS, now_s=NOW_S)
    assert err.value.code == DeliveryCode.TOKEN_INVALID


def test_a_token_signed_with_another_orgs_key_or_for_an_unknown_org_is_invalid():
    with pytest.raises(DeliveryError) as err:
        t.verify(t.sign(token(), OTHER), KEYS, now_s=NOW_S)
    assert err.value.code == DeliveryCode.TOKEN_INVALID
    stranger = t.sign(t.TrackingToken(t.TokenKind.OPEN, "org2", "S", "c"), KEY)
    with pytest.raises(DeliveryError):
        t.verify(stranger, KEYS, now_s=NOW_S)


def test_an_expired_token_is_token_expired_and_an_unsubscribe_token_never_expires():
    with pytest.raises(DeliveryError) as err:
        t.verify(t.sign(token(), KEY), KEYS, now_s=NOW_S + 61)
    assert err.value.code == DeliveryCode.TOKEN_EXPIRED
    assert err.value.http_status == 400
    forever = t.sign(token(t.TokenKind.UNSUBSCRIBE, None, None), KEY)
    assert t.verify(forever, KEYS, now_s=NOW_S + 10**9).kind == t.TokenKind.UNSUBSCRIBE


def test_a_token_of_one_kind_cannot_be_used_as_another():
    opened = t.sign(token(t.TokenKind.OPEN, None), KEY)
    with pytest.raises(DeliveryError) as err:
        t.verify(opened, KEYS, now_s=NOW_S, kind=t.TokenKind.UNSUBSCRIBE)
    assert err.value.code == DeliveryCode.TOKEN_INVALID


def test_clicks_redirect_only_to_links_of_the_message():
    links = ["https://a.example", "https://b.example", "https://c.example"]
    assert t.resolve_click(token(link=2), links) == "https://c.example"
    with pytest.raises(DeliveryError) as err:
        t.resolve_click(token(link=3), links)
    assert err.value.code == DeliveryCode.TOKEN_INVALID


def test_tracking_urls_carry_verifiable_tokens():
    urls = t.TrackingUrls("https://track.example/", "org1", "SEND1", "ana@example.com", KEY, NOW_S)
    click = urls.click_url(4)
    assert click.startswith("https://track.example/t/c/")
    verified = t.verify(click.rsplit("/", 1)[1], KEYS, now_s=NOW_S + 86_400)
    assert (verified.link, verified.send_id, verified.contact) == (4, "SEND1", "ana@example.com")
    unsubscribe = t.verify(urls.unsubscribe_url().rsplit("/", 1)[1], KEYS, now_s=NOW_S)
    assert unsubscribe.expires_at_s is None
    assert len(t.new_org_key()) == 32 and t.new_org_key() != t.new_org_key()


@pytest.mark.parametrize(
    ("agent", "flag"),
    [
        ("Mozilla/5.0", t.PRIVACY_PROXY),  # Apple Mail Privacy Protection
        (
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
            t.PRIVACY_PROXY,
        ),
        (
            "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
            t.PRIVACY_PROXY,
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Mobile/15E148",
            None,
        ),
    ],
)
def test_privacy_proxy_opens_are_flagged(agent, flag):
    assert t.classify_open(agent) == flag


BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"
)
DELIVERED = 1_780_000_000_000


def test_scanner_clicks_by_agent_method_and_speed():
    clicks = [
        t.Click(0, DELIVERED + 3_000, BROWSER),  # three seconds after delivery: a scanner
        t.Click(0, DELIVERED + 3_600_000, "Mozilla/5.0 (compatible; Barracuda Sentinel)"),
        t.Click(0, DELIVERED + 3_600_000, BROWSER, method="HEAD"),
        t.Click(0, DELIVERED + 3_600_000, ""),
        t.Click(0, DELIVERED + 3_600_000, BROWSER),  # a person, an hour later
    ]
    flags = t.classify_clicks(clicks, delivered_at_ms=DELIVERED, link_count=3)
    assert flags == [t.SCANNER, t.SCANNER, t.SCANNER, t.SCANNER, None]


def test_every_link_clicked_in_a_burst_is_a_scanner_but_a_person_clicking_two_is_not():
    burst = [t.Click(i, DELIVERED + 600_000 + i * 500, BROWSER) for i in range(3)]
    assert t.classify_clicks(burst, delivered_at_ms=DELIVERED, link_count=3) == [t.SCANNER] * 3
    person = burst[:2]
    assert t.classify_clicks(person, delivered_at_ms=DELIVERED, link_count=3) == [None, None]
    slow = [t.Click(i, DELIVERED + 600_000 + i * 120_000, BROWSER) for i in range(3)]
    assert t.classify_clicks(slow, delivered_at_ms=DELIVERED, link_count=3) == [None] * 3
