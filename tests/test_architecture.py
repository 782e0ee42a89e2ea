"""The import structure: no circles, imports only downward by the layers, core without Blender.

Every module under revive_core/ and blender_addon/ is parsed (never imported) and each of its
imports becomes an edge of a graph: absolute and relative imports, at the top of the module or
inside a function. An import under ``if TYPE_CHECKING:`` never runs, so it counts for the layer
rules but not for circles. ``blender_addon/revive_formats`` is a link to
``revive_core/formats``, so the add-on's imports of it are edges to the core's formats modules.

The core's layers (README, "Architecture"), lowest first; a module imports from its own package
or from a lower layer, never from a package of its own layer (errors builds on formats' error
types, and programs on errors: the exceptions), never upward and never from the CLI:

    0 errors, programs, formats, assets   1 geometry, text   2 avatar, voice   3 emotion
    4 persona   5 take   6 video   7 bench   8 cli

The add-on's, likewise: 0 revive_formats, about  1 imp  2 stage  3 render  4 ui  5 __init__.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE, ADDON = "revive_core", "blender_addon"
ADDON_FORMATS, CORE_FORMATS = f"{ADDON}.revive_formats", f"{CORE}.formats"

CORE_LAYERS = {"errors": 0, "programs": 0, "formats": 0, "assets": 0, "geometry": 1, "text": 1,
               "avatar": 2, "voice": 2, "emotion": 3, "persona": 4, "take": 5, "video": 6,
               "bench": 7, "cli": 8}
# revive_core.errors re-exports formats' errors; programs raises errors' ReviveError.
SAME_LAYER_ALLOWED = {("errors", "formats"), ("programs", "errors")}
ADDON_LAYERS = {"revive_formats": 0, "about": 0, "imp": 1, "stage": 2, "render": 3, "ui": 4}
ADDON_ROOT_LAYER = 5  # blender_addon/__init__.py: registration, on top of everything
BLENDER_MODULES = {"bpy", "bpy_extras", "mathutils", "gpu", "gpu_extras", "bmesh", "bl_math",
                   "blf", "aud", "idprop", "_cycles", "_bpy"}


@dataclass(frozen=True)
class Import:
    """One imported module: who imports it, where, and how it was written."""

    importer: str  # the importing module, e.g. "revive_core.video.render"
    target: str  # the module imported, resolved and absolute (a package means its __init__)
    statement: str  # the import as written in the source
    line: int
    relative: bool
    type_only: bool  # under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        return f"{self.importer} (line {self.line}: {self.statement})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the core and the add-on by dotted name (the formats link only once)."""
    found = {}
    for package in (CORE, ADDON):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "__pycache__" in parts or "revive_formats" in parts:
                continue
            found[_module_name(path)] = path
    return found


def _canonical(name: str) -> str:
    """The add-on's ``revive_formats`` is the core's ``formats`` package itself."""
    if name == ADDON_FORMATS or name.startswith(ADDON_FORMATS + "."):
        return CORE_FORMATS + name[len(ADDON_FORMATS):]
    return name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement in ``tree`` (functions included), and whether it is type-only."""
    found = []

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append((node, type_only))
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(tree, False)
    return found


def _resolve(name: str) -> str:
    """``name`` (dotted, absolute), or the longest known module it starts with."""
    known = modules()
    canonical = _canonical(name)
    parts = canonical.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return canonical


@cache
def imports() -> tuple[Import, ...]:
    """Every import of every module, resolved to the module it loads."""
    found = []
    for name, path in modules().items():
        source = path.read_text()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, type_only in _import_nodes(ast.parse(source, filename=str(path))):
            statement = " ".join(ast.get_source_segment(source, node).split())
            line = node.lineno
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.append(Import(name, _resolve(alias.name), statement, line, False,
                                        type_only))
                continue
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                written = ".".join(base + ([node.module] if node.module else []))
            else:
                written = node.module
            for alias in node.names:  # a name may be a submodule: that is what gets loaded
                submodule = _canonical(f"{written}.{alias.name}")
                target = submodule if submodule in modules() else _resolve(written)
                found.append(Import(name, target, statement, line, bool(node.level), type_only))
    return tuple(dict.fromkeys(found))  # one per module, line and target, in order


def _layer(module: str) -> tuple[str, int] | None:
    """(package, layer) of a module of the core or the add-on; None for other modules."""
    parts = module.split(".")
    if parts[0] == CORE:
        if len(parts) == 1:
            return CORE, -1  # revive_core/__init__.py: the version, below everything
        return parts[1], CORE_LAYERS.get(parts[1], -2)
    if parts[0] == ADDON:
        if len(parts) == 1:
            return ADDON, ADDON_ROOT_LAYER
        return parts[1], ADDON_LAYERS.get(parts[1], -2)
    return None


def _top(module: str) -> str:
    return module.split(".")[0]


def _report(what: str, offenders: list[str]) -> str:
    return f"{what}:\n  " + "\n  ".join(offenders)


# --- the graph itself --------------------------------------------------------------------------

def test_every_package_is_known_to_the_layer_rules():
    """A new top-level package needs a layer (here, in the README and in DESIGN.md)."""
    unknown = sorted({f"{package} (e.g. {name})" for name in modules()
                      if (found := _layer(name)) and (package := found[0]) and found[1] == -2})
    assert unknown == [], _report("packages with no layer in CORE_LAYERS / ADDON_LAYERS",
                                  unknown)


def test_every_import_of_the_project_names_a_module_that_exists():
    """Relative imports and imports of revive_core / blender_addon point at real modules."""
    missing = [f"{imp}: no module {imp.target}" for imp in imports()
               if (imp.relative or _top(imp.target) in (CORE, ADDON))
               and imp.target not in modules()]
    assert missing == [], _report("imports of modules that do not exist", missing)


def _circles(edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, {})):
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(modules())))
    try:
        for node in sorted(edges):
            if node not in index:
                connect(node)
    finally:
        sys.setrecursionlimit(limit)
    return components


def _one_circle(start: str, members: set[str], edges: dict[str, dict[str, Import]]) -> list[str]:
    """A shortest way from ``start`` back to itself through ``members``: one import a line."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for successor in sorted(edges.get(node, {})):
            if successor not in members:
                continue
            if successor == start:
                way = paths[node] + [start]
                return [str(edges[a][b]) for a, b in zip(way, way[1:])]
            if successor not in paths:
                paths[successor] = paths[node] + [successor]
                queue.append(successor)
    return []


def test_no_module_imports_itself_through_a_circle():
    """Circles make import order matter and hide a module doing two jobs; break them."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in imports():
        if not imp.type_only and imp.target in modules() and imp.target != imp.importer:
            edges.setdefault(imp.importer, {}).setdefault(imp.target, imp)
    problems = []
    for component in _circles(edges):
        circle = _one_circle(component[0], set(component), edges)
        problems.append(f"{' <-> '.join(component)}\n    " + "\n    ".join(circle))
    assert problems == [], _report("import circles (each with one way round it)", problems)


# --- the core's layers -------------------------------------------------------------------------

def test_core_imports_only_its_own_package_or_a_lower_layer():
    offenders = []
    for imp in imports():
        if _top(imp.importer) != CORE or _top(imp.target) != CORE:
            continue
        (source, source_layer), (target, target_layer) = _layer(imp.importer), _layer(imp.target)
        if source == target or target == CORE or 0 <= target_layer < source_layer \
                or (source, target) in SAME_LAYER_ALLOWED:
            continue
        how = "in the same layer as" if source_layer == target_layer else "above"
        offenders.append(f"{imp} imports {imp.target}: {target} (layer {target_layer}) is "
                         f"{how} {source} (layer {source_layer})")
    assert offenders == [], _report("imports against the layer order", offenders)


def test_avatar_and_voice_never_import_each_other():
    """The two pipelines meet only above them (take, video), never inside."""
    offenders = [f"{imp} imports {imp.target}" for imp in imports()
                 if _top(imp.importer) == CORE and _top(imp.target) == CORE
                 and {_layer(imp.importer)[0], _layer(imp.target)[0]} == {"avatar", "voice"}]
    assert offenders == [], _report("imports between avatar and voice", offenders)


def test_only_the_cli_imports_the_cli():
    offenders = [f"{imp} imports {imp.target}" for imp in imports()
                 if (imp.target == f"{CORE}.cli" or imp.target.startswith(f"{CORE}.cli."))
                 and not imp.importer.startswith(f"{CORE}.cli")]
    assert offenders == [], _report("modules outside revive_core.cli importing it", offenders)


def test_core_never_imports_blender_or_the_addon():
    """The core runs without Blender; only the add-on may use bpy."""
    offenders = [f"{imp} imports {imp.target}" for imp in imports()
                 if _top(imp.importer) == CORE
                 and (_top(imp.target) in BLENDER_MODULES or _top(imp.target) == ADDON)]
    assert offenders == [], _report("core modules importing Blender or the add-on", offenders)


def test_formats_import_only_each_other_the_standard_library_and_numpy():
    """The add-on loads revive_core/formats standalone (the revive_formats link), so formats
    reach each other by relative imports and need nothing else of Revive."""
    offenders = []
    for imp in imports():
        if not imp.importer.startswith(CORE_FORMATS):
            continue
        inside = imp.target == CORE_FORMATS or imp.target.startswith(CORE_FORMATS + ".")
        if imp.relative and inside:
            continue
        if not imp.relative and (_top(imp.target) in sys.stdlib_module_names
                                 or _top(imp.target) == "numpy"):
            continue
        why = "an absolute import of Revive" if inside else f"imports {imp.target}"
        offenders.append(f"{imp}: {why}")
    assert offenders == [], _report("formats modules importing outside formats", offenders)


# --- the add-on --------------------------------------------------------------------------------

def test_addon_imports_only_itself_blender_numpy_and_the_standard_library():
    """Blender's Python has bpy and numpy, never torch, mediapipe or revive_core."""
    offenders = [f"{imp} imports {imp.target}" for imp in imports()
                 if _top(imp.importer) == ADDON and not imp.relative
                 and _top(imp.target) not in BLENDER_MODULES | {"numpy", ADDON}
                 and _top(imp.target) not in sys.stdlib_module_names]
    offenders += [f"{imp}: an absolute import of the add-on (it may be installed under another "
                  "name)" for imp in imports()
                  if _top(imp.importer) == ADDON and not imp.relative
                  and _top(imp.target) == ADDON]
    assert offenders == [], _report("add-on modules importing outside the add-on", offenders)


def test_addon_imports_only_its_own_folder_or_a_lower_one():
    offenders = []
    for imp in imports():
        if _top(imp.importer) != ADDON or not imp.relative or imp.target.startswith(CORE_FORMATS):
            continue
        (source, source_layer), (target, target_layer) = _layer(imp.importer), _layer(imp.target)
        if source == target or target_layer < source_layer:
            continue
        offenders.append(f"{imp} imports {imp.target}: {target} (layer {target_layer}) is not "
                         f"below {source} (layer {source_layer})")
    assert offenders == [], _report("add-on imports against its layer order", offenders)
