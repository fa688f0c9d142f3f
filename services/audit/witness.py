"""The external witness: signed audit heads kept off the node, so a cut or a rewrite shows.

``tatap witness --pull URL… --store FILE`` asks each node for its signed checkpoints
(``GET /api/v1/audit/checkpoints``) and keeps them in FILE, one JSON object a line:

    {"type": "key", "key_id": …, "public_key": <64 hex>, "ts_ms": …}
    {"type": "checkpoint", "seq": …, "hash": …, "key_id": …, "signature": …, "source": URL,
     "ts_ms": …}

One store file holds one log (give it every node of one deployment). A checkpoint is kept only if
a key the witness trusts signed it (keys come from ``--trust KEYFILE``, pinned by the operator on
purpose, never from the node) and it extends what is held: the node must still show the held head
with the same hash, and new heads come at higher seqs. The witness cannot see the events between
two heads; ``tatap audit verify --witness FILE`` checks those against the database.

The file only grows: each pull writes old content plus new lines to a temporary file, fsyncs it
and renames it over the old one (then fsyncs the directory), under an exclusive lock, so a crash
or a second run at the same moment leaves either the old file or the new one, never a mix.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.audit.chain import checkpoint_message
from services.audit.signing import key_id, public_from_hex, public_hex
from services.errors import BadRequest, Unauthorized, WitnessRefused
from services.files import replace_file

PAGE = 1000  # checkpoints asked for per request
MAX_PAGES = 10_000  # per pull: ten million checkpoints, far beyond any real log
MAX_RESPONSE = 4 << 20  # bytes of one API answer (a page is about 300 KB)
MAX_STORE = 256 << 20  # bytes of a store file read over HTTP by `audit verify --witness URL`
TIMEOUT_S = 30.0
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_SIG = re.compile(r"[0-9a-f]{128}")


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str
    ts_ms: int = 0  # when the witness took it (its own clock)


@dataclass(slots=True)
class WitnessState:
    """What a store file holds: trusted keys and the witnessed heads, in seq order."""

    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    heads: list[Head] = field(default_factory=list)

    @property
    def head(self) -> Head | None:
        return self.heads[-1] if self.heads else None


def parse_store(text: str) -> WitnessState:
    """A store file's content; BadRequest for a line that is not what the witness writes."""
    state = WitnessState()
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            item = json.loads(line)
            if item["type"] == "key":
                public = public_from_hex(item["public_key"])
                state.keys[key_id(public)] = public
            elif item["type"] == "checkpoint":
                head = Head(_seq(item["seq"]), _match(_HEX64, item["hash"]), _ms(item.get("ts_ms")))
                if state.head is not None and head.seq <= state.head.seq:
                    raise ValueError("seqs must grow")
                state.heads.append(head)
            else:
                raise ValueError("unknown type")
        except (ValueError, KeyError, TypeError) as exc:
            raise BadRequest(f"witness store line {number} is damaged: {exc}") from exc
    return state


def read_store(source: str) -> WitnessState:
    """A store file from a path or an http(s) URL (a witness publishing its file)."""
    if source.startswith(("http://", "https://")):
        request = urllib.request.Request(source, headers={"Accept": "application/x-ndjson"})
        return parse_store(_fetch(request, MAX_STORE).decode())
    return parse_store(Path(source).read_text())


def load_trust_file(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (a node's ``audit-signing.pub.pem``)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError as exc:
        raise BadRequest(f"{path} holds no PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BadRequest(f"{path} holds no Ed25519 public key")
    return key


@contextmanager
def _locked(store: Path) -> Iterator[None]:
    store.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(store.with_name(store.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _append(store: Path, old: bytes, items: list[dict[str, Any]]) -> None:
    """Old content plus new lines, replaced whole and durably: never a partial file."""
    if not items:
        return
    data = old + b"".join(json.dumps(i, separators=(",", ":")).encode() + b"\n" for i in items)
    replace_file(store, data)


@dataclass(frozen=True, slots=True)
class PullResult:
    source: str
    new: int
    head: Head | None


def pull(
    base_url: str, store: Path, token: str, trust: list[Ed25519PublicKey], now_ms: int
) -> PullResult:
    """Fetch a node's new signed heads into ``store``; WitnessRefused if they do not extend the
    held ones (nothing of that pull is kept then; keys given with ``trust`` are)."""
    with _locked(store):
        old = store.read_bytes() if store.exists() else b""
        state = parse_store(old.decode())
        added = [
            {"type": "key", "key_id": key_id(k), "public_key": public_hex(k), "ts_ms": now_ms}
            for k in trust
            if key_id(k) not in state.keys
        ]
        _append(store, old, added)
        old += b"".join(json.dumps(i, separators=(",", ":")).encode() + b"\n" for i in added)
        state = parse_store(old.decode())
        if not state.keys:
            raise BadRequest(
                "the witness trusts no key yet: give --trust KEYFILE (the node's"
                " audit-signing.pub.pem, copied and checked out of band)"
            )
        new = _new_heads(base_url, token, state)
        _append(
            store,
            old,
            [{**cp, "type": "checkpoint", "source": base_url, "ts_ms": now_ms} for cp in new],
        )
    last = Head(new[-1]["seq"], new[-1]["hash"]) if new else state.head
    return PullResult(base_url, len(new), last)


def _new_heads(base_url: str, token: str, state: WitnessState) -> list[dict[str, Any]]:
    """The node's checkpoints after the held head, each checked; the held head must be shown."""
    held = state.head
    after = held.seq - 1 if held else 0
    new: list[dict[str, Any]] = []
    last_seq = held.seq if held else 0
    for page_number in range(MAX_PAGES):
        page = _page(base_url, token, after)
        checkpoints = page["checkpoints"]
        if page_number == 0 and held is not None:
            if not checkpoints or checkpoints[0]["seq"] != held.seq:
                raise WitnessRefused(
                    f"the node no longer shows the witnessed head {held.seq}"
                    " (its log was cut, or this is another log)"
                )
            if checkpoints[0]["hash"] != held.hash:
                raise WitnessRefused(
                    f"the node shows another hash at the witnessed head"
                    f" {held.seq} (its log was rewritten)"
                )
            checkpoints = checkpoints[1:]
        for cp in checkpoints:
            if cp["seq"] <= last_seq:
                raise WitnessRefused(f"checkpoint {cp['seq']} does not come after {last_seq}")
            key = state.keys.get(cp["key_id"])
            if key is None:
                raise WitnessRefused(
                    f"checkpoint {cp['seq']} is signed by key {cp['key_id']},"
                    " which this witness does not trust (check it, then add it"
                    " with --trust)"
                )
            try:
                key.verify(
                    bytes.fromhex(cp["signature"]), checkpoint_message(cp["seq"], cp["hash"])
                )
            except InvalidSignature as exc:
                raise WitnessRefused(f"checkpoint {cp['seq']}: bad signature") from exc
            new.append(cp)
            last_seq = cp["seq"]
        if page["next_after"] is None:
            return new
        after = page["next_after"]
    raise WitnessRefused(f"more than {MAX_PAGES} pages of checkpoints")


def _page(base_url: str, token: str, after: int) -> dict[str, Any]:
    query = urllib.parse.urlencode({"after": after, "limit": PAGE})
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/api/v1/audit/checkpoints?{query}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    try:
        body = json.loads(_fetch(request, MAX_RESPONSE))
        checkpoints = [
            {
                "seq": _seq(c["seq"]),
                "hash": _match(_HEX64, c["hash"]),
                "key_id": _match(_KEY_ID, c["key_id"]),
                "signature": _match(_SIG, c["signature"]),
            }
            for c in body["checkpoints"]
        ]
        nxt = body["next_after"]
        if nxt is not None:
            nxt = _seq(nxt)
    except (ValueError, KeyError, TypeError) as exc:
        raise WitnessRefused("the node's checkpoint list is malformed") from exc
    return {"checkpoints": checkpoints, "next_after": nxt}


def login(base_url: str, username: str, password: str) -> str:
    """A staff token from the login API (an auditor account for the witness)."""
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/api/v1/auth/login",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        token = json.loads(_fetch(request, MAX_RESPONSE))["token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Unauthorized("login answered without a token") from exc
    if not isinstance(token, str):
        raise Unauthorized("login answered without a token")
    return token


def _fetch(request: urllib.request.Request, limit: int) -> bytes:
    if urllib.parse.urlsplit(request.full_url).scheme not in ("http", "https"):
        raise BadRequest("only http:// and https:// URLs")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            body: bytes = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise Unauthorized(f"the node refused the witness's credentials ({exc.code})") from exc
        raise WitnessRefused(f"the node answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WitnessRefused(f"cannot reach the node: {getattr(exc, 'reason', exc)}") from exc
    if len(body) > limit:
        raise WitnessRefused(f"answer larger than {limit} bytes")
    return body


def _seq(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**62:
        raise ValueError("a seq is a positive integer")
    return value


def _ms(value: Any) -> int:
    """A time the witness wrote, or 0 for none (older store files have none)."""
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**53:
        raise ValueError("a time is a count of milliseconds")
    return value


def _match(pattern: re.Pattern[str], value: Any) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError("malformed field")
    return value


def now_ms() -> int:
    return int(time.time() * 1000)
