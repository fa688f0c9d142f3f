"""``tatap terminal``: the visit-room agent (``tatap demo`` runs one as a child process too)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """The ``terminal`` command (entry point ``tatap.commands``)."""
    p: argparse.ArgumentParser = sub.add_parser("terminal", help="run a visit-room terminal agent")
    p.add_argument("--server", help="server URL (default: from the credentials file)")
    p.add_argument("--credentials", required=True, help="file from `tatap admin terminal`")
    _media_options(p)
    p.set_defaults(func=cmd_terminal)


def _media_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source", default="testpattern", help="testpattern, v4l2:/dev/video0, or a media file"
    )
    p.add_argument("--mic", default="", help="with a camera: alsa:default or pulse:default")
    p.add_argument(
        "--display",
        default="none",
        choices=["window", "none"],
        help="window: the family full screen; none: headless (default)",
    )
    p.add_argument("--size", default="640x360", help="test pattern / camera size, WxH")
    p.add_argument("--fps", type=int, default=15)
    p.add_argument(
        "--monitor-width",
        type=int,
        default=320,
        help="officers' monitors get the video at most this wide, at half rate (0: as captured)",
    )


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError as exc:
        raise SystemExit(f"--size must look like 640x360, not {text!r}") from exc
    return w, h


def build_agent(args: argparse.Namespace, server: str, credentials: Path) -> Any:
    """A terminal agent from the command-line options (sources and window opened here)."""
    from media.agent import Credentials, TerminalAgent
    from media.display import DisplayUnavailable, create_display
    from media.sources import open_source

    try:
        creds = Credentials.read(credentials)
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"cannot read the credentials file {credentials}: {exc!r}") from exc
    if server:
        creds = Credentials(server, creds.terminal_id, creds.secret)
    if not creds.server:
        raise SystemExit("no server URL: pass --server or put `server` in the credentials file")
    try:
        source = open_source(args.source, args.mic, parse_size(args.size), args.fps)
    except Exception as exc:  # av / ffmpeg errors: name the device, not a traceback
        raise SystemExit(f"cannot open source {args.source!r}: {exc}") from exc
    try:
        display = create_display(args.display)
    except DisplayUnavailable as exc:
        raise SystemExit(f"display: {exc}") from exc
    if not 0 <= args.monitor_width <= 4096:
        raise SystemExit("--monitor-width must be between 0 and 4096")
    return TerminalAgent(creds, source, display, monitor_width=args.monitor_width // 2 * 2)


async def until_signalled() -> None:
    """Wait for SIGINT or SIGTERM (the second one is not caught: a stuck shutdown can be killed)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def cmd_terminal(args: argparse.Namespace) -> int:
    from media.agent import AgentStopped
    from services.logs import configure

    configure(None)

    async def main() -> int:
        agent = build_agent(args, args.server or "", Path(args.credentials))
        task = agent.start()
        waiter = asyncio.ensure_future(until_signalled())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if task.done() and not task.cancelled():
                task.result()
        except AgentStopped as exc:
            print(f"terminal stopped: {exc}", file=sys.stderr)
            return 1
        finally:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
            await agent.aclose()
        return 0

    return asyncio.run(main())
