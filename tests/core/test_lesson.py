"""The lesson (explorer.lesson): every page's answer checked against PyTorch computed here, independently of
the app's code; replies read in their usual forms; both languages on every page; Try it's state made of
values the app accepts."""
import re

import pytest
import torch
import torch.nn.functional as F

from explorer import lesson
from explorer.drawing.kernel_presets import PRESET_NAMES, preset
from explorer.lesson_page import named_pattern, normal, read_reply

CHAPTER = torch.tensor([[10, 11, 9, 3], [2, 123, 4, 0], [45, 237, 23, 99], [20, 67, 22, 255]], dtype=torch.float64)
CHAPTER_KERNEL = torch.tensor([[1, 0], [1, 0]], dtype=torch.float64)
POOL = torch.tensor([[1, 2, 1, 4, 1], [5, 6, 1, 2, 5], [5, 0, 0, 9, 6]], dtype=torch.float64)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _image(t: torch.Tensor) -> torch.Tensor:
    return t[None, None]


# --- each page's answer, from PyTorch computed here -----------------------------------------------------

def test_kernel_page_answer_is_conv2d_at_step_2():
    out = F.conv2d(_image(CHAPTER), _image(CHAPTER_KERNEL), stride=2)[0, 0]
    assert out.tolist() == [[12, 13], [65, 45]]            # the chapter's feature map
    assert lesson.page("kernel").answer() == out[0, 1].item()     # steps run row by row: step 2 is (0, 1)


def test_stride_padding_page_answer_counts_the_columns_conv2d_never_reads():
    out = F.conv2d(_image(CHAPTER), _image(CHAPTER_KERNEL), stride=3)
    width = out.shape[-1]
    # an input column is read when some window (starting at 3*j) covers it
    read = {3 * j + k for j in range(width) for k in range(CHAPTER_KERNEL.shape[1])}
    assert lesson.page("stride-padding").answer() == CHAPTER.shape[1] - len(read)
    padded = F.conv2d(_image(CHAPTER), _image(CHAPTER_KERNEL), stride=1, padding=1)
    assert padded.shape[-2:] == (5, 5)                      # what the page says padding 1 gives


def test_pooling_page_answer_is_max_pool2d_second_window():
    out = F.max_pool2d(_image(POOL), kernel_size=3, stride=2)[0, 0]
    assert out.tolist() == [[6, 9]]
    assert lesson.page("pooling").answer() == out[0, 1].item()


def _hooked_output(module: torch.nn.Module, layer: str, x: torch.Tensor) -> torch.Tensor:
    """The output of `layer` (a module path) in one forward pass of `module`, by a forward hook."""
    kept = []
    handle = module.get_submodule(layer).register_forward_hook(lambda m, i, o: kept.append(o.detach()))
    try:
        with torch.no_grad():
            module(x)
    finally:
        handle.remove()
    return kept[0]


@pytest.fixture(scope="module")
def digits():
    """A fresh copy of the digit model (not the app's shared one) and the drawn 7 as it reads it."""
    from explorer.core.models import load_model

    model = load_model("digits", device="cpu")
    return model, model.preprocess(lesson.picture("digit-7"))


def test_channels_page_answer_is_the_hooked_output_channels(digits):
    model, x = digits
    out = _hooked_output(model.module, "features.conv2", x)
    assert lesson.page("channels").answer() == out.shape[1] == model.module.features.conv2.out_channels


def test_stages_page_answer_is_the_receptive_field_of_the_convolutions_that_ran():
    """Every Conv2d up to the stage, in the order a forward pass of a fresh EfficientNet-Lite0 calls them:
    each adds (k - 1) x dilation x jump pixels and multiplies the jump by its stride (the skips up to there
    are identities, which add nothing)."""
    import timm

    net = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    calls = []
    handles = [m.register_forward_hook(lambda m, i, o, name=name: calls.append((name, m)))
               for name, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        net(torch.zeros(1, 3, 224, 224))
    for h in handles:
        h.remove()
    field, jump = 1, 1
    for name, conv in calls:
        field += (conv.kernel_size[1] - 1) * conv.dilation[1] * jump
        jump *= conv.stride[1]
        if name == "blocks.2.1.conv_dw":
            break
    assert lesson.page("stages").answer() == field


def test_unit_page_answer_is_the_hooked_value_of_the_unit(digits):
    model, x = digits
    p = lesson.page("unit")
    row, col = p.try_it["unit"]
    value = _hooked_output(model.module, p.try_it["stage"], x)[0, p.try_it["channel"], row, col].item()
    assert abs(p.answer() - value) <= 0.005
    assert p.check(f"{value:.4f}").right


def test_alexnet_page_answer_is_what_load_state_dict_takes():
    from torchvision.models import alexnet

    from explorer.core.nets import CNNNet

    reference = alexnet(num_classes=2).eval()
    ours = CNNNet(num_classes=2).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(ours(x), reference(x))
    assert lesson.page("alexnet").answer() == len(reference.state_dict())


def test_families_page_answer_is_the_hooked_output_of_inception3a():
    from torchvision.models import googlenet

    with torch.device("meta"):
        net = googlenet(weights=None, aux_logits=False, init_weights=False).eval()
        out = _hooked_output(net, "inception3a", torch.zeros(1, 3, 224, 224))
    branches = [net.inception3a.branch1.conv, net.inception3a.branch2[1].conv, net.inception3a.branch3[1].conv,
                net.inception3a.branch4[1].conv]
    assert lesson.page("families").answer() == out.shape[1] == sum(b.out_channels for b in branches)


def test_batchnorm_page_answer_is_what_batchnorm2d_subtracts():
    layer = torch.nn.BatchNorm2d(1, dtype=torch.float64).train()
    x = _image(CHAPTER)
    with torch.no_grad():
        out = layer(x)
    mean = lesson.page("batchnorm-dropout").answer()
    by_hand = (x - mean) / torch.sqrt(x.var(unbiased=False) + layer.eps)
    assert torch.allclose(out, by_hand, atol=1e-9)
    assert abs(out.mean().item()) < 1e-9       # what the page's why says: mean 0


def test_pretrained_page_answer_is_the_softmax_of_cnnnet_drawn_from_the_app_seed():
    from torchvision import transforms

    from explorer.core.models import IMAGENET_MEAN, IMAGENET_STD, UNTRAINED_SEED
    from explorer.core.nets import CNNNet

    torch.manual_seed(UNTRAINED_SEED)      # the seed the app draws an untrained model's weights from
    net = CNNNet(num_classes=2).eval()
    prepare = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                  transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    from PIL import Image

    with Image.open(lesson.picture("cat")) as image:
        x = prepare(image.convert("RGB"))[None]
    with torch.no_grad():
        top = torch.softmax(net(x), dim=1).max().item()
    assert abs(lesson.page("pretrained").answer() - 100 * top) <= 0.5 + 1e-6
    assert 40 <= 100 * top <= 60           # a coin toss, as the page says


def test_saliency_page_answer_agrees_with_a_deletion_test_made_here(digits):
    """Grad-CAM from Captum directly at the last convolution (its positive part, as Grad-CAM is drawn); the
    picture's 2x2-pixel patches blurred in the map's order (patches it scores the same in a random order)
    against 39 random orders: the map passes when its curve's area is below the random median and below all
    but 5 % of the random areas (the test the tab's Deletion column reports)."""
    from captum.attr import LayerAttribution, LayerGradCam
    from torchvision.transforms.functional import gaussian_blur

    model, x = digits
    net = model.module
    target = int(net(x).argmax())
    cam = LayerGradCam(net, net.features.conv2).attribute(x, target=target, relu_attributions=True)
    heat = LayerAttribution.interpolate(cam, x.shape[-2:], "bilinear")[0, 0].detach()
    patch = 2
    scores = heat.reshape(14, patch, 14, patch).mean((1, 3)).flatten()
    blurred = gaussian_blur(x, kernel_size=9, sigma=0.05 * 28)
    fractions = torch.linspace(0, 1, 9)

    def area(order: torch.Tensor) -> float:
        probabilities = []
        for f in fractions:
            gone = torch.zeros(196, dtype=torch.bool)
            gone[order[: int(round(f.item() * 196))]] = True
            mask = gone.reshape(14, 14).repeat_interleave(patch, 0).repeat_interleave(patch, 1)
            with torch.no_grad():
                probabilities.append(torch.softmax(net(torch.where(mask, blurred, x)), 1)[0, target].item())
        return float(torch.trapezoid(torch.tensor(probabilities), fractions))

    generator = torch.Generator().manual_seed(0)
    shuffled = torch.randperm(196, generator=generator)
    ours = area(shuffled[scores[shuffled].argsort(descending=True, stable=True)])
    randoms = torch.tensor([area(torch.randperm(196, generator=generator)) for _ in range(39)])
    passes = ours < randoms.median().item() and (randoms <= ours).sum().item() + 1 <= 0.05 * 40
    assert lesson.page("saliency").answer() == ("yes" if passes else "no"), (ours, randoms.median().item())


def test_features_page_answer_compares_the_hooked_channel_means(digits):
    from explorer.core import features
    from explorer.core.models import get_model

    model, x = digits
    p = lesson.page("features")
    stage, channel = p.try_it["stage"], p.try_it["channel"]
    drawn = features.visualize(get_model("digits")[0], stage, channel)     # the picture the tab shows
    mean_drawn = _hooked_output(model.module, stage, drawn.input)[0, channel].mean().item()
    mean_yours = _hooked_output(model.module, stage, x)[0, channel].mean().item()
    assert p.answer() == ("drawn" if mean_drawn > mean_yours else "yours")


# --- replies ----------------------------------------------------------------------------------------

def _whole(answer) -> str:
    return rf"(?<![\d.]){re.escape(str(answer))}(?![\d])"


@pytest.mark.parametrize("p", lesson.PAGES, ids=lesson.PAGE_KEYS)
def test_the_right_answer_is_accepted_in_several_forms(p):
    for reply in _forms(p.answer(), p.form, lambda key: p.choices[key]):
        result = p.check(reply)
        assert result.right, f"{p.key}: {reply!r} was refused"
        assert result.message["en"] and CJK.search(result.message["zh"])


@pytest.mark.parametrize("p", lesson.PAGES, ids=lesson.PAGE_KEYS)
def test_a_wrong_answer_gets_a_hint_that_does_not_give_it_away(p):
    for wrong in _wrong(p):
        result = p.check(wrong)
        assert not result.right, f"{p.key}: {wrong!r} was taken as right"
        for lang in ("en", "zh"):
            text = result.message[lang]
            assert text, f"{p.key}: no {lang} message"
            if p.form == "choice":
                named = [s for s in p.choices[p.answer()] if named_pattern(normal(s)).search(normal(text))]
                assert not named, f"{p.key} ({lang}) names the answer ({named}): {text}"
            elif p.form == "size":
                assert not re.search(r"\D".join(str(n) for n in p.answer()), text), f"{p.key}: {text}"
            else:
                assert not re.search(_whole(_shown(p.answer())), text), f"{p.key} ({lang}) gives the answer: {text}"


def _shown(answer):
    return int(answer) if float(answer).is_integer() else answer


def _forms(answer, form: str, choices_of=None) -> list[str]:
    if form == "number":
        n = _shown(answer)
        full = str(n).translate(str.maketrans("0123456789.-", "０１２３４５６７８９．－"))
        return [str(n), f" {n} ", f"{float(n)}", full, f"{n}。"]
    if form == "size":
        rows, cols = answer
        return [f"{rows}x{cols}", f"{rows}×{cols}", f"{rows} x {cols}", f"({rows}, {cols})", f"{rows}乘{cols}",
                f"{rows}ｘ{cols}"]
    return [f" {spelling.upper()} " for spelling in choices_of(answer)]


def _wrong(p) -> list[str]:
    answer = p.answer()
    if p.form == "number":
        step = max(1.0, p.tolerance * 3)
        return [str(_shown(answer + step)), str(_shown(answer - step)), "１００００"]
    if p.form == "size":
        rows, cols = answer
        return [f"{rows + 1}x{cols}", f"{rows}x{cols + 1}"]
    return [spellings[0] for key, spellings in p.choices.items() if key != answer]


@pytest.mark.parametrize("reply, form, expected", [
    ("13", "number", 13.0), (" 13 ", "number", 13.0), ("13.0", "number", 13.0), ("１３", "number", 13.0),
    ("1,234", "number", 1234.0), ("50%", "number", 50.0), ("2 and 3", "number", None), ("", "number", None),
    ("abc", "number", None), ("2x2", "size", (2, 2)), ("2×2", "size", (2, 2)), ("2 x 2", "size", (2, 2)),
    ("（２，２）", "size", (2, 2)), ("2 by 3", "size", (2, 3)), ("2乘3", "size", (2, 3)), ("2", "size", None),
    ("2.5x2", "size", None),
])
def test_replies_are_read_in_their_usual_forms(reply, form, expected):
    assert read_reply(reply, form) == expected


def test_an_unreadable_reply_says_what_form_to_give():
    result = lesson.page("kernel").check("thirteen")
    assert not result.right and "number" in result.message["en"] and CJK.search(result.message["zh"])


# --- the pages themselves -----------------------------------------------------------------------------

def test_pages_have_unique_url_safe_keys_in_order():
    assert lesson.PAGE_KEYS == ("kernel", "stride-padding", "pooling", "channels", "stages", "unit", "alexnet",
                                "families", "batchnorm-dropout", "pretrained", "saliency", "features")
    assert lesson.PAGE_KEYS == tuple(p.key for p in lesson.PAGES)
    assert len(set(lesson.PAGE_KEYS)) == len(lesson.PAGE_KEYS)
    for key in lesson.PAGE_KEYS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key), key
        assert lesson.page(key).key == key


def test_an_unknown_page_names_the_keys():
    with pytest.raises(ValueError, match="kernel") as error:
        lesson.page("nope")
    assert "nope" in str(error.value)


@pytest.mark.parametrize("p", lesson.PAGES, ids=lesson.PAGE_KEYS)
def test_every_text_is_in_both_languages(p):
    assert p.tab in lesson.TABS
    for name in ("title", "text", "question", "hint", "why"):
        texts = getattr(p, name)
        assert set(texts) == {"en", "zh"}, f"{p.key}.{name}"
        assert texts["en"].strip() and texts["zh"].strip(), f"{p.key}.{name} is empty"
        assert CJK.search(texts["zh"]), f"{p.key}.{name}: the Chinese has no Chinese"
        assert not CJK.search(texts["en"]), f"{p.key}.{name}: Chinese in the English"
    paragraphs = [t for t in p.text["en"].split("\n\n") if t.strip()]
    assert 2 <= len(paragraphs) <= 4, f"{p.key}: {len(paragraphs)} paragraphs"
    assert len([t for t in p.text["zh"].split("\n\n") if t.strip()]) == len(paragraphs)


KERNEL_KEYS = {"preset", "matrix", "kernel", "op", "kernel_size", "stride", "padding", "step"}


@pytest.mark.parametrize("p", [p for p in lesson.PAGES if p.tab == "kernel"], ids=lambda p: p.key)
def test_kernel_try_it_is_what_the_kernel_tab_takes(p):
    from explorer.core.sliding import slide
    from explorer.ui.kernel_settings import OP_CHOICES

    state = dict(p.try_it)
    assert set(state) <= KERNEL_KEYS
    assert state["preset"] in PRESET_NAMES
    assert state["op"] in {value for _, value in OP_CHOICES}
    settings = preset(state["preset"]) | {k: v for k, v in state.items() if k not in ("preset", "step")}
    s = slide(settings["matrix"], None if settings["op"] != "conv" else settings["kernel"], op=settings["op"],
              kernel_size=None if settings["op"] == "conv" else settings["kernel_size"],
              stride=settings["stride"], padding=settings["padding"])
    assert 1 <= state["step"] <= len(s.steps)


STAGES_KEYS = {"model", "picture", "stage", "channel", "unit", "feature"}
SALIENCY_KEYS = {"model", "picture", "method", "target"}
ARCHITECTURE_KEYS = {"view", "model", "block", "compare", "matrix"}


@pytest.mark.parametrize("p", [p for p in lesson.PAGES if p.tab == "stages"], ids=lambda p: p.key)
def test_stages_try_it_names_a_stage_channel_and_unit_that_exist(p):
    from explorer.core.models import MODEL_NAMES, get_model
    from explorer.core.stages import stage_index

    state = dict(p.try_it)
    assert set(state) <= STAGES_KEYS and state["model"] in MODEL_NAMES
    assert state["picture"] in lesson.picture_names()
    if "stage" not in state:
        return
    stages = get_model(state["model"])[0].inspect(lesson.picture(state["picture"])).stages
    shape = stages[stage_index([s.name for s in stages], state["stage"])].output_shape
    assert 0 <= state.get("channel", 0) < shape[0]
    if "unit" in state:
        row, col = state["unit"]
        assert 0 <= row < shape[1] and 0 <= col < shape[2]


@pytest.mark.parametrize("p", [p for p in lesson.PAGES if p.tab == "saliency"], ids=lambda p: p.key)
def test_saliency_try_it_names_a_method_the_model_takes(p):
    from explorer.core.attribution import METHODS, methods_of
    from explorer.core.models import MODEL_NAMES

    state = dict(p.try_it)
    assert set(state) <= SALIENCY_KEYS and state["model"] in MODEL_NAMES
    assert state["picture"] in lesson.picture_names()
    assert state["method"] in METHODS and state["method"] in methods_of(state["model"])


@pytest.mark.parametrize("p", [p for p in lesson.PAGES if p.tab == "architecture"], ids=lambda p: p.key)
def test_architecture_try_it_is_what_the_architecture_tab_takes(p):
    from explorer.core import architecture, layer_playground
    from explorer.core.models import MODEL_NAMES
    from explorer.drawing.architecture_drawing import branching_blocks

    state = dict(p.try_it)
    assert set(state) <= ARCHITECTURE_KEYS
    assert state["view"] in {"inspect", "compare", "alexnet", "layers"}
    assert set(state.get("compare", ())) <= set(MODEL_NAMES)
    if "model" in state:
        assert state["model"] in MODEL_NAMES
    if "block" in state:
        assert state["block"] in branching_blocks(architecture.summarize(state["model"]))
    if "matrix" in state:
        assert layer_playground.to_matrix(state["matrix"]).shape == (4, 4)


def test_pictures_are_the_app_examples_and_a_drawing_the_digit_model_reads():
    from pathlib import Path

    from explorer.core.models import get_model
    from explorer.ui.picture_input import example_paths

    photos = [n for n in lesson.picture_names() if not n.startswith("digit-")]
    assert sorted(lesson.picture(n) for n in photos) == example_paths()
    assert all(Path(lesson.picture(n)).is_file() for n in photos)
    drawing = lesson.picture("digit-7")
    assert drawing.mode == "RGBA" and drawing.size == (400, 400)         # as the Sketchpad hands it over
    assert get_model("digits")[0].predict(drawing, k=1)[0][0] == "7"
    for bad in ("nope", "../cat", "digit-x"):
        with pytest.raises(ValueError, match="picture"):
            lesson.picture(bad)


def test_a_chinese_visitor_gets_the_unknown_page_message_in_chinese():
    from explorer.core.words import speaking

    with speaking("zh"), pytest.raises(ValueError) as error:
        lesson.page("nope")
    assert CJK.search(str(error.value)) and "kernel" in str(error.value)


def test_an_answer_is_computed_once_and_forgotten_with_the_stores():
    from dataclasses import replace

    from explorer.core.state import STORES

    calls = []
    p = replace(lesson.page("kernel"), key="counted-page", solve=lambda: calls.append(1) or 13)
    assert p.answer() == 13 and p.check("13").right and len(calls) == 1
    STORES["lesson.answers"].clear()
    assert p.answer() == 13 and len(calls) == 2


def test_the_module_docstring_example_runs():
    import doctest

    result = doctest.testmod(lesson)
    assert result.attempted >= 2 and result.failed == 0


def test_answers_run_the_served_models_inside_gpu_slots():
    """As the UI will ask for them, inside a Gradio event: on ZeroGPU a served model's forward pass outside a
    slot fails (the test stand-in for `spaces` raises)."""
    import spaces
    from gradio.context import LocalContext

    from explorer.core.state import STORES

    assert spaces.__file__.startswith(str(__import__("pathlib").Path(__file__).parents[1] / "standin"))
    STORES["lesson.answers"].clear()
    token = LocalContext.event_id.set("lesson-test-event")
    try:
        answers = {p.key: p.answer() for p in lesson.PAGES}
    finally:
        LocalContext.event_id.reset(token)
    assert answers["kernel"] == 13 and set(answers) == set(lesson.PAGE_KEYS)


def test_what_the_pages_say_about_the_models_is_what_they_do(digits):
    """The numbers the pages' words give, from the models themselves."""
    from explorer.core import architecture
    from explorer.core.models import get_model

    model, x = digits
    channel = _hooked_output(model.module, "features.conv1", x)[0, 1]      # unit: "where channel 1 is strongest"
    assert divmod(int(channel.argmax()), channel.shape[1]) == lesson.page("unit").try_it["unit"]
    assert _hooked_output(model.module, "features.conv2", x).shape[-2:] == (10, 10)   # saliency: "only 10x10"
    lite = get_model("efficientnet_lite0")[0]
    inspection = lite.inspect(lesson.picture("cat"))
    stages = inspection.stages
    assert len(stages) == 50 and stages[0].output_shape[1:] == (112, 112) and stages[0].receptive_field == (3, 3)
    assert stages[-2].output_shape[1:] == (7, 7) and stages[-2].receptive_field[0] > 224
    assert "cat" in inspection.predictions[0][0]           # pretrained: "a kind of cat"
    assert 130e6 < architecture.summarize("vgg16").total_params < 140e6           # families: 138 million
    assert 6e6 < architecture.summarize("googlenet").params_in_forward < 7.5e6    # "about 7 million"
