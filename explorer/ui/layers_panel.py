"""The Architecture tab's "Other layers on your matrix" panel: ReLU, Dropout, BatchNorm2d and adaptive
pooling on a matrix of the learner's own, as tables and in words."""
from __future__ import annotations

import html
import random
from dataclasses import dataclass

import gradio as gr
import numpy as np

from explorer.core import layer_playground as lp
from explorer.core.words import COUNTING, say, speaking
from explorer.ui.by_name import Components, event
from explorer.ui.number_inputs import NumberInput, SliderInput
from explorer.ui.queues import MODEL_QUEUE
from explorer.ui.words import t

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
        raise ValueError(say("dropout p: between 0 and 1, got {p}", "dropout p：应在 0 到 1 之间，收到的是 {p}", p=p))
    if seed is None or int(seed) != seed:
        raise ValueError(say("seed: a whole number, got {seed}", "seed：应是整数，收到的是 {seed}", seed=seed))
    avg, rows_w, cols_w = lp.adaptive_pool(m, out_h, out_w, "avg")
    mx, _, _ = lp.adaptive_pool(m, out_h, out_w, "max")
    train = lp.dropout(m, p, int(seed), train=True)
    evaluated = lp.dropout(m, p, int(seed), train=False)
    dropped = int((train == 0).sum() - (m == 0).sum())
    scale = "∞" if p == 1 else f"{1 / (1 - p):.4g}"
    drop_md = say("Train mode, seed {seed}: {dropped} of {n} value{s} zeroed, the rest multiplied by 1/(1−p) = "
                  "{scale} so the expected sum stays the same. Eval mode: the input passes unchanged.",
                  "训练模式，seed {seed}：{n} 个值中有 {dropped} 个被置零，其余乘以 1/(1−p) = {scale}，"
                  "使期望的总和不变。评估模式：输入原样通过。", seed=int(seed), dropped=dropped, n=m.size, scale=scale,
                  s="s" * (m.size != 1))
    sep = say("; ", "；")
    windows = sep.join(say("rows {a}–{b}", "第 {a}–{b} 行", a=a, b=b - 1) for a, b in rows_w) + " × " + sep.join(
        say("cols {a}–{b}", "第 {a}–{b} 列", a=a, b=b - 1) for a, b in cols_w)
    pool_md = say("{h}×{w} → {oh}×{ow} whatever the input size. Windows (start = ⌊i·in/out⌋, end = "
                  "⌈(i+1)·in/out⌉, rows and columns counted from 0): {windows}.",
                  "{h}×{w} → {oh}×{ow}，不论输入多大。窗口（起点 = ⌊i·in/out⌋，终点 = ⌈(i+1)·in/out⌉，"
                  "行和列从 0 开始数）：{windows}。", h=m.shape[0], w=m.shape[1], oh=int(out_h), ow=int(out_w),
                  windows=windows)
    return dict(relu=_frame(lp.relu(m)), drop_train=_frame(train), drop_eval=_frame(evaluated), drop_md=drop_md,
                **_batchnorm_views(m), avg=_frame(avg), max=_frame(mx), pool_md=pool_md)


def _batchnorm_views(m: np.ndarray) -> dict:
    try:
        bn = lp.batchnorm(m)
    except ValueError as error:
        return dict(bn_train=None, bn_eval=None, bn_md=say("Not measurable: {error}.", "无法计算：{error}。",
                                                            error=error))
    numbers = {k: f"{bn[k]:.4g}" for k in ("batch_mean", "batch_var", "running_mean", "running_var",
                                            "batch_var_unbiased")}
    bn_md = say("Batch statistics of this one-image batch: mean **{batch_mean}**, variance **{batch_var}** (biased, "
                "used to normalise); output = (x − mean) / √(var + {eps}) × weight ({weight}) + bias ({bias}), so the "
                "train-mode output has mean 0 and variance 1. The running statistics moved {momentum} of the way: "
                "running_mean {running_mean}, running_var {running_var} (from the unbiased variance "
                "{batch_var_unbiased}); eval mode uses those instead of the batch's.",
                "这个只有一张图的批次的统计量：均值 **{batch_mean}**，方差 **{batch_var}**（有偏估计，用于归一化）；"
                "输出 = (x − 均值) / √(方差 + {eps}) × weight ({weight}) + bias ({bias})，所以训练模式的输出均值为 0、"
                "方差为 1。running 统计量向本批次移动了 {momentum}：running_mean {running_mean}，running_var "
                "{running_var}（来自无偏方差 {batch_var_unbiased}）；评估模式用的是它们，而不是本批次的统计量。",
                eps=bn["eps"], weight=f"{bn['weight']:g}", bias=f"{bn['bias']:g}", momentum=bn["momentum"], **numbers)
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
        raise gr.Error(str(error), title=say("Cannot use this", "无法使用这个值")) from None
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
        text = html.escape(say("{error}. The tables below are not updated: they still show the last numbers that "
                               "worked.", "{error}。下面的表格没有更新：仍显示上一次可用的数字。", error=error))
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
    gr.Markdown(t("An example where each layer shows what it does: negatives for ReLU, a spread for "
                  "BatchNorm, a 5×5 input that adaptive pooling cuts into overlapping windows. Edit any cell; "
                  "the tables follow. " + COUNTING["en"],
                  "这个例子让每一层都看得出作用：有负数给 ReLU，数值有散布给 BatchNorm，5×5 的输入让自适应池化"
                  "切出互相重叠的窗口。改任何一格，下面的表格都会跟着变。" + COUNTING["zh"]))
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            matrix = gr.Dataframe(LAYERS_EXAMPLE, label=t("Your matrix", "你的矩阵"), interactive=True, type="array",
                                  elem_classes=["count-from-0"],
                                  datatype="number", elem_id="layers_matrix")
            matrix_msg = gr.HTML("", visible=False, elem_id="layers_matrix_msg")
        with gr.Column(scale=1, min_width=200):
            copy = gr.Button(t("Use the Kernel tab's matrix", "使用“卷积核”页的矩阵"), visible=can_copy)
            example = gr.Button(t("Back to the example", "回到例子"))
    with gr.Row():
        p = SliderInput(0, 1, value=0.5, step=0.05, label=t("Dropout p", "Dropout 的 p"))
        seed = NumberInput(value=0, precision=0, label=t("Dropout seed", "Dropout 的随机种子（seed）"))
        resample = gr.Button(t("Resample the dropout mask", "重新抽取 Dropout 掩码"))
        out_h = NumberInput(value=2, precision=0, label=t("Adaptive pool output height", "自适应池化的输出高度"),
                            minimum=1, maximum=64)
        out_w = NumberInput(value=2, precision=0, label=t("Adaptive pool output width", "自适应池化的输出宽度"),
                            minimum=1, maximum=64)
    controls_msg = gr.HTML("", visible=False, elem_id="layers_controls_msg")
    return LayersPanel(matrix=matrix, matrix_msg=matrix_msg, copy=copy, example=example, p=p, seed=seed,
                       resample=resample, out_h=out_h, out_w=out_w, controls_msg=controls_msg,
                       **_layer_tables(_first_results()))


def _first_results() -> dict:
    """layer_results of the example, its words in both languages (the page shows them before any event)."""
    with speaking("en"):
        first = layer_results(LAYERS_EXAMPLE, 0.5, 0, 2, 2)
    with speaking("zh"):
        chinese = layer_results(LAYERS_EXAMPLE, 0.5, 0, 2, 2)
    return {**first, **{name: t(first[name], chinese[name]) for name in ("drop_md", "bn_md", "pool_md")}}


def _layer_tables(first: dict) -> dict:
    """The ten views, by VIEW_NAMES, showing `first`."""
    table = dict(interactive=False, elem_classes=["count-from-0"])   # columns shown from 0 (the Kernel tab's STYLE)
    with gr.Row():
        relu = gr.Dataframe(first["relu"], label=t("nn.ReLU(): negatives become 0", "nn.ReLU()：负数变成 0"), **table)
    with gr.Row():
        drop_train = gr.Dataframe(first["drop_train"], label=t("nn.Dropout(p), train mode", "nn.Dropout(p)，训练模式"),
                                  **table)
        drop_eval = gr.Dataframe(first["drop_eval"], label=t("nn.Dropout(p), eval mode", "nn.Dropout(p)，评估模式"),
                                 **table)
    drop_md = gr.Markdown(first["drop_md"])
    with gr.Row():
        bn_train = gr.Dataframe(first["bn_train"], label=t("nn.BatchNorm2d(1), train mode (batch statistics)",
                                                           "nn.BatchNorm2d(1)，训练模式（用本批次的统计量）"), **table)
        bn_eval = gr.Dataframe(first["bn_eval"], label=t("eval mode (running statistics after that one step)",
                                                         "评估模式（用这一步之后的 running 统计量）"), **table)
    bn_md = gr.Markdown(first["bn_md"])
    with gr.Row():
        avg = gr.Dataframe(first["avg"], label=t("nn.AdaptiveAvgPool2d((h, w))", "nn.AdaptiveAvgPool2d((h, w))：自适应平均池化"),
                           **table)
        max_out = gr.Dataframe(first["max"], label=t("nn.AdaptiveMaxPool2d((h, w))",
                                                     "nn.AdaptiveMaxPool2d((h, w))：自适应最大池化"), **table)
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
