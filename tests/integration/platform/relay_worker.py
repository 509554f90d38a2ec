"""A relay in its own process, so that a test can SIGKILL it mid-batch.

    python tests/integration/platform/relay_worker.py rabbitmq DATABASE_URL RABBITMQ_URL
    python tests/integration/platform/relay_worker.py inprocess DATABASE_URL CONSUMER_DATABASE_URL CONSUMER_NAME

With ``inprocess`` the process is a small all-in-one: the relay hands events to the probe consumer in the
same process, so a SIGKILL stops both mid-flight, as a crash of the all-in-one shape would.
"""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy.engine import make_url

from kairos.platform.db.engine import create_engine, create_sessionmaker
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.events.rabbitmq import RabbitMqTransport
from kairos.platform.events.transport import Transport
from tests.integration.platform.harness import Database, Probe, running_relay


def database(url: str) -> Database:
    engine = create_engine(make_url(url), pool_size=2)
    return Database(make_url(url), engine, create_sessionmaker(engine))


async def main(kind: str, producer_url: str, *rest: str) -> None:
    transport: Transport
    if kind == "rabbitmq":
        transport = RabbitMqTransport(url=rest[0])
    else:
        in_process = InProcessTransport()
        in_process.subscribe(Probe(database=database(rest[0]), name=rest[1], handling_time=0.003).consumer())
        transport = in_process
    await transport.start()
    async with running_relay(database(producer_url), transport, batch_size=50):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
