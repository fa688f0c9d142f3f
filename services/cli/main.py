"""The ``tatap`` command: its entry point, its error handling, and the verbs registered with it.

Each verb group registers its own subcommands through the ``tatap.commands`` entry points
(pyproject.toml), found here at startup: ``services`` is the bottom layer, so it never imports the
``serve``, ``demo`` and ``terminal`` verbs that ``signaling`` and ``media`` add above it.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from importlib.metadata import EntryPoint, entry_points

from services.errors import TatapError

COMMANDS = "tatap.commands"
# `tatap --help` lists the verbs in this order (entry points come in no particular order);
# a verb not named here comes after these, by name.
HELP_ORDER = ("serve", "demo", "terminal", "admin", "visit", "witness", "audit", "report")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        result: int = args.func(args)
        return result
    except TatapError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`tatap audit export | head`): stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a file named on the command line cannot be read or written
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1
    except sqlite3.DatabaseError as exc:
        print(f"error: database: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# ---- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Every verb, each registered through the ``tatap.commands`` entry points."""
    parser = argparse.ArgumentParser(prog="tatap", description="Video visits for prisons.")
    sub = parser.add_subparsers(metavar="command")
    for command in registered_commands():
        command.load()(sub)

    return parser


def registered_commands() -> list[EntryPoint]:
    """The ``tatap.commands`` entry points, in help order.

    None at all means the package's metadata is missing or stale: say how to fix it rather
    than print a help with no verbs.
    """
    found = entry_points(group=COMMANDS)
    if not found:
        raise SystemExit("tatap: no commands registered; reinstall it (pip install -e .)")

    def rank(command: EntryPoint) -> tuple[int, str]:
        known = command.name in HELP_ORDER
        return (HELP_ORDER.index(command.name) if known else len(HELP_ORDER), command.name)

    return sorted(found, key=rank)


if __name__ == "__main__":
    raise SystemExit(main())
