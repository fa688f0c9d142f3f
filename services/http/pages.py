"""Web pages served by the node: the family's visit page at ``/v/<link>``, its booking pages
(``/``, ``/register``, ``/status``) and their static files.

The visit page is built once per node into one response: its stylesheet, the protocol's facts and
its scripts inline (the files under ``/static`` stay served as they are), and the link's answer
put in by the node. On a phone's slow link every request is a round trip, so the page needs none
before it opens its socket, which it does from its head while the rest still arrives; the CSP
admits the inline scripts and style by their hashes only. The booking pages are built the same
way (``Inlined``), each one response with nothing else to fetch but the API.
"""

from __future__ import annotations

import base64
import hashlib
import re
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiohttp import web

from services.access.sessions import BACKGROUND_HEADER, BACKGROUND_QUERY, CSRF_HEADER
from services.audit.chain import ACTIONS
from services.booking.rejections import RejectReason
from services.booking.relationships import Relationship
from services.domain.model import EndReason, VisitKind
from services.errors import TatapError

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
# Opens the socket from the visit page's head (see boot.js).
BOOT = "boot.js"
# Opens the data block holding the link's answer: the page reads it instead of asking
# /api/v1/join first.
JOINED_BLOCK = '<script type="application/json" id="joined">'
# Opens the data block of what a family page must agree on with the server (``page_facts``).
FACTS_BLOCK = '<script type="application/json" id="facts">'
# The frame every booking page shares (head, header, language toggle), around its own content.
BOOK_SHELL = "book.html"


@dataclass(frozen=True)
class FamilyPage:
    """A booking page: its content (a file under ``services/web``), the key and Indonesian text
    of its title (the page's script says it in the family's language), and its own script."""

    main: str
    title_key: str
    title: str
    script: str = ""


FAMILY_PAGES = {
    "/": FamilyPage("landing.html", "service", "Kunjungan Video"),
    "/register": FamilyPage("register.html", "register_title", "Daftar kunjungan", "register.js"),
    "/status": FamilyPage("status.html", "status_title", "Cek status kunjungan", "status.js"),
}

_STYLESHEET = re.compile(r'\s*<link rel="stylesheet" href="/static/([\w/.-]+)">')
_SCRIPT = re.compile(r'\s*<script src="/static/([\w/.-]+)" defer></script>')

# Exchanges a link secret for what ``POST /api/v1/join`` answers (raises as that does).
Exchange = Callable[[str], Awaitable[object]]


def csp(script_hashes: list[str], style_hash: str) -> str:
    """A family page loads nothing from elsewhere: its own inline scripts and style (by hash),
    the camera, and the socket and API of the node that served it (CSP 'self' covers ws:/wss: to
    the same host). JSON data blocks are data, never run."""
    scripts = " ".join(f"'{h}'" for h in script_hashes)
    return (
        f"default-src 'self'; script-src 'self' {scripts}; "
        f"style-src 'self' '{style_hash}'; img-src 'self' data:; "
        "media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def block_json(data: object) -> str:
    """``data`` as JSON fit for a data block: "<" escaped, so nothing in it can end the block."""
    return orjson.dumps(data).decode().replace("<", "\\u003c")


def data_block(opening: str, data: object) -> str:
    """A JSON data block."""
    return opening + block_json(data) + "</script>"


@dataclass(frozen=True)
class Inlined:
    """A page file with its stylesheets and scripts inline, and the hashes its CSP admits."""

    html: str
    script_hash: str
    style_hash: str

    @classmethod
    def build(cls, html: str, generated: Mapping[str, str], data: str = "") -> Inlined:
        """``html`` as authored for ``/static``, its stylesheets made one ``<style>`` where the
        first was linked and its deferred scripts one ``<script>`` at the end of the body, in
        their order (``generated`` gives the text of scripts made by the node, such as
        ``protocol.js``); ``data`` (a data block) goes just before the script."""
        sheets = _STYLESHEET.findall(html)
        names = _SCRIPT.findall(html)
        if not sheets or not names or html.count("</body>") != 1:
            raise RuntimeError("a page lost its stylesheet, its scripts or its </body>")
        style = "".join((WEB_DIR / sheet).read_text() for sheet in sheets)
        script = "".join(generated.get(n) or (WEB_DIR / n).read_text() for n in names)
        html = _SCRIPT.sub("", html)
        html = _STYLESHEET.sub(f"\n  <style>{style}</style>", html, count=1)
        html = _STYLESHEET.sub("", html)
        html = html.replace("</body>", f"{data}<script>{script}</script>\n</body>")
        return cls(html, sha256(script), sha256(style))


@dataclass(frozen=True)
class VisitPage:
    """The page split around the slot for the link's answer, and its CSP."""

    head: str
    tail: str
    policy: str

    @classmethod
    def build(cls, protocol_script: str) -> VisitPage:
        """``visit.html`` inline, with ``protocol_script`` as its ``protocol.js``, and the link's
        answer and ``boot.js`` in the head, just before the style."""
        page = Inlined.build((WEB_DIR / "visit.html").read_text(), {"protocol.js": protocol_script})
        boot = (WEB_DIR / BOOT).read_text()
        # The answer and boot.js where the stylesheet was: early in the first bytes to arrive.
        head, rest = page.html.split("\n  <style>", 1)
        return cls(
            head=head + JOINED_BLOCK,
            tail=f"</script>\n  <script>{boot}</script>\n  <style>{rest}",
            policy=csp([sha256(boot), page.script_hash], page.style_hash),
        )

    def render(self, joined: object) -> str:
        return self.head + block_json(joined) + self.tail


def _secure(response: web.Response, policy: str, permissions: str) -> web.Response:
    """The headers every family page carries, and gzip."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = policy
    response.headers["Permissions-Policy"] = permissions
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.enable_compression()
    return response


def visit_page(
    page: VisitPage, exchange: Exchange
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``GET /v/<link>``: the page with the link's answer, or with none when the link opens
    nothing (the page then asks ``/api/v1/join`` itself and shows that answer's error)."""

    async def serve(request: web.Request) -> web.Response:
        try:
            joined = await exchange(request.match_info["link"])
        except TatapError:
            joined = None
        response = web.Response(text=page.render(joined), content_type="text/html")
        # no-store: the answer holds a token for this visit.
        response.headers["Cache-Control"] = "no-store"
        permissions = "camera=(self), microphone=(self), geolocation=()"
        return _secure(response, page.policy, permissions)

    return serve


def family_html(page: FamilyPage) -> str:
    """A booking page as authored: its content in the shared frame."""
    script = f'\n  <script src="/static/{page.script}" defer></script>' if page.script else ""
    return string.Template((WEB_DIR / BOOK_SHELL).read_text()).substitute(
        title=page.title,
        title_key=page.title_key,
        scripts=script,
        main=(WEB_DIR / page.main).read_text().rstrip("\n"),
    )


def family_page(spec: FamilyPage) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A booking page (``FAMILY_PAGES``): the same for everyone, built once, with the facts it
    shares with the server (``page_facts``) in a data block."""
    return fixed_page(family_html(spec), page_facts())


def fixed_page(
    html: str, facts: object, generated: Mapping[str, str] | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A page the same for everyone (a booking page, a console's shell): built once, inline,
    with ``facts`` in its data block (and ``generated`` scripts, as ``Inlined.build``); what
    differs per reader it asks the API for."""
    page = Inlined.build(html, generated or {}, data_block(FACTS_BLOCK, facts))
    policy = csp([page.script_hash], page.style_hash)

    async def serve(request: web.Request) -> web.Response:
        response = web.Response(text=page.html, content_type="text/html")
        response.headers["Cache-Control"] = "no-cache"
        return _secure(response, policy, "camera=(), microphone=(), geolocation=()")

    return serve


def page_facts() -> dict[str, object]:
    """What the booking pages read from the server's own tables rather than keep a copy of:
    the relationships a visitor may declare, with their labels in both languages."""
    return {"relationships": [{"code": r.value, **r.label.to_json()} for r in Relationship]}


@dataclass(frozen=True)
class StaffPage:
    """A staff console: its content (under ``services/web``), in the staff shell
    (``staff/shell.html``) with the shell's scripts, then its own."""

    main: str
    title: str
    scripts: tuple[str, ...]


STAFF_SHELL = "staff/shell.html"
# The administration pages' scripts: the officer texts and menu, their shared texts and parts.
_ADMIN = ("officer/texts.js", "officer/nav.js", "officer/admin-texts.js", "officer/admin.js")
STAFF_PAGES = {
    "/officer": StaffPage(
        "officer/main.html",
        "Konsol Petugas",
        (
            "officer/texts.js",
            "officer/nav.js",
            "officer/board-texts.js",
            "officer/board.js",
            "officer/queue.js",
        ),
    ),
    "/officer/walk-in": StaffPage(
        "officer/walkin.html",
        "Konsol Petugas",
        ("officer/texts.js", "officer/nav.js", "officer/rooms-texts.js", "officer/walkin.js"),
    ),
    "/officer/terminals": StaffPage(
        "officer/terminals.html",
        "Konsol Petugas",
        ("officer/texts.js", "officer/nav.js", "officer/rooms-texts.js", "officer/terminals.js"),
    ),
    # The live wall reads the protocol's close codes as the visit page does.
    "/officer/wall": StaffPage(
        "officer/wall.html",
        "Konsol Petugas",
        (
            "protocol.js",
            "officer/texts.js",
            "officer/nav.js",
            "officer/wall-texts.js",
            "officer/wall-media.js",
            "officer/wall-tile.js",
            "officer/wall.js",
        ),
    ),
    "/officer/schedule": StaffPage(
        "officer/schedule.html", "Konsol Petugas", (*_ADMIN, "officer/schedule.js")
    ),
    "/officer/inmates": StaffPage(
        "officer/inmates.html", "Konsol Petugas", (*_ADMIN, "officer/inmates.js")
    ),
    "/officer/staff": StaffPage(
        "officer/staff.html", "Konsol Petugas", (*_ADMIN, "officer/staff.js")
    ),
    "/auditor": StaffPage(
        "auditor/main.html",
        "Konsol Auditor",
        (
            "auditor/texts.js",
            "auditor/timeline.js",
            "auditor/verify.js",
            "auditor/search.js",
            "auditor/reports.js",
        ),
    ),
}


def staff_html(page: StaffPage) -> str:
    """A console as authored: its content in the staff shell."""
    return string.Template((WEB_DIR / STAFF_SHELL).read_text()).substitute(
        title=page.title,
        scripts="".join(f'\n  <script src="/static/{n}" defer></script>' for n in page.scripts),
        main=(WEB_DIR / page.main).read_text().rstrip("\n"),
    )


def staff_facts() -> dict[str, object]:
    """What the consoles read from the server's tables: the canned reasons a request is turned
    down for, with the texts the family reads; the relationships' labels; the session's header
    names."""
    return {
        **page_facts(),
        "reject_reasons": [{"code": r.value, **r.text.to_json()} for r in RejectReason],
        "csrf_header": CSRF_HEADER,
        "background_header": BACKGROUND_HEADER,
        "background_query": BACKGROUND_QUERY,
        # The auditor's search filters choose among these.
        "visit_kinds": [k.value for k in VisitKind],
        "end_reasons": [r.value for r in EndReason],
        "audit_actions": sorted(ACTIONS),
    }


def page_routes(protocol_script: str, exchange: Exchange) -> list[web.AbstractRouteDef]:
    """The visit page (with ``protocol_script``, the facts ``/static/protocol.js`` serves, inline)
    and the static files."""
    page = VisitPage.build(protocol_script)
    family = [web.get(path, family_page(spec)) for path, spec in FAMILY_PAGES.items()]
    facts = staff_facts()
    generated = {"protocol.js": protocol_script}
    staff = [
        web.get(p, fixed_page(staff_html(s), facts, generated)) for p, s in STAFF_PAGES.items()
    ]
    return [
        web.get("/v/{link}", visit_page(page, exchange)),
        *family,
        *staff,
        web.static("/static", WEB_DIR),
    ]
