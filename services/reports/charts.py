"""The report's charts as small hand-written SVG: no script, no style attribute (the consoles'
CSP admits neither), the same markup in the page and the PDF. Colours are presentation
attributes; every label is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BAR = "#2f6f9f"
AXIS = "#555"
FONT = 'font-family="DejaVu Sans, sans-serif" font-size="10"'


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "middle") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {FONT}>{escape(text)}</text>'


def day_bars(counts: Sequence[int], label: str) -> str:
    """A bar per day of the month (day 1 first), the tallest labelled with its count."""
    width, height, left, bottom, top = 640, 170, 34, 20, 12
    step = (width - left - 4) / max(1, len(counts))
    peak = max(counts, default=0) or 1
    body = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 2}" y2="{height - bottom}"'
        f' stroke="{AXIS}"/>',
        _text(left - 4, top + 4, str(peak), "end"),
        _text(left - 4, height - bottom, "0", "end"),
    ]
    for i, n in enumerate(counts):
        h = (height - bottom - top) * n / peak
        x = left + i * step
        body.append(
            f'<rect x="{x + 1:.1f}" y="{height - bottom - h:.1f}" width="{max(1.0, step - 2):.1f}"'
            f' height="{h:.1f}" fill="{BAR}"><title>{i + 1}: {n}</title></rect>'
        )
        if i == 0 or (i + 1) % 5 == 0:
            body.append(_text(x + step / 2, height - 6, str(i + 1)))
    return _svg(width, height, label, body)


def labelled_bars(items: Sequence[tuple[str, float]], label: str, scale: float = 0.0) -> str:
    """A horizontal bar per item, with its label and value; ``scale`` is the full bar's value
    (0: the largest item's)."""
    row, left, width = 20, 150, 640
    height = row * max(1, len(items)) + 8
    peak = scale or max((v for _, v in items), default=0) or 1
    body = []
    for i, (name, value) in enumerate(items):
        y = 4 + i * row
        w = (width - left - 60) * value / peak
        body += [
            _text(left - 6, y + 13, name, "end"),
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{BAR}"/>',
            _text(left + w + 4, y + 13, _num(value), "start"),
        ]
    return _svg(width, height, label, body)


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
