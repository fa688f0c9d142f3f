"""The report's HTML printed as PDF by WeasyPrint (Debian's pango and harfbuzz underneath).

The page carries its stylesheet inline and its charts as inline SVG, so nothing is fetched: a
base URL only resolves the source links, which stay relative."""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    """``html`` as an A4 PDF."""
    from weasyprint import HTML  # imported when a PDF is asked for: it loads pango

    pdf = HTML(string=html, base_url=".").write_pdf()
    assert pdf is not None  # no target given: the bytes are returned
    return bytes(pdf)
