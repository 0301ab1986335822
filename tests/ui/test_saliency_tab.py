"""The Saliency tab: /attribute through gradio_client, and the tab's handlers called as Gradio calls them
(the page itself in headless Chromium: tests/browser/test_saliency_browser.py)."""
from pathlib import Path

import numpy as np
import pytest
import torch
from hook_recorder import recording
from PIL import Image

from explorer.core import trust
from explorer.core.models import DEFAULT_MODEL, get_model

ESPRESSO = str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "espresso.jpg")
PANDA = str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "panda.jpg")


def _call(client, *args):
    from gradio_client import handle_file

    image, *rest = args
    return client.predict(handle_file(image), *rest, api_name="/attribute")


@pytest.mark.e2e
def test_attribute_endpoint_explains_pytorchs_own_top_class(client):
    overlay, numbers = _call(client, ESPRESSO, DEFAULT_MODEL, "gradcam", "", {"sign": "positive", "trust": True})
    model, _ = get_model(DEFAULT_MODEL)
    with torch.no_grad():
        probabilities = torch.softmax(model.module(model.preprocess(ESPRESSO)), -1)[0]
    top = int(probabilities.argmax())
    assert numbers["target"] == top and numbers["label"] == model.labels[top]
    assert numbers["layer"] == "conv_head"
    with Image.open(overlay) as picture, Image.open(ESPRESSO) as original:
        assert picture.size == original.size
        assert np.asarray(picture).std() > 0
    # the deletion curve starts at the unaltered picture's probability, computed here by PyTorch
    assert numbers["deletion_map"][0] == pytest.approx(float(probabilities[top]), abs=1e-4)
    assert numbers["deletion_random"][0] == pytest.approx(float(probabilities[top]), abs=1e-4)
    assert 0 <= numbers["deletion_auc_map"] <= 1 and 0 <= numbers["deletion_auc_random"] <= 1
    assert -1 <= numbers["randomisation_rank_correlation"] <= 1
    # the verdicts in words, resting on the figures returned beside them
    words = numbers["trust"]
    assert words["measurable"] and words["verdict"].startswith(("passes", "fails", "can't tell"))
    from explorer.core.trust_curves import step_counts

    fractions = step_counts(14 * 14, len(numbers["deletion_map"]) - 1) / (14 * 14)     # 16 px patches at 224 px
    areas = [np.trapezoid(curve, fractions) for curve in numbers["deletion_random_orders"]]
    own = np.trapezoid(numbers["deletion_map"], fractions)
    assert len(areas) >= 39 and numbers["deletion_auc_map"] == pytest.approx(own, abs=1e-6)
    assert numbers["deletion_auc_random_orders"] == pytest.approx(areas, abs=1e-6)
    # the verdict rests on the ratio and p-value recomputed here from the curves returned
    ends = [np.trapezoid(np.asarray(c) - c[-1], fractions) for c in numbers["deletion_random_orders"]]
    mine = np.trapezoid(np.asarray(numbers["deletion_map"]) - numbers["deletion_map"][-1], fractions)
    p, ratio = (1 + sum(e <= mine + 1e-12 for e in ends)) / (len(ends) + 1), mine / np.median(ends)
    assert words["deletion"]["p_value"] == pytest.approx(p) and words["deletion"]["ratio"] == pytest.approx(ratio)
    bars = trust.BARS[f"deletion_{trust.trust_curves.JUDGED}"]
    assert words["deletion"]["passed"] == (True if p <= bars.get("p", 0.05) + 1e-12 and ratio <= bars["ratio"] else
                                           False if p >= bars["not_faster_p"] else None)
    assert f"p = {p:.3f}" in words["deletion"]["reason"]
    assert numbers["insertion_map"][-1] == pytest.approx(float(probabilities[top]), abs=1e-4)
    assert words["randomisation"]["passed"] == (numbers["randomisation_rank_correlation"] < 0.5)
    _, map_only = _call(client, ESPRESSO, DEFAULT_MODEL, "gradcam", "", {"sign": "positive"})
    assert map_only["target"] == top and not any(name.startswith("deletion") for name in map_only)


@pytest.mark.e2e
def test_attribute_endpoint_says_not_measurable_in_words(client, tmp_path):
    from sketches import draw

    four = tmp_path / "four.png"
    draw(4).save(four)
    _, drawing = _call(client, str(four), "digits", "gradcam", "", {"trust": True})
    assert drawing["label"] == "4"
    assert drawing["trust"]["verdict"] == "not measurable" and not drawing["trust"]["measurable"]
    assert "Grad-CAM is zero everywhere for this class on this picture" in drawing["trust"]["reason"]
    assert drawing["deletion_auc_map"] is None and drawing["randomisation_rank_correlation"] is None
    _, tench = _call(client, PANDA, DEFAULT_MODEL, "gradcam", "tench", {"trust": True})
    assert tench["label"] == "tench" and tench["trust"]["verdict"] == "not measurable"
    assert tench["trust"]["deletion"] == {"measurable": False, "passed": None, "verdict": "not measurable",
                                          "reason": tench["trust"]["deletion"]["reason"]}
    assert tench["trust"]["randomisation"]["verdict"] == "not measurable"
    assert "“tench” has probability" in tench["trust"]["deletion"]["reason"]
    assert tench["trust"]["probability"] < 0.01


@pytest.mark.e2e
def test_attribute_endpoint_takes_a_class_by_name_or_index(client):
    _, by_name = _call(client, ESPRESSO, DEFAULT_MODEL, "saliency", "cup", {"trust": False})
    _, by_index = _call(client, ESPRESSO, DEFAULT_MODEL, "saliency", "968", {"trust": False})
    assert by_name["label"] == "cup" and by_name["target"] == get_model(DEFAULT_MODEL)[0].labels.index("cup")
    assert by_index["target"] == 968


@pytest.mark.e2e
@pytest.mark.parametrize("method, target, options, words", [
    ("saliency", "espreso machine", {}, "no class named 'espreso machine'"),
    ("saliency", "1000", {}, "out of range"),
    ("lime", "", {}, "lime"),
    ("occlusion", "", {"window": 500}, "larger than the model's input"),
    ("saliency", "", {"sign": "sideways"}, "sign"),
    ("guided_gradcam", "", {}, "not computed correctly"),
])
def test_attribute_endpoint_names_what_is_wrong(client, method, target, options, words):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=words):
        _call(client, ESPRESSO, DEFAULT_MODEL, method, target, options)


# --- trust verdicts, empty maps, methods per model, the download's name (no browser) ---------------------
CONTROLS = dict(layer="", sign="absolute", opacity=0.6, cmap="inferno", ig_steps=32, sg_samples=16, sg_noise=0.15,
                occ_window=0, occ_stride=0)


def _request(picture, model_name, target, methods, **controls):
    from explorer.ui.saliency_tab import ExplainRequest

    return ExplainRequest.from_values(dict(CONTROLS, picture=picture, model=model_name, target=target, methods=methods,
                                           **controls))


def _explain(picture, model_name, target, methods, reset=False, sign="absolute"):
    from explorer.ui.saliency_tab import explain

    return explain(_request(picture, model_name, target, methods, sign=sign), reset=reset)


def _trust_table(picture, maps, sign="absolute") -> str:
    from explorer.ui.saliency_tab import trust_checked

    return trust_checked({"picture": picture, "maps": maps, "sign": sign}, progress=lambda *a, **k: None)["trust"]


def _sketch(image):
    return {"background": None, "layers": [image], "composite": image}


def _table_row(table: str, title: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"| {title} |"))


def test_a_zero_gradcam_on_a_drawing_is_said_in_its_captions_and_never_judged():
    from sketches import draw

    drawing = _sketch(draw(4))
    model, _ = get_model("digits")
    x = model.preprocess(drawing)
    with torch.no_grad():
        top = int(model.module(x).argmax())
    with recording(model.module.get_submodule("features.conv2")) as kept, torch.enable_grad():
        score = model.module(x.clone().requires_grad_())[0, top]
        grads, = torch.autograd.grad(score, kept[0])
    cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * kept[0]).sum(1))
    assert float(cam.detach().abs().max()) == 0.0           # PyTorch's own Grad-CAM is empty: the premise
    out = _explain(drawing, "digits", "", ["gradcam", "saliency"], reset=False)
    header, items, maps = out["header"], out["gallery"], out["maps"]
    assert "Grad-CAM is zero everywhere for this class on this picture" in header
    assert "Saliency (gradient) is zero" not in header
    captions = [caption for _, caption in items]
    assert captions[:2] == ["Grad-CAM (empty map): over the picture", "Grad-CAM (empty map): heat map"]
    assert "empty" not in captions[2] + captions[3]
    table = _trust_table(drawing, maps)
    gradcam_row = _table_row(table, "Grad-CAM")
    assert gradcam_row.count("not measurable") == 3 and "✓" not in gradcam_row and "⚠" not in gradcam_row
    assert "Grad-CAM**: not measurable: Grad-CAM is zero everywhere" in table


def test_panda_explained_as_tench_gets_no_deletion_verdict():
    model, _ = get_model(DEFAULT_MODEL)
    with torch.no_grad():
        probability = float(torch.softmax(model.module(model.preprocess(PANDA)), -1)[0, model.labels.index("tench")])
    assert probability < 0.01                       # PyTorch: the class is next to impossible on this picture
    out = _explain(PANDA, DEFAULT_MODEL, "tench", ["gradcam"])
    assert "“tench”" in out["header"]
    table = _trust_table(PANDA, out["maps"])
    cells = [cell.strip() for cell in _table_row(table, "Grad-CAM").split("|")[1:-1]]
    assert cells[1:] == ["not measurable", "—", "not measurable", "not measurable"]   # no figures, no verdict
    assert "“tench” has probability" in table and "too small for its change to be measured" in table
    assert "nothing for randomisation to destroy" in table and "✓" not in table


def test_methods_are_decided_per_model_before_any_picture():
    """EfficientNet-Lite0 applies ReLU6 outside nn.ReLU modules, so guided backpropagation is wrong on it;
    the digit net has only nn.ReLU modules. The list for a model is the same before and after a picture."""
    from explorer.ui.saliency_tab import method_choices

    before = {name: _explain(None, name, "", ["gradcam"])["methods"] for name in (DEFAULT_MODEL, "digits")}
    assert "guided_gradcam" not in [m for _, m in before[DEFAULT_MODEL].choices]
    assert "guided_gradcam" in [m for _, m in before["digits"].choices]
    # an update's choices are plain text in the language spoken (the page's first list is translated by the browser)
    assert method_choices(DEFAULT_MODEL, in_update=True) == [tuple(c) for c in before[DEFAULT_MODEL].choices]
    after = _explain(ESPRESSO, DEFAULT_MODEL, "", ["gradcam"], reset=True)["methods"]
    assert after.choices == before[DEFAULT_MODEL].choices


def test_the_download_is_named_after_the_model_methods_and_class():
    from explorer.core.attribution import Attribution
    from explorer.drawing.saliency import download_name
    from explorer.ui.saliency_tab import sheet_file

    heat = np.zeros((4, 4), np.float32)
    results = [Attribution(method, 235, "German shepherd", heat) for method in ("gradcam", "saliency")]
    name = download_name("resnet18", results)
    assert name == "saliency-resnet18-gradcam+saliency-german_shepherd.png"
    items = [(Image.new("RGB", (20, 10), "red"), "one"), (Image.new("RGB", (20, 10), "blue"), "two")]
    first, second = sheet_file(items, name), sheet_file(items, name)
    assert Path(first).name == Path(second).name == name and first != second     # two visitors, two files
    with Image.open(first) as sheet:
        assert sheet.size == (50, 34)


def test_a_refused_setting_keeps_the_maps_on_screen_with_one_message_where_the_header_stands():
    from explorer.ui.saliency_tab import explain

    wanted = _request(ESPRESSO, DEFAULT_MODEL, "", ["occlusion"], occ_window=8, occ_stride=20)  # stride > window
    out = explain(wanted, reset=False)
    assert list(out) == ["header"]                     # every other component stays as it was shown
    assert out["header"].startswith("⚠️ **Not updated:") and "stride" in out["header"] and "window" in out["header"]


def test_a_closed_session_drops_its_cancel_flag_and_keeps_the_others():
    from types import SimpleNamespace as Namespace

    from explorer.core.state import STORES
    from explorer.ui.saliency_runs import cancel_flag

    flags = STORES["saliency.cancel"].store
    leaving, staying = cancel_flag(Namespace(session_hash="leaving")), cancel_flag(Namespace(session_hash="staying"))
    leaving.set()
    assert flags.get("leaving") is leaving
    STORES.forget_session("leaving")
    assert flags.get("leaving") is None and flags.get("staying") is staying
    assert not cancel_flag(Namespace(session_hash="leaving")).is_set()      # a new visit starts uncancelled


# --- every handler, called as Gradio calls it, changes only its event's outputs -------------------------

def _foreign(returned, outputs) -> list:
    """The components a handler's return names that its event does not list as outputs (Gradio would
    refuse the whole update in the browser: "Returned component ... not specified as output")."""
    if returned == {"__type__": "update"}:          # gr.skip(): nothing changes
        return []
    assert isinstance(returned, dict), f"a positional return: {type(returned).__name__}"
    listed = {id(c) for c in outputs}
    return [c for c in returned if id(c) not in listed]


def _call_as_gradio(block_fn, by_name: dict, components: dict):
    """The handler of `block_fn` with its inputs' values as one dict keyed by component, as Gradio sends a
    set of inputs, and after it, by position, whatever Gradio injects (request, progress)."""
    import inspect

    name_of = {id(c): name for name, c in components.items()}
    values = {c: by_name[name_of[id(c)]] for c in block_fn.inputs}
    injected = {"request": None, "progress": lambda *a, **k: None}
    special = [injected[k] for k in list(inspect.signature(block_fn.fn).parameters)[1:] if k in injected]
    return block_fn.fn(values, *special)


def test_the_check_finds_a_component_outside_the_outputs():
    import gradio as gr

    with gr.Blocks():
        shown, other = gr.Markdown(), gr.Markdown()
    assert _foreign({shown: "x", other: "y"}, [shown]) == [other]
    assert _foreign(gr.skip(), [shown]) == [] and _foreign({shown: "x"}, [shown]) == []


def test_every_handler_returns_only_components_its_event_lists():
    """Each event's handler, on a page before any picture, on a refused setting, and on maps drawn (the digit
    net: quick): what it returns is a dict of components among its event's outputs."""
    import gradio as gr
    from sketches import draw

    from explorer.ui import saliency_tab

    with gr.Blocks() as demo:
        tab = saliency_tab.build()
    components = tab.components()
    wrapped = {saliency_tab.on_new_picture, saliency_tab.on_explain, saliency_tab.on_look, saliency_tab.on_trust}
    handlers = {fn.api_name: fn for fn in demo.fns.values() if getattr(fn.fn, "__wrapped__", None) in wrapped}
    drawing = _sketch(draw(4))
    before = dict(CONTROLS, picture=None, model="digits", target=None, methods=["gradcam"], maps=None)
    refused = dict(before, picture=drawing, methods=["occlusion"], occ_window=8, occ_stride=20)
    drawn = dict(before, picture=drawing, methods=["gradcam", "saliency"])
    drawn["maps"] = saliency_tab.explain(saliency_tab.ExplainRequest.from_values(drawn), reset=False)["maps"]
    assert drawn["maps"] and len(handlers) == 16        # 6 draw the maps, 7 check them, 3 repaint them
    returned = {}
    for name, block_fn in sorted(handlers.items()):
        for case, by_name in (("before", before), ("refused", refused), ("drawn", drawn)):
            out = _call_as_gradio(block_fn, by_name, components)
            assert not _foreign(out, block_fn.outputs), f"{name} on {case}: returns {_foreign(out, block_fn.outputs)}"
            returned[name, case] = out
    assert returned["saliency_explain", "refused"] == {tab.header: returned["saliency_explain", "refused"][tab.header]}
    assert set(returned["saliency_explain", "drawn"]) == {components[name] for name in saliency_tab.EXPLAINED}
    assert set(returned["saliency_sign_trust", "drawn"]) == {components[name] for name in saliency_tab.CHECKED}
    assert returned["saliency_opacity", "before"] == gr.skip()          # no maps yet: nothing to repaint


def test_the_trust_table_explains_each_verdict_and_the_wipe_compares_each_cascade_step():
    """The digit net (quick): each verdict in the table comes with its sentence for a learner, the ranking
    is in words, and the wipe shows the real map against the randomised one chosen."""
    from sketches import draw

    from explorer.ui import saliency_tab

    drawing = _sketch(draw(7))
    maps = _explain(drawing, "digits", "", ["saliency", "integrated_gradients"])["maps"]
    out = saliency_tab.trust_checked({"picture": drawing, "maps": maps, "sign": "absolute"},
                                     progress=lambda *a, **k: None)
    rows = out["checks"]["rows"]
    for row in rows:
        for part, check in row["check"].parts.items():
            assert trust.meaning(part, check.verdict) in out["trust"]
    assert out["ranking"].startswith(("By the curves, **", "No map could be ranked"))
    choices = out["wipe_step"].choices
    assert len(choices) == sum(len(r["check"].randomisation.steps) for r in rows) > 0
    words, value = choices[0]
    step = rows[0]["check"].randomisation.steps[0]
    assert words.startswith(rows[0]["title"]) and "random" in words
    wipe = saliency_tab.wiped({"wipe_step": value, "checks": out["checks"], "maps": maps, "cmap": "gray"})["wipe"]
    assert rows[0]["title"] in wipe["label"] and f"rank correlation {step.correlation:.2f}" in wipe["label"]
    real, randomised = wipe["value"]
    expected = np.abs(step.random_map)
    shown = np.asarray(randomised.convert("L"), np.float64)
    assert shown.shape == expected.shape and np.corrcoef(shown.ravel(), expected.ravel())[0, 1] > 0.8
    assert real.size == randomised.size


# --- a newcomer's stumbles, and a Chinese visitor ---------------------------------------------------------

def test_the_methods_list_names_a_missing_method_and_why_before_any_run():
    """EfficientNet-Lite0 has no Guided Grad-CAM (ReLU6 outside nn.ReLU): the list's own info says so, on the
    page as built and after a model is chosen; the digit net has every method and says nothing of it."""
    import gradio as gr

    from explorer.ui import saliency_tab
    from explorer.ui.saliency_page import methods_info
    from explorer.ui.words import chinese, english

    with gr.Blocks():
        tab = saliency_tab.build()
    shown = english(tab.methods.info)
    assert "Guided Grad-CAM is not offered for EfficientNet-Lite0" in shown and "ReLU6" in shown
    assert "引导 Grad-CAM" in chinese(tab.methods.info) and "ReLU6" in chinese(tab.methods.info)
    assert "Guided Grad-CAM" not in [english(title) for title, _ in tab.methods.choices]
    for name in (DEFAULT_MODEL, "digits"):
        update = _explain(None, name, "", ["gradcam"])["methods"]
        offered = [m for _, m in update.choices]
        assert update.info == methods_info(name)
        assert ("Guided Grad-CAM" in update.info) == ("guided_gradcam" not in offered)
    assert "Guided" not in methods_info("digits")


def test_cancel_during_the_maps_says_stopped_where_the_header_stands_with_no_error():
    """Cancel pressed while a map is computed: no gr.Error (its toast is titled "Error"), one line where the
    maps' header stands, the last maps left as they were, and the trust check that follows does nothing."""
    from explorer.ui import saliency_tab
    from explorer.ui.saliency_runs import cancel_flag

    flag = cancel_flag(None)
    pressed = []

    def cancel_pressed(*args, **kwargs):      # the visitor presses Cancel as the first pass is reported
        pressed.append(True)
        flag.set()
    wanted = _request(PANDA, DEFAULT_MODEL, "", ["occlusion"], occ_window=29, occ_stride=13)   # not computed before
    try:
        out = saliency_tab.explain(wanted, reset=False, progress=cancel_pressed)
        assert pressed and list(out) == ["header"] and "Stopped" in out["header"]
        assert saliency_tab.trust_checked({"picture": PANDA, "maps": {"model": DEFAULT_MODEL, "results": []},
                                           "sign": "absolute"}) == {}
    finally:
        flag.clear()


def test_cancel_says_stopped_where_the_running_job_stands_and_nothing_when_none_runs():
    """Gradio drops a cancelled event's own answer: Cancel itself says which job it stopped."""
    from explorer.ui import saliency_tab
    from explorer.ui.saliency_runs import cancel_flag, running

    try:
        assert saliency_tab.on_cancel({}) == {}
        with running("maps", None):
            said = saliency_tab.on_cancel({})
        assert list(said) == ["header"] and "Stopped" in said["header"]
        with running("trust", None):
            said = saliency_tab.on_cancel({})
        assert list(said) == ["trust"] and "stopped" in said["trust"]
    finally:
        cancel_flag(None).clear()


def test_a_chinese_visitor_reads_the_tab_in_chinese_with_the_same_numbers():
    """Inside speaking("zh"): the header, the captions, the trust table and its sentences, the ranking and
    the wipe's steps are Chinese; the numbers and the names kept (Grad-CAM, the class) are the same."""
    import re

    from sketches import draw

    from explorer.core.words import speaking
    from explorer.ui import saliency_tab

    cjk = re.compile(r"[\u4e00-\u9fff]")
    drawing = _sketch(draw(7))
    english = _explain(drawing, "digits", "", ["gradcam", "saliency"])
    checked_en = saliency_tab.trust_checked({"picture": drawing, "maps": english["maps"], "sign": "absolute"})
    with speaking("zh"):
        chinese = _explain(drawing, "digits", "", ["gradcam", "saliency"])
        checked_zh = saliency_tab.trust_checked({"picture": drawing, "maps": chinese["maps"], "sign": "absolute"})
    assert cjk.search(chinese["header"]) and not cjk.search(english["header"])
    label = chinese["maps"]["results"][0].label
    assert f"“{label}”" in chinese["header"] and f"“{label}”" in english["header"]
    for _, caption in chinese["gallery"]:
        assert cjk.search(caption)
    assert chinese["gallery"][0][1].startswith("Grad-CAM")
    assert cjk.search(checked_zh["trust"]) and cjk.search(checked_zh["ranking"])
    assert "这些结论是什么意思" in checked_zh["trust"] and "What the verdicts mean" in checked_en["trust"]
    for row in checked_zh["checks"]["rows"]:
        curve = row["check"].deletion.curve
        if curve is not None:
            assert f"p = {curve.p_value:.3f}" in checked_zh["trust"] and f"p = {curve.p_value:.3f}" in checked_en["trust"]
    assert all(cjk.search(words) for words, _ in checked_zh["wipe_step"].choices)
    assert [v for _, v in checked_zh["wipe_step"].choices] == [v for _, v in checked_en["wipe_step"].choices]
