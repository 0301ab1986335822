"""What a benchmark measured, written as JSON with the machine, the versions and the date, so that
docs/performance.md is rendered from it (scripts/render_performance.py) and never copied by hand.

    record = Record("bench_kernel", "Kernel tab: frames and the GIF")
    record.measure("one frame, 16x16 input", 1.4, "ms", goal="< 10 ms", met=True, ratio=0.17,
                   against="encoding a blank PNG of the frame's size")
    record.save()          # benchmarks/results/bench_kernel.json

A run replaces the file: it holds the latest run only.
"""
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PACKAGES = ("torch", "torchvision", "gradio", "captum", "timm", "numpy", "pillow")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)


def _gpu() -> str | None:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0)


def machine() -> dict:
    """The machine a run measured: processor, cores, memory, GPU, torch threads and load average."""
    torch = sys.modules.get("torch")
    return {
        "system": f"{platform.system()} {platform.machine()}",
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "gpu": _gpu(),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def versions() -> dict:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def commit() -> str | None:
    """The checkout's commit, with "+" when it has uncommitted changes; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                 capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("+" if changed else "")) or None


class Record:
    """The figures of one run of one benchmark."""

    def __init__(self, name: str, title: str, argv: list[str] | None = None):
        self.name, self.title = name, title
        arguments = sys.argv[1:] if argv is None else argv
        self.command = " ".join(["python -m", f"benchmarks.{name}", *arguments])
        self.measures: list[dict] = []
        self.tables: list[dict] = []
        self.notes: list[str] = []

    def measure(self, what: str, value: float, unit: str, *, goal: str | None = None, met: bool | None = None,
                ratio: float | None = None, against: str | None = None, note: str | None = None) -> None:
        """One figure: `value` in `unit`; `goal` in words and whether it was `met` (None: not judged);
        `ratio` to a floor measured in the same run, `against` saying what that floor is."""
        self.measures.append({"what": what, "value": _number(value), "unit": unit, "goal": goal,
                              "met": None if met is None else bool(met), "ratio": _number(ratio),
                              "against": against, "note": note})

    def table(self, title: str, columns: list[str], rows: list[list]) -> None:
        """A table of its own (the load benchmark's users), cells as measured."""
        self.tables.append({"title": title, "columns": list(columns),
                            "rows": [[_number(cell) for cell in row] for row in rows]})

    def note(self, text: str) -> None:
        self.notes.append(text)

    def as_dict(self) -> dict:
        return {"benchmark": self.name, "title": self.title, "command": self.command,
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "commit": commit(), "machine": machine(), "versions": versions(),
                "measures": self.measures, "tables": self.tables, "notes": self.notes}

    def save(self, folder: Path = RESULTS) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.json"
        path.write_text(json.dumps(self.as_dict(), indent=1, ensure_ascii=False) + "\n")
        print(f"figures written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        return path


def _number(value):
    """Plain JSON numbers (numpy and torch scalars converted); NaN becomes None."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if value != value else value
