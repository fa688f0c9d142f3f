"""The floor under aiohttp: ``python -m tests.bench.floor [--passes 2]``.

A bare aiohttp websocket relay speaking the PeerJS protocol (no tokens, no validation, no audit),
once awaiting ``send_str`` and once writing frames synchronously, measured side by side with the
PeerJS server by the relay load generator. It shows how far any server built on aiohttp's
``WebSocketResponse`` can go below PeerJS in CPU per message.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from collections.abc import Iterator

from tests.bench import common, relay
from tests.bench.loadgen import PairSpec
from tests.bench.report import percentile


def serve(port: int, mode: str) -> None:
    import orjson
    from aiohttp import WSMsgType, web

    clients: dict[str, web.WebSocketResponse] = {}

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        cid = request.query["id"]
        clients[cid] = ws
        await ws.send_str('{"type":"OPEN"}')
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            message = orjson.loads(msg.data)
            message["src"] = cid
            dst = clients.get(message.get("dst"))
            if dst is None:
                continue
            if mode == "direct" and dst._writer is not None:
                dst._writer._write_websocket_frame(orjson.dumps(message), WSMsgType.TEXT, 0)
            else:
                await dst.send_str(orjson.dumps(message).decode())
        clients.pop(cid, None)
        return ws

    async def root(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/peerjs", handle)
    app.router.add_get("/", root)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    web.run_app(app, host="127.0.0.1", port=port, print=None)


@contextlib.contextmanager
def bare_relay(mode: str) -> Iterator[common.Server]:
    port = common.free_port()
    argv = [sys.executable, "-m", "tests.bench.floor", "--serve", str(port), mode]
    proc = subprocess.Popen(argv, cwd=common.REPO, preexec_fn=common._die_with_parent)
    try:
        common._wait_http(f"http://127.0.0.1:{port}/", proc, 30)
        yield common.Server("peerjs", proc.pid, port, proc)  # it speaks PeerJS's protocol
    finally:
        common._stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    common.raise_nofile()
    p = relay.Params(passes=args.passes)
    passes: dict[str, list[relay.Pass]] = {
        "aiohttp, awaited send": [],
        "aiohttp, direct write": [],
        "PeerJS": [],
    }
    with (
        bare_relay("await") as awaited,
        bare_relay("direct") as direct,
        common.peerjs_server() as peerjs,
    ):
        servers = dict(zip(passes, (awaited, direct, peerjs), strict=True))
        for n in range(p.passes):
            for k, (name, server) in enumerate(servers.items()):
                pairs = [PairSpec(f"f{n}s{k}i{i}", f"f{n}s{k}r{i}") for i in range(p.pairs)]
                passes[name].append(relay._one_pass(server, pairs, p, p.procs))
    for name, mine in passes.items():
        msgs = sum(x.messages for x in mine)
        rtts = [r for x in mine for r in x.rtt_ms]
        print(
            f"{name:22} {sum(x.cpu_s for x in mine) / msgs * 10_000:.3f} s CPU per 10,000 "
            f"messages ({msgs:,}), round trip p50 {percentile(rtts, 50):.2f} ms"
        )


if __name__ == "__main__":
    main()
