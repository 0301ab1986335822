"""The Kernel player's data: every number the page draws, from slide() and fmt, and JSON the browser parses."""
import json

import numpy as np

from explorer.core.slide_data import MAX_PRODUCT_TAPS, slide_json
from explorer.core.sliding import fmt, slide


def test_the_data_holds_slides_numbers_step_by_step():
    s = slide([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 0], [0, -1]], padding=1, dilation=1)
    d = json.loads(slide_json(s, start=3))
    assert d["start"] == 3 and len(d["steps"]) == s.output.size
    assert d["output"] == [[fmt(float(v)) for v in row] for row in s.output]
    assert d["padded"][0][0] == "0" and d["padded"][1][1] == "1"
    for k, step in enumerate(s.steps):
        got = d["steps"][k]
        assert got["pos"] == list(step.position) and got["rows"] == step.rows.tolist()
        assert got["products"] == [[fmt(float(v)) for v in row] for row in step.window * s.kernel]
        assert got["sum"].endswith("=" + fmt(float(s.output[step.position])))


def test_max_pooling_pads_with_minus_inf_as_text_and_big_kernels_send_no_products():
    s = slide([[1, 2], [3, 4]], op="max", kernel_size=2, padding=1, stride=2)
    d = json.loads(slide_json(s))                      # JSON.parse takes no -Infinity: written "-inf"
    assert d["padded"][0][0] == "-inf" and d["kernel"] is None
    big = slide(np.ones((8, 8)), np.ones((7, 7)))
    assert 49 > MAX_PRODUCT_TAPS and json.loads(slide_json(big))["steps"][0]["products"] is None
