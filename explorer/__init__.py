"""CNN Explorer: learn and inspect convolutional neural networks, exactly as PyTorch computes them.

The public Python API is what this module exports (``explorer.__all__``); each function's docstring
says its arguments, what it returns and what it raises, and docs/api.md gathers them:

>>> import explorer
>>> explorer.slide([[10, 11, 9, 3], [2, 123, 4, 0], [45, 237, 23, 99], [20, 67, 22, 255]],
...               [[1, 0], [1, 0]], stride=2).output          # the chapter's example
array([[12., 13.],
       [65., 45.]])

Everything deeper is the code's own and may move. The package has three layers, each importing only
the ones before it (tests/test_layout.py):

- `explorer.core`: the computing (models and their registry, the trace of a forward pass, sliding a
  kernel, attribution, feature visualisation); torch, captum and numpy, no pictures and no gradio.
- `explorer.drawing`: the pictures (kernel frames, feature-map grids, unit diagrams, architecture
  diagrams, saliency sheets); PIL and matplotlib, no gradio.
- `explorer.ui`: the Gradio app, one module per tab; the only place that imports gradio.

Beside them, `explorer.lesson` (with explorer.lesson_page and explorer.lesson_answers) is the chapter as a
lesson: its pages, their Try it state and their checked questions, in pure Python (core and drawing only).
"""
from explorer import lesson  # the lesson's pages: explorer.lesson.PAGES
from explorer.core.architecture import compare, summarize
from explorer.core.attribution import METHODS, attribute, explain
from explorer.core.bridge import explain_unit
from explorer.core.features import visualize
from explorer.core.models import DEFAULT_MODEL, MODEL_NAMES, get_model, load_model
from explorer.core.sliding import pytorch_code, slide
from explorer.core.stages import capture_stages
from explorer.core.trust import trust_check

__all__ = [
    "DEFAULT_MODEL", "METHODS", "MODEL_NAMES", "attribute", "capture_stages", "compare", "explain",
    "explain_unit", "get_model", "lesson", "load_model", "pytorch_code", "slide", "summarize", "trust_check", "visualize",
]
