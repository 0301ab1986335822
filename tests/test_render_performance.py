"""docs/performance.md is generated: benchmarks write JSON (benchmarks.record), scripts.render_performance
turns it into the page, and the committed page is what the committed JSON gives."""
import json
from pathlib import Path

from benchmarks.record import Record
from scripts import render_performance

ROOT = Path(__file__).resolve().parent.parent


def _benchmarks(folder: Path) -> Path:
    folder.mkdir()
    (folder / "bench_fast.py").write_text('"""Fast thing: one frame.\n\nMore words."""\n')
    (folder / "bench_never_run.py").write_text('"""Slow thing on a GPU."""\n')
    return folder


def test_a_result_becomes_a_table_row(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    result = {"benchmark": "bench_fast", "title": "Fast thing", "command": "python -m benchmarks.bench_fast --rounds 3",
              "date": "2026-01-02T03:04:05+00:00", "commit": "abc1234",
              "machine": {"system": "Linux x86_64", "cpu": "Some CPU", "cores": 2, "memory_gib": 16.0, "gpu": None,
                          "torch_threads": 2, "load_average": 0.5},
              "versions": {"python": "3.10.13", "torch": "2.9.1"},
              "measures": [{"what": "one frame", "value": 2.5, "unit": "ms", "goal": "< 10 ms", "met": True,
                            "ratio": 0.25, "against": "a blank PNG", "note": None},
                           {"what": "the GIF", "value": 3456.7, "unit": "ms", "goal": "< 3 s", "met": False,
                            "ratio": None, "against": None, "note": "slowest 4 s"}],
              "tables": [{"title": "users", "columns": ["users", "requests/s"], "rows": [[16, 15.4219]]}],
              "notes": ["7 rounds"]}
    (results / "bench_fast.json").write_text(json.dumps(result))
    page = render_performance.render(results, _benchmarks(tmp_path / "benchmarks"))

    assert "## Fast thing\n\nFast thing: one frame.\n" in page
    assert "`python -m benchmarks.bench_fast --rounds 3`, run 2026-01-02 03:04:05 UTC, commit abc1234." in page
    assert "Some CPU, 2 cores, 16.0 GiB, no GPU, 2 torch threads, load average 0.5" in page
    assert "| one frame | 2.50 ms | 0.25x (a blank PNG) | < 10 ms | yes |" in page
    assert "| the GIF (slowest 4 s) | 3,457 ms |  | < 3 s | **no** |" in page
    assert "| users | requests/s |\n|---|---|\n| 16 | 15.4 |" in page
    assert "- 7 rounds" in page
    no_figures = page.split("## No figures yet")[1]
    assert "| bench_never_run | Slow thing on a GPU. | `python -m benchmarks.bench_never_run` |" in no_figures
    assert "bench_fast" not in no_figures


def test_what_a_benchmark_records_is_what_the_renderer_reads(tmp_path):
    record = Record("bench_fast", "Fast thing", argv=["--rounds", "3"])
    record.measure("one frame", 0.0123456, "s", goal="< 1 s", met=True, ratio=float("nan"))
    path = record.save(tmp_path / "results")
    saved = json.loads(path.read_text())
    assert saved["versions"]["python"] and saved["machine"]["cores"] and saved["date"]
    assert saved["measures"][0]["ratio"] is None          # NaN is not JSON: written as null
    page = render_performance.render(tmp_path / "results", _benchmarks(tmp_path / "benchmarks"))
    assert "| one frame | 0.0123 s |  | < 1 s | yes |" in page
    assert "`python -m benchmarks.bench_fast --rounds 3`" in page


def test_the_committed_page_is_what_the_committed_results_give():
    page = (ROOT / "docs" / "performance.md").read_text()
    assert page == render_performance.render(), "docs/performance.md is stale: run python -m scripts.render_performance"
    for module in (ROOT / "benchmarks").glob("bench_*.py"):
        assert f"python -m benchmarks.{module.stem}" in page, f"{module.stem} is neither measured nor listed"
