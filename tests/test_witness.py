"""The external witness against a real server: ``tatap witness`` (a real process) pulls signed
heads over HTTP from the world's node, keeps them append-only, refuses a node whose heads do not
extend them; ``tatap audit verify --witness`` then catches what local checks cannot."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.admin.provision import Admin
from services.audit.chain import AuditEvent
from services.domain.model import Role
from signaling.app import TOKENS
from tests.helpers.audit import REPO, rehash_from, resign, rows, run_cli, tamper
from tests.helpers.world import World


def _token(world: World, role: Role = Role.AUDITOR) -> str:
    token, _ = world.app[TOKENS].issue(
        sub="s_witness", role=role, visit="", now=world.clock.now(), ttl_s=3600
    )
    return token


async def witness(
    world: World, store: Path, *flags: str, token: str | None = ""
) -> tuple[int, str, str]:
    """``tatap witness --pull <the node> --store <store>`` as its own process, the token in its
    environment (never on its command line)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TATAP_")}
    if token is not None:
        env["TATAP_WITNESS_TOKEN"] = token or _token(world)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        "witness",
        "--pull",
        str(world.client.make_url("/")),
        "--store",
        str(store),
        *flags,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert b"Traceback" not in err, err.decode()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _trust(world: World) -> list[str]:
    return ["--trust", str(world.settings.data_dir / "audit-signing.pub.pem")]


def _heads(store: Path) -> list[int]:
    lines = [json.loads(line) for line in store.read_text().splitlines()]
    return [item["seq"] for item in lines if item["type"] == "checkpoint"]


async def _grow(world: World, count: int) -> None:
    for start in range(0, count, 50):
        batch = range(start, start + 50)
        await world.store.append(
            [AuditEvent("notice", "officer", "s_1", world.facility_id, "", {"n": i}) for i in batch]
        )


@pytest.fixture
async def witnessed(world: World, tmp_path: Path) -> AsyncIterator[tuple[World, Path]]:
    """The node's log grown past two checkpoints (1,000 and 2,000), pulled once by a witness."""
    await _grow(world, 2100)
    store = tmp_path / "witness" / "heads.jsonl"
    code, out, err = await witness(world, store, *_trust(world))
    assert code == 0, err
    assert _heads(store) == [1000, 2000] and "head 2000" in out
    yield world, store


async def test_a_pull_keeps_only_new_heads_and_the_file_only_grows(
    witnessed: tuple[World, Path],
) -> None:
    """A second pull with nothing new leaves the file as it was; after 1,000 more events the
    next pull appends the new head, the old content left byte for byte in front of it."""
    world, store = witnessed
    before = store.read_bytes()
    code, out, _ = await witness(world, store)
    assert code == 0 and "0 new signed heads" in out and store.read_bytes() == before
    await _grow(world, 1000)
    code, out, _ = await witness(world, store)
    after = store.read_bytes()
    assert code == 0 and after.startswith(before) and _heads(store) == [1000, 2000, 3000]


async def test_the_first_pull_needs_a_trusted_key(world: World, tmp_path: Path) -> None:
    """Without --trust the witness trusts no key (it never takes one from the node): it refuses
    and keeps no head."""
    await _grow(world, 1000)
    store = tmp_path / "heads.jsonl"
    code, _, err = await witness(world, store)
    assert code != 0 and "--trust" in err
    assert not store.exists() or _heads(store) == []


async def test_a_checkpoint_signed_by_an_untrusted_key_is_refused(
    world: World, tmp_path: Path
) -> None:
    """Trusting another key than the node's: the node's checkpoints are refused, naming the key."""
    await _grow(world, 1000)
    other = tmp_path / "other.pub.pem"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    store = tmp_path / "heads.jsonl"
    code, _, err = await witness(world, store, "--trust", str(other))
    assert code != 0 and "does not trust" in err and _heads(store) == []


async def test_a_node_showing_another_hash_at_a_witnessed_head_is_refused(
    witnessed: tuple[World, Path],
) -> None:
    """An insider holding the signing key rewrites event 500, rehashes and re-signs every
    checkpoint: the node now shows another hash at 2,000, and the witness refuses and keeps
    its file unchanged."""
    world, store = witnessed
    db = world.settings.sqlite_path
    before = store.read_bytes()
    tamper(db, *rehash_from(db, 500, '{"n":0}'))
    tamper(db, *resign(db, _node_key(world)))
    code, _, err = await witness(world, store)
    assert code != 0 and "another hash at the witnessed head 2000" in err
    assert store.read_bytes() == before


async def test_a_node_with_a_lower_head_is_refused(witnessed: tuple[World, Path]) -> None:
    """The node's log cut back to 1,500 with the checkpoints above: it no longer shows the
    witnessed head 2,000, and the witness says so."""
    world, store = witnessed
    db = world.settings.sqlite_path
    tamper(
        db,
        ("DELETE FROM audit_events WHERE seq > 1500", ()),
        ("DELETE FROM audit_checkpoints WHERE seq > 1500", ()),
    )
    code, _, err = await witness(world, store)
    assert code != 0 and "no longer shows the witnessed head 2000" in err


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_the_witness_needs_credentials(
    witnessed: tuple[World, Path], token: str | None
) -> None:
    """No token at all, or one the node refuses: a clear error, no traceback, nothing kept."""
    world, store = witnessed
    before = store.read_bytes()
    code, _, err = await witness(world, store, token=token)
    assert code != 0 and ("no credentials" in err or "credentials (401)" in err)
    assert store.read_bytes() == before


async def test_the_witness_logs_in_with_a_password_from_a_file(
    world: World, tmp_path: Path
) -> None:
    """A periodic witness logs in as an auditor with --login, the password read from a file
    (never from its command line), and pulls."""
    await Admin(world.store).staff("witness1", Role.AUDITOR, "correct horse battery")
    await _grow(world, 1000)
    secret = tmp_path / "password"
    secret.write_text("correct horse battery\n")
    store = tmp_path / "heads.jsonl"
    code, out, err = await witness(
        world,
        store,
        *_trust(world),
        "--login",
        "witness1",
        "--password-file",
        str(secret),
        token=None,
    )
    assert code == 0, err
    assert _heads(store) == [1000]


def _node_key(world: World) -> Ed25519PrivateKey:
    """The node's own signing key, as an insider on the machine could read it."""
    pem = (world.settings.data_dir / "audit-signing.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


async def _stopped(world: World) -> Path:
    """The node's store closed (its head signed, as at shutdown); returns the database path."""
    await world.store.aclose()
    return world.settings.sqlite_path


def _verify(world: World, *flags: str) -> tuple[int, dict[str, object]]:
    proc = run_cli(world.settings.data_dir, "audit", "verify", "--json", *flags)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


async def test_verify_with_the_witness_passes_an_intact_log(witnessed: tuple[World, Path]) -> None:
    """With the node stopped and its log untouched, verify --witness exits 0."""
    world, store = witnessed
    await _stopped(world)
    code, report = _verify(world, "--witness", str(store))
    assert code == 0 and report["witnessed"] == 2


@pytest.fixture
async def served(witnessed: tuple[World, Path]) -> AsyncIterator[str]:
    """The witness's store file published over HTTP, as a regional office might."""
    _, store = witnessed

    async def heads(request: web.Request) -> web.Response:
        return web.Response(body=store.read_bytes(), content_type="application/x-ndjson")

    app = web.Application()
    app.router.add_get("/heads.jsonl", heads)
    server = TestServer(app)
    await server.start_server()
    try:
        yield str(server.make_url("/heads.jsonl"))
    finally:
        await server.close()


@pytest.mark.parametrize("source", ["file", "url"])
async def test_a_cut_back_to_a_checkpoint_is_caught_only_by_the_witness(
    witnessed: tuple[World, Path], served: str, source: str
) -> None:
    """The log cut exactly at checkpoint 1,000, the checkpoints above deleted: every local check
    passes (nothing shows a cut at a signed head), but verify --witness names 2000, the witnessed
    head that is gone, whether the witness's file is read from disk or over HTTP."""
    world, store = witnessed
    db = await _stopped(world)
    tamper(
        db,
        ("DELETE FROM audit_events WHERE seq > 1000", ()),
        ("DELETE FROM audit_checkpoints WHERE seq > 1000", ()),
    )
    assert _verify(world)[0] == 0
    proc = await asyncio.to_thread(
        run_cli,
        world.settings.data_dir,
        "audit",
        "verify",
        "--json",
        "--witness",
        str(store) if source == "file" else served,
    )
    report = json.loads(proc.stdout)
    assert proc.returncode != 0 and report["first_bad_seq"] == 2000
    assert "witnessed head 2000 is gone" in str(report["problem"])


async def test_a_rewrite_resigned_with_the_node_key_is_caught_only_by_the_witness(
    witnessed: tuple[World, Path],
) -> None:
    """An insider holding the signing key rewrites event 500, rehashes the rest and re-signs
    every checkpoint: local checks pass, verify --witness names 1000, the first witnessed head
    whose hash changed."""
    world, store = witnessed
    db = await _stopped(world)
    tamper(db, *rehash_from(db, 500, '{"n":0}'))
    tamper(db, *resign(db, _node_key(world)))
    assert _verify(world)[0] == 0
    code, report = _verify(world, "--witness", str(store))
    assert code != 0 and report["first_bad_seq"] == 1000 and "rewritten" in str(report["problem"])


async def test_checkpoints_api_pages_and_lists_pinned_keys(world: World) -> None:
    """GET /api/v1/audit/checkpoints: oldest first after `after`, `limit` a page with the next
    cursor, and the pinned key (the node's own, pinned as the log's first)."""
    await _grow(world, 2100)
    auth = {"Authorization": f"Bearer {_token(world)}"}
    resp = await world.client.get("/api/v1/audit/checkpoints?after=0&limit=1", headers=auth)
    body = await resp.json()
    assert resp.status == 200 and [c["seq"] for c in body["checkpoints"]] == [1000]
    assert body["next_after"] == 1000
    (key,) = body["keys"]
    assert key["pinned_seq"] == 0 and key["key_id"] == body["checkpoints"][0]["key_id"]
    resp = await world.client.get("/api/v1/audit/checkpoints?after=1000", headers=auth)
    body = await resp.json()
    assert [c["seq"] for c in body["checkpoints"]] == [2000] and body["next_after"] is None


@pytest.mark.parametrize(("role", "status"), [(Role.OFFICER, 403), (None, 401)])
async def test_checkpoints_api_is_for_auditors_and_admins(
    world: World, role: Role | None, status: int
) -> None:
    """An officer's token is refused (403), and so is a request without one (401)."""
    headers = {"Authorization": f"Bearer {_token(world, role)}"} if role else {}
    resp = await world.client.get("/api/v1/audit/checkpoints", headers=headers)
    assert resp.status == status and "error" in await resp.json()


async def test_facility_auditor_verify_counts_its_own_facility_only(world: World) -> None:
    """Item 9d: the whole chain is verified, but a facility's auditor is told the number of its
    own facility's events, not the whole log's; an auditor over every facility gets the total."""
    await world.store.append(
        [AuditEvent("notice", "admin", "cli", "f_elsewhere", "", {"n": i}) for i in range(7)]
    )
    db = world.settings.sqlite_path
    own = rows(db, "SELECT count(*) FROM audit_events WHERE facility_id = ?", (world.facility_id,))
    total = rows(db, "SELECT count(*) FROM audit_events")[0][0]
    scoped, _ = world.app[TOKENS].issue(
        sub="s_a",
        role=Role.AUDITOR,
        visit="",
        now=world.clock.now(),
        ttl_s=60,
        facility=world.facility_id,
    )
    resp = await world.client.get(
        "/api/v1/audit/verify", headers={"Authorization": f"Bearer {scoped}"}
    )
    body = await resp.json()
    assert body["ok"] is True and body["events"] == own[0][0] != total
    assert body["facility_id"] == world.facility_id
    resp = await world.client.get(
        "/api/v1/audit/verify", headers={"Authorization": f"Bearer {_token(world)}"}
    )
    # One more than counted: the first verify, itself recorded.
    assert (await resp.json())["events"] == total + 1


async def test_a_key_pinned_on_the_node_is_refused_until_the_witness_trusts_it(
    witnessed: tuple[World, Path],
) -> None:
    """Someone on the node replaces the signing key and pins the new one (an audited event, so
    local verification accepts it from there on). The witness does not follow: the checkpoint
    signed by the new key is refused, naming the key, until its operator trusts it with --trust."""
    world, store = witnessed
    (world.settings.data_dir / "audit-signing.pem").unlink()
    proc = await asyncio.to_thread(
        run_cli, world.settings.data_dir, "audit", "pin-key", "--reason", "disk replaced"
    )
    assert proc.returncode == 0, proc.stderr
    new_key = json.loads(proc.stdout)["pinned"]
    code, _, err = await witness(world, store)
    assert code != 0 and f"key {new_key}, which this witness does not trust" in err
    assert _heads(store) == [1000, 2000]
    code, _, err = await witness(world, store, *_trust(world))  # the new public key, now checked
    assert code == 0, err
    assert len(_heads(store)) == 3
