"""The house plan (explorer/__init__.py): core <- drawing <- ui, gradio only in the UI, no import
cycle, no function over 60 lines, no import hook: every module has one name, its file's."""
import ast
from pathlib import Path

import pytest

import explorer

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "explorer"
LAYERS = ("core", "drawing", "lesson", "ui")     # the lesson (explorer.lesson*) teaches with core and drawing
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
    edges = {}
    for name, path in modules.items():
        targets = _imported(path) & set(modules)
        packages = {t for t in targets if any(o.startswith(t + ".") for o in targets)}
        edges[name] = targets - packages - {name, "explorer"}
    return edges


def test_only_the_ui_package_imports_gradio():
    for name, path in _modules().items():
        if not name.startswith("explorer.ui"):
            assert not any(n.split(".")[0] == "gradio" for n in _imported(path)), f"{name} imports gradio"
    app = _imported(ROOT / "app.py")
    assert not any(n.split(".")[0] == "gradio" for n in app), "app.py imports gradio: it only builds explorer.ui's demo"


def _layer(module: str) -> str | None:
    """explorer.core.x -> "core"; explorer.lesson, explorer.lesson_page -> "lesson"."""
    part = module.split(".")[1] if module.count(".") else None
    return "lesson" if part and part.startswith("lesson") else part


def test_each_layer_imports_only_the_layers_before_it():
    for name, targets in _explorer_edges().items():
        layer = _layer(name)
        if layer not in LAYERS:
            continue
        allowed = LAYERS[: LAYERS.index(layer) + 1]
        for target in targets:
            assert _layer(target) in allowed, f"{name} imports {target}: {layer} may import only {allowed}"


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


def test_every_public_name_is_exported_and_documented():
    for name in explorer.__all__:
        obj = getattr(explorer, name)
        if callable(obj) and not isinstance(obj, type):
            doc = obj.__doc__ or ""
            assert "Args:" in doc and "Returns:" in doc, f"explorer.{name}: its docstring needs Args: and Returns:"


def test_importing_the_core_configures_nothing(tmp_path):
    """Import has no side effects: no environment variable, warnings filter or matplotlib backend is set."""
    import subprocess
    import sys
    code = ("import os, sys, warnings, torch, torchvision, captum.attr, gradio, matplotlib, PIL.Image\n"
            "backend = matplotlib.rcParams._get_backend_or_none()\n"
            "env = dict(os.environ); filters = list(warnings.filters)\n"
            "import explorer, explorer.core.models, explorer.core.stages, explorer.core.attribution, explorer.core.features, explorer.core.trust\n"
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
              "explorer.core.registry": {"REGISTRY"}}


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


MAX_MODULE_LINES = 500
MAX_HANDLER_PARAMETERS = 8
EVENTS = {"click", "change", "input", "select", "submit", "then", "success", "tick", "release", "load", "upload",
          "clear", "stream", "blur", "focus", "key_up", "play", "pause", "stop", "end", "start_recording",
          "stop_recording", "apply", "edit", "like", "unload", "expand", "collapse", "on"}
PUBLIC_ENDPOINTS = {name.lstrip("/") for name in
                    __import__("json").loads((ROOT / "tests" / "ui" / "api_contract.json").read_text())}


def test_no_module_over_500_lines():
    long = [f"{name}: {len(path.read_text().splitlines())} lines" for name, path in _modules().items()
            if len(path.read_text().splitlines()) > MAX_MODULE_LINES]
    assert not long, "modules over 500 lines (give each job its own file):\n" + "\n".join(long)


def _import_hooks(source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"meta_path", "path_hooks"}:
            found.append(f"sys.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module == "importlib.abc":
            found.append("importlib.abc")
        if isinstance(node, ast.Import) and any(a.name == "importlib.abc" for a in node.names):
            found.append("importlib.abc")
    return found


def test_no_import_hook():
    """Every module has one name, its file's: no finder or alias that gives a module a second name."""
    hooks = [f"{name}: {hook}" for name, path in _modules().items() for hook in _import_hooks(path.read_text())]
    assert not hooks, "import hooks: " + ", ".join(hooks)


def test_the_hook_check_finds_an_alias_finder():
    assert _import_hooks("import sys, importlib.abc\nsys.meta_path.append(object())\n")


def _skip_calls(node) -> int:
    return sum(1 for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
               and n.func.attr == "skip")


def _paddings(source: str) -> list[int]:
    """Lines that pad outputs by position: `(gr.skip(),) * n`, `[gr.skip()] * n`, or a tuple/list of
    several gr.skip() (a dict return leaves those components out instead)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            if any(isinstance(side, (ast.Tuple, ast.List)) and _skip_calls(side) for side in (node.left, node.right)):
                lines.append(node.lineno)
        elif isinstance(node, (ast.Tuple, ast.List)):
            if sum(1 for e in node.elts if isinstance(e, ast.Call) and _skip_calls(e)) >= 2:
                lines.append(node.lineno)
    return lines


def test_no_padding_tuple_in_the_ui():
    found = [f"{name}:{line}" for name, path in _modules().items() if name.startswith("explorer.ui")
             for line in _paddings(path.read_text())]
    assert not found, "outputs padded by position (return a dict of the components that change): " + ", ".join(found)


def test_the_padding_check_finds_paddings():
    assert _paddings("def f():\n    return (gr.skip(),) * 3\n") == [2]
    assert _paddings("def f():\n    return [gr.skip()] * 7 + [x]\n") == [2]
    assert _paddings("def f():\n    return gr.skip(), gr.skip(), x\n") == [2]
    assert not _paddings("def f():\n    return {a: 1}\n")


def _count_constants(source: str) -> list[str]:
    """Module-level whole-number constants that count outputs: named *OUTPUTS / *VIEWS / *_COUNT, or
    multiplying a tuple or list (padding to a length)."""
    tree = ast.parse(source)
    ints = {t.id for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            and type(node.value.value) is int for t in node.targets if isinstance(t, ast.Name)}
    found = {n for n in ints if n.endswith(("OUTPUTS", "VIEWS", "_COUNT"))}
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            sides = (node.left, node.right)
            if any(isinstance(s, (ast.Tuple, ast.List)) for s in sides):
                found |= {s.id for s in sides if isinstance(s, ast.Name) and s.id in ints}
    return sorted(found)


def test_no_output_count_constant_in_the_ui():
    found = [f"{name}.{c}" for name, path in _modules().items() if name.startswith("explorer.ui")
             for c in _count_constants(path.read_text())]
    assert not found, "output-count constants (wire outputs by name instead): " + ", ".join(found)


def test_the_count_check_finds_a_count_constant():
    assert _count_constants("VIEWS = 9\nUNIT = 8\ndef f():\n    return (1,) * UNIT\n") == ["UNIT", "VIEWS"]
    assert not _count_constants("MAX_ROWS = 32\n")


def _handler_names(source: str) -> dict[str, int]:
    """Functions wired to page events (`x.click(fn, ...)`, `gr.on(triggers, fn, ...)`, `fn=`, and the `fn` of
    `event(components, fn, ...)`, explorer.ui.by_name's, whose wrapper Gradio calls with the same
    parameters), with the line, leaving out the named public API endpoints (their parameters are a
    contract: tests/ui/api_contract.json)."""
    handlers = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _called(node) == "event":
            fn = next((k.value for k in node.keywords if k.arg == "fn"), node.args[1] if len(node.args) > 1 else None)
            if isinstance(fn, (ast.Name, ast.Attribute)):
                handlers[fn.id if isinstance(fn, ast.Name) else fn.attr] = node.lineno
            continue
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in EVENTS):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        api = keywords.get("api_name")
        if isinstance(api, ast.Constant) and api.value in PUBLIC_ENDPOINTS:
            continue
        position = 1 if node.func.attr == "on" else 0
        fn = keywords.get("fn") or (node.args[position] if len(node.args) > position else None)
        if isinstance(fn, ast.Name):
            handlers[fn.id] = node.lineno
    return handlers


def _called(call: ast.Call) -> str | None:
    """The name of the function a call calls: `event(...)` and `by_name.event(...)` both give "event"."""
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)


def _parameter_count(fn: ast.FunctionDef) -> int:
    a = fn.args
    return len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + (99 if a.vararg else 0)


def test_no_page_handler_over_8_parameters():
    """A handler that touches many components takes them as one dict (inputs given as a set)."""
    sources = {name: path.read_text() for name, path in _modules().items() if name.startswith("explorer.ui")}
    defs = {n.name: n for s in sources.values() for n in ast.walk(ast.parse(s)) if isinstance(n, ast.FunctionDef)}
    wide = []
    for name, source in sources.items():
        for handler, line in _handler_names(source).items():
            if handler in defs and _parameter_count(defs[handler]) > MAX_HANDLER_PARAMETERS:
                wide.append(f"{name}:{line} {handler} ({'*args' if defs[handler].args.vararg else _parameter_count(defs[handler])})")
    assert not wide, "page handlers over 8 parameters (take a set of inputs as one dict): " + ", ".join(wide)


def test_the_handler_check_finds_a_wide_handler():
    source = ("def h(a, b, c, d, e, f, g, h, i):\n    pass\n"
              "def v(*controls):\n    pass\n"
              "button.click(h, inputs, outputs)\nbox.change(fn=v)\ngr.on([x.change], h)\n")
    assert set(_handler_names(source)) == {"h", "v"}
    # wired by name: the fn of `event(components, fn, ...)`, given by position or keyword, plain or as an attribute
    by_name = ("def w(a, b, c, d, e, f, g, h, i):\n    pass\n"
               "button.click(**event(c, w, ('a',), ('b',)), api_name='x')\n"
               "gr.on([x.change], **by_name.event(c, fn=on.wide, inputs=('a',)))\n")
    assert set(_handler_names(by_name)) == {"w", "wide"}
    assert _parameter_count(ast.parse(by_name).body[0]) == 9
    tree = ast.parse(source)
    assert [_parameter_count(n) for n in tree.body[:2]] == [9, 99]
