"""The layer contract: media above signaling above services, each importing only downward, and
media reaching signaling only through its wire protocol (``signaling.protocol``).

Every import statement counts, those inside functions and ``TYPE_CHECKING`` blocks too. Direct
imports are enough to check: if no module imports upward, no chain of imports can.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("services", "signaling", "media")  # bottom first
MEDIA_MAY_IMPORT = "signaling.protocol"  # whatever that needs of signaling comes with it


def imported_names(path: Path) -> Iterator[tuple[int, str]]:
    """Each name a file imports, as a dotted path: ``from a import b`` gives ``a.b``, so that
    ``from signaling import protocol`` is an import of ``signaling.protocol``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # A relative import stays inside its own package: never across layers.
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def allowed(layer: str, name: str) -> bool:
    target = name.split(".")[0]
    if target not in LAYERS or target == layer:
        return True
    if LAYERS.index(target) > LAYERS.index(layer):
        return False
    if layer == "media" and target == "signaling":
        return name == MEDIA_MAY_IMPORT or name.startswith(MEDIA_MAY_IMPORT + ".")
    return True


def violations(root: Path) -> list[str]:
    """``file:line: imported name`` for every import the contract forbids, under ``root``."""
    found = []
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            for line, name in imported_names(path):
                if not allowed(layer, name):
                    found.append(f"{path.relative_to(root)}:{line}: {name}")
    return found


def test_the_tree_keeps_the_layer_contract() -> None:
    """No module of ours imports a layer above it, nor media a part of signaling but its
    protocol."""
    assert violations(ROOT) == []


def test_each_kind_of_forbidden_import_is_found(tmp_path: Path) -> None:
    """An upward import (at the top or inside a function) and media reaching past the protocol
    are each named with file and line; the imports the contract allows are not."""
    files = {
        "services/cli/main.py": "import json\nfrom services.errors import NotFound\n"
        "from signaling.app import create_app\n",
        "services/late.py": "def f():\n    import media.cli\n",
        "signaling/demo.py": "from services.settings import Settings\n"
        "def g():\n    from media.cli import register\n",
        "media/agent.py": "from signaling import protocol\nfrom signaling.protocol import Hello\n"
        "from services.logs import configure\nfrom signaling.visits.hub import Hub\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert violations(tmp_path) == [
        "services/cli/main.py:3: signaling.app.create_app",
        "services/late.py:2: media.cli",
        "signaling/demo.py:3: media.cli.register",
        "media/agent.py:4: signaling.visits.hub.Hub",
    ]
