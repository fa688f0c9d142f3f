"""Files written durably and privately: secrets written once (keys and the like), and files
replaced whole (a witness's store), private from their first byte."""

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
    tmp = _private_copy(path, data)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first; everyone uses that one
        _sync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def replace_file(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` whole or not at all: a private (0600) copy, fsynced, renamed over
    the old file, and the rename itself made durable. A crash leaves the old file or the new."""
    tmp = _private_copy(path, data)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _sync_dir(path.parent)


def _private_copy(path: Path, data: bytes) -> Path:
    """``data`` in a new 0600 file beside ``path``, on disk when this returns."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _sync_dir(directory: Path) -> None:
    """A new or renamed name in ``directory`` survives a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
