"""Settings for every Tatap process, from arguments or ``TATAP_*`` environment variables.

Loud on bad values: a misspelt number fails at start-up, not at the first visit.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from services.access.rates import BOOKING, SLOT_LISTING, Rate
from services.addresses import Network, parse_networks
from services.errors import ConfigError
from services.files import create_secret_file


def _env(name: str, default: str) -> str:
    return os.environ.get(f"TATAP_{name}", default)


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"TATAP_{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"TATAP_{name} must be a number, got {raw!r}") from exc


def _load_keys(spec: str, data_dir: Path) -> dict[str, bytes]:
    """Token signing keys as ``kid:secret,kid:secret``; the first one signs, all verify.

    With no keys configured, one is generated once and kept in ``<data_dir>/token.keys`` so that
    tokens outlive a restart.
    """
    if not spec:
        path = data_dir / "token.keys"
        if not path.exists():
            create_secret_file(path, f"k1:{secrets.token_urlsafe(32)}\n".encode())
        spec = ",".join(line.strip() for line in path.read_text().splitlines() if line.strip())
    keys: dict[str, bytes] = {}
    for item in spec.split(","):
        kid, sep, secret = item.strip().partition(":")
        if not sep or not kid or len(secret) < 16:
            raise ConfigError("token keys must look like 'kid:secret' with a secret of 16+ chars")
        keys[kid] = secret.encode()
    return keys


def _load_link_key(spec: str, data_dir: Path) -> bytes:
    """The key family links are derived with (``services.access.links.FamilyLinks``).

    With none configured, one is generated once and kept in ``<data_dir>/link.key``, so that links
    outlive a restart; like the token keys it never goes into the database.
    """
    if not spec:
        path = data_dir / "link.key"
        if not path.exists():
            create_secret_file(path, f"{secrets.token_urlsafe(32)}\n".encode())
        spec = path.read_text().strip()
    if len(spec) < 16:
        raise ConfigError("the link key must be a secret of 16+ chars")
    return spec.encode()


def _check_limits(settings: Settings) -> None:
    """A zero or negative limit would switch a protection off, or refuse everyone: say so."""
    for name in (
        "header_timeout_s",
        "body_timeout_s",
        "max_conns_per_address",
        "login_workers",
        "login_address_failures",
        "notify_poll_s",
        "notify_timeout_s",
        "notify_max_attempts",
        "console_idle_s",
        "console_session_s",
    ):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"{name} must be above zero")
    if settings.login_queue < 0:
        raise ConfigError("login_queue must not be negative")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a process needs, chosen once at start-up."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # base URL put in family links; default http://host:port
    db_url: str = "sqlite:///var/tatap.db"
    redis_url: str = ""
    node_id: str = field(default_factory=lambda: f"node-{secrets.token_hex(3)}")
    data_dir: Path = Path("var")
    token_keys: dict[str, bytes] = field(default_factory=dict)
    # Family links of requested visits are derived with this key (TATAP_LINK_KEY, or link.key).
    link_key: bytes = b""
    # Staff tokens (officer, auditor, admin) live this long; visit tokens end with the visit.
    staff_token_ttl_s: int = 8 * 3600
    # The external witness's store file (a path or its URL), shown to auditors with each verify.
    witness_store: str = ""
    # A console session (a staff token in a cookie) ends after this long without use, and this
    # long after its login whatever happens (services.access.sessions).
    console_idle_s: float = 30 * 60.0
    console_session_s: float = 12 * 3600.0
    # A visit token may outlive the scheduled end by this much (reconnect after the end is useless,
    # but a clock skew of a few seconds must not refuse an honest client).
    token_grace_s: int = 60
    # Websocket limits.
    max_frame_bytes: int = 64 * 1024
    hello_timeout_s: float = 10.0
    max_errors: int = 10
    # Quiet sockets are pinged after this long, and dropped when a ping gets no answer in time.
    ping_idle_s: float = 30.0
    ping_interval_s: float = 10.0
    # How often the server sends `time` to every participant.
    time_interval_s: float = 30.0
    # How often the node looks for visits whose window opens or whose no-show grace passes.
    sweep_interval_s: float = 2.0
    # How often the node reads revocations written by others (the CLI, other nodes) and closes
    # the sockets they shut out.
    revocation_poll_s: float = 0.5
    # The board's event stream sends a comment this often when nothing changed (proxies keep it
    # open), and checks then that the officer's credentials still hold.
    board_heartbeat_s: float = 15.0
    # A participant may join this long before the scheduled start.
    early_join_s: int = 300
    ice_servers: tuple[dict[str, object], ...] = ()
    # The HTTP edge (see signaling/transport/socket_limits.py). A connection must send a complete
    # request head this soon after it opens or after its previous response (idle keep-alive ends
    # then too), and a request body must arrive whole within body_timeout_s.
    header_timeout_s: float = 5.0
    body_timeout_s: float = 10.0
    # TCP connections, websockets included, from one address; more are closed at accept time.
    # Hundreds: many families share one carrier-grade NAT address. Trusted proxies are exempt.
    max_conns_per_address: int = 256
    # Peers whose X-Forwarded-For names the client (nginx on the same host: 127.0.0.1).
    trusted_proxies: tuple[Network, ...] = ()
    # Password checks running at once (64 MiB each), and how many more may wait for one.
    login_workers: int = 2
    login_queue: int = 8
    # Failed logins one address may bank before it is refused (one is forgiven every 30 s).
    login_address_failures: int = 20
    # Public booking calls per client address (services/access/rates.py says why these sizes):
    # POST /api/v1/requests, and a facility's free slots.
    booking_rate: Rate = BOOKING
    slot_rate: Rate = SLOT_LISTING
    log_json: bool | None = None  # None: JSON unless stderr is a terminal
    # Notifications (docs/notifications.md): the gateway's URL and the secret its requests are
    # signed with; without a URL, officers send messages from wa.me links. How often the outbox
    # is filled and sent, each attempt's time limit, and the attempts before a message fails.
    notify_webhook_url: str = ""
    notify_webhook_secret: bytes = b""
    notify_poll_s: float = 2.0
    notify_timeout_s: float = 10.0
    notify_max_attempts: int = 20

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from ``TATAP_*`` variables, then explicit overrides (command-line flags)."""
        data_dir = Path(str(overrides.pop("data_dir", None) or _env("DATA_DIR", "var")))
        host = _env("HOST", "127.0.0.1")
        port = _env_int("PORT", 8080)
        base = cls(
            host=host,
            port=port,
            public_url=_env("PUBLIC_URL", ""),
            db_url=_env("DB", f"sqlite:///{data_dir / 'tatap.db'}"),
            redis_url=_env("REDIS", ""),
            node_id=_env("NODE_ID", f"node-{secrets.token_hex(3)}"),
            data_dir=data_dir,
            time_interval_s=_env_float("TIME_INTERVAL", 30.0),
            sweep_interval_s=_env_float("SWEEP_INTERVAL", 2.0),
            board_heartbeat_s=_env_float("BOARD_HEARTBEAT", 15.0),
            max_frame_bytes=_env_int("MAX_FRAME_BYTES", 64 * 1024),
            header_timeout_s=_env_float("HEADER_TIMEOUT", 5.0),
            body_timeout_s=_env_float("BODY_TIMEOUT", 10.0),
            max_conns_per_address=_env_int("MAX_CONNS_PER_ADDRESS", 256),
            trusted_proxies=parse_networks(_env("TRUSTED_PROXIES", "")),
            login_workers=_env_int("LOGIN_WORKERS", 2),
            login_queue=_env_int("LOGIN_QUEUE", 8),
            login_address_failures=_env_int("LOGIN_ADDRESS_FAILURES", 20),
            console_idle_s=_env_float("CONSOLE_IDLE", 30 * 60.0),
            console_session_s=_env_float("CONSOLE_SESSION", 12 * 3600.0),
            witness_store=_env("WITNESS_STORE", ""),
            notify_webhook_url=_env("NOTIFY_WEBHOOK_URL", ""),
            notify_webhook_secret=_env("NOTIFY_WEBHOOK_SECRET", "").encode(),
            notify_poll_s=_env_float("NOTIFY_POLL", 2.0),
            notify_timeout_s=_env_float("NOTIFY_TIMEOUT", 10.0),
            notify_max_attempts=_env_int("NOTIFY_MAX_ATTEMPTS", 20),
            booking_rate=Rate(
                _env_float("BOOKING_RATE", BOOKING.per_s), _env_int("BOOKING_BURST", BOOKING.burst)
            ),
            slot_rate=Rate(
                _env_float("SLOTS_RATE", SLOT_LISTING.per_s),
                _env_int("SLOTS_BURST", SLOT_LISTING.burst),
            ),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        settings = replace(base, **clean)  # type: ignore[arg-type]
        _check_limits(settings)
        if not settings.token_keys:
            keys = _load_keys(_env("TOKEN_KEYS", ""), settings.data_dir)
            settings = replace(settings, token_keys=keys)
        if not settings.link_key:
            key = _load_link_key(_env("LINK_KEY", ""), settings.data_dir)
            settings = replace(settings, link_key=key)
        return settings

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def sqlite_path(self) -> Path:
        if not self.db_url.startswith("sqlite:///"):
            raise ConfigError(f"not a SQLite URL: {self.db_url!r}")
        return Path(self.db_url.removeprefix("sqlite:///"))
