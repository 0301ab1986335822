"""The Architecture tab's "Other layers on your matrix" panel: ReLU, Dropout, BatchNorm2d and adaptive
pooling on a matrix of the learner's own, as tables and in words."""
from __future__ import annotations

import html
import random
from dataclasses import dataclass

import gradio as gr
import numpy as np

from explorer.core import layer_playground as lp
from explorer.ui.number_inputs import NumberInput, SliderInput
from explorer.ui.queues import MODEL_QUEUE

# The chapter's matrix has no negatives (ReLU would change nothing) and a 4x4 input that 2x2 adaptive
# pooling cuts like plain pooling; this one shows every layer at work.
LAYERS_EXAMPLE = [[-3, 1, 4, -1, 5], [9, -2, 6, 5, -3], [5, 8, -9, 7, 9], [-3, 2, 3, -8, 4], [6, -2, 6, 4, -3]]


def _frame(values: np.ndarray) -> list[list[float | str]]:
    # Huge inputs overflow to inf / nan exactly as in PyTorch; JSON would turn those into empty cells.
    return [[round(float(v), 4) if np.isfinite(v) else str(float(v)) for v in row] for row in values]


def layer_results(matrix, p, seed, out_h, out_w) -> tuple:
    """The ten views of the panel (tables and words) for these inputs; ValueError names a bad one.
    BatchNorm on a single number is no mistake of the learner's: its tables stay empty, and its text
    says why."""
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
    return (_frame(lp.relu(m)), _frame(train), _frame(evaluated), drop_md, *_batchnorm_views(m),
            _frame(avg), _frame(mx), pool_md)


def _batchnorm_views(m: np.ndarray) -> tuple:
    try:
        bn = lp.batchnorm(m)
    except ValueError as error:
        return None, None, f"Not measurable: {error}."
    bn_md = (f"Batch statistics of this one-image batch: mean **{bn['batch_mean']:.4g}**, variance "
             f"**{bn['batch_var']:.4g}** (biased, used to normalise); output = (x − mean) / √(var + {bn['eps']}) "
             f"× weight ({bn['weight']:g}) + bias ({bn['bias']:g}), so the train-mode output has mean 0 and "
             f"variance 1. The running statistics moved {bn['momentum']} of the way: running_mean "
             f"{bn['running_mean']:.4g}, running_var {bn['running_var']:.4g} (from the unbiased variance "
             f"{bn['batch_var_unbiased']:.4g}); eval mode uses those instead of the batch's.")
    return _frame(bn["train_output"]), _frame(bn["eval_output"]), bn_md


def run_layers(matrix, p, seed, out_h, out_w):
    """The /layers endpoint: the panel's ten views, or an error naming the bad input."""
    try:
        return layer_results(matrix, p, seed, out_h, out_w)
    except ValueError as error:
        raise gr.Error(str(error)) from None


LAYER_MESSAGE_SLOTS = ("matrix", "controls")


def layers_view(matrix, p, seed, out_h, out_w) -> tuple:
    """The panel's answer in the page: fresh views, or the last good ones kept, marked as not updated,
    with the one message beside the input at fault (no toast)."""
    try:
        views = layer_results(matrix, p, seed, out_h, out_w)
    except ValueError as error:
        slot = "matrix" if str(error).startswith("matrix") else "controls"
        text = html.escape(f"{error}. The tables below are not updated: they still show the last numbers that worked.")
        return (*(gr.skip(),) * 10, *(gr.HTML(f'<div class="input-msg" role="alert">{text}</div>', visible=True)
                                     if name == slot else gr.HTML("", visible=False) for name in LAYER_MESSAGE_SLOTS))
    return (*views, *(gr.HTML("", visible=False) for _ in LAYER_MESSAGE_SLOTS))


def use_matrix(table, *rest) -> tuple:
    """`table` copied into the panel's matrix, and the panel's answer for it."""
    return table, *layers_view(table, *rest)


def new_seed():
    return random.randint(0, 2**31 - 1)


@dataclass(frozen=True)
class LayersPanel:
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
    outputs: tuple                   # the ten views of layer_results, in its order

    @property
    def inputs(self) -> list:
        """layer_results' arguments, in its order."""
        return [self.matrix, self.p, self.seed, self.out_h, self.out_w]

    @property
    def view(self) -> list:
        """What layers_view returns, in its order."""
        return list(self.outputs) + [self.matrix_msg, self.controls_msg]


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
    return LayersPanel(matrix, matrix_msg, copy, example, p, seed, resample, out_h, out_w, controls_msg,
                       outputs=_layer_tables(layer_results(LAYERS_EXAMPLE, 0.5, 0, 2, 2)))


def _layer_tables(first: tuple) -> tuple:
    """The ten views of layer_results, showing `first`."""
    with gr.Row():
        relu_out = gr.Dataframe(first[0], label="nn.ReLU(): negatives become 0", interactive=False)
    with gr.Row():
        drop_train = gr.Dataframe(first[1], label="nn.Dropout(p), train mode", interactive=False)
        drop_eval = gr.Dataframe(first[2], label="nn.Dropout(p), eval mode", interactive=False)
    drop_md = gr.Markdown(first[3])
    with gr.Row():
        bn_train = gr.Dataframe(first[4], label="nn.BatchNorm2d(1), train mode (batch statistics)", interactive=False)
        bn_eval = gr.Dataframe(first[5], label="eval mode (running statistics after that one step)", interactive=False)
    bn_md = gr.Markdown(first[6])
    with gr.Row():
        avg_out = gr.Dataframe(first[7], label="nn.AdaptiveAvgPool2d((h, w))", interactive=False)
        max_out = gr.Dataframe(first[8], label="nn.AdaptiveMaxPool2d((h, w))", interactive=False)
    pool_md = gr.Markdown(first[9])
    return relu_out, drop_train, drop_eval, drop_md, bn_train, bn_eval, bn_md, avg_out, max_out, pool_md


def wire(panel: LayersPanel, kernel_matrix: gr.Dataframe | None) -> None:
    """The panel's events; with `kernel_matrix`, its copy button copies that matrix in."""
    # Every event that redraws the tables goes through the one queue, first come first served: leaving
    # a box and then clicking a button must not let the older answer land last.
    gr.on([], run_layers, panel.inputs, list(panel.outputs), api_name="layers")
    gr.on([panel.matrix.input, panel.p.input, panel.seed.submit, panel.seed.blur, panel.out_h.submit,
           panel.out_h.blur, panel.out_w.submit, panel.out_w.blur],
          layers_view, panel.inputs, panel.view, api_name="layers_view", api_visibility="private",
          trigger_mode="always_last", **MODEL_QUEUE)
    if kernel_matrix is not None:
        panel.copy.click(use_matrix, [kernel_matrix] + panel.inputs[1:], [panel.matrix] + panel.view,
                         api_name="layers_use_kernel_matrix", api_visibility="private", **MODEL_QUEUE)
    panel.example.click(lambda *rest: use_matrix(LAYERS_EXAMPLE, *rest), panel.inputs[1:], [panel.matrix] + panel.view,
                        api_name="layers_example", api_visibility="private", **MODEL_QUEUE)
    panel.resample.click(new_seed, None, [panel.seed], api_name="dropout_resample", api_visibility="private").then(
        layers_view, panel.inputs, panel.view, api_name="layers_after_resample", api_visibility="private",
        **MODEL_QUEUE)
