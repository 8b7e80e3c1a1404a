"""The house holds: specanim's layers (the import-linter contracts in pyproject.toml), no import
circles in specanim or the built-in plugins, built-in plugins that import from specanim only
its SDK, and no private attribute of the standard library's process pools."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ["specanim_datasets", "specanim_reducers", "specanim_panels"]
PLUGINS += ["specanim_encoders", "specanim_executors"]
# Modules of the standard library whose private attributes the pool once read.
POOLS = {"multiprocessing", "concurrent"}
# Their private names that a getattr could reach on an object of theirs.
POOL_PRIVATES = {
    "_pending_work_items",
    "_broken",
    "_executor_manager_thread",
    "_processes",
    "_shutdown_thread",
    "_popen",
    "_children",
    "_inheriting",
}


def graph() -> grimp.ImportGraph:
    return grimp.build_graph("specanim", *PLUGINS)


def test_the_layer_contracts_hold() -> None:
    """``lint-imports`` with pyproject.toml's contracts: each layer imports only those below
    it, and the core no plugin."""
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([linter], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in edges[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = [stack.pop()]
            while group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others() -> None:
    g = graph()
    edges = {m: set(g.find_modules_directly_imported_by(m)) for m in g.modules}
    assert circles(edges) == []
    # The check finds one when there is one.
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_built_in_plugins_import_only_the_sdk_from_specanim() -> None:
    """What they need, the SDK exports: third-party plugins need the same."""
    g = graph()
    reached = {
        (module, imported)
        for package in PLUGINS
        for module in g.find_children(package) | {package}
        for imported in g.find_modules_directly_imported_by(module)
        if imported.partition(".")[0] == "specanim" and imported != "specanim.sdk"
    }
    assert reached == set()


def private_pool_attributes(source: str) -> list[str]:
    """``name._attribute`` in source where name is bound to a module of POOLS or to something
    imported from one (``from concurrent.futures import ProcessPoolExecutor``), and getattr of
    their private names on any object."""
    tree = ast.parse(source)
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound |= {a.asname or a.name for a in node.names if a.name.split(".")[0] in POOLS}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in POOLS:
            bound |= {a.asname or a.name for a in node.names}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if not node.attr.startswith("__"):
                base = node.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in bound:
                    found.append(ast.unparse(node))
    # getattr(executor, "_processes"): a name the pools use privately, whatever the object
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("getattr", "setattr"):
            if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                if node.args[1].value in POOL_PRIVATES:
                    found.append(ast.unparse(node))
    return found


def test_no_private_attribute_of_the_standard_process_pools_is_used() -> None:
    sources = [*(ROOT / "specanim").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]
    used = {
        str(path.relative_to(ROOT)): found
        for path in sources
        if (found := private_pool_attributes(path.read_text(encoding="utf-8")))
    }
    assert used == {}
    # The check sees both forms.
    seen = private_pool_attributes(
        "import multiprocessing\nfrom concurrent.futures import ProcessPoolExecutor as P\n"
        "multiprocessing.process._children\nP._broken\ngetattr(pool, '_processes', None)\n"
    )
    assert len(seen) == 3
