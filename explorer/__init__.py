"""CNN Explorer: learn and inspect convolutional neural networks, exactly as PyTorch computes them.

The package has three layers, each importing only the ones before it:

- `explorer.core`: the computing (models and their registry, the trace of a forward pass, sliding a
  kernel, attribution, feature visualisation); torch, captum and numpy, no pictures and no gradio.
- `explorer.drawing`: the pictures (kernel frames, feature-map grids, unit diagrams, architecture
  diagrams, saliency sheets); PIL and matplotlib, no gradio.
- `explorer.ui`: the Gradio app, one module per tab; the only place that imports gradio.

The modules' earlier flat names (`explorer.models`, `explorer.stages`, `explorer.sliding`, ...) are
the public API the README and notebooks use: each is the same module object as its new home, so
`from explorer.models import get_model` and `from explorer.core.models import get_model` agree.
"""
import importlib
import importlib.abc
import importlib.util
import sys

# flat name -> where the module lives now
MOVED = {
    **{name: f"explorer.core.{name}" for name in (
        "architecture", "architecture_fit", "attribution", "bridge", "budgets", "digits", "downloads",
        "features", "gpu", "images", "layer_playground", "memory", "models", "nets", "recent", "sliding",
        "stages", "trust", "warmup")},
    "architecture_trace": "explorer.core.trace",
    **{name: f"explorer.drawing.{name}" for name in (
        "architecture_drawing", "feature_maps", "kernel_frames", "kernel_presets", "unit_drawing")},
    **{name: f"explorer.ui.{name}" for name in (
        "architecture_tab", "gradio_patches", "kernel_tab", "number_inputs", "picture_input",
        "saliency_tab", "stages_tab", "upload")},
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves `explorer.<flat name>` to the module at its new home (one module object, not a copy)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith("explorer.") and fullname[len("explorer."):] in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name[len("explorer."):]])

    def exec_module(self, module):
        pass   # already executed under its own name


if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
    sys.meta_path.append(_Alias())
