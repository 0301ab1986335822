"""What a visitor reads that has no Chinese: the page's components (their labels, info texts, placeholders,
choices, buttons, tab names and Markdown), and the messages the code raises or shows.

A text with no Latin word (numbers, symbols) needs no translation; names that stay as they are in both
languages (models, layers, methods, ImageNet's English class names, code) are listed in KEPT."""
from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path

import gradio as gr
from gradio.i18n import I18nData

ROOT = Path(__file__).resolve().parents[1]
WORD = re.compile(r"[A-Za-z]{2,}")
# Names kept as they are in both languages (the issue: model names, code and layer names stay).
KEPT_WORDS = {
    "PyTorch", "CNN", "CNNs", "Captum", "ImageNet", "GIF", "MACs", "MAC", "timm", "safetensors", "API", "MCP",
    "AlexNet", "VGG", "ResNet", "EfficientNet", "Lite0", "GoogLeNet", "Inception", "MobileNet", "LeNet",
    "Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "BatchNorm2d", "BatchNorm", "Dropout", "Linear", "Softmax",
    "Grad", "CAM", "GradCAM", "Guided", "Backprop", "Integrated", "Gradients", "Occlusion", "Saliency",
    "SmoothGrad", "DeepLift", "LRP", "RGB", "CPU", "GPU", "ZeroGPU", "MNIST", "px", "pt", "GMAC", "GMACs",
    "MB", "KB", "GB", "ms", "softmax", "logit", "logits", "top", "nn", "torch", "torchvision", "cuda",
    "Python", "HTTP", "URL", "Gradio", "Hugging", "Face", "Spaces", "ROAD", "Lucid", "DeepVis", "Explainer",
    "TorchCAM", "kernel_size", "stride", "padding", "dilation", "x", "HxW",
}


def _letters(text) -> bool:
    """Whether a visitor-facing text has a Latin word that is not a kept name."""
    if not isinstance(text, str):
        return False
    if text.startswith("__i18n__"):
        return False
    visible = re.sub(r"<style.*?</style>|<script.*?</script>|<[^>]+>|`[^`]*`", " ", text, flags=re.S)
    visible = html.unescape(visible)
    return any(w not in KEPT_WORDS for w in WORD.findall(visible))


def _is_data(value) -> bool:
    """A JSON object held by a gr.HTML for its script (the Kernel tab's player): data, not words shown as
    they are (the script shows the words it carries in the page's language)."""
    if not isinstance(value, str) or not value.startswith("{"):
        return False
    try:
        return isinstance(json.loads(value), dict)
    except ValueError:
        return False


def _children(block, tab=None):
    for child in getattr(block, "children", None) or []:
        inner = child.id if isinstance(child, gr.Tab) and tab is None else tab      # the outermost tab
        yield child, inner
        yield from _children(child, inner)


def untranslated_components(demo: gr.Blocks, tab: str | None = "*", kept: set[str] = frozenset()) -> list[str]:
    """'Component.attr: text' for each fixed text of the page (under the gr.Tab whose id is `tab`; "*" for
    all) that is a plain string with a Latin word: it should be explorer.ui.words.t(en, zh). Texts in
    `kept` (model names, class names) are left alone."""
    found = []
    for block, where in _children(demo):
        if tab != "*" and where != tab:
            continue
        name = type(block).__name__
        texts = [(attr, getattr(block, attr, None)) for attr in ("label", "info", "placeholder")]
        if isinstance(block, (gr.Markdown, gr.Button, gr.HTML, gr.DownloadButton)) and not _is_data(block.value):
            texts.append(("value", block.value))
        for choice in getattr(block, "choices", None) or []:
            texts.append(("choice", choice[0] if isinstance(choice, (tuple, list)) else choice))
        if isinstance(block, gr.Tab):
            texts.append(("label", block.label))
        for attr, text in texts:
            if isinstance(text, I18nData) or not isinstance(text, str) or text in kept:
                continue
            if _letters(text):
                found.append(f"{name}.{attr} ({where}): {text[:70]!r}")
    return sorted(set(found))


SHOWN_CALLS = {"Warning", "Info", "Error"}
DRAWN_CALLS = {"text", "set_title", "suptitle", "set_xlabel", "set_ylabel", "annotate", "legend", "title",
               "multiline_text"}


def _is_text(node) -> bool:
    """A literal string or f-string with a Latin word in its literal parts."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _letters(node.value)
    if isinstance(node, ast.JoinedStr):
        return _letters("".join(v.value for v in node.values if isinstance(v, ast.Constant)))
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    return False


def untranslated_messages(path: Path) -> list[str]:
    """'file:line: text' for each message in `path` a visitor may read that is a plain literal: an
    exception raised with a literal message, gr.Warning/Info/Error with one, or a literal drawn into a
    picture (ax.text, set_title, ImageDraw.text, ...). Each should be explorer.core.words.say(en, zh)."""
    found = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        args = []
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            args = node.exc.args[:1]
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in SHOWN_CALLS and isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "gr":
                args = node.args[:1]
            elif called in DRAWN_CALLS and "drawing" in path.parts:
                args = list(node.args) + [k.value for k in node.keywords if k.arg in ("label", "s", "text")]
        for arg in args:
            if _is_text(arg):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(arg)[:70]}")
    return found
