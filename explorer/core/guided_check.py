"""Whether guided backpropagation (Guided Grad-CAM) is valid on a model: Captum overrides the gradients of
nn.ReLU modules only, so it is right only when every rectifier is an nn.ReLU module called once per
forward pass. Read off the trace of one pass on the meta device (explorer.core.trace), once per
registered model; explorer.core.attribution offers the guided method only where it is valid."""
import weakref

import torch
from PIL import Image, ImageDraw
from torch import nn

from explorer.core.loaded_model import LoadedModel
from explorer.core.models import load_model
from explorer.core.registry import find
from explorer.core.state import STORES
from explorer.core.trace import traced_pass
from explorer.core.words import say

# rectifiers by explorer.core.trace.op_name (relu_ is relu)
_RECTIFIERS = {"relu", "relu6", "hardtanh", "leaky_relu", "silu", "hardswish", "gelu", "elu", "selu", "celu",
               "mish", "prelu", "rrelu", "softplus"}


# The verdicts are kept as (valid, why, what): `why` a key of WHY, `what` the modules or functions it names;
# the words are made when asked for, in the language spoken then.
Found = tuple[bool, str, str]
_guided_ok: "weakref.WeakKeyDictionary[nn.Module, Found]" = STORES.register(
    "attribution.guided_ok", weakref.WeakKeyDictionary(), "whether guided backprop is valid, per loaded module")
_guided_by_name: dict[str, Found] = STORES.register("attribution.guided_validity", {}, "whether guided backprop is valid, per model")

WHY = {
    "outside": ("it applies {what} outside nn.ReLU modules, which guided backpropagation cannot see",
                "它在 nn.ReLU 模块之外使用了 {what}，引导反向传播看不到这些激活函数"),
    "reused": ("it reuses one ReLU module several times per pass ({what})",
               "它在一次前向传播中把同一个 ReLU 模块用了好几次（{what}）"),
    "none": ("it has no ReLU", "它没有 ReLU"),
    "valid": ("every ReLU is its own nn.ReLU module", "每个 ReLU 都是单独的 nn.ReLU 模块"),
}


def _words(found: Found) -> tuple[bool, str]:
    """(valid, why in words, in the language spoken now)."""
    valid, why, what = found
    return valid, say(*WHY[why], what=what)


def _probe_input(model: LoadedModel) -> torch.Tensor:
    """A picture every model accepts (photos and sketches alike): a dark square on white."""
    picture = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(picture).rectangle((96, 64, 160, 192), fill="black")
    return model.preprocess(picture)


def _known(name) -> bool:
    """Whether the name rebuilds its architecture (registered, or a "timm:<name>" still known)."""
    try:
        return find(name) is not None
    except ValueError:
        return False


def _structure(model: LoadedModel) -> tuple[nn.Module, torch.Tensor]:
    """The model's architecture on the meta device, with a probe input there: a pass through it runs
    the same modules and functions with no arithmetic and no data (nothing for a GPU to do)."""
    parameter = next(model.module.parameters(), None)
    if _known(model.name) and (parameter is None or parameter.device.type != "meta"):
        model = load_model(model.name, pretrained=False, device="meta")
    return model.module, _probe_input(model).to(model.device)


def guided_backprop_check(model: LoadedModel) -> tuple[bool, str]:
    """(valid, why): guided backpropagation is right only when every rectifier is an nn.ReLU module
    called exactly once per forward pass (Captum overrides gradients on nn.ReLU modules only). The
    check is of the architecture: it runs on the meta device, once per registered model."""
    if model.name in _guided_by_name:
        return _words(_guided_by_name[model.name])
    if model.module in _guided_ok:
        return _words(_guided_ok[model.module])
    verdict = _guided_verdict(model)
    if _known(model.name):
        _guided_by_name[model.name] = verdict
    _guided_ok[model.module] = verdict
    return _words(verdict)


def _guided_verdict(model: LoadedModel) -> Found:
    """The verdict read off the trace of one pass on the meta device: which modules ran how often, and
    which module was running when each rectifier was applied."""
    module, x = _structure(model)
    with model.lock, torch.no_grad():
        traced = traced_pass(module, x)[1]
    relus = {path for path, m in module.named_modules() if isinstance(m, nn.ReLU)}
    outside = {op for op, path in traced.op_callers if op in _RECTIFIERS and path not in relus}
    reused = sorted(path for path in relus if traced.module_calls.get(path, 0) > 1)
    if outside:
        found = ", ".join(sorted("ReLU6 (hardtanh)" if n == "hardtanh" else n for n in outside))
        return False, "outside", found
    if reused:
        return False, "reused", ", ".join(reused[:3])
    return (False, "none", "") if not relus else (True, "valid", "")


def registered_verdict(name: str) -> tuple[bool, str]:
    """guided_backprop_check of the registered model `name`, on its architecture alone (no weights loaded)."""
    if name in _guided_by_name:
        return _words(_guided_by_name[name])
    return guided_backprop_check(load_model(name, pretrained=False, device="meta"))
