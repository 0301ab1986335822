"""Benchmarks, run as modules from the repository root: `python -m benchmarks.bench_stages`. Each writes its
figures to benchmarks/results/<name>.json (benchmarks.record); `python -m scripts.render_performance`
renders docs/performance.md from them."""
