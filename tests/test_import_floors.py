"""The package is built in floors: a module imports only from its own floor or below, never in a
cycle, lazy imports (inside functions, under TYPE_CHECKING) included.

errors < labels < model / annotation / categories / findings < io < matching < metrics < stats <
image (one image) < study (many images: the runner, its parts, the findings) < plot < compare /
simulate < report < cli.
The runner knows no part.
"""

from __future__ import annotations

import ast
from pathlib import Path

import agreement

PACKAGE = Path(agreement.__file__).parent

FLOORS = (
    ("agreement.errors", "agreement._html", "agreement._checks", "agreement._native",
     "agreement._lazy", "agreement._version", "agreement._spool", "agreement._names"),
    ("agreement.labels",),
    ("agreement.categories", "agreement.annotation", "agreement.model", "agreement.findings"),
    ("agreement.io",),
    ("agreement.matching",),
    ("agreement.metrics",),
    ("agreement.stats",),
    ("agreement.image",),
    ("agreement.study", "agreement.diagnosis"),
    ("agreement.plot", "agreement.plot_regions", "agreement.plot_heatmaps"),
    ("agreement.compare", "agreement.simulation"),
    ("agreement.report",),
    ("agreement.cli", "agreement.__main__"),
)

#: Cycles tolerated for now (none).
KNOWN_CYCLES: tuple[set[str], ...] = ()


def _modules() -> dict[str, Path]:
    out = {}
    for f in PACKAGE.rglob("*.py"):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (anywhere in the file), packages excluded."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        base = m.split(".") if f.name == "__init__.py" else m.split(".")[:-1]
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                target = (".".join(base[: len(base) - node.level + 1]
                                   + ([node.module] if node.module else []))
                          if node.level else node.module or "")
                names = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            graph[m] |= {t for t in names if t in mods and t != m
                         and mods[t].name != "__init__.py"}
    return graph


def _floor(module: str) -> int | None:
    for i, prefixes in enumerate(FLOORS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return None


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_floor():
    assert [m for m in _modules() if m != "agreement" and _floor(m) is None] == []


def test_no_import_cycle():
    assert [c for c in _cycles(_imports()) if c not in KNOWN_CYCLES] == []


def test_no_upward_import():
    up = [(m, t) for m, targets in _imports().items() if m != "agreement"
          for t in sorted(targets) if _floor(t) > _floor(m)]
    assert up == []


def test_the_runner_knows_no_part():
    assert {t for t in _imports()["agreement.study.runner"]
            if t.startswith("agreement.study.")} == set()


def test_the_floors_are_checked_for_real():
    # the check sees lazy imports: a function-level import of a higher floor would fail it
    graph = _imports()
    assert "agreement.study.disputes" in graph["agreement.study.analysis"]
    assert _floor("agreement.image.maps") < _floor("agreement.study.runner")
