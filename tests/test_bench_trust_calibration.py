"""benchmarks/bench_trust_calibration.py: the bars are fitted on one set of composites, the goals reported on
another, and only the full run writes the bars file (the composites' checks are stood in for here: the
figures of each map are given, so the test runs in a second)."""
import json
from types import SimpleNamespace

import pytest

from benchmarks import bench_trust_calibration as bench
from explorer.core import trust, trust_curves


def _row(name: str, ratio: float, p: float) -> dict:
    curve = SimpleNamespace(measurable=True, curve=SimpleNamespace(ratio=ratio, p_value=p))
    deletion = SimpleNamespace(**vars(curve), compared={n: curve for n in trust_curves.REPLACEMENTS})
    return {"photo": "panda", "background": "flat", "map": name,
            "check": SimpleNamespace(deletion=deletion, insertion=curve)}


def _rows(right_ratio: float) -> list[dict]:
    """Ten composites: the right map at `right_ratio` (p 0.025), the others far from passing."""
    return [r for _ in range(10) for r in (_row("right", right_ratio, 0.025), _row("empty background", 2.0, 1.0),
                                          _row("noise", 1.0, 0.5))]


SETS = {bench.SEEDS["fit"]: _rows(0.40), bench.SEEDS["held-out"]: _rows(0.80)}


@pytest.fixture
def standins(tmp_path, monkeypatch):
    bars_file = tmp_path / "trust_bars.json"
    bars_file.write_text('{"bars": {}}')
    monkeypatch.setattr(trust, "BARS_FILE", bars_file)
    monkeypatch.setattr(trust, "BARS", dict(trust.BARS))
    monkeypatch.setattr(trust_curves, "ORDERS", trust_curves.ORDERS)
    monkeypatch.setattr(trust_curves, "CHECKED", trust_curves.CHECKED)
    monkeypatch.setattr(bench, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(bench.tempfile, "gettempdir", lambda: str(tmp_path / "quick"))
    monkeypatch.setattr(bench, "get_model", lambda name: (SimpleNamespace(name=name), None))
    seeds = []
    monkeypatch.setattr(bench, "composites", lambda model, photos, kinds, per_pair, seed: seeds.append(seed) or [seed])
    monkeypatch.setattr(bench, "figures", lambda model, comps: SETS[comps[0]])
    monkeypatch.setattr(bench, "examples", lambda *args: None)
    return bars_file, seeds


def test_the_quick_run_does_not_write_the_bars(standins):
    bars_file, seeds = standins
    bench.main(["--quick"])
    assert json.loads(bars_file.read_text()) == {"bars": {}}
    assert seeds == [0, 1]


def test_the_full_run_writes_the_bars_fitted_on_the_first_set_and_reports_the_held_out_one(standins, capsys):
    bars_file, seeds = standins
    bench.main([])
    written = json.loads(bars_file.read_text())["bars"]
    assert set(written) == set(bench.parts()) == {"deletion_impute", "deletion_blur", "insertion"}   # none before
    fitted, _ = bench.calibrate(SETS[0], "insertion")
    assert written["insertion"] == fitted and fitted != bench.calibrate(SETS[1], "insertion")[0]
    assert fitted["ratio"] < 0.8                 # the held-out right map (ratio 0.8) then fails: reported, not hidden
    recorded = json.loads((bench.RESULTS / "bench_trust_calibration.json").read_text())
    held = {m["what"]: m for m in recorded["measures"] if "held-out set" in m["what"]}
    assert held["insertion, held-out set: right map, faster than random"]["value"] == 0
    assert held["insertion, held-out set: right map, faster than random"]["met"] is False
    printed = capsys.readouterr().out
    assert "fit set: right map faster than random on 100%" in printed and "held-out set" in printed
