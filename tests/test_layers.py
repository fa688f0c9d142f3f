"""The layer contract: media above signaling above services, each importing only downward, and
media reaching signaling only through its wire protocol (``signaling.protocol``). And in the tests:
no module imports a test module or a conftest; what tests share lives in ``tests.helpers``.

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


def imported_names(path: Path, package: str | None = None) -> Iterator[tuple[int, str]]:
    """Each name a file imports, as a dotted path: ``from a import b`` gives ``a.b``, so that
    ``from signaling import protocol`` is an import of ``signaling.protocol``. Relative imports
    are resolved against ``package`` (the file's own) when given, and skipped otherwise."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level and package is None:
                continue  # a relative import stays inside its own package: never across layers
            base = _from_base(node, package or "")
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)


def _from_base(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a ``from ... import`` names, its dots resolved against ``package``."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    parts = parts[: len(parts) - node.level + 1]
    return ".".join([*parts, node.module] if node.module else parts)


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


def _module_file(root: Path, name: str) -> Path | None:
    """The file under ``root`` that the longest importable prefix of ``name`` is."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        for path in (
            root.joinpath(*parts[:n]).with_suffix(".py"),
            root.joinpath(*parts[:n], "__init__.py"),
        ):
            if path.is_file():
                return path
    return None


def _is_test_module(path: Path) -> bool:
    return path.name == "conftest.py" or path.name.startswith("test_")


def imports_of_test_modules(root: Path) -> list[str]:
    """``file:line: imported name`` for every import, in the code or the tests under ``root``,
    of a test module or a conftest (pytest loads those; shared helpers go to tests.helpers)."""
    found = []
    for top in (*LAYERS, "tests"):
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root)
            package = ".".join(rel.parent.parts)
            for line, name in imported_names(path, package):
                target = _module_file(root, name)
                if target is not None and target != path and _is_test_module(target):
                    found.append(f"{rel}:{line}: {name}")
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


def test_no_module_imports_a_test_module_or_conftest() -> None:
    """What tests share is in ``tests.helpers``: no module imports a test module or a conftest
    (pytest loads those itself, and a test module's import runs and registers its tests)."""
    assert imports_of_test_modules(ROOT) == []


def test_each_import_of_a_test_module_or_conftest_is_found(tmp_path: Path) -> None:
    """Imports of a test module or a conftest, absolute or relative, at the top or inside a
    function, from a helper or from another test, are each named with file and line; imports of
    helpers are not."""
    files = {
        "tests/__init__.py": "",
        "tests/conftest.py": "from tests.helpers.world import World\n",
        "tests/test_a.py": "from tests.helpers import world\n",
        "tests/helpers/__init__.py": "",
        "tests/helpers/world.py": "import json\nfrom tests.conftest import fixture\n",
        "tests/test_b.py": "from tests.test_a import helper\ndef f():\n    import tests.conftest\n",
        "tests/e2e/__init__.py": "",
        "tests/e2e/test_c.py": "from ..test_a import helper\nfrom tests import test_b\n",
        "services/x.py": "from tests.test_b import f\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert imports_of_test_modules(tmp_path) == [
        "services/x.py:1: tests.test_b.f",
        "tests/e2e/test_c.py:1: tests.test_a.helper",
        "tests/e2e/test_c.py:2: tests.test_b",
        "tests/helpers/world.py:2: tests.conftest.fixture",
        "tests/test_b.py:1: tests.test_a.helper",
        "tests/test_b.py:3: tests.conftest",
    ]
