"""The house plan (explorer/__init__.py): core <- drawing <- ui, gradio only in the UI, no import
cycle, no function over 60 lines, and the flat module names of the README still importable."""
import ast
import importlib
from pathlib import Path

import pytest

import explorer

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "explorer"
LAYERS = ("core", "drawing", "ui")
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(path: Path) -> set[str]:
    """Every module an import statement anywhere in the file names (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _explorer_edges() -> dict[str, set[str]]:
    """module -> the package modules it imports. `from explorer.ui import kernel_tab` is an edge to the
    submodule only: the package's __init__ runs too, but it imports nothing at import time."""
    modules = _modules()
    resolve = lambda name: explorer.MOVED.get(name[len("explorer."):], name) if name.startswith("explorer.") else name
    edges = {}
    for name, path in modules.items():
        targets = {resolve(n) for n in _imported(path)} & set(modules)
        packages = {t for t in targets if any(o.startswith(t + ".") for o in targets)}
        edges[name] = targets - packages - {name, "explorer"}
    return edges


def test_only_the_ui_package_imports_gradio():
    for name, path in _modules().items():
        if not name.startswith("explorer.ui"):
            assert not any(n.split(".")[0] == "gradio" for n in _imported(path)), f"{name} imports gradio"
    app = _imported(ROOT / "app.py")
    assert not any(n.split(".")[0] == "gradio" for n in app), "app.py imports gradio: it only builds explorer.ui's demo"


def test_each_layer_imports_only_the_layers_before_it():
    for name, targets in _explorer_edges().items():
        layer = name.split(".")[1] if name.count(".") else None
        if layer not in LAYERS:
            continue
        allowed = LAYERS[: LAYERS.index(layer) + 1]
        for target in targets:
            assert target.split(".")[1] in allowed, f"{name} imports {target}: {layer} may import only {allowed}"


def test_no_import_cycle():
    edges = _explorer_edges()
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


def test_no_function_over_60_lines():
    long = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


@pytest.mark.parametrize("flat", sorted(explorer.MOVED))
def test_a_flat_name_is_the_same_module_as_its_new_home(flat):
    assert importlib.import_module(f"explorer.{flat}") is importlib.import_module(explorer.MOVED[flat])


def test_importing_the_core_configures_nothing(tmp_path):
    """Import has no side effects: no environment variable, warnings filter or matplotlib backend is set."""
    import subprocess, sys
    code = ("import os, sys, warnings, torch, torchvision, captum.attr, gradio, matplotlib, PIL.Image\n"
            "backend = matplotlib.rcParams._get_backend_or_none()\n"
            "env = dict(os.environ); filters = list(warnings.filters)\n"
            "import explorer.models, explorer.stages, explorer.attribution, explorer.features, explorer.trust\n"
            "import explorer.drawing.architecture_drawing, explorer.ui.kernel_tab, explorer.ui.stages_tab\n"
            "import explorer.ui.saliency_tab, explorer.ui.architecture_tab, explorer.ui.app\n"
            "changed = {k for k in set(env) | set(os.environ) if env.get(k) != os.environ.get(k)}\n"
            "print(sorted(changed)); print(warnings.filters == filters)\n"
            "print(matplotlib.rcParams._get_backend_or_none() == backend)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    changed, same_filters, same_backend = out.splitlines()
    assert changed == "[]", f"import set environment variables: {changed}"
    assert same_filters == "True", "import changed the warnings filters"
    assert same_backend == "True", "import chose a matplotlib backend (draw on matplotlib.figure.Figure instead)"


STORE_TYPES = {"Recent", "WeakKeyDictionary", "WeakValueDictionary", "OrderedDict", "dict", "set", "defaultdict"}
CACHE_DECORATORS = {"lru_cache", "cache"}
# Not stores: constants of the machine, read once; the download queue, work in progress; the model
# registry, what exists (filled at import, never by a request).
NOT_STORES = {"explorer.core.budgets": {"machine_memory", "machine_cores"}, "explorer.core.downloads": {"DOWNLOADS"},
              "explorer.core.models": {"REGISTRY"}}


def _is_store_value(value) -> bool:
    if isinstance(value, ast.Dict) and not value.keys:
        return True
    if isinstance(value, ast.Call):
        name = value.func.attr if isinstance(value.func, ast.Attribute) else getattr(value.func, "id", "")
        return name in STORE_TYPES and not value.args and not value.keywords
    return False


def _module_stores(tree: ast.Module) -> set[str]:
    """Module-level names holding something that grows: an empty dict or set, a Recent, a weak or ordered
    dict, an lru_cache'd function."""
    found = set()
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_store_value(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                func = deco.func if isinstance(deco, ast.Call) else deco
                if (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) in CACHE_DECORATORS:
                    found.add(node.name)
    return found


def _registered(tree: ast.Module) -> set[str]:
    """Names a module hands to STORES.register: `X = STORES.register(name, store, ...)` or
    `STORES.register(name, X, ...)`."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and func.attr == "register":
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names |= {t.id for t in targets if isinstance(t, ast.Name)}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "register":
            names |= {a.id for a in node.args if isinstance(a, ast.Name)}
    return names


def test_every_store_is_registered_in_one_place():
    """What outlives a request is in explorer.core.state.STORES: one clear(), a closed session forgotten."""
    missing = []
    for name, path in _modules().items():
        tree = ast.parse(path.read_text())
        unregistered = _module_stores(tree) - _registered(tree) - NOT_STORES.get(name, set())
        missing += [f"{name}.{store}" for store in sorted(unregistered)]
    assert not missing, "not registered in explorer.core.state.STORES: " + ", ".join(missing)


def test_the_store_check_finds_an_unregistered_store():
    tree = ast.parse("import functools\nCACHE = {}\nSEEN = Recent()\n"
                     "KEPT = STORES.register('k', {}, 'x')\n@functools.lru_cache(maxsize=4)\ndef f(x): return x\n")
    assert _module_stores(tree) - _registered(tree) == {"CACHE", "SEEN", "f"}
