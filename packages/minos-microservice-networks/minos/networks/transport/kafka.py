"""Kafka through aiokafka: the production transport, scaled out by consumer groups."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    InvalidMessageError,
    InvalidTimestampError,
    InvalidTopicError,
    KafkaConnectionError,
    KafkaError,
    MessageSizeTooLargeError,
    PolicyViolationError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnsupportedForMessageFormatError,
    for_code,
)

from .abc import IncomingRecord, OutgoingRecord, Subscription, Transport
from .exceptions import (
    TransportClosedException,
    TransportException,
    TransportUnavailableException,
)

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["KafkaTransport"]

_TOPIC_ALREADY_EXISTS = 36
_LEGAL_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def topic_error(topic: str) -> TransportException | None:
    """Why Kafka would refuse ``topic`` as a name, if it would."""
    legal = isinstance(topic, str) and bool(_LEGAL_TOPIC.match(topic))
    if legal and topic not in (".", ".."):
        return None
    return TransportException(
        f"{topic!r} is not a valid Kafka topic name: use 1 to 249 letters, "
        "digits, '.', '_' or '-'"
    )


# Errors that blame the record itself: sending it again cannot succeed.
_RECORD_ERRORS = (
    InvalidMessageError,
    InvalidTimestampError,
    InvalidTopicError,
    MessageSizeTooLargeError,
    PolicyViolationError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnsupportedForMessageFormatError,
)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` may go away by itself, rather than blaming the record.

    Only errors known to be about the record (too large, invalid topic...) are
    permanent; every other broker or network error counts as an outage, so a
    message is never parked because the broker was having a bad moment.
    """
    if isinstance(exc, TransportUnavailableException):
        return True
    if isinstance(exc, (TransportException, *_RECORD_ERRORS)):
        return False
    return isinstance(exc, KafkaError | OSError | TimeoutError)


class KafkaTransport(Transport):
    """Publishes with ``acks=all``, consumes in consumer groups with manual commits.

    Topics are created (``partitions`` partitions each) before the first record
    is published to them or a subscription reads them. Clients are started
    lazily, so a transport can be built while the broker is still down.
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = 9092,
        *,
        partitions: int = 3,
        replication_factor: int = 1,
        request_timeout: float = 10.0,
        client_id: str = "minos",
        producer_options: Mapping[str, Any] | None = None,
        consumer_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.host = host
        self.port = int(port)
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.request_timeout = request_timeout
        self.client_id = client_id
        self.producer_options = dict(producer_options or {})
        self.consumer_options = dict(consumer_options or {})
        self._producer: AIOKafkaProducer | None = None
        self._known_topics: set[str] = set()
        self._subscriptions: set[_KafkaSubscription] = set()
        self._lock: asyncio.Lock | None = None

    def is_permanent(self, error: BaseException) -> bool:
        return super().is_permanent(error) or isinstance(error, _RECORD_ERRORS)

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        broker = config.broker
        port = broker.port or 9092
        return cls(broker.host, port, *args, client_id=config.service.name, **kwargs)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"KafkaTransport({self.bootstrap!r})"

    @property
    def _request_timeout_ms(self) -> int:
        return int(self.request_timeout * 1000)

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _destroy(self) -> None:
        for subscription in list(self._subscriptions):
            await subscription.close()
        await self._reset_producer()

    async def _started_producer(self) -> AIOKafkaProducer:
        async with self._guard():
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap,
                    client_id=self.client_id,
                    acks="all",
                    request_timeout_ms=self._request_timeout_ms,
                    **self.producer_options,
                )
                try:
                    await producer.start()
                except Exception as exc:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise self._unavailable("start a producer", exc) from exc
                self._producer = producer
            return self._producer

    def _unavailable(self, action: str, exc: BaseException) -> TransportException:
        reason = str(exc) or type(exc).__name__
        if is_outage(exc):
            # A broker that comes back may have lost its topics (memory storage,
            # a new cluster): check them again.
            self._known_topics.clear()
            return TransportUnavailableException(
                f"cannot {action} on the Kafka broker at {self.bootstrap}: {reason}"
            )
        return TransportException(
            f"cannot {action} on the Kafka broker at {self.bootstrap}: {reason}"
        )

    async def publish(
        self, records: Sequence[OutgoingRecord]
    ) -> list[Exception | None]:
        if not records:
            return []
        topic_errors = await self._ensure_topics({r.topic for r in records})
        producer = await self._started_producer()
        try:
            # aiokafka retries some failures for as long as they last (a broker
            # that restarted without its topics): bound the whole batch.
            async with asyncio.timeout(2 * self.request_timeout + 1):
                results = await self._send(producer, records, topic_errors)
        except TimeoutError as exc:
            await self._reset_producer()
            raise self._unavailable(f"publish {len(records)} records", exc) from exc

        failures = [r for r in results if r is not None]
        if failures and all(is_outage(f) for f in failures):
            raise self._unavailable(f"publish {len(failures)} records", failures[0])
        return results

    async def _reset_producer(self) -> None:
        """Drop a producer that may be stuck; the next publish starts a new one."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await _stop_quietly(producer.stop(), self.request_timeout)

    async def _send(
        self,
        producer: AIOKafkaProducer,
        records: Sequence[OutgoingRecord],
        topic_errors: Mapping[str, Exception],
    ) -> list[Exception | None]:
        pending: list[asyncio.Future[Any] | Exception] = []
        for record in records:
            if record.topic in topic_errors:
                pending.append(topic_errors[record.topic])
                continue
            try:
                future = await producer.send(
                    record.topic,
                    record.value,
                    key=record.key,
                    headers=list(record.headers),
                )
            except Exception as exc:
                pending.append(exc)
            else:
                pending.append(future)

        results: list[Exception | None] = []
        for item in pending:
            if isinstance(item, Exception):
                results.append(item)
                continue
            try:
                await item
            except Exception as exc:
                results.append(exc)
            else:
                results.append(None)
        return [
            self._unavailable("publish a record", r) if r and is_outage(r) else r
            for r in results
        ]

    async def _ensure_topics(
        self, topics: Iterable[str], *, again: bool = False
    ) -> dict[str, Exception]:
        """Create the topics not known yet (all of them, ``again``); return the
        error of each that failed."""
        errors: dict[str, Exception] = {}
        missing = []
        wanted = set(topics) if again else set(topics) - self._known_topics
        for topic in sorted(wanted):
            if (error := topic_error(topic)) is not None:
                errors[topic] = error
            else:
                missing.append(topic)
        if not missing:
            return errors
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            request_timeout_ms=self._request_timeout_ms,
        )
        try:
            await admin.start()
            response = await admin.create_topics(
                [NewTopic(t, self.partitions, self.replication_factor) for t in missing]
            )
        except Exception as exc:
            raise self._unavailable(f"create the topics {missing}", exc) from exc
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

        for topic, code, message in _topic_results(response):
            if code in (0, _TOPIC_ALREADY_EXISTS):
                self._known_topics.add(topic)
                continue
            error_class = for_code(code)
            errors[topic] = TransportException(
                f"the Kafka broker at {self.bootstrap} refused to create the topic "
                f"{topic!r}: {message or error_class.__name__}"
            )
        return errors

    async def create_topics(self, topics: Iterable[str]) -> None:
        errors = await self._ensure_topics(topics, again=True)
        if errors:
            raise next(iter(errors.values()))

    async def delete_topics(self, topics: Iterable[str]) -> None:
        topics = sorted(set(topics))
        if not topics:
            return
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            request_timeout_ms=self._request_timeout_ms,
        )
        try:
            await admin.start()
            await admin.delete_topics(topics)
        except Exception as exc:
            raise self._unavailable(f"delete the topics {topics}", exc) from exc
        finally:
            self._known_topics.difference_update(topics)
            with contextlib.suppress(Exception):
                await admin.close()

    async def subscribe(
        self, topics: Iterable[str], group: str | None = None
    ) -> Subscription:
        topics = sorted(set(topics))
        await self.create_topics(topics)
        options = {
            # A broker answers a fetch as soon as data is there, or when this
            # wait runs out; some (Tansu) always wait it out, so it bounds the
            # latency of every hop. Idle, it costs one small fetch per wait.
            "fetch_max_wait_ms": 20,
            **self.consumer_options,
        }
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=self._request_timeout_ms,
            **options,
        )
        try:
            await consumer.start()
        except Exception as exc:
            with contextlib.suppress(Exception):
                await consumer.stop()
            raise self._unavailable(f"subscribe to {topics}", exc) from exc
        subscription = _KafkaSubscription(self, consumer, topics, group)
        self._subscriptions.add(subscription)
        logger.debug("subscribed to %s as group %r on %s", topics, group, self)
        return subscription


def _topic_results(response: Any) -> list[tuple[str, int, str | None]]:
    """``(topic, error code, message)`` of each topic in a CreateTopics response."""
    results = []
    for entry in response.topic_errors:
        topic, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        results.append((topic, code, message))
    return results


class _KafkaSubscription(Subscription):
    """An aiokafka consumer behind the ``Subscription`` interface."""

    def __init__(
        self,
        transport: KafkaTransport,
        consumer: AIOKafkaConsumer,
        topics: Iterable[str],
        group: str | None,
    ) -> None:
        super().__init__(topics, group)
        self._transport = transport
        self._consumer: AIOKafkaConsumer | None = consumer
        self._joined = False

    def _live(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise TransportClosedException(
                f"the Kafka subscription to {sorted(self.topics)} is closed"
            )
        return self._consumer

    async def poll(
        self, max_wait: float = 1.0, max_records: int = 500
    ) -> list[IncomingRecord]:
        consumer = self._live()
        try:
            batches = await consumer.getmany(
                timeout_ms=int(max_wait * 1000), max_records=max_records
            )
        except (KafkaError, OSError) as exc:
            raise self._transport._unavailable("poll", exc) from exc
        if self._lost_coordinator(consumer):
            # The broker went away. Whatever it kept (a restarted broker may
            # have kept nothing), positions are only trusted from a new member,
            # so these records are left for it and the inbox drops repeats.
            raise self._transport._unavailable(
                "poll", KafkaConnectionError("lost the group coordinator")
            )
        records: list[IncomingRecord] = []
        for partition in sorted(batches, key=lambda tp: (tp.topic, tp.partition)):
            for message in batches[partition]:
                records.append(
                    IncomingRecord(
                        topic=message.topic,
                        partition=message.partition,
                        offset=message.offset,
                        key=message.key,
                        value=message.value if message.value is not None else b"",
                        headers=tuple(message.headers or ()),
                    )
                )
        return records

    def _lost_coordinator(self, consumer: AIOKafkaConsumer) -> bool:
        """Whether a group member that had found its coordinator has lost it."""
        if self.group is None:
            return False
        # Limitation: aiokafka has no public hook for this; its coordinator's
        # ``coordinator_id`` is read, and checking is skipped if it is missing.
        coordinator = getattr(consumer, "_coordinator", None)
        if coordinator is None or not hasattr(coordinator, "coordinator_id"):
            return False
        if coordinator.coordinator_id is not None:
            self._joined = True
            return False
        return self._joined

    async def commit(self, records: Iterable[IncomingRecord]) -> None:
        consumer = self._live()
        if self.group is None:
            return
        offsets: dict[TopicPartition, int] = {}
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            offsets[partition] = max(offsets.get(partition, 0), record.offset + 1)
        if not offsets:
            return
        try:
            # aiokafka retries a commit for as long as the broker answers with a
            # retriable error (a topic it lost, say): bound the wait.
            async with asyncio.timeout(self._transport.request_timeout):
                await consumer.commit(offsets)
        except TimeoutError as exc:
            raise self._transport._unavailable("commit offsets", exc) from exc
        except (CommitFailedError, IllegalStateError) as exc:
            # The group rebalanced: another member will receive these records
            # again and the inbox will recognise them.
            logger.warning("committing offsets failed after a rebalance: %s", exc)
        except (KafkaError, OSError) as exc:
            raise self._transport._unavailable("commit offsets", exc) from exc

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._transport._subscriptions.discard(self)
        if consumer is not None:
            await _stop_quietly(consumer.stop(), self._transport.request_timeout)


async def _stop_quietly(stopping: Any, grace: float) -> None:
    """Stop an aiokafka client, giving up after ``grace`` seconds.

    aiokafka may let the cancellation of one of its own tasks escape from
    ``stop()`` while the broker is down; only a cancellation of the caller's
    task is passed on.
    """
    task = asyncio.current_task()
    try:
        async with asyncio.timeout(grace):
            await stopping
    except asyncio.CancelledError:
        if task is not None and task.cancelling():
            raise
        logger.debug("an aiokafka task was cancelled while stopping")
    except (KafkaError, OSError, TimeoutError) as exc:
        logger.debug("stopping an aiokafka client failed: %s", exc)
