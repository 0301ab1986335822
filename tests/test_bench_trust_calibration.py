"""benchmarks/bench_trust_calibration.py: the bars are fitted on one set of composites, the goals reported on
another, and only the full run writes the bars file (the composites' checks are stood in for here: the
figures of each map are given, so the test runs in a second)."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks import bench_trust_calibration as bench
from explorer.core import trust, trust_curves

RANDOM_AREAS = np.linspace(0.5, 1.5, 39)     # a composite's 39 random orders' areas (median 1.0)


def _row(name: str, ratio: float, p: float) -> dict:
    """A map's figures; its curve's area is `ratio` times the random orders' median, as in a real curve."""
    curve = SimpleNamespace(measurable=True, curve=SimpleNamespace(ratio=ratio, p_value=p, area_map=ratio,
                                                                   areas_random=RANDOM_AREAS))
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
    assert seeds == list(bench.SEEDS.values()) and len(set(seeds)) == 2


def test_the_full_run_writes_the_bars_fitted_on_the_first_set_and_reports_the_held_out_one(standins, capsys):
    bars_file, seeds = standins
    bench.main([])
    written = json.loads(bars_file.read_text())["bars"]
    assert set(written) == set(bench.parts()) == {"deletion_impute", "deletion_blur", "insertion"}   # none before
    fitted, _ = bench.calibrate(SETS[bench.SEEDS["fit"]], "insertion")
    assert written["insertion"] == fitted and fitted != bench.calibrate(SETS[bench.SEEDS["held-out"]], "insertion")[0]
    assert fitted["ratio"] < 0.8                 # the held-out right map (ratio 0.8) then fails: reported, not hidden
    recorded = json.loads((bench.RESULTS / "bench_trust_calibration.json").read_text())
    held = {m["what"]: m for m in recorded["measures"] if "held-out set" in m["what"]}
    assert held["insertion, held-out set: right map, faster than random"]["value"] == 0
    assert held["insertion, held-out set: right map, faster than random"]["met"] is False
    printed = capsys.readouterr().out
    assert "fit set: right map faster than random on 100.0%" in printed and "held-out set" in printed


def test_random_maps_are_the_noise_map_and_each_random_order_judged_against_the_other_39():
    rows = _rows(0.4)
    maps = bench.random_maps(rows, "insertion")
    assert len(maps) == 10 * 40                      # ten composites, each: its noise map and 39 random orders
    first = maps[:40]
    assert first[0] == (1.0, pytest.approx(21 / 40))     # the noise map (area 1.0) among the 39: as the check has it
    assert min(p for _, p in first) == pytest.approx(1 / 40) and max(p for _, p in first) == pytest.approx(1)
    lowest = first[1]                                    # the order of area 0.5 beats the other 39
    assert lowest[1] == pytest.approx(1 / 40) and lowest[0] == pytest.approx(0.5 / np.median(np.r_[1.0, RANDOM_AREAS[1:]]))


def test_one_lucky_noise_map_does_not_set_the_ratio_bar():
    """A noise map beating all 39 orders (p 0.025, ratio 0.5) happens to 1 noise map in 40 by chance: judged on
    the 40 random maps of each composite it is one of 400, and the bar stays where the right maps put it."""
    rows = _rows(0.6)
    lucky = _row("noise", 0.45, 0.025)
    rows[2] = lucky
    bars, found = bench.calibrate(rows, "insertion")
    assert bench.share(rows, "right", "insertion", trust.FASTER, bars) == 1.0
    assert bench.share(rows, bench.RANDOM_MAPS, "insertion", trust.FASTER, bars) <= 0.05
    assert bars["ratio"] > 0.6 and found[0] <= 0.6
