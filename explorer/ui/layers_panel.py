"""The Architecture tab's "Other layers on your matrix" panel: ReLU, Dropout, BatchNorm2d and adaptive
pooling on a matrix of the learner's own, as tables and in words."""
from __future__ import annotations

import html
import random
from dataclasses import dataclass

import gradio as gr
import numpy as np

from explorer.core import layer_playground as lp
from explorer.ui.by_name import Components, event
from explorer.ui.number_inputs import NumberInput, SliderInput
from explorer.ui.queues import MODEL_QUEUE

# The chapter's matrix has no negatives (ReLU would change nothing) and a 4x4 input that 2x2 adaptive
# pooling cuts like plain pooling; this one shows every layer at work.
LAYERS_EXAMPLE = [[-3, 1, 4, -1, 5], [9, -2, 6, 5, -3], [5, 8, -9, 7, 9], [-3, 2, 3, -8, 4], [6, -2, 6, 4, -3]]


def _frame(values: np.ndarray) -> list[list[float | str]]:
    # Huge inputs overflow to inf / nan exactly as in PyTorch; JSON would turn those into empty cells.
    return [[round(float(v), 4) if np.isfinite(v) else str(float(v)) for v in row] for row in values]


# The panel's ten views of layer_results, by LayersPanel field name, in /layers' output order.
VIEW_NAMES = ("relu", "drop_train", "drop_eval", "drop_md", "bn_train", "bn_eval", "bn_md", "avg", "max", "pool_md")


def layer_results(matrix, p, seed, out_h, out_w) -> dict:
    """The panel's ten views (tables and words) for these inputs, by VIEW_NAMES; ValueError names a bad
    one. BatchNorm on a single number is no mistake of the learner's: its tables stay empty, and its
    text says why."""
    m = lp.to_matrix(matrix)
    if p is None or not 0 <= p <= 1:
        raise ValueError(f"dropout p: between 0 and 1, got {p}")
    if seed is None or int(seed) != seed:
        raise ValueError(f"seed: a whole number, got {seed}")
    avg, rows_w, cols_w = lp.adaptive_pool(m, out_h, out_w, "avg")
    mx, _, _ = lp.adaptive_pool(m, out_h, out_w, "max")
    train = lp.dropout(m, p, int(seed), train=True)
    evaluated = lp.dropout(m, p, int(seed), train=False)
    dropped = int((train == 0).sum() - (m == 0).sum())
    scale = "∞" if p == 1 else f"{1 / (1 - p):.4g}"
    drop_md = (f"Train mode, seed {int(seed)}: {dropped} of {m.size} values zeroed, the rest multiplied by "
               f"1/(1−p) = {scale} so the expected sum stays the same. Eval mode: the input passes unchanged.")
    windows = "; ".join(f"rows {a}–{b - 1}" for a, b in rows_w) + " × " + "; ".join(
        f"cols {a}–{b - 1}" for a, b in cols_w)
    pool_md = (f"{m.shape[0]}×{m.shape[1]} → {int(out_h)}×{int(out_w)} whatever the input size. Windows "
               f"(start = ⌊i·in/out⌋, end = ⌈(i+1)·in/out⌉, rows and columns counted from 0): {windows}.")
    return dict(relu=_frame(lp.relu(m)), drop_train=_frame(train), drop_eval=_frame(evaluated), drop_md=drop_md,
                **_batchnorm_views(m), avg=_frame(avg), max=_frame(mx), pool_md=pool_md)


def _batchnorm_views(m: np.ndarray) -> dict:
    try:
        bn = lp.batchnorm(m)
    except ValueError as error:
        return dict(bn_train=None, bn_eval=None, bn_md=f"Not measurable: {error}.")
    bn_md = (f"Batch statistics of this one-image batch: mean **{bn['batch_mean']:.4g}**, variance "
             f"**{bn['batch_var']:.4g}** (biased, used to normalise); output = (x − mean) / √(var + {bn['eps']}) "
             f"× weight ({bn['weight']:g}) + bias ({bn['bias']:g}), so the train-mode output has mean 0 and "
             f"variance 1. The running statistics moved {bn['momentum']} of the way: running_mean "
             f"{bn['running_mean']:.4g}, running_var {bn['running_var']:.4g} (from the unbiased variance "
             f"{bn['batch_var_unbiased']:.4g}); eval mode uses those instead of the batch's.")
    return dict(bn_train=_frame(bn["train_output"]), bn_eval=_frame(bn["eval_output"]), bn_md=bn_md)


def run_layers(matrix, p, seed, out_h, out_w):
    """Run ReLU, Dropout, BatchNorm2d and adaptive average and max pooling on a small matrix exactly as PyTorch does, and say what each did.

    Example: matrix [[-3,1],[9,-2]] gives ReLU [[0,1],[9,0]]; with out_h 1 and out_w 1 the adaptive average pooling gives [[1.25]] and the adaptive max pooling [[9]].

    Args:
        matrix: the input, a table of numbers (a list of rows, e.g. [[-3,1,4],[9,-2,6]]; or {"headers": [...], "data": [[...]]}), used as one 1-channel picture.
        p: the dropout probability, a number from 0 to 1 (e.g. 0.5): each value is zeroed with this probability in train mode.
        seed: a whole number (e.g. 0) seeding the dropout mask, so the same seed gives the same mask.
        out_h: the adaptive pooling's output height, a whole number from 1 to 64 (e.g. 2), whatever the matrix's height.
        out_w: the adaptive pooling's output width, a whole number from 1 to 64 (e.g. 2).

    Returns:
        nn.ReLU()'s output: negatives become 0.
        nn.Dropout(p)'s output in train mode: some values zeroed, the rest multiplied by 1/(1-p).
        nn.Dropout(p)'s output in eval mode: the input unchanged.
        In words: how many values dropout zeroed and by how much it scaled the rest.
        nn.BatchNorm2d(1)'s output in train mode (normalised with this matrix's own mean and variance); empty for a single number.
        nn.BatchNorm2d(1)'s output in eval mode, with the running statistics after that one training step; empty for a single number.
        In words: the batch mean and variance, the formula with its numbers, and the running statistics (or why a single number cannot be normalised).
        nn.AdaptiveAvgPool2d((out_h, out_w))'s output.
        nn.AdaptiveMaxPool2d((out_h, out_w))'s output.
        In words: the rows and columns each adaptive pooling window covers.
    """
    try:
        views = layer_results(matrix, p, seed, out_h, out_w)
    except ValueError as error:
        raise gr.Error(str(error)) from None
    return tuple(views[name] for name in VIEW_NAMES)


LAYER_MESSAGE_SLOTS = ("matrix", "controls")
LAYERS_VIEW = VIEW_NAMES + ("matrix_msg", "controls_msg")    # every component layers_view may update


def layers_view(values: dict) -> dict:
    """The panel's answer in the page, by LayersPanel field name: fresh views, or the last good ones kept
    (left out), marked as not updated, with the one message beside the input at fault (no toast)."""
    try:
        views = layer_results(values["matrix"], values["p"], values["seed"], values["out_h"], values["out_w"])
    except ValueError as error:
        slot = "matrix" if str(error).startswith("matrix") else "controls"
        text = html.escape(f"{error}. The tables below are not updated: they still show the last numbers that worked.")
        return {f"{name}_msg": gr.HTML(f'<div class="input-msg" role="alert">{text}</div>', visible=True)
                if name == slot else gr.HTML("", visible=False) for name in LAYER_MESSAGE_SLOTS}
    return dict(views, **{f"{name}_msg": gr.HTML("", visible=False) for name in LAYER_MESSAGE_SLOTS})


def use_kernel_matrix(values: dict) -> dict:
    """The Kernel tab's matrix copied into the panel's, and the panel's answer for it."""
    return dict(layers_view({**values, "matrix": values["kernel_matrix"]}), matrix=values["kernel_matrix"])


def use_example(values: dict) -> dict:
    """The example matrix back in the panel, and the panel's answer for it."""
    return dict(layers_view({**values, "matrix": LAYERS_EXAMPLE}), matrix=LAYERS_EXAMPLE)


def new_seed(_values: dict | None = None) -> dict:
    return dict(seed=random.randint(0, 2**31 - 1))


@dataclass(frozen=True)
class LayersPanel(Components):
    matrix: gr.Dataframe
    matrix_msg: gr.HTML
    copy: gr.Button                  # "Use the Kernel tab's matrix"
    example: gr.Button
    p: SliderInput
    seed: NumberInput
    resample: gr.Button
    out_h: NumberInput
    out_w: NumberInput
    controls_msg: gr.HTML
    relu: gr.Dataframe
    drop_train: gr.Dataframe
    drop_eval: gr.Dataframe
    drop_md: gr.Markdown
    bn_train: gr.Dataframe
    bn_eval: gr.Dataframe
    bn_md: gr.Markdown
    avg: gr.Dataframe
    max: gr.Dataframe
    pool_md: gr.Markdown

    @property
    def inputs_of_layers(self) -> list:
        """/layers' parameters, in its order (a contract: tests/ui/api_contract.json)."""
        return [self.matrix, self.p, self.seed, self.out_h, self.out_w]

    @property
    def views(self) -> list:
        """The ten views, in /layers' output order (VIEW_NAMES)."""
        return [getattr(self, name) for name in VIEW_NAMES]


def layout(can_copy: bool) -> LayersPanel:
    """ReLU, Dropout, BatchNorm2d and adaptive pooling on a matrix of the learner's own, which starts
    as an example where each of them visibly does something; with `can_copy`, the Kernel tab's matrix
    can be copied in."""
    gr.Markdown("An example where each layer shows what it does: negatives for ReLU, a spread for "
                "BatchNorm, a 5×5 input that adaptive pooling cuts into overlapping windows. Edit any cell; "
                "the tables follow.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            matrix = gr.Dataframe(LAYERS_EXAMPLE, label="Your matrix", interactive=True, type="array",
                                  datatype="number", elem_id="layers_matrix")
            matrix_msg = gr.HTML("", visible=False, elem_id="layers_matrix_msg")
        with gr.Column(scale=1, min_width=200):
            copy = gr.Button("Use the Kernel tab's matrix", visible=can_copy)
            example = gr.Button("Back to the example")
    with gr.Row():
        p = SliderInput(0, 1, value=0.5, step=0.05, label="Dropout p")
        seed = NumberInput(value=0, precision=0, label="Dropout seed")
        resample = gr.Button("Resample the dropout mask")
        out_h = NumberInput(value=2, precision=0, label="Adaptive pool output height", minimum=1, maximum=64)
        out_w = NumberInput(value=2, precision=0, label="Adaptive pool output width", minimum=1, maximum=64)
    controls_msg = gr.HTML("", visible=False, elem_id="layers_controls_msg")
    return LayersPanel(matrix=matrix, matrix_msg=matrix_msg, copy=copy, example=example, p=p, seed=seed,
                       resample=resample, out_h=out_h, out_w=out_w, controls_msg=controls_msg,
                       **_layer_tables(layer_results(LAYERS_EXAMPLE, 0.5, 0, 2, 2)))


def _layer_tables(first: dict) -> dict:
    """The ten views, by VIEW_NAMES, showing `first`."""
    with gr.Row():
        relu = gr.Dataframe(first["relu"], label="nn.ReLU(): negatives become 0", interactive=False)
    with gr.Row():
        drop_train = gr.Dataframe(first["drop_train"], label="nn.Dropout(p), train mode", interactive=False)
        drop_eval = gr.Dataframe(first["drop_eval"], label="nn.Dropout(p), eval mode", interactive=False)
    drop_md = gr.Markdown(first["drop_md"])
    with gr.Row():
        bn_train = gr.Dataframe(first["bn_train"], label="nn.BatchNorm2d(1), train mode (batch statistics)",
                                interactive=False)
        bn_eval = gr.Dataframe(first["bn_eval"], label="eval mode (running statistics after that one step)",
                               interactive=False)
    bn_md = gr.Markdown(first["bn_md"])
    with gr.Row():
        avg = gr.Dataframe(first["avg"], label="nn.AdaptiveAvgPool2d((h, w))", interactive=False)
        max_out = gr.Dataframe(first["max"], label="nn.AdaptiveMaxPool2d((h, w))", interactive=False)
    pool_md = gr.Markdown(first["pool_md"])
    return dict(relu=relu, drop_train=drop_train, drop_eval=drop_eval, drop_md=drop_md, bn_train=bn_train,
                bn_eval=bn_eval, bn_md=bn_md, avg=avg, max=max_out, pool_md=pool_md)


def wire(panel: LayersPanel, kernel_matrix: gr.Dataframe | None) -> None:
    """The panel's events; with `kernel_matrix`, its copy button copies that matrix in."""
    gr.on([], run_layers, panel.inputs_of_layers, panel.views, api_name="layers")
    c = panel.components() | ({} if kernel_matrix is None else {"kernel_matrix": kernel_matrix})
    controls = ("p", "seed", "out_h", "out_w")
    # Every event that redraws the tables goes through the one queue, first come first served: leaving
    # a box and then clicking a button must not let the older answer land last.
    gr.on([panel.matrix.input, panel.p.input, panel.seed.submit, panel.seed.blur, panel.out_h.submit,
           panel.out_h.blur, panel.out_w.submit, panel.out_w.blur],
          **event(c, layers_view, controls + ("matrix",), LAYERS_VIEW), api_name="layers_view",
          api_visibility="private", trigger_mode="always_last", **MODEL_QUEUE)
    if kernel_matrix is not None:
        panel.copy.click(**event(c, use_kernel_matrix, controls + ("kernel_matrix",), LAYERS_VIEW + ("matrix",)),
                         api_name="layers_use_kernel_matrix", api_visibility="private", **MODEL_QUEUE)
    panel.example.click(**event(c, use_example, controls, LAYERS_VIEW + ("matrix",)),
                        api_name="layers_example", api_visibility="private", **MODEL_QUEUE)
    panel.resample.click(**event(c, new_seed, (), ("seed",)), api_name="dropout_resample",
                         api_visibility="private").then(
        **event(c, layers_view, controls + ("matrix",), LAYERS_VIEW), api_name="layers_after_resample",
        api_visibility="private", **MODEL_QUEUE)
