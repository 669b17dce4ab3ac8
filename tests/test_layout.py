"""The package's layout: no module imports, directly or through others, one that imports it
(a reader follows the imports one way, from the command line down to the piano roll)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rnnrbm_music"


def module_imports() -> dict[str, set[str]]:
    """Each module (dotted, below the package) -> the package's modules it imports anywhere in
    its text, function-level imports included. The package itself (``from . import
    __version__``) is left out: it only gathers the public names."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        if name.endswith("__init__"):
            name = name.removesuffix("__init__").rstrip(".")
        package = name.rsplit(".", 1)[0] if "." in name and not path.name == "__init__.py" \
            else (name if path.name == "__init__.py" else "")
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)] \
                    if package else []
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                if node.module:
                    found.add(target)
                else:   # from . import keys: each name a module of that package
                    found.update(f"{target}.{a.name}".lstrip(".") for a in node.names)
        graph[name] = found
    return {name: {t for t in targets if t in graph and t and t != name}
            for name, targets in graph.items() if name}


def cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path of imports from ``start`` back to itself, or None."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for target in graph.get(node, ()):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


def test_the_import_graph_is_found():
    graph = module_imports()
    assert "rnnrbm_music.roll" not in graph      # names are below the package
    assert {"music21_io", "notation", "score_reading"} <= graph["cli"] | graph["music21_io"]
    assert "engine.rbm" in graph["engine.rnnrbm"]


def test_no_module_imports_itself_through_others():
    graph = module_imports()
    cycles = {name: cycle for name in graph if (cycle := cycle_through(graph, name))}
    assert not cycles, cycles
