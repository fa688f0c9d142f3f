"""deploy/nginx/tatap.conf in front of a real `tatap serve`: the client address reaches the node.

The shipped file is run as it is, but for its ports, certificate and log paths (a throwaway
self-signed certificate, free loopback ports). Skipped where nginx is not installed
(`apt-get install nginx`).
"""

from __future__ import annotations

import asyncio
import datetime
import re
import shutil
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers.served import Served, free_port, tatap_serve

CONF = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "tatap.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "visit.example.go.id")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def site_config(
    directory: Path, upstream: int, http_port: int, https_port: int, front_proxy: str = ""
) -> str:
    """The shipped site with this test's ports, certificate and log file; with ``front_proxy``,
    its commented lines for a proxy in front of nginx are switched on for that address."""
    cert, key = self_signed(directory)
    text = CONF.read_text()
    text = re.sub(r"^\s*listen \[::\].*\n", "", text, flags=re.M)
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    text = text.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl;")
    text = text.replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream};")
    text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", text)
    text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", text)
    text = text.replace("/var/log/nginx/tatap.access.log", str(directory / "access.log"))
    if front_proxy:
        text = text.replace("#   set_real_ip_from 10.0.0.5;", f"set_real_ip_from {front_proxy};")
        text = text.replace("#   real_ip_header", "real_ip_header")
        text = text.replace("#   real_ip_recursive", "real_ip_recursive")
        assert f"set_real_ip_from {front_proxy};" in text
    assert f"127.0.0.1:{https_port}" in text and str(cert) in text
    return text


@asynccontextmanager
async def nginx_in_front(
    directory: Path, node: Served, front_proxy: str = ""
) -> AsyncIterator[int]:
    """nginx in the foreground, one process, all its files in ``directory``; its https port."""
    https_port = free_port()
    site = site_config(directory, node.port, free_port(), https_port, front_proxy)
    (directory / "site.conf").write_text(site)
    temp = {k: directory / k for k in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    (directory / "nginx.conf").write_text(
        f"daemon off;\nmaster_process off;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'};\nevents {{}}\nhttp {{\n"
        f"  access_log off;\n  client_body_temp_path {temp['body']};\n"
        f"  proxy_temp_path {temp['proxy']};\n  fastcgi_temp_path {temp['fastcgi']};\n"
        f"  uwsgi_temp_path {temp['uwsgi']};\n  scgi_temp_path {temp['scgi']};\n"
        f"  include {directory / 'site.conf'};\n}}\n"
    )
    assert NGINX is not None
    proc = await asyncio.create_subprocess_exec(
        NGINX,
        "-p",
        str(directory),
        "-c",
        str(directory / "nginx.conf"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(10):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", https_port)
                    writer.close()
                    break
                except OSError as exc:
                    if proc.returncode is not None:
                        error = await proc.stderr.read() if proc.stderr else b""
                        raise AssertionError(error.decode()) from exc
                    await asyncio.sleep(0.05)  # nothing to await: nginx is starting
        yield https_port
    finally:
        proc.terminate()
        await proc.wait()


async def login_from(address: str, https_port: int) -> tuple[int, str]:
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    connector = aiohttp.TCPConnector(local_addr=(address, 0), ssl=tls)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(
            f"https://127.0.0.1:{https_port}/api/v1/auth/login",
            json={"username": "nobody", "password": "x"},
            headers={"X-Forwarded-For": "192.0.2.99"},  # what a client writes is not believed
        ) as resp:
            body = await resp.json()
            return resp.status, body.get("error", {}).get("code", "")


async def test_behind_nginx_each_client_is_throttled_on_its_own(tmp_path: Path) -> None:
    """Through the shipped nginx site (TATAP_TRUSTED_PROXIES=127.0.0.1), one client's failed
    logins get that client refused, and another client behind the same nginx is not."""
    async with tatap_serve(
        tmp_path / "node", trusted_proxies="127.0.0.1", login_address_failures="3"
    ) as node:
        (tmp_path / "nginx").mkdir()
        async with nginx_in_front(tmp_path / "nginx", node) as https_port:
            first = [await login_from("127.0.0.2", https_port) for _ in range(4)]
            other = await login_from("127.0.0.3", https_port)
    assert first == [(401, "unauthorized")] * 3 + [(429, "rate_limited")]
    assert other == (401, "unauthorized")


async def login_status(https_port: int, username: str, forwarded_for: str) -> int:
    """A failed login through nginx as a front proxy at 127.0.0.1 forwards it."""
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as session:
        async with session.post(
            f"https://127.0.0.1:{https_port}/api/v1/auth/login",
            json={"username": username, "password": "x"},
            headers={"X-Forwarded-For": forwarded_for},
        ) as resp:
            await resp.read()
            return resp.status


async def test_behind_nginx_an_ipv6_client_is_limited_by_its_64(tmp_path: Path) -> None:
    """nginx's login rate limit counts an IPv6 client by its /64: logins from 30 addresses of
    one /64 are refused (429) once past the burst of 20, while a client in another /64 still
    reaches Tatap. (A front proxy at 127.0.0.1 names the clients, as deploy/README describes.)"""
    async with tatap_serve(
        tmp_path / "node", trusted_proxies="127.0.0.1", login_address_failures="1000"
    ) as node:
        (tmp_path / "nginx").mkdir()
        async with nginx_in_front(tmp_path / "nginx", node, front_proxy="127.0.0.1") as port:
            roaming = [
                await login_status(port, f"u{i}", f"2001:db8:1:2::{i:x}") for i in range(1, 31)
            ]
            other = await login_status(port, "v", "2001:db8:1:3::1")
    assert roaming[:21] == [401] * 21  # the first, then a burst of 20
    assert roaming.count(429) >= 5  # 30 a minute: at most a few more in the seconds this takes
    assert other == 401
