"""Signing checkpoints: the Ed25519 key a node signs with, its key files, and key ids.

The private key lives in ``<data_dir>/audit-signing.pem`` (made on first use), its public half
beside it for an admin to pin or hand a witness. Verification never trusts these files: it uses
the keys the database pins (``services.audit.keys``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import Protocol

import structlog
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.audit.chain import Checkpoint, checkpoint_message
from services.files import create_secret_file

log = structlog.get_logger("tatap.audit")


class Signer(Protocol):
    """What signs checkpoints: the writer and the tests sign through this seam."""

    key_id: str

    @property
    def public_key(self) -> Ed25519PublicKey: ...

    def sign(self, seq: int, digest: str) -> Checkpoint: ...


class Ed25519Signer:
    """Signs checkpoints with a key kept in ``<data_dir>/audit-signing.pem`` (made on first use).

    The public half sits beside it as ``audit-signing.pub.pem``, for an admin to hand a witness.
    Verification does not read it: it trusts the keys pinned in the database (``audit_keys``).
    """

    def __init__(self, key: Ed25519PrivateKey, key_id: str) -> None:
        self._key = key
        self.key_id = key_id

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> Ed25519Signer:
        path = data_dir / "audit-signing.pem"
        if not path.exists():
            _create_private_key(path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        _write_public_key(data_dir, key.public_key())
        return cls(key, key_id(key.public_key()))

    def sign(self, seq: int, digest: str) -> Checkpoint:
        signature = self._key.sign(checkpoint_message(seq, digest)).hex()
        return Checkpoint(seq, digest, self.key_id, signature)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()


def _create_private_key(path: Path) -> None:
    """A new signing key, unless another process starting at the same time made one first."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    create_secret_file(path, pem)


def _write_public_key(data_dir: Path, public: Ed25519PublicKey) -> None:
    """Put the signing key's public half in ``audit-signing.pub.pem``.

    A public key found there for another (replaced) private key is kept as
    ``audit-signing-<key id>.pub.pem`` (for reference; the database pins the keys that count).
    """
    path = data_dir / "audit-signing.pub.pem"
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if path.exists():
        current = path.read_bytes()
        if current == pem:
            return
        old = _load_public_pem(path, current)
        old_id = key_id(old) if old is not None else secrets.token_hex(8)
        with contextlib.suppress(FileNotFoundError):  # another process moved it already
            os.replace(path, data_dir / f"audit-signing-{old_id}.pub.pem")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    tmp.write_bytes(pem)
    os.replace(tmp, path)


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_keys(data_dir: Path) -> dict[str, Ed25519PublicKey]:
    """Every ``*.pub.pem`` in the data directory, by key id. Verification does not use these
    (anyone with write access could add one); they are what an admin pins or gives a witness."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in sorted(data_dir.glob("*.pub.pem")):
        key = _load_public_pem(path, path.read_bytes())
        if key is not None:
            keys[key_id(key)] = key
    return keys


def _load_public_pem(path: Path, pem: bytes) -> Ed25519PublicKey | None:
    """The Ed25519 key in a ``*.pub.pem``; None, with a loud warning, for anything else. A
    damaged or foreign file beside the database must not keep the node from starting."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        log.warning("audit.public_key_file_unreadable", path=str(path), error=str(exc))
        return None
    if not isinstance(key, Ed25519PublicKey):
        log.warning("audit.public_key_file_unreadable", path=str(path), error="not Ed25519")
        return None
    return key


def public_hex(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def public_from_hex(text: str) -> Ed25519PublicKey:
    """A raw Ed25519 public key from 64 hex digits; ValueError for anything else."""
    raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)
