"""Visit-room terminals' credentials: the file a terminal is provisioned with, and the check of
the id and secret it logs in with.

The secret is 256 random bits, so it is stored as a plain SHA-256 (``hash_secret``) and compared
in constant time; the file holding it is created readable by its owner only.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from services.access.tokens import hash_secret
from services.domain.model import Terminal
from services.errors import Conflict, Unauthorized


class TerminalLookup(Protocol):
    """What terminal login needs of the store."""

    async def get_terminal(self, terminal_id: str) -> Terminal | None: ...


def new_terminal_secret() -> str:
    """A terminal's login secret: 256 random bits, shown once in its credentials file."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class TerminalCredentials:
    """What a terminal needs to log in: the server, its id and its secret (the file's fields)."""

    server: str
    terminal_id: str
    secret: str

    def write(self, path: Path, *, exclusive: bool = False) -> None:
        """Write the file, readable by its owner only; ``exclusive``: refuse to replace a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = (
            json.dumps(
                {"server": self.server, "terminal_id": self.terminal_id, "secret": self.secret},
                indent=2,
            )
            + "\n"
        )
        # Created 0600 (not chmod-ed afterwards), so the secret is never readable by others,
        # not even for a moment; fchmod tightens a file that existed already.
        flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError as exc:
            raise Conflict(
                f"{path} exists already (another terminal's credentials?); "
                "choose another path or remove it"
            ) from exc
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(text)


async def authenticate_terminal(store: TerminalLookup, terminal_id: str, secret: str) -> Terminal:
    """The terminal whose id and secret these are, or Unauthorized (one answer for both)."""
    terminal = await store.get_terminal(terminal_id) if terminal_id else None
    if terminal is None or not hmac.compare_digest(terminal.secret_hash, hash_secret(secret)):
        raise Unauthorized("terminal credentials invalid")
    return terminal
