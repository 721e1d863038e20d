"""The layout draws the data flow: lower layers never import upper ones, and no module imports
itself back through others (every import counts, a lazy one inside a function too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "bgmscope"

# Rooms by layer, in the order data flows (docs/architecture.md draws the same picture).
LAYERS: list[set[str]] = [
    {"errors", "config", "fsutil", "csvsafe", "audio", "synth", "scores", "catalog", "tasks", "engine",
     "dask_engine", "context", "warmup"},
    {"acquire", "prepare"},
    {"features"},
    {"models"},
    {"select", "cluster", "genre", "midi", "versions", "tags", "hits", "similar"},
    {"viz"},
    {"report"},
    {"demo", "pipeline"},
    {"cli", "__main__", "__init__"},
]
# Imports that go up on purpose, each with its reason.
UPWARD_ON_PURPOSE = {
    # compiles numba code the stages reach, before workers start (see warmup.py)
    "warmup": "runs every stage's analysis once",
}


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer(r: str) -> int:
    for i, rooms in enumerate(LAYERS):
        if r in rooms:
            return i
    raise AssertionError(f"room {r!r} is in no layer: add it to LAYERS and docs/architecture.md")


def modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = list(p.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    is_pkg = path.name == "__init__.py"
    pkg = module.split(".") if is_pkg else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = [f"{target}.{a.name}" for a in node.names]
            # `from pkg import module` depends on the module, not on pkg's __init__
            names = subs if all(x in known for x in subs) else [target] + subs
        else:
            continue
        for n in names:
            while n and n not in known:
                n = n.rpartition(".")[0]
            if n and n != module and n.startswith("bgmscope"):
                found.add(n)
    return found


GRAPH = {m: imports_of(m, p, set(modules())) for m, p in modules().items()}


def test_no_layer_imports_an_upper_one():
    upward = []
    for m, deps in GRAPH.items():
        if m == "bgmscope" or room(m) in UPWARD_ON_PURPOSE:
            continue
        for d in deps:
            if d != "bgmscope" and layer(room(d)) > layer(room(m)):
                upward.append(f"{m} -> {d}")
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


@pytest.mark.parametrize("granularity", ["module", "room"])
def test_no_import_cycles(granularity):
    def key(m):
        return m if granularity == "module" else room(m)

    nodes = sorted({key(m) for m in GRAPH if m != "bgmscope" and room(m) not in UPWARD_ON_PURPOSE})
    index = {n: i for i, n in enumerate(nodes)}
    rows, cols = [], []
    for m, deps in GRAPH.items():
        if key(m) not in index:
            continue
        for d in deps:
            if d != "bgmscope" and key(d) in index and key(d) != key(m) and \
                    not (granularity == "room" and d.count(".") == 1 and room(d) == "__init__"):
                rows.append(index[key(m)])
                cols.append(index[key(d)])
    g = csr_matrix(([1] * len(rows), (rows, cols)), shape=(len(nodes), len(nodes)))
    n, labels = connected_components(g, directed=True, connection="strong")
    cycles = [sorted(nodes[i] for i in range(len(nodes)) if labels[i] == c) for c in range(n)]
    cycles = [c for c in cycles if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_no_build_scaffolding():
    # every room is part of every build: nothing asks whether a part of bgmscope exists
    offenders = [str(p.relative_to(SRC)) for p in PKG.rglob("*.py") if "find_spec" in p.read_text(encoding="utf-8")]
    assert not offenders, offenders
