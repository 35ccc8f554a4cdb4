import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.protocol import messages as m
from shared.protocol.errors import ErrorCode, ProtocolError
from shared.protocol.events import Event, event_from_row, event_from_wire, validate_batch
from shared.protocol.hlc import HybridClock, unpack
from shared.protocol.ids import is_id, new_id
from shared.protocol.kinds import EVENT_CLASSES, RULED_KINDS

# kinds with rules of their own (spend) have their own round trip (test_spend.py)
kinds = st.sampled_from(sorted(set(EVENT_CLASSES) - RULED_KINDS))
payload_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20)
)
events = st.builds(
    Event,
    id=st.builds(lambda: new_id()),
    kind=kinds,
    occurred_at_ms=st.integers(946_684_800_000, 4_102_444_800_000),
    hlc=st.integers(0, 2**63 - 1),
    contact=st.one_of(st.none(), st.emails()),
    campaign=st.one_of(st.none(), st.builds(lambda: new_id())),
    channel=st.one_of(st.none(), st.sampled_from(["email", "wedding_fair", "paid_search"])),
    value_cents=st.one_of(st.none(), st.integers(-(10**13), 10**13)),
    payload=st.dictionaries(st.text(min_size=1, max_size=10), payload_values, max_size=5),
)


@given(events)
def test_event_survives_the_wire(event):
    packed = msgpack.packb(event.to_wire(), use_bin_type=True)
    frame = m.decode_frame(m.push_events_raw(7, event.priority, [packed]))
    assert frame["b"] == 7
    assert [event_from_row(row) for row in frame["events"]] == [event]


def test_new_ids_are_ulids_and_ordered():
    ids = [new_id() for _ in range(1000)]
    assert all(is_id(i) for i in ids)
    assert len(set(ids)) == 1000


def test_hybrid_clock_is_monotonic_when_the_wall_clock_goes_back():
    wall = [1_000_000]
    clock = HybridClock(now_ms=lambda: wall[0])
    a = clock.now()
    wall[0] -= 5_000
    b = clock.now()
    assert b > a and unpack(b)[0] == 1_000_000
    remote = (2_000_000 << 16) | 3
    c = clock.observe(remote)
    assert c > remote
    assert clock.now() > c


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\xc1garbage", ErrorCode.BAD_FRAME),
        (msgpack.packb([1, 2, 3]), ErrorCode.BAD_FRAME),
        (msgpack.packb({"t": 99}), ErrorCode.BAD_FRAME),
        (msgpack.packb({"t": 1, "v": 999, "token": "x", "device": "d"}), ErrorCode.BAD_VERSION),
        (msgpack.packb({"t": 1, "v": 1}), ErrorCode.BAD_FRAME),
        (msgpack.packb({"t": 3, "b": 1, "c": 9, "e": []}), ErrorCode.BAD_FRAME),
        (msgpack.packb({"t": 3, "b": 1, "c": 0}), ErrorCode.BAD_FRAME),
        (msgpack.packb({"t": 3, "b": 1, "c": 0, "e": [["nope"]]}), ErrorCode.BAD_EVENT),
        (msgpack.packb({"t": 5, "s": {"x": b""}}), ErrorCode.BAD_FRAME),
        ("text", ErrorCode.BAD_FRAME),
    ],
)
def test_malformed_frames_get_precise_codes(data, code):
    with pytest.raises(ProtocolError) as info:
        m.decode_frame(data)
    assert info.value.code == code


def test_oversized_frame_is_too_large():
    with pytest.raises(ProtocolError) as info:
        m.decode_frame(b"\x00" * 101, max_bytes=100)
    assert info.value.code == ErrorCode.TOO_LARGE


def test_event_of_wrong_class_in_batch_is_refused():
    ev = Event(new_id(), "attachment", 1_700_000_000_000, 1)
    packed = msgpack.packb(ev.to_wire())
    with pytest.raises(ProtocolError, match="class 3, batch is class 0"):
        m.decode_frame(m.push_events_raw(1, 0, [packed]))


@pytest.mark.parametrize(
    ("index", "value", "message"),
    [
        (0, "not-an-id", "not a ULID"),
        (1, "teleport", "unknown kind"),
        (2, 12, "between 2000 and 2100"),
        (3, -1, "63-bit"),
        (6, "Has Spaces", "lowercase name"),
        (7, 10**14, r"at most 10\^13"),
        (7, True, "integer"),
        (8, [1], "payload must be a map"),
    ],
)
def test_event_validation_names_the_field(index, value, message):
    wire = Event(new_id(), "conversion", 1_700_000_000_000, 1).to_wire()
    wire[index] = value
    with pytest.raises(ProtocolError, match=message):
        event_from_wire(wire)


@given(st.lists(events, min_size=1, max_size=20), st.data())
def test_batch_fast_path_accepts_exactly_what_single_validation_accepts(batch, data):
    priority = batch[0].priority
    wires = [e.to_wire() for e in batch if e.priority == priority]
    # corrupt one field of one event, or nothing
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(wires) - 1))
        field = data.draw(st.integers(0, 8))
        wires[i][field] = data.draw(
            st.one_of(st.none(), st.integers(), st.text(max_size=30), st.booleans(), st.just([]))
        )
    try:
        for i, w in enumerate(wires):
            ev = event_from_wire(list(w), i)
            assert ev.priority == priority
        single_ok = True
    except (ProtocolError, AssertionError):
        single_ok = False
    try:
        validate_batch(wires, priority)
        batch_ok = True
    except ProtocolError:
        batch_ok = False
    assert batch_ok == single_ok


bad_values = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.booleans(),
    st.just([]),
    st.just(b"\x00"),
    st.just({1: 2}),
    st.just("01ARZ3NDEKTSV4RRFFQ69G5FA\n"),
    st.just("01arz3ndektsv4rrffq69g5fav"),
    st.just("email\n"),
)


@given(st.lists(events, min_size=1, max_size=20), st.data())
def test_typed_decode_accepts_exactly_what_single_validation_accepts(batch, data):
    """The typed decode of PUSH frames (msgspec) and the per-event rules agree on every input,
    and the typed path returns the same events."""
    priority = batch[0].priority
    wires = [e.to_wire() for e in batch if e.priority == priority]
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(wires) - 1))
        wires[i][data.draw(st.integers(0, 8))] = data.draw(bad_values)
    try:
        expected = [event_from_wire(list(w), i) for i, w in enumerate(wires)]
        single_ok = all(ev.priority == priority for ev in expected)
    except ProtocolError:
        single_ok = False
    frame = m.push_events_raw(3, priority, [msgpack.packb(w, use_bin_type=True) for w in wires])
    fast = m.decode_push_events(frame)
    assert (fast is not None) == single_ok
    if fast is not None:
        assert [event_from_row(row) for row in fast["events"]] == expected
    else:
        with pytest.raises(ProtocolError):
            m.decode_frame(frame)


def test_frames_other_than_event_pushes_skip_the_typed_path():
    assert m.decode_push_events(m.hello(token="t", device_id="d")) is None
    assert m.decode_push_events(m.push_updates(1, [(new_id(), b"\x00", {})])) is None
    assert m.decode_frame(m.hello(token="t", device_id="d"))["t"] == m.MsgType.HELLO


def test_pull_and_docs_carry_a_change_cursor():
    pull = m.decode_frame(m.pull({}, cursor=42))
    assert pull["s"] == {} and pull["k"] == 42
    assert "k" not in m.decode_frame(m.pull({new_id(): b"\x00"}))  # the state-vector path
    done = m.decode_frame(m.docs([], done=True, cursor=7, items=0))
    assert done["k"] == 7 and done["n"] == 0
    assert "k" not in m.decode_frame(m.docs([(new_id(), b"\x00\x00")], done=False, live=True))


@pytest.mark.parametrize("bad", [-1, "3", True, 1.5, None, 2**64 - 1, [1]])
@pytest.mark.parametrize(
    ("t", "key", "name"), [(5, "k", "cursor"), (6, "k", "cursor"), (6, "n", "item count")]
)
def test_a_malformed_cursor_or_count_is_a_bad_frame(bad, t, key, name):
    frame = {"t": t, "s": {}} if t == 5 else {"t": t, "u": [], "done": True}
    frame[key] = bad
    with pytest.raises(ProtocolError) as err:
        m.decode_frame(msgpack.packb(frame))
    assert err.value.code == ErrorCode.BAD_FRAME
    assert f"{name} {key!r}" in err.value.message
