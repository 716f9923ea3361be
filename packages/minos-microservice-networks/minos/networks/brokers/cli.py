"""Operator commands for the queues: list parked messages and put them back.

``python -m minos.networks.brokers.cli parked config.yml`` lists the parked
messages of the outbox and of the inbox; ``... requeue config.yml --queue
outbox --id 12`` puts message 12 of the outbox back in line (all parked
messages of that queue without ``--id``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TextIO

from minos.common import (
    MinosConfig,
    MinosException,
    close_database_pools,
    database_pool,
)

from .outbox import Outbox

__all__ = ["list_parked", "main", "requeue_parked"]

QUEUES = ("outbox", "command", "event", "reply")


async def list_parked(
    config: MinosConfig, queue: str | None = None, limit: int = 100
) -> list[tuple[str, int, str, int, str | None]]:
    """``(queue, id, topic, attempts, last error)`` of the parked messages."""
    from ..handlers.inbox import Inbox

    pool = database_pool(config.broker.queue._asdict())
    found: list[tuple[str, int, str, int, str | None]] = []
    if queue in (None, "outbox"):
        outbox = Outbox(pool)
        await outbox.create_schema()
        for row in await outbox.parked(limit):
            found.append(("outbox", row.id, row.topic, row.attempts, row.last_error))
    inbox_queues = [q for q in QUEUES[1:] if queue in (None, q)]
    if inbox_queues:
        inbox = Inbox(pool)
        await inbox.create_schema()
        for name in inbox_queues:
            for entry in await inbox.rows(name, state="parked", limit=limit):
                found.append(
                    (name, entry.id, entry.topic, entry.attempts, entry.last_error)
                )
    return found


async def requeue_parked(
    config: MinosConfig, queue: str, ids: Sequence[int] | None = None
) -> int:
    """Put parked messages of ``queue`` (``outbox``, ``command``, ``event``,
    ``reply``) back in line; all of them when ``ids`` is empty."""
    from ..handlers.inbox import Inbox

    if queue not in QUEUES:
        raise MinosException(f"unknown queue {queue!r}; use one of {list(QUEUES)}")
    pool = database_pool(config.broker.queue._asdict())
    selected = list(ids) if ids else None
    if queue == "outbox":
        outbox = Outbox(pool)
        await outbox.create_schema()
        return await outbox.requeue(selected)
    inbox = Inbox(pool)
    await inbox.create_schema()
    return await inbox.requeue(queue, selected)


async def _run(args: argparse.Namespace, out: TextIO) -> None:
    config = MinosConfig(args.config)
    try:
        if args.command == "parked":
            rows = await list_parked(config, args.queue, args.limit)
            for queue, id_, topic, attempts, error in rows:
                print(f"{queue}\t{id_}\t{topic}\t{attempts}\t{error}", file=out)
            print(f"{len(rows)} parked message(s)", file=out)
        else:
            count = await requeue_parked(config, args.queue, args.id)
            print(f"{count} message(s) put back in the {args.queue} queue", file=out)
    finally:
        await close_database_pools()


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """The command line; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m minos.networks.brokers.cli",
        description="Inspect and replay the parked messages of a microservice.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    parked = commands.add_parser("parked", help="list the parked messages")
    parked.add_argument("config", help="the service's config.yml")
    parked.add_argument("--queue", choices=QUEUES, help="only this queue")
    parked.add_argument("--limit", type=int, default=100, help="default: 100")
    requeue = commands.add_parser("requeue", help="put parked messages back")
    requeue.add_argument("config", help="the service's config.yml")
    requeue.add_argument("--queue", choices=QUEUES, required=True)
    requeue.add_argument(
        "--id", type=int, action="append", help="a message id (repeatable)"
    )
    args = parser.parse_args(argv)
    try:
        asyncio.run(_run(args, out))
    except MinosException as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
