"""A family link as a QR code (segno): an SVG the console shows for the visitor's own phone.

The SVG is made on the server so the page loads no library and nothing from elsewhere; it is
markup of paths only (no script, no external reference), shown through an ``<img>``.
"""

from __future__ import annotations

import io

import segno

# Modules of quiet zone around the code: the standard's four, which phone scanners expect.
QUIET_ZONE = 4


def qr_svg(text: str) -> str:
    """``text`` as a standalone SVG QR code (error correction M: a lobby screen's glare and a
    cheap phone camera), black on white, sized in modules (the page scales it)."""
    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        omitsize=True,  # a viewBox only: the page gives it its size
        border=QUIET_ZONE,
        light="#fff",
    )
    return out.getvalue().decode()
