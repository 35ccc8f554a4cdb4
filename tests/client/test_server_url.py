"""What a person types as the server's address becomes a base URL, or a precise refusal."""

import pytest

from client.sync import BadServerURL, server_base_url


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        ("  https://sync.example.org  ", "https://sync.example.org"),
        ("localhost", "http://localhost"),
        ("https://example.org/wedsync/", "https://example.org/wedsync"),
        ("[::1]:8765", "http://[::1]:8765"),
    ],
)
def test_addresses_people_type_become_base_urls(typed: str, url: str) -> None:
    assert server_base_url(typed) == url


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        ("ftp://example.org", "must start with http:// or https://"),
        ("127.0.0.1:port", "port is not a number"),
        ("127.0.0.1:99999", "port is not a number"),
        ("http://", "names no host"),
        ("http://example.org/?next=1", "no ?query"),
    ],
)
def test_other_addresses_are_refused_saying_what_is_wrong(typed: str, reason: str) -> None:
    with pytest.raises(BadServerURL, match=reason.replace("?", r"\?")) as caught:
        server_base_url(typed)
    assert caught.value.code == "bad_server_url"
