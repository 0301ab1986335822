"""Is the chapter's model AlexNet? Two networks compared layer by layer (type and hyperparameters) and by
their outputs on the same input with the same weights."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

DEFAULT_INPUT = (3, 224, 224)

@dataclass
class LayerMatch:
    index: int
    name_a: str
    layer_a: str
    name_b: str
    layer_b: str
    verdict: str        # "same", "same maths" (differs only in a setting that leaves the numbers alone), "different"
    differences: list[str]


# Settings that change how memory is used but never the numbers a layer gives.
STORAGE_ONLY = {"inplace"}


def hyperparameters(module: nn.Module) -> dict:
    """The settings PyTorch declares for a layer type (its __constants__) plus its parameter shapes."""
    values = {key: getattr(module, key) for key in getattr(module, "__constants__", []) if hasattr(module, key)}
    for key, param in module.named_parameters(recurse=False):
        values[f"{key}.shape"] = tuple(param.shape)
    return values


def match_layers(a: nn.Module, b: nn.Module) -> list[LayerMatch]:
    """Pair the layers of `a` and `b` in registration order and compare type and every setting."""
    layers_a = [(n, m) for n, m in a.named_modules() if not any(True for _ in m.children())]
    layers_b = [(n, m) for n, m in b.named_modules() if not any(True for _ in m.children())]
    matches = []
    for i in range(max(len(layers_a), len(layers_b))):
        name_a, mod_a = layers_a[i] if i < len(layers_a) else ("", None)
        name_b, mod_b = layers_b[i] if i < len(layers_b) else ("", None)
        differences = []
        if mod_a is None or mod_b is None:
            differences.append("missing on one side")
            verdict = "different"
        else:
            if type(mod_a) is not type(mod_b):
                differences.append(f"type {type(mod_a).__name__} ≠ {type(mod_b).__name__}")
            ha, hb = hyperparameters(mod_a), hyperparameters(mod_b)
            for key in sorted(set(ha) | set(hb)):
                if ha.get(key, "—") != hb.get(key, "—"):
                    differences.append(f"{key}: {ha.get(key, '—')} ≠ {hb.get(key, '—')}")
            if name_a != name_b:
                differences.append(f"name {name_a} ≠ {name_b}")
            keys = {d.split(":")[0] for d in differences}
            verdict = "same" if not differences else ("same maths" if keys <= STORAGE_ONLY else "different")
        matches.append(LayerMatch(i + 1, name_a, repr(mod_a) if mod_a is not None else "",
                                  name_b, repr(mod_b) if mod_b is not None else "", verdict, differences))
    return matches


def same_outputs(a: nn.Module, b: nn.Module, input_size=DEFAULT_INPUT, seed: int = 0) -> dict:
    """Load b's state_dict into a copy of a (strict: every name and shape must match), run both in eval
    mode on the same random image, and report how far their outputs are apart."""
    import copy

    a = copy.deepcopy(a).eval()
    b = b.eval()
    missing = a.load_state_dict(b.state_dict(), strict=False)
    loaded = not missing.missing_keys and not missing.unexpected_keys
    x = torch.randn(2, *input_size, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        out_a, out_b = a(x), b(x)
    return {"state_dict_keys": len(b.state_dict()), "loaded": loaded,
            "missing": list(missing.missing_keys), "unexpected": list(missing.unexpected_keys),
            "output_shape": tuple(out_a.shape), "max_abs_difference": float((out_a - out_b).abs().max()),
            "equal": bool(torch.equal(out_a, out_b))}
