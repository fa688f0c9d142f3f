"""A pytest plugin that ends every run by saying, loudly, which tests were skipped for a missing
program and how to bring them back: a machine without Chromium must not look like a green suite.

Loaded from ``pyproject.toml`` (``-p tests.skip_report``).
"""

from __future__ import annotations

import collections

import pytest

# What each missing program is called in Debian, by a word its skip reason contains.
PACKAGES = {
    "chromium": "chromium",
    "xvfb": "xvfb",
    "nginx": "nginx",
    "npm": "nodejs npm",
    "node": "nodejs npm",
    "firefox": "firefox-esr",
}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons: collections.Counter[str] = collections.Counter()
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    packages = sorted(
        {pkg for reason in reasons for word, pkg in PACKAGES.items() if word in reason.lower()}
    )
    write = terminalreporter.write_line
    terminalreporter.section("SKIPPED: these tests did not run", sep="!", red=True, bold=True)
    for reason, count in reasons.most_common():
        write(f"{count:4d} skipped: {reason}", red=True)
    if packages:
        write(f"bring them back with: apt-get install -y {' '.join(packages)}", bold=True)
