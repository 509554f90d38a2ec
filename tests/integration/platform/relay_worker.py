"""A relay in its own process, so that a test can SIGKILL it mid-batch.

python tests/integration/platform/relay_worker.py DATABASE_URL RABBITMQ_URL
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from sqlalchemy.engine import make_url

from kairos.platform.db.engine import asyncpg_dsn, create_engine, create_sessionmaker
from kairos.platform.events.rabbitmq import RabbitMqTransport
from kairos.platform.events.relay import OutboxRelay


async def main(database_url: str, rabbitmq_url: str) -> None:
    url = make_url(database_url)
    engine = create_engine(url, pool_size=2)
    transport = RabbitMqTransport(url=rabbitmq_url)
    await transport.start()
    relay = OutboxRelay(
        service="producer",
        sessionmaker=create_sessionmaker(engine),
        listen_dsn=asyncpg_dsn(url),
        transport=transport,
        batch_size=50,
        poll_interval=0.2,
        retention=timedelta(hours=1),
    )
    await relay.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
