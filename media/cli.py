"""``tatap terminal`` and ``tatap demo`` (filled in with the terminal agent)."""

from __future__ import annotations

import argparse
from typing import Any


def add_terminal_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("terminal", help="run a visit-room terminal agent")
    p.add_argument("--server", help="server URL (default: from the credentials file)")
    p.add_argument("--credentials", required=True)
    p.set_defaults(func=_not_yet)


def add_demo_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("demo", help="a whole visit on this machine")
    p.set_defaults(func=_not_yet)


def _not_yet(args: argparse.Namespace) -> int:
    raise SystemExit("not available yet")
