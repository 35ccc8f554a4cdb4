"""The SMTP sender against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import logging
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from server.delivery.message import build_message
from server.delivery.render import RenderedContent
from server.delivery.smtp import (
    RetryPolicy,
    SendStatus,
    SmtpSender,
    SmtpSettings,
    TokenBucket,
)
from server.delivery.tracking import TrackingUrls

PASSWORD = "s3cret-smtp-pass"


class Inbox:
    """Accepts mail; ``replies`` are given to DATA (then RCPT with ``rcpt_replies``) in turn,
    then "250 OK" for ever."""

    def __init__(self, replies=(), rcpt_replies=()):
        self.replies = list(replies)
        self.rcpt_replies = list(rcpt_replies)
        self.messages = []
        self.peers = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.peers.add(session.peer)
        if self.replies:
            return self.replies.pop(0)
        self.messages.append(envelope)
        return "250 OK queued"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve():
    controllers = []

    def start(handler, **kwargs):
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        controllers.append(controller)
        return controller.port

    yield start
    for controller in controllers:
        controller.stop()


class Pauses:
    """Records the backoff pauses instead of waiting them out."""

    def __init__(self):
        self.seen = []

    async def __call__(self, seconds):
        self.seen.append(seconds)


def sender_for(port, pauses, **kw):
    settings = kw.pop("settings", None) or SmtpSettings(
        "127.0.0.1", port, security="none", timeout_s=5
    )
    return SmtpSender(settings, sleep=pauses, **kw)


def a_message(key="en1/s1", to="ana@example.com"):
    urls = TrackingUrls(
        "https://track.wedsync.example", "org1", "SEND1", to, b"k" * 32, 1_780_000_000
    )
    content = RenderedContent("Your day, Ana", "Hi Ana\n\nhttps://barn.example/menu", None)
    return build_message(
        sender="Barn at Bath <hello@barn.example>",
        recipient=to,
        content=content,
        idempotency_key=key,
        tracking=urls,
        unsubscribe_mailto="unsubscribe@barn.example",
    )


async def test_mail_arrives_with_its_headers_and_both_parts(serve):
    inbox = Inbox()
    port = serve(inbox)
    built = a_message()
    async with sender_for(port, Pauses()) as sender:
        result = await sender.send(built)
    assert (result.status, result.attempts, result.message_id) == (
        SendStatus.SENT,
        1,
        built.message_id,
    )
    (envelope,) = inbox.messages
    assert envelope.mail_from == "hello@barn.example" and envelope.rcpt_tos == ["ana@example.com"]
    received = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert received["Message-ID"] == built.message_id
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<https://track.wedsync.example/t/u/" in received["List-Unsubscribe"]
    assert [p.get_content_type() for p in received.iter_parts()] == ["text/plain", "text/html"]
    assert "/t/o/" in received.get_body(("html",)).get_content()


async def test_a_temporary_refusal_is_retried_with_backoff_then_sent(serve):
    inbox = Inbox(replies=["451 4.3.0 Try again later"])
    port = serve(inbox)
    pauses = Pauses()
    async with sender_for(port, pauses) as sender:
        result = await sender.send(a_message())
    assert (result.status, result.attempts) == (SendStatus.SENT, 2)
    assert pauses.seen == [1.0]
    assert len(inbox.messages) == 1


async def test_a_permanent_refusal_of_the_message_is_a_bounce(serve):
    port = serve(Inbox(replies=["550 5.7.1 Message rejected"]))
    pauses = Pauses()
    async with sender_for(port, pauses) as sender:
        result = await sender.send(a_message())
    assert (result.status, result.code, result.attempts) == (SendStatus.BOUNCED, 550, 1)
    assert "rejected" in result.detail and pauses.seen == []


async def test_a_refused_recipient_is_a_bounce(serve):
    port = serve(Inbox(rcpt_replies=["550 5.1.1 No such user"]))
    async with sender_for(port, Pauses()) as sender:
        result = await sender.send(a_message())
    assert (result.status, result.code) == (SendStatus.BOUNCED, 550)


async def test_temporary_failures_that_last_are_deferred_after_exponential_backoff(serve):
    port = serve(Inbox(replies=["421 4.7.0 Busy"] * 5))
    pauses = Pauses()
    async with sender_for(port, pauses, retry=RetryPolicy(attempts=4, base_delay_s=0.5)) as sender:
        result = await sender.send(a_message())
    assert (result.status, result.code, result.attempts) == (SendStatus.DEFERRED, 421, 4)
    assert pauses.seen == [0.5, 1.0, 2.0]


async def test_a_server_that_is_down_is_retried_then_deferred():
    pauses = Pauses()
    async with sender_for(free_port(), pauses, retry=RetryPolicy(attempts=3)) as sender:
        result = await sender.send(a_message())
    assert (result.status, result.code, result.attempts) == (SendStatus.DEFERRED, None, 3)
    assert pauses.seen == [1.0, 2.0]


async def test_one_connection_carries_many_messages(serve):
    inbox = Inbox()
    port = serve(inbox)
    async with sender_for(port, Pauses()) as sender:
        for i in range(5):
            assert (await sender.send(a_message(key=f"en{i}/s1"))).status == SendStatus.SENT
    assert len(inbox.messages) == 5 and len(inbox.peers) == 1
    assert len({m.content for m in inbox.messages}) == 5


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


async def test_login_works_and_a_wrong_password_is_a_settings_failure_not_a_bounce(serve, caplog):
    caplog.set_level(logging.DEBUG)
    inbox = Inbox()
    port = serve(inbox, authenticator=_authenticator, auth_require_tls=False)
    good = SmtpSettings("127.0.0.1", port, security="none", username="barn", password=PASSWORD)
    async with sender_for(port, Pauses(), settings=good) as sender:
        assert (await sender.send(a_message())).status == SendStatus.SENT
    bad = SmtpSettings("127.0.0.1", port, security="none", username="barn", password="wrong")
    async with sender_for(port, Pauses(), settings=bad) as sender:
        result = await sender.send(a_message())
    assert (result.status, result.code) == (SendStatus.FAILED, 535)
    assert PASSWORD not in repr(good) and PASSWORD not in caplog.text
    assert len(inbox.messages) == 1


async def test_starttls_required_but_not_offered_is_a_settings_failure(serve):
    port = serve(Inbox())
    settings = SmtpSettings("127.0.0.1", port, security="starttls", timeout_s=5)
    async with sender_for(port, Pauses(), settings=settings) as sender:
        result = await sender.send(a_message())
    assert result.status == SendStatus.FAILED and result.attempts == 1


async def test_the_rate_limit_spaces_messages_out(serve):
    inbox = Inbox()
    port = serve(inbox)
    clock = [0.0]
    pauses = Pauses()

    async def sleep(seconds):
        await pauses(seconds)
        clock[0] += seconds

    sender = SmtpSender(
        SmtpSettings("127.0.0.1", port, security="none", timeout_s=5),
        rate_per_s=2.0,
        burst=2,
        sleep=sleep,
        clock=lambda: clock[0],
    )
    async with sender:
        for i in range(5):
            await sender.send(a_message(key=f"en{i}/s1"))
    assert len(inbox.messages) == 5
    assert sum(pauses.seen) == pytest.approx(1.5)  # a burst of 2, then one every 0.5 s


async def test_a_token_bucket_refills_with_time():
    clock = [0.0]
    pauses = []

    async def sleep(seconds):
        pauses.append(seconds)
        clock[0] += seconds

    bucket = TokenBucket(10.0, 1, clock=lambda: clock[0], sleep=sleep)
    await bucket.acquire()
    clock[0] += 1.0  # idle for a second: the bucket is full again, but holds only its burst
    await bucket.acquire()
    await bucket.acquire()
    assert pauses == [pytest.approx(0.1)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": "", "port": 25},
        {"host": "smtp.example.com", "port": 0},
        {"host": "smtp.example.com", "port": 25, "security": "ssl"},
        {"host": "smtp.example.com", "port": 25, "username": "u"},
    ],
)
def test_bad_settings_are_refused(kwargs):
    from server.delivery.errors import DeliveryCode, DeliveryError

    with pytest.raises(DeliveryError) as err:
        SmtpSettings(**kwargs)
    assert err.value.code == DeliveryCode.SMTP_SETTINGS_INVALID
