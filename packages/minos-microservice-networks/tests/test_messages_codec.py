"""Messages: construction, Avro round trips of any data, headers, decode errors."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from minos.common import DeclarativeModel, ModelType, encode_value
from minos.networks import (
    KIND_HEADER,
    MESSAGE_ID_HEADER,
    REPLY_TOPIC_HEADER,
    SAGA_HEADER,
    TRACE_ID_HEADER,
    USER_HEADER,
    BrokerRequest,
    Command,
    CommandReply,
    CommandStatus,
    Event,
    Message,
    MinosMessageDecodeException,
    MinosMessageException,
)


class Ticket(DeclarativeModel):
    uuid: UUID
    price: float
    tags: list[str]


TicketDTO = ModelType.build("TicketDTO", {"uuid": UUID, "total": int})

DATA = [
    None,
    "text",
    42,
    [1, 2, 3],
    {"a": 1, "b": [uuid4()]},
    uuid4(),
    datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    Ticket(uuid4(), 9.5, ["vip"]),
    [Ticket(uuid4(), 1.0, []), Ticket(uuid4(), 2.0, ["x"])],
    TicketDTO(uuid4(), 3),
]


@pytest.mark.parametrize("data", DATA, ids=lambda d: type(d).__name__)
def test_every_kind_of_data_round_trips(data):
    saga, user = uuid4(), uuid4()
    for message in (
        Command("CreateTicket", data, saga, "OrderReply", user),
        CommandReply("OrderReply", data, saga, CommandStatus.ERROR, "ticket"),
        Event("TicketCreated", data, user=user),
    ):
        decoded = Message.from_avro_bytes(message.avro_bytes)
        assert type(decoded) is type(message)
        assert decoded == message
        assert decoded.data == data


def test_fields_keep_their_positions_and_defaults():
    saga, user = uuid4(), uuid4()
    command = Command("T", {"x": 1}, saga, "R", user)
    reply = CommandReply("R", None, saga, CommandStatus.SYSTEM_ERROR, "svc")
    event = Event("E", [1])
    assert (command.topic, command.saga, command.reply_topic, command.user) == (
        "T",
        saga,
        "R",
        user,
    )
    assert (reply.status, reply.service_name, reply.ok) == (500, "svc", False)
    assert CommandReply("R").status is CommandStatus.SUCCESS
    assert CommandReply("R").ok
    assert isinstance(event.id, UUID) and isinstance(event.trace_id, UUID)
    assert event.user is None
    assert Event("E").id != Event("E").id


def test_string_uuids_are_accepted_and_bad_ones_refused():
    saga = uuid4()
    assert Command("T", saga=str(saga)).saga == saga
    with pytest.raises(MinosMessageException, match="saga .* must be a UUID"):
        Command("T", saga="not-a-uuid")
    with pytest.raises(MinosMessageException, match="user .* must be a UUID"):
        Event("T", user=12)


def test_a_topic_is_required_and_statuses_are_checked():
    with pytest.raises(MinosMessageException, match="non-empty topic"):
        Event("")
    with pytest.raises(MinosMessageException, match="non-empty topic"):
        Event(None)  # type: ignore[arg-type]
    with pytest.raises(MinosMessageException, match="unknown command status 201"):
        CommandReply("R", status=201)
    assert CommandReply("R", status=400).status is CommandStatus.ERROR


def test_headers_describe_the_message_without_decoding_it():
    saga, user, trace = uuid4(), uuid4(), uuid4()
    command = Command("T", None, saga, "R", user, trace_id=trace)
    assert command.headers == {
        MESSAGE_ID_HEADER: str(command.id),
        KIND_HEADER: "command",
        TRACE_ID_HEADER: str(trace),
        USER_HEADER: str(user),
        SAGA_HEADER: str(saga),
        REPLY_TOPIC_HEADER: "R",
    }
    assert Event("E").headers[KIND_HEADER] == "event"
    assert USER_HEADER not in Event("E").headers
    assert CommandReply("R", saga=saga).headers[SAGA_HEADER] == str(saga)


def test_decoding_as_a_subclass_checks_the_kind():
    raw = Event("E", 1).avro_bytes
    assert isinstance(Event.from_avro_bytes(raw), Event)
    with pytest.raises(MinosMessageDecodeException, match="is a 'event', expected"):
        Command.from_avro_bytes(raw, topic="E")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty or non-binary"),
        ("text", "empty or non-binary"),
        (b"\x00\x01\x02", "not in a known minos format"),
        (b"\x01\xff\xff\xff", "cannot decode the message"),
        (Event("E", {"x": 1}).avro_bytes[:-5], "cannot decode"),
    ],
)
def test_bad_bytes_raise_a_clear_decode_error(raw, reason):
    with pytest.raises(MinosMessageDecodeException, match=reason) as info:
        Message.from_avro_bytes(raw, topic="Orders")
    if raw:
        assert "'Orders'" in str(info.value)


def test_undecodable_data_inside_a_valid_envelope_names_the_topic():
    message = Event("Orders", None)
    encoded = encode_value(None)
    raw = message.avro_bytes.replace(encoded, b"j" * len(encoded))
    with pytest.raises(MinosMessageDecodeException, match="data of the event for"):
        Message.from_avro_bytes(raw)


def test_data_that_cannot_be_encoded_is_a_clear_error():
    with pytest.raises(MinosMessageException, match="cannot encode the data"):
        _ = Event("Orders", object()).avro_bytes


async def test_a_broker_request_exposes_the_message():
    user = uuid4()
    command = Command("T", {"k": "v"}, user=user)
    request = BrokerRequest(command)
    assert await request.content() == {"k": "v"}
    assert request.user == user
    assert request.headers[MESSAGE_ID_HEADER] == str(command.id)
    assert request.has_content
    assert not BrokerRequest(Event("E")).has_content
    assert request == BrokerRequest(command)
    assert "BrokerRequest(Command(" in repr(request)
