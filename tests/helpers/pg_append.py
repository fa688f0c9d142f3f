"""``python -m tests.helpers.pg_append URL DATA_DIR COUNT WORKERS TAG``: one process appending
``COUNT`` audit events to a PostgreSQL store through ``WORKERS`` concurrent appenders, each
event naming ``TAG`` and its number; prints the seqs it was given, one a line, once all are
acknowledged. Tests run two at once to show several nodes share one chain."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from services.audit.chain import AuditEvent
from services.audit.signing import Ed25519Signer
from services.clock import SystemClock
from services.store.postgres.store import PgStore


async def main(url: str, data_dir: Path, count: int, workers: int, tag: str) -> list[int]:
    store = await PgStore.open(url, Ed25519Signer.from_data_dir(data_dir), SystemClock().now)
    seqs: list[int] = []
    try:

        async def worker(first: int) -> None:
            for i in range(first, count, workers):
                event = AuditEvent("notice", "admin", tag, details={"tag": tag, "i": i})
                (rec,) = await store.append([event])
                seqs.append(rec.seq)

        await asyncio.gather(*(worker(w) for w in range(workers)))
    finally:
        await store.aclose()
    return seqs


if __name__ == "__main__":
    url, data_dir, count, workers, tag = sys.argv[1:6]
    done = asyncio.run(main(url, Path(data_dir), int(count), int(workers), tag))
    print("\n".join(map(str, done)))
