"""scripts/check_space.py: what a Space build needs, checked offline (CI runs it through this test)."""
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_space.py"


def _module():
    spec = importlib.util.spec_from_file_location("check_space", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_this_repository_is_ready_for_a_space():
    run = subprocess.run([sys.executable, "-m", "scripts.check_space"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ready for a Space" in run.stdout and "✗" not in run.stdout


def test_the_installed_torch_is_the_pinned_zerogpu_pair():
    import torch
    import torchvision

    check = _module()
    requirements = check.pins(ROOT / "requirements.txt")
    assert torch.__version__.split("+")[0] == requirements["torch"] in check.ZEROGPU_TORCH
    assert torchvision.__version__.split("+")[0] == requirements["torchvision"]


def test_the_upload_leaves_out_tests_benchmarks_and_environments():
    check = _module()
    names = {str(f.relative_to(ROOT)) for f in check.uploaded_files(ROOT)}
    assert "app.py" in names and "requirements.txt" in names and "explorer/core/models.py" in names and "explorer/ui/app.py" in names
    assert not any(n.startswith(("tests/", "benchmarks/", ".venv", ".ci/", "artifacts/")) for n in names)


def test_each_problem_is_named(tmp_path):
    check = _module()
    meta = {"sdk": "gradio", "sdk_version": "6.0.0", "app_file": "missing.py", "python_version": "3.11",
            "colorFrom": "teal", "colorTo": "yellow", "title": "t", "emoji": "x", "license": "mit",
            "short_description": "y" * 61}
    problems = " ".join(check.check_front_matter(meta, {"gradio": "6.31.0"}, tmp_path))
    for words in ("sdk_version 6.0.0", "app_file", "python_version", "colorFrom", "short_description"):
        assert words in problems
    assert "torch==2.14.1 is not a release" in " ".join(check.check_pins({"torch": "2.14.1", "spaces": ""}))
    assert "does not pair" in " ".join(check.check_pins({"torch": "2.9.1", "torchvision": "0.29.1", "spaces": ""}))
    assert "`spaces` is missing" in " ".join(check.check_pins({"torch": "2.9.1", "torchvision": "0.24.1"}))
    big = tmp_path / "weights.bin"
    big.write_bytes(b"\0" * (check.MAX_FILE_MB * 2**20 + 1))
    assert "weights.bin" in " ".join(check.check_files([big], tmp_path))
    (tmp_path / "app.py").write_text("import numpy\nimport leftpad\n")
    (tmp_path / "explorer").mkdir()
    assert [p for p in check.check_imports(tmp_path, {"numpy": ""}) if "leftpad" in p]
