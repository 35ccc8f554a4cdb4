"""The house has one direction: ``client`` and ``server`` are peers over ``shared``; the console
script (``wedsync``) and the dev tools (``devtools``) sit above both; only ``client/ui`` imports Qt.

Checked two ways: statically, every import statement of every module (its AST, so an import
inside a function counts too); and at run time, what a fresh interpreter has loaded after the
server's commands and app factory ran.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("client", "server", "shared", "devtools", "wedsync")

#: package -> top-level packages of ours it may import
ALLOWED = {
    "shared": {"shared"},
    "server": {"server", "shared"},
    "client": {"client", "shared"},
    "devtools": {"devtools", "client", "server", "shared"},
    "wedsync": {"wedsync", "client", "server", "shared", "devtools"},
}


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import in ``path``, relative ones resolved."""
    package = list(path.relative_to(ROOT).with_suffix("").parts)[:-1]  # the module's package
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def test_every_import_points_down_the_layers() -> None:
    wrong = []
    for path in _modules():
        owner = path.relative_to(ROOT).parts[0]
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in PACKAGES and top not in ALLOWED[owner]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert wrong == []


def test_only_the_desktop_app_imports_qt() -> None:
    wrong = []
    for path in _modules():
        rel = path.relative_to(ROOT)
        if rel.parts[:2] == ("client", "ui"):
            continue
        for line, name in _imports(path):
            if name.split(".")[0] in ("PySide6", "qasync"):
                wrong.append(f"{rel}:{line} imports {name}")
    assert wrong == []


def test_the_server_never_imports_keyring() -> None:
    wrong = [
        f"{p.relative_to(ROOT)}:{line} imports {name}"
        for p in (ROOT / "server").rglob("*.py")
        for line, name in _imports(p)
        if name.split(".")[0] in ("keyring", "keyrings")
    ]
    assert wrong == []


def test_the_layer_check_sees_a_wrong_arrow(tmp_path: Path) -> None:
    """The walker itself: a relative import climbing out of the server is resolved and caught."""
    module = ROOT / "server" / "_probe_for_layer_test.py"
    module.write_text("def f():\n    from ..client import sync\n", encoding="utf-8")
    try:
        assert (2, "client") in _imports(module)
        with pytest.raises(AssertionError):
            test_every_import_points_down_the_layers()
    finally:
        module.unlink()


_LOADED = """
import sys
{body}
bad = sorted(m for m in sys.modules
             if m.split(".")[0] in ("client", "PySide6", "keyring", "qasync", "devtools"))
print("loaded:" + ",".join(bad))
"""


@pytest.mark.parametrize(
    "body",
    [
        # `wedsync server --help` through the console script, as a user runs it
        "from wedsync.cli import main\ntry:\n    main(['server', '--help'])\nexcept SystemExit:\n"
        "    pass",
        # the server's app, created as `wedsync server` creates it
        "import tempfile\nfrom server.app import create_app\nfrom server.config import ServerConfig"
        "\ncreate_app(ServerConfig(data_dir=tempfile.mkdtemp()))",
    ],
    ids=["server-help", "create-app"],
)
def test_a_server_process_loads_no_client_qt_or_keyring(body: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _LOADED.format(body=body)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert out.splitlines()[-1] == "loaded:"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """Our modules imported when ``path`` is imported (module level, not TYPE_CHECKING).
    ``from pkg import sub`` depends on the submodule ``pkg.sub`` only; ``from pkg import name``
    of anything else depends on ``pkg`` itself."""
    package = list(path.relative_to(ROOT).with_suffix("").parts)[:-1]
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            subs = {f"{module}.{alias.name}" for alias in node.names}
            found |= subs & modules
            if subs - modules:
                found.add(module)
    return found


def test_no_import_circles() -> None:
    """No module imports itself back through others when it loads (package ``__init__``
    re-exports count; imports inside functions and under TYPE_CHECKING do not)."""
    modules = {_module_name(p): p for p in _modules()}
    graph = {
        name: sorted(
            m for m in _top_level_imports(path, set(modules)) if m in modules and m != name
        )
        for name, path in modules.items()
    }
    assert _cycles(graph) == []


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each import circle found by a depth-first walk, as the chain that closes it."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for nxt in graph.get(name, ()):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return cycles


def test_the_circle_check_sees_a_circle() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
