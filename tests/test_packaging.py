"""The house: one installed namespace (`gbhub`), every package listed, imports pointing one way only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Installed package -> repository folder (pyproject's package-dir), and the floor of each: a package
# may import its own floor and the floors below it, never one above (commands -> training -> hub_cards
# -> builders).
FOLDERS = {"gbhub": "scripts/gbhub", "gbhub.builders": "builders", "gbhub.hub_cards": "hub_cards",
           "gbhub.training": "training"}
FLOORS = {"gbhub.builders": 0, "gbhub.hub_cards": 1, "gbhub.training": 2, "gbhub.commands": 3, "gbhub.cli": 3}


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _floor(module: str) -> int | None:
    for prefix, floor in FLOORS.items():
        if module == prefix or module.startswith(prefix + "."):
            return floor
    return None


def _modules():
    """`(installed module name, path)` of every source file of the package."""
    for package, folder in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if package == "gbhub" and parts[:1] in (["builders"], ["hub_cards"], ["training"]):
                continue
            yield ".".join([package, *parts]), path


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every imported module name of a file, at any depth (function-level imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append((node.lineno, node.module))
            names += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return names


def test_every_package_folder_is_installed_under_gbhub():
    config = _pyproject()["tool"]["setuptools"]
    assert config["package-dir"] == FOLDERS
    listed = set(config["packages"])
    found = set()
    for package, folder in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join([package, *rel]))
    assert found == listed, f"pyproject lists {sorted(listed)}, the tree has {sorted(found)}"
    assert _pyproject()["project"]["scripts"] == {"gbhub": "gbhub.cli:main"}


def test_imports_point_down_only_and_use_the_namespace():
    wrong = []
    for module, path in _modules():
        here = _floor(module)
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in ("builders", "hub_cards", "training"):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}: use gbhub.{name}")
            there = _floor(name)
            if here is not None and there is not None and there > here:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name} (a floor above {module})")
    assert not wrong, "\n".join(wrong)


def test_version_and_module_entry_point():
    from gbhub import __version__

    out = subprocess.run([sys.executable, "-m", "gbhub", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == f"gbhub {__version__}"


def test_ci_runs_the_readme_test_command_verbatim():
    root = ROOT
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split("Run the tests", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0].strip()
    assert block.startswith("python3 -m venv .venv") and block.endswith("python -m pytest -q")
    assert block in (root / ".ci" / "run").read_text(encoding="utf-8")
    assert "/gbhub-demo/" in (root / ".gitignore").read_text(encoding="utf-8").split()  # what the quick start writes
    assert "gbhub demo --out gbhub-demo" in readme


def test_no_import_cycle_between_modules_even_through_function_level_imports():
    """A lazy import is for speed (torch, datasets), never to hide a cycle: the module graph, with every
    import at any depth, has no circle (a package's `__init__` re-exporting its own parts aside)."""
    modules = dict(_modules())
    graph = {}
    for module, path in modules.items():
        targets = set()
        for _, name in _imports(path):
            while name and name not in modules:  # `from a.b import c` names a.b (or the module a.b.c)
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                targets.add(name)
        graph[module] = targets
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not circles, circles
