"""Where the benchmarks find PostgreSQL and RabbitMQ, and a unique name per run."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def _first(*names: str, default: str) -> str:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return default


@dataclass(frozen=True)
class BenchConfig:
    #: any database on the server, as `postgresql+asyncpg://…`
    database_url: str
    amqp_url: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @classmethod
    def from_env(cls) -> BenchConfig:
        database = _first("BENCH_DATABASE_URL", "TEST_DATABASE_URL", default=DEFAULT_DATABASE_URL)
        amqp = _first("BENCH_AMQP_URL", "TEST_AMQP_URL", default=DEFAULT_AMQP_URL)
        url = make_url(database).set(drivername="postgresql+asyncpg")
        return cls(url.render_as_string(hide_password=False), amqp)

    def database(self, purpose: str) -> str:
        """URL of this run's throwaway database for `purpose` (created by the caller)."""
        name = f"sihha_bench_{self.run_id}_{purpose}"
        url = make_url(self.database_url).set(database=name)
        return url.render_as_string(hide_password=False)

    def namespace(self, purpose: str) -> str:
        """Prefix of this run's throwaway exchanges and queues for `purpose`."""
        return f"bench{self.run_id}.{purpose}."
