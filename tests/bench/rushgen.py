"""The booking rush's load generator: one OS process posting families' requests on a schedule.

Open loop: each request is sent at its own time (``go`` + its offset) whether or not earlier
answers have come, as thousands of phones would; its latency is counted from that scheduled
time, so a generator that falls behind shows up in the figures instead of hiding a slow server.
By default every family opens a connection of its own (``reuse`` False), as a phone does.

Protocol on the pipe (see ``tests.bench.fleet``): ``("ready", None)`` once set up, then
``("go", wall_time)`` → ``("done", RushOutcome)``; ``("close",)`` ends the worker.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import aiohttp
import orjson

from tests.bench.loadgen import _cpu, _run


@dataclass(frozen=True, slots=True)
class Family:
    """One request: when to send it (seconds after go), its JSON body, its client address."""

    offset_s: float
    body: bytes
    forwarded_for: str


@dataclass(frozen=True, slots=True)
class RushJob:
    port: int
    families: list[Family]
    reuse: bool = False  # keep-alive connections shared by families (False: one each)


@dataclass(slots=True)
class Answer:
    status: int
    code: str  # error.code, or "" for a 201
    latency_ms: float  # from the scheduled send to the whole answer read
    late_ms: float  # how late the generator sent it
    visit_id: str = ""
    start_ms: int = 0


@dataclass(slots=True)
class RushOutcome:
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    first_send: float = 0.0  # wall clock
    last_answer: float = 0.0


async def _post(
    session: aiohttp.ClientSession, url: str, family: Family, due: float, out: RushOutcome
) -> None:
    sent = time.time()
    headers = {"Content-Type": "application/json", "X-Forwarded-For": family.forwarded_for}
    try:
        async with session.post(url, data=family.body, headers=headers) as resp:
            raw = await resp.read()
            status = resp.status
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        out.errors.append(f"{type(exc).__name__}: {exc}")
        return
    done = time.time()
    out.last_answer = max(out.last_answer, done)
    answer = Answer(status, "", (done - due) * 1000, max(0.0, sent - due) * 1000)
    body = orjson.loads(raw) if raw else {}
    if status == 201:
        answer.visit_id, answer.start_ms = body["id"], body["start_ms"]
    else:
        answer.code = body.get("error", {}).get("code", "")
    out.answers.append(answer)


async def _rush(job: RushJob, pipe: Connection) -> None:
    url = f"http://127.0.0.1:{job.port}/api/v1/requests"
    connector = aiohttp.TCPConnector(limit=0, force_close=not job.reuse)
    timeout = aiohttp.ClientTimeout(total=60)
    loop = asyncio.get_running_loop()
    out = RushOutcome()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        pipe.send(("ready", None))
        command = await loop.run_in_executor(None, pipe.recv)
        if command[0] != "go":  # the benchmark gave up
            return
        go: float = command[1]
        cpu0 = _cpu()
        out.first_send = go
        tasks: list[asyncio.Task[None]] = []
        for family in job.families:
            due = go + family.offset_s
            wait = due - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(_post(session, url, family, due, out)))
        await asyncio.gather(*tasks)
        out.cpu_s = _cpu() - cpu0
    pipe.send(("done", out))
    await loop.run_in_executor(None, pipe.recv)  # ("close",)


def rush_worker(job: RushJob, pipe: Connection) -> None:
    """Entry point of a generator process (spawned by ``tests.bench.fleet.Fleet``)."""
    _run(lambda: _rush(job, pipe))
