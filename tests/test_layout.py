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
