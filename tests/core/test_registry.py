"""The registry holds each model's facts, and the package decides by those facts, never by a model's name:
adding a model is one register() call."""
import ast
from pathlib import Path

import pytest
import torch
import torchvision
from PIL import Image

from explorer.core import architecture, models, warmup
from explorer.core.models import IMAGENET, REGISTRY, load_model

PACKAGE = Path(__file__).resolve().parents[2] / "explorer"
DEFAULT_NAMES = {"DEFAULT_MODEL", "SKETCH_MODEL"}   # defaults to start with, never switches


def _is_name(node, names: set[str]) -> bool:
    """A registered model's name, a default model's constant, or a literal collection of names."""
    if isinstance(node, ast.Constant):
        return node.value in names
    if isinstance(node, (ast.Name, ast.Attribute)):
        return (node.id if isinstance(node, ast.Name) else node.attr) in DEFAULT_NAMES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_name(item, names) for item in node.elts)
    return False


def name_tests(source: str, names: set[str], prefixes: set[str]) -> list[str]:
    """Where `source` decides by a model's name: comparing with a name (==, !=, in, match), a table keyed
    by names, or matching the start or end of a name or of a registry fact (`source.startswith("torch")`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(_is_name(n, names) for n in (node.left, *node.comparators)):
            found.append(f"line {node.lineno}: compares with a model's name")
        elif isinstance(node, ast.Dict) and any(k is not None and _is_name(k, names) for k in node.keys):
            found.append(f"line {node.lineno}: a table keyed by model names")
        elif isinstance(node, ast.match_case) and any(_is_name(p.value, names) for p in ast.walk(node.pattern)
                                                      if isinstance(p, ast.MatchValue)):
            found.append(f"line {node.pattern.lineno}: matches a model's name")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("startswith", "endswith") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and any(getattr(p, node.func.attr)(node.args[0].value) for p in prefixes)):
            found.append(f"line {node.lineno}: matches part of a model's name or facts")
    return found


def _names_and_facts() -> tuple[set[str], set[str]]:
    return set(REGISTRY), set(REGISTRY) | {entry.source for entry in REGISTRY.values()}


def test_the_name_check_finds_each_kind_of_special_case():
    names, prefixes = _names_and_facts()
    cases = ['if name == "cnnnet": pass', 'x = f(n) if n not in ("cnnnet", "digits") else {}',
             'ok = entry.source.startswith("torchvision")', 'if model_name == SKETCH_MODEL: pass',
             'FIGURES = {"alexnet": 15.3}', 'match name:\n    case "googlenet": pass',
             'kw = {} if models.DEFAULT_MODEL != name else {"a": 1}']
    for case in cases:
        assert name_tests(case, names, prefixes), case
    assert not name_tests('register("digits", "Digits", build, input_kind="sketch")\n'
                          'if entry.input_kind == "sketch": pass\nname = name or DEFAULT_MODEL', names, prefixes)


def test_no_code_in_the_package_tests_a_model_name_to_decide_behaviour():
    names, prefixes = _names_and_facts()
    found = [f"{path.relative_to(PACKAGE.parent)} {where}" for path in sorted(PACKAGE.rglob("*.py"))
             for where in name_tests(path.read_text(), names, prefixes)]
    assert not found, "decide by the registry entry's facts instead:\n" + "\n".join(found)


def test_torchvision_entries_carry_their_weights_metadata():
    for name, entry in REGISTRY.items():
        if not entry.download_url:
            continue
        weights = torchvision.models.get_model_weights(name).DEFAULT
        metrics = weights.meta["_metrics"]["ImageNet-1K"]
        assert entry.download_url == weights.url and entry.download_mb == weights.meta["_file_size"] > 0
        assert (entry.accuracy.top1, entry.accuracy.top5, entry.accuracy.data) == (
            metrics["acc@1"], metrics["acc@5"], IMAGENET)
        assert entry.gmacs == weights.meta["_ops"] and entry.has_weights


def test_compare_and_the_warm_up_read_the_entries():
    assert set(warmup.downloaded_names()) == {n for n, e in REGISTRY.items() if e.download_url}
    assert warmup.download_of("vgg16").url == REGISTRY["vgg16"].download_url
    assert architecture.imagenet_metrics("vgg16")["top1"] == REGISTRY["vgg16"].accuracy.top1
    assert architecture.imagenet_metrics("digits") == {}      # recorded, but not on ImageNet
    assert architecture.CHAPTER_TOP5_ERROR == {n: (e.chapter.top5_error, e.chapter.model, e.chapter.year)
                                               for n, e in REGISTRY.items() if e.chapter}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_entry_s_input_size_is_what_its_preprocessing_gives(name):
    with torch.device("meta"):
        model = load_model(name, pretrained=False, device="meta")
    picture = Image.new("RGB", (300, 240), "white")
    if REGISTRY[name].input_kind == "sketch":
        picture.paste((0, 0, 0), (140, 60, 160, 180))          # a stroke: an empty sketch is refused
    assert tuple(model.preprocess(picture).shape[1:]) == REGISTRY[name].input_size
    assert architecture.model_input_size(name) == REGISTRY[name].input_size


def test_an_untrained_copy_has_the_architecture_of_the_pretrained_weights():
    """torchvision's pretrained GoogLeNet has no auxiliary heads: neither has its untrained copy."""
    module = load_model("googlenet", pretrained=False).module
    assert REGISTRY["googlenet"].untrained_options and module.aux1 is None and module.aux2 is None
    assert not any(key.startswith("aux") for key in module.state_dict())
    assert models.estimated_bytes("googlenet") == models.module_bytes(module)


def test_a_model_without_weights_says_so_by_its_entry(monkeypatch):
    monkeypatch.setattr(models, "_store", models.ModelStore(models._load_shared, 2**30))
    for name, entry in REGISTRY.items():
        if entry.has_weights:
            continue
        model, note = models.get_model(name)
        assert entry.note and note == entry.note and model.display_name == entry.title


def test_a_new_model_is_one_register_call():
    """Registered with its facts, a model is found by everything that reads the registry."""
    def build(pretrained, **untrained_options):
        module = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4 * 10 * 10, 2))
        return models.Built(module, lambda image: torch.zeros(1, 12, 12), ["yes", "no"], False)

    models.register("tiny", "Tiny", build, source="a test", has_weights=False, note="Tiny is a test.",
                    input_kind="sketch", input_size=(1, 12, 12))
    try:
        assert architecture.model_input_size("tiny") == (1, 12, 12) and architecture.model_title("tiny") == "Tiny"
        assert architecture.imagenet_metrics("tiny") == {} and "tiny" not in warmup.downloaded_names()
        assert load_model("tiny").display_name == "Tiny"
        assert "tiny" in architecture.model_names()
    finally:
        del REGISTRY["tiny"]
