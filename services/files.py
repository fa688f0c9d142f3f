"""Secret files written once: keys and the like, private from their first byte."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def create_secret_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` unless another process (or thread) got there first.

    The bytes go to a private (0600) temporary file that is then hard-linked into place: the link
    fails if the name exists already, so processes starting together on a fresh data directory all
    end up using the same file, nobody reads a half-written one, and it is never world-readable.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first; everyone uses that one
    finally:
        tmp.unlink(missing_ok=True)
