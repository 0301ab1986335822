"""Any timm CNN by name ("timm:<name>"), built untrained offline, across families: every stage equals the
layer's output read by this test's own hooks, random units of the bridge equal the stage, Grad-CAM and
saliency run; your weights from safetensors (never a pickle) with your class names; bad names refused."""
import pickle
import random

import pytest
import torch
from hook_recorder import hook_count, recording
from PIL import Image
from safetensors.torch import save_file
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

import explorer
from explorer.core import timm_models
from explorer.core.attribution import attribute_input, methods_for
from explorer.core.bridge import explain_unit
from explorer.core.loaded_model import Inspection
from explorer.core.models import get_model, load_model

timm = pytest.importorskip("timm")

# (name, side of the test's input: None = the pretrained_cfg's own size, a non-224 one for these)
ARCHITECTURES = [
    ("resnet10t", None),                # plain residual, 176 px
    ("tinynet_e", None),                # depthwise, 106 px
    ("nf_regnet_b0", None),             # weight-standardised ScaledStdConv2d, grouped, 192 px
    ("resnetv2_50x1_bit", 96),          # weight-standardised StdConv2d
    ("resnext26ts", 96),                # grouped
    ("mixnet_s", 96),                   # mixed kernel sizes (MixedConv2d)
    ("resnest14d", 96),                 # split attention
    ("skresnet18", 96),                 # selective kernel: multi-branch
    ("mobilenetv3_small_050", 96),      # depthwise, hard-swish, SE
    ("mobilenetv2_050", 96),
    ("convnext_atto", 96),              # depthwise 7x7, LayerNorm
    ("efficientnet_b0", 96),
    ("tf_efficientnet_lite0", 96),      # "SAME" padding computed in forward
    ("dla46_c", 96),                    # tree aggregation: multi-branch
    ("hrnet_w18_small", 96),            # parallel resolutions: multi-branch
    ("inception_v3", 96),               # multi-branch, 299 px natively
    ("densenet121", 64),                # concatenation
    ("dpn68", 64),                      # dual path, grouped
    ("ghostnet_050", 96),
    ("rexnet_100", 96),
    ("lcnet_050", 96),
    ("regnetx_002", 96),                # grouped
    ("regnety_002", 96),
    ("regnetz_005", 96),
    ("ese_vovnet19b_slim_dw", 96),      # one-shot aggregation, depthwise
    ("gernet_s", 96),
    ("repvgg_a0", 96),                  # parallel 3x3, 1x1 and identity branches
    ("semnasnet_050", 96),
    ("mobileone_s0", 64),
    ("cs3darknet_focus_s", 96),         # cross-stage partial
]
STAGE_TYPES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def _model(name: str):
    torch.manual_seed(0)
    return load_model(f"timm:{name}", pretrained=False, device="cpu")


def _input(model, side):
    if side is None:
        return model.preprocess(Image.new("RGB", (300, 260), (200, 120, 40)))
    return torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name,side", ARCHITECTURES, ids=[n for n, _ in ARCHITECTURES])
def test_every_tab_on_a_timm_cnn(name, side):
    model = _model(name)
    x = _input(model, side)
    if side is None:
        assert x.shape[-1] == timm_models.facts(name).input_size[-1] != 224
    names = {m: n for n, m in model.module.named_modules()}
    with recording([m for m in model.module.modules() if isinstance(m, STAGE_TYPES)],
                   lambda m, i, o: (names[m], o[0].detach().clone())) as expected, torch.inference_mode():
        reference = model.module(x)
    logits, stages = model.sweep(x)
    torch.testing.assert_close(logits, reference)
    assert [s.name.split(" (call")[0] for s in stages] == [n for n, _ in expected]
    for stage, (_, output) in zip(stages, expected):
        torch.testing.assert_close(stage.activation, output)
    inspection = Inspection([], stages, None)
    rng = random.Random(name)
    for index in rng.sample(range(len(stages)), min(4, len(stages))):
        c, h, w = stages[index].activation.shape
        unit = explain_unit(model, inspection, index, rng.randrange(c), rng.randrange(h), rng.randrange(w))
        assert unit.value == pytest.approx(float(stages[index].activation[unit.channel, unit.row, unit.col]))
        assert unit.agrees(), (stages[index].name, unit.total, unit.value)
    for method in ("gradcam", "saliency"):
        assert method in methods_for(model)
        heat = attribute_input(model, x, method).input_map
        assert heat.shape == tuple(x.shape[-2:]) and torch.isfinite(torch.as_tensor(heat)).all()
    assert hook_count(model.module) == 0


class _ConvWeights(TorchFunctionMode):
    """The weight of every F.conv2d call while `layer` runs: what the layer really used."""

    def __init__(self, layer):
        super().__init__()
        self.inside, self.kept = [False], []
        layer.register_forward_pre_hook(lambda m, a: self.inside.__setitem__(0, True))
        layer.register_forward_hook(lambda m, a, o: self.inside.__setitem__(0, False))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is F.conv2d and self.inside[0]:
            self.kept.append(args[1].detach().clone())
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("name", ["nf_regnet_b0", "resnetv2_50x1_bit"])
def test_the_bridge_shows_the_standardised_weights_the_layer_used(name):
    model = _model(name)
    x = _input(model, 64)
    _, stages = model.sweep(x)
    index = next(i for i, s in enumerate(stages) if s.kind == "conv" and s.call.params["weight"].shape[-1] == 3)
    layer = dict(model.module.named_modules())[stages[index].name.split(" (call")[0]]
    spy = _ConvWeights(layer)
    with spy, torch.inference_mode():
        model.module(x)
    layer._forward_hooks.clear()
    layer._forward_pre_hooks.clear()
    unit = explain_unit(model, Inspection([], stages, None), index, 0, 1, 1)
    torch.testing.assert_close(torch.as_tensor(unit.kernel), spy.kept[0][0].double())
    assert not torch.allclose(torch.as_tensor(unit.kernel), layer.weight[0].double())   # not the raw parameter
    assert unit.agrees()


def _cat_picture() -> Image.Image:
    image = Image.new("RGB", (240, 200), (30, 90, 200))
    image.paste((240, 200, 20), (40, 40, 150, 160))
    return image


@pytest.mark.parametrize("name", ["resnet10t", "mixnet_s", "nf_regnet_b0"])
def test_your_safetensors_and_two_class_names_give_the_reference_probabilities(name, tmp_path):
    torch.manual_seed(3)
    reference = timm.create_model(name, pretrained=False, num_classes=2).eval()
    with torch.no_grad():
        for p in reference.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    path = tmp_path / "mine.safetensors"
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(path))
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\n\ndog\n")
    model = explorer.load_model(f"timm:{name}", weights=path, labels=labels, device="cpu")
    assert model.labels == ["cat", "dog"] and model.pretrained
    picture = _cat_picture()
    with torch.no_grad():
        expected = torch.softmax(reference(model.preprocess(picture)), dim=-1)[0]
    predicted = dict(model.predict(picture, k=2))
    assert predicted["cat"] == pytest.approx(float(expected[0]), abs=1e-5)
    assert predicted["dog"] == pytest.approx(float(expected[1]), abs=1e-5)
    same = explorer.load_model(f"timm:{name}", weights=path, labels=["cat", "dog"], device="cpu")
    assert same.name == model.name and "@" in model.name


def test_preprocessing_comes_from_the_pretrained_cfg():
    model = _model("tinynet_e")
    cfg = timm.create_model("tinynet_e").pretrained_cfg
    t = model.transform
    assert (t.crop, t.mean, t.std) == (cfg["input_size"][1], tuple(cfg["mean"]), tuple(cfg["std"]))
    assert t.resize == int(cfg["input_size"][1] / cfg["crop_pct"])
    assert t.interpolation.value == cfg["interpolation"]
    assert model.labels[0] == explorer.core.models.IMAGENET_LABELS[0]


def test_a_wrong_shaped_file_is_refused_naming_keys_and_shapes(tmp_path):
    other = timm.create_model("resnet10t", num_classes=7)
    path = tmp_path / "other.safetensors"
    state = {k: v.contiguous() for k, v in other.state_dict().items()}
    state["conv1.0.weight"] = torch.zeros(5, 3, 3, 3)
    save_file(state, str(path))
    with pytest.raises(ValueError, match=r"shapes differ: conv1\.0\.weight \(5, 3, 3, 3\) in the file, "
                                         r"\(24, 3, 3, 3\) in the model"):
        explorer.load_model("timm:resnet10t", weights=path, device="cpu")
    with pytest.raises(ValueError, match="labels: 3 class names for a head of 7 classes"):
        explorer.load_model("timm:resnet10t", weights=path, labels=["a", "b", "c"], device="cpu")
    del state["fc.bias"]
    state["extra"] = torch.zeros(1)
    save_file(state, str(path))
    with pytest.raises(ValueError, match="the file lacks fc.bias; the model has no extra"):
        explorer.load_model("timm:resnet10t", weights=path, device="cpu")


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("file_name", ["weights.pt", "weights.safetensors"])
def test_a_pickle_is_refused_in_words_and_its_code_never_runs(tmp_path, file_name):
    marker = tmp_path / "the pickle ran"
    path = tmp_path / file_name
    path.write_bytes(pickle.dumps({"fc.weight": _Payload(marker)}))
    with pytest.raises(ValueError, match="is not a safetensors file .*Python pickle"):
        explorer.load_model("timm:resnet10t", weights=path, device="cpu")
    torch.save({"x": _Payload(marker)}, tmp_path / "zipped.safetensors")
    with pytest.raises(ValueError, match="zip archive .*torch.save"):
        explorer.load_model("timm:resnet10t", weights=tmp_path / "zipped.safetensors", device="cpu")
    assert not marker.exists()


@pytest.mark.parametrize("name,words", [
    ("timm:resnet1800", r"not a timm model; did you mean timm:resnet18.*timm\.list_models\('resnet\*'\)"),
    ("timm:vit_tiny_patch16_224", "not a CNN the app can show: it cuts the picture into tokens"),
    ("timm:mixer_s16_224", "not a CNN the app can show"),
    ("timm:resnet18.no_such_tag", "no weights tagged 'no_such_tag'.*resnet18.a1_in1k"),
    ("timm:", "not a timm model"),
    ("resnet18x", r"unknown name.*timm:<name>"),
])
def test_bad_names_are_refused_with_what_would_work(name, words):
    with pytest.raises(ValueError, match=words):
        get_model(name)


def test_the_caps_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("EXPLORER_OWN_MODEL_MAX_MPARAMS", "3")
    timm_models.facts.cache_clear()
    try:
        with pytest.raises(ValueError, match="5 million parameters; the limit here is 3 million"):
            get_model("timm:resnet10t")
        monkeypatch.setenv("EXPLORER_OWN_MODEL_MAX_MPARAMS", "100")
        monkeypatch.setenv("EXPLORER_OWN_MODEL_MAX_SIDE", "128")
        timm_models.facts.cache_clear()
        with pytest.raises(ValueError, match="176x176 pictures; the limit here is 128"):
            get_model("timm:resnet10t")
    finally:
        timm_models.facts.cache_clear()


def test_offline_it_is_the_untrained_architecture_and_the_note_says_so():
    model, note = get_model("timm:tinynet_e")
    assert not model.pretrained and model.display_name == "timm tinynet_e (untrained)"
    assert "untrained here" in note and "Hugging Face" in note


def _hub_cache(cache, repo: str, state: dict) -> None:
    """A Hugging Face cache holding `repo`'s model.safetensors, as hf_hub_download leaves it."""
    commit = "0" * 40
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    (folder / "snapshots" / commit).mkdir(parents=True)
    save_file(state, str(folder / "snapshots" / commit / "model.safetensors"))


def test_pretrained_weights_come_from_the_hugging_face_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    torch.manual_seed(5)
    source = timm.create_model("tinynet_e.in1k")
    repo = timm_models.facts("tinynet_e.in1k").hub_repo
    assert repo
    _hub_cache(tmp_path, repo, {k: v.contiguous() for k, v in source.state_dict().items()})
    model = load_model("timm:tinynet_e.in1k", device="cpu")
    assert model.pretrained
    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.module.state_dict()[key], value)
    monkeypatch.setenv("SPACE_ID", "someone/cnn-explorer")
    assert timm_models.waiting("timm:tinynet_e.in1k") == ""        # cached: nothing to download


def test_a_visitors_model_belongs_to_their_session(tmp_path):
    reference = timm.create_model("tinynet_e", num_classes=2)
    path = tmp_path / "m.safetensors"
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(path))
    key = timm_models.own_model("timm:tinynet_e", path, ["a", "b"], session="visitor-1")
    model, _ = get_model(key)
    assert model.labels == ["a", "b"] and model.pretrained
    assert any(m.name == key for m, _ in explorer.core.models.loaded_models())
    explorer.core.state.STORES.forget_session("visitor-1")
    assert not any(m.name == key for m, _ in explorer.core.models.loaded_models())
    with pytest.raises(ValueError, match="session that has ended"):
        get_model(key)


def test_on_a_space_the_hub_weights_download_in_the_background(tmp_path, monkeypatch):
    """The download path with the Hub stood in for by a function that places the checkpoint in a temporary
    Hugging Face cache when let go (no network): first "downloading...", then the pretrained model."""
    import threading

    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    from explorer.core import safe_weights
    from explorer.core.weights import WeightsDownloading

    torch.manual_seed(6)
    source = {k: v.contiguous() for k, v in timm.create_model("lcnet_050.ra2_in1k").state_dict().items()}
    repo, let_go = timm_models.facts("lcnet_050.ra2_in1k").hub_repo, threading.Event()
    path = tmp_path / "model.safetensors"

    def hub(repo_id, filename, local_files_only=False, **_):
        assert (repo_id, filename) == (repo, "model.safetensors")
        if not local_files_only:
            let_go.wait(30)
            save_file(source, str(path))
        if not path.exists():
            raise LocalEntryNotFoundError("not in the cache")
        return str(path)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hub)
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", lambda url: type("M", (), {"size": 8 << 20})())
    monkeypatch.setenv("SPACE_ID", "someone/cnn-explorer")
    with pytest.raises(WeightsDownloading, match="downloading timm lcnet_050.ra2_in1k weights from the Hugging "
                                                 "Face Hub: 0 of 8 MB"):
        get_model("timm:lcnet_050.ra2_in1k")
    let_go.set()
    for _ in range(300):
        if safe_weights.HUB.state("timm:lcnet_050.ra2_in1k") == "done":
            break
        threading.Event().wait(0.05)
    model, note = get_model("timm:lcnet_050.ra2_in1k")
    assert model.pretrained and note == ""
    torch.testing.assert_close(model.module.state_dict()["conv_stem.weight"], source["conv_stem.weight"])


def test_architecture_features_and_trust_on_a_timm_model():
    summary = explorer.summarize("timm:tinynet_e")
    assert summary.input_size == (3, 106, 106) and summary.total_params == timm_models.facts("tinynet_e").params
    (row,) = explorer.compare(["timm:tinynet_e"], runs=1)
    assert row.title == "timm tinynet_e" and row.input_size == (3, 106, 106)
    model, _ = get_model("timm:tinynet_e")
    picture = _cat_picture()
    assert explorer.visualize(model, 2, 0, steps=4).image.size[0] > 0
    assert explorer.trust_check(model, picture, "saliency") is not None


def test_an_upload_over_the_cap_is_refused_and_half_precision_loads(tmp_path, monkeypatch):
    torch.manual_seed(7)
    reference = timm.create_model("tinynet_e", num_classes=2).eval()
    path = tmp_path / "half.safetensors"
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in reference.state_dict().items()},
              str(path))
    monkeypatch.setenv("EXPLORER_OWN_MODEL_UPLOAD_MB", "1")
    with pytest.raises(ValueError, match=r"half.safetensors is \d MB; the limit is 1 MB \(EXPLORER_OWN_MODEL_UPLOAD_MB\)"):
        timm_models.own_model("timm:tinynet_e", path, ["a", "b"], session="uploader")
    model = explorer.load_model("timm:tinynet_e", weights=path, labels=["a", "b"], device="cpu")   # a path: no cap
    assert next(model.module.parameters()).dtype == torch.float32
    torch.testing.assert_close(model.module.state_dict()["conv_stem.weight"],
                               reference.state_dict()["conv_stem.weight"].half().float())


def test_a_timm_model_s_gpu_slot_is_sized_from_its_measured_macs():
    from explorer.core.gpu import model_gmacs
    from explorer.core.trace import total_macs
    module = timm.create_model("resnet10t").eval()
    assert model_gmacs("timm:resnet10t") == pytest.approx(total_macs(module, (3, 176, 176)) / 1e9)


def test_timm_models_count_in_the_byte_budget_and_go_least_recently_used_first(monkeypatch):
    from explorer.core import models

    store = models._store
    get_model("timm:lcnet_050")
    size = models.model_bytes(get_model("timm:lcnet_050")[0])
    loaded = {m.name for m, _ in models.loaded_models()}
    monkeypatch.setattr(store, "budget_bytes", store.loaded_bytes() + size // 2)
    get_model("timm:mobilenetv3_small_050")        # does not fit beside everything: the oldest go first
    now = [m.name for m, _ in models.loaded_models()]
    assert now[-1] == "timm:mobilenetv3_small_050" and store.loaded_bytes() <= store.budget_bytes
    assert len(set(now) & loaded) < len(loaded)
