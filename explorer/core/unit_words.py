"""One unit's arithmetic in words (Markdown), in the language being spoken (explorer.core.words): the
panel "How this number was made", the steps after the layer (BatchNorm, the activation), and what the
Kernel tab says when a unit arrives there. The numbers come from explorer.core.bridge.Unit."""
from __future__ import annotations

from explorer.core.unit_steps import After
from explorer.core.words import pick, say

# `u` below is an explorer.core.bridge.Unit (not imported: the bridge imports these words).

# A stage's kind as the pages name it
KINDS = {"conv": {"en": "conv", "zh": "卷积"}, "pool": {"en": "pool", "zh": "池化"}}


def kind_name(kind: str) -> str:
    """"conv" or "pool" in the language spoken now."""
    return pick(KINDS[kind]) if kind in KINDS else kind


_POOL_NEXT = {"en": "the next pooling stage reads it", "zh": "下一个池化阶段读取它"}
THEN_WORDS = {"add": {"en": "it is added to another path (a residual shortcut), which mixes in other tensors",
                      "zh": "它与另一条路径相加（残差捷径），混入了别的张量"},
              "cat": {"en": "it is concatenated with other channels", "zh": "它与别的通道拼接在一起"},
              "mul": {"en": "it is multiplied by a channel gate", "zh": "它乘以一个通道门控值"},
              "conv2d": {"en": "the next convolution reads it", "zh": "下一个卷积读取它"},
              "pad": {"en": "it is padded for the next layer", "zh": "它被填充，供下一层使用"},
              "flatten": {"en": "it is flattened for the classifier", "zh": "它被展平，送入分类器"},
              "linear": {"en": "the classifier reads it", "zh": "分类器读取它"},
              "max_pool2d": _POOL_NEXT, "avg_pool2d": _POOL_NEXT, "adaptive_avg_pool2d": _POOL_NEXT,
              "adaptive_max_pool2d": _POOL_NEXT}
FORMULAS = {"relu": "ReLU: max(x, 0)", "relu6": "ReLU6: min(max(x, 0), 6)", "silu": "SiLU (swish): x · sigmoid(x)",
            "hardswish": "hard swish: x · ReLU6(x + 3) / 6", "sigmoid": "sigmoid: 1 / (1 + e^−x)",
            "gelu": "GELU", "leaky_relu": "leaky ReLU"}


def step_words(step: After, channel: int) -> str:
    """A step in words with its numbers, e.g. "BatchNorm: (x - 0.12) / sqrt(0.44 + 1e-05) x 1.3 + 0.2"."""
    if step.op == "batch_norm":
        names = ("running_mean", "running_var", "weight", "bias", "training", "momentum", "eps")
        p = dict(zip(names, step.args)) | step.kwargs
        mean, var = float(p["running_mean"][channel]), float(p["running_var"][channel])
        gamma = float(p["weight"][channel]) if p.get("weight") is not None else 1.0
        beta = float(p["bias"][channel]) if p.get("bias") is not None else 0.0
        eps = float(p.get("eps", 1e-5))
        shift = f"x − {mean:.4g}" if mean >= 0 else f"x + {-mean:.4g}"
        offset = f"+ {beta:.4g}" if beta >= 0 else f"− {-beta:.4g}"
        return say("BatchNorm: ({shift}) / √({var} + {eps}) × {gamma} {offset}   "
                   "(mean {mean}, variance {var}, γ {gamma}, β {beta})",
                   "BatchNorm：({shift}) / √({var} + {eps}) × {gamma} {offset}   "
                   "（均值 {mean}，方差 {var}，γ {gamma}，β {beta}）",
                   shift=shift, offset=offset, mean=f"{mean:.4g}", var=f"{var:.4g}", eps=f"{eps:g}",
                   gamma=f"{gamma:.4g}", beta=f"{beta:.4g}")
    if step.op == "hardtanh":
        low, high = (list(step.args) + [-1.0, 1.0])[:2]
        low, high = step.kwargs.get("min_val", low), step.kwargs.get("max_val", high)
        if (low, high) == (0.0, 6.0):
            return FORMULAS["relu6"]
        return say("hardtanh: clamp to [{low:g}, {high:g}]", "hardtanh：截断到 [{low:g}, {high:g}]", low=low, high=high)
    return FORMULAS.get(step.op, step.op)


def arrival_words(u, model_title: str) -> str:
    """What the Kernel tab says when a unit arrives from a real model."""
    k = u.kernel_tab()
    r0, c0 = k["crop"]
    numbers = dict(model=model_title, stage_no=u.stage_index + 1, stage=u.stage, channel=u.channel, row=u.row,
                   col=u.col, source=k["channel"], r0=r0, r1=r0 + len(k["matrix"]) - 1, c0=c0,
                   c1=c0 + len(k["matrix"][0]) - 1, others=len(u.channels) - 1, of=u.in_channels)
    where = say("From **{model}**, stage {stage_no} `{stage}`, output channel {channel}, unit (row {row}, column "
                "{col}): the matrix is input channel {source}'s numbers, rows {r0} to {r1} and columns {c0} to {c1} "
                "of the layer's input (counted from 0; negative or past the edge: the padding, written in as zeros).",
                "来自 **{model}** 的阶段 {stage_no} `{stage}`，输出通道 {channel}，单元（第 {row} 行，第 {col} 列）："
                "矩阵是该层输入中输入通道 {source} 的数值，第 {r0} 到 {r1} 行、第 {c0} 到 {c1} 列（从 0 开始数；"
                "负数或超出边缘的位置是填充，以 0 写入）。", **numbers)
    if u.kind == "pool":
        return where + say(" The step shown is the unit's own window.", "所示的这一步就是该单元自己的窗口。")
    if numbers["others"]:
        rest = say("the unit adds {others} more such sums", "该单元还要再加上 {others} 个这样的和", **numbers)
    else:
        rest = say("it reads no other channel", "它不读取别的通道")
    rest += (say(" and a bias.", "，再加上偏置。") if u.bias_count else
             say(" (the layer has no bias).", "（该层没有偏置）。"))
    return where + say(" The kernel is that channel's slice of the layer's weights. The step shown gives this "
                       "channel's partial sum; this is input channel {source} of {of}; ",
                       "卷积核是该层权重中对应这个通道的切片。所示的这一步给出这个通道的部分和；"
                       "这是 {of} 个输入通道中的通道 {source}；", **numbers) + rest


def _reads(u) -> str:
    n = dict(first=u.channels[0], last=u.channels[-1], count=len(u.channels), of=u.in_channels, groups=u.groups)
    if u.kind == "pool":
        return say("Pooling works on each channel alone: this unit reads only input channel {first}.",
                   "池化对每个通道分别进行：这个单元只读取输入通道 {first}。", **n)
    if u.groups == 1:
        if len(u.channels) == 1:
            return say("A plain convolution of a one-channel input: this output channel reads input channel 0.",
                       "单通道输入上的普通卷积：这个输出通道读取输入通道 0。")
        return say("A plain convolution: this output channel reads all {count} input channels.",
                   "普通卷积：这个输出通道读取全部 {count} 个输入通道。", **n)
    if len(u.channels) == 1:
        return say("Depthwise ({groups} groups of one): this channel reads only input channel {first} of {of}.",
                   "逐通道卷积（{groups} 组，每组一个通道）：这个通道只读取 {of} 个输入通道中的通道 {first}。", **n)
    return say("Grouped ({groups} groups): this channel reads only input channels {first} to {last} of {of}.",
               "分组卷积（{groups} 组）：这个通道只读取 {of} 个输入通道中的通道 {first} 到 {last}。", **n)


def _pair(values: tuple[int, int]) -> str:
    return str(values[0]) if values[0] == values[1] else str(tuple(values))


def _geometry_words(u) -> str:
    if u.op.startswith("adaptive"):
        return ""
    kh, kw = u.window.shape[1:]
    top, bottom, left, right = u.pad
    parts = [say("Window {kh}×{kw}", "窗口 {kh}×{kw}", kh=kh, kw=kw), say("stride {s}", "步幅 {s}", s=_pair(u.stride))]
    if u.dilation != (1, 1):
        parts.append(say("dilation {d}", "膨胀率 (dilation) {d}", d=_pair(u.dilation)))
    if any(u.pad):
        parts.append(say("padding top {top}, bottom {bottom}, left {left}, right {right}",
                         "填充：上 {top}、下 {bottom}、左 {left}、右 {right}", top=top, bottom=bottom, left=left,
                         right=right)
                     + (say(" (added inside the layer at run time: TensorFlow-style 'SAME' padding)",
                            "（运行时在层内添加：TensorFlow 风格的 'SAME' 填充）") if u.padded_inside else ""))
    taps = int(u.padding_mask.sum())
    where = (say("; {taps} of its {size} taps fall in the padding (lavender)",
                 "；它的 {size} 个位置中有 {taps} 个落在填充里（淡紫色）", taps=taps, size=u.padding_mask.size)
             if taps else "")
    return (say(", ", "，").join(parts)
            + say(". Its top-left tap sits at input row {row}, column {col}", "。它左上角的位置在输入的第 {row} 行、第 {col} 列",
                  row=u.origin[0], col=u.origin[1]) + where + say(".", "。"))


def describe_unit(u) -> str:
    """The unit's arithmetic in words (Markdown), with the real numbers."""
    head = say("### How this number was made\n**Unit** row {row}, column {col} of channel {channel}, stage {stage_no} "
               "`{stage}` ({kind}): **{value}** (PyTorch's output).  \n",
               "### 这个数是怎么算出来的\n阶段 {stage_no} `{stage}`（{kind}）通道 {channel} 的**单元**（第 {row} 行，"
               "第 {col} 列）：**{value}**（PyTorch 的输出）。  \n",
               row=u.row, col=u.col, channel=u.channel, stage_no=u.stage_index + 1, stage=u.stage,
               kind=kind_name(u.kind), value=f"{u.value:.6g}")
    head += _reads(u) + say(" ", "") + _geometry_words(u)
    body = _conv_words(u) if u.kind == "conv" else _pool_words(u)
    return head + "\n\n" + body + _after_words(u)


def _conv_words(u) -> str:
    order = u.order
    shown = order[:8]
    rows = "\n".join(f"| {r + 1} | {u.channels[i]} | {u.partials[i]:.6g} |" for r, i in enumerate(shown))
    rest = len(order) - len(shown)
    if rest:
        rows += say("\n| | the other {rest} channels | {sum} |", "\n| | 其余 {rest} 个通道 | {sum} |", rest=rest,
                    sum=f"{float(u.partials[order[len(shown):]].sum()):.6g}")
    if u.bias_count:
        bias = say("This layer's bias has {count} numbers, one per output channel (not one shared by all filters); "
                   "this channel's is {bias}.",
                   "这一层的偏置有 {count} 个数，每个输出通道一个（并非所有滤波器共用一个）；这个通道的偏置是 {bias}。",
                   count=u.bias_count, bias=f"{u.bias:.6g}")
    else:
        bias = say("This layer has no bias (bias=False): the BatchNorm after it supplies the shift.",
                   "这一层没有偏置（bias=False）：由它后面的 BatchNorm 提供平移。")
    n = dict(partials=f"{float(u.partials.sum()):.6g}", sign="−" if u.bias < 0 else "+", bias=f"{abs(u.bias):.6g}",
             total=f"{u.total:.6g}", value=f"{u.value:.6g}", difference=f"{u.difference:.2g}", count=len(u.channels),
             check=say("equal up to float32 rounding", "在 float32 舍入误差内相等") if u.agrees()
             else say("**different**", "**不同**"))
    summed = (say("the partial sum", "这个部分和") if len(u.channels) == 1
              else say("sum of {count} partial sums", "{count} 个部分和之和", **n))
    return (say("Each input channel's window times its kernel slice, summed: the **partial sums**, largest |sum| first."
                "\n\n| rank | input channel | window · kernel |\n|---|---|---|\n",
                "每个输入通道的窗口乘以对应的卷积核切片再求和，得到**部分和**，按 |和| 从大到小排列。"
                "\n\n| 名次 | 输入通道 | 窗口 · 卷积核 |\n|---|---|---|\n")
            + rows + "\n\n" + bias + "\n\n"
            + say("**{summed} + bias = {partials} {sign} {bias} = {total}**; PyTorch's layer gave **{value}** ({check}: "
                  "the difference is {difference}).",
                  "**{summed} + 偏置 = {partials} {sign} {bias} = {total}**；PyTorch 的层给出 **{value}**（{check}："
                  "差为 {difference}）。", summed=summed, **n))


def _pool_words(u) -> str:
    n = dict(total=f"{u.total:.6g}", value=f"{u.value:.6g}", row=u.row, check=say("equal", "相等") if u.agrees()
             else say("**different**", "**不同**"))
    if u.op.startswith("adaptive"):
        h, w = u.window.shape[1:]
        n |= dict(r0=u.origin[0], r1=u.origin[0] + h - 1, c0=u.origin[1], c1=u.origin[1] + w - 1, size=h * w)
        if u.op.endswith("max"):
            return say("Adaptive pooling: the window of output row {row} covers input rows {r0} to {r1} and columns "
                       "{c0} to {c1} (windows of uneven sizes that tile the input); the largest of its {size} values "
                       "is **{total}**; PyTorch gave **{value}** ({check}).",
                       "自适应池化：输出第 {row} 行的窗口覆盖输入的第 {r0} 到 {r1} 行、第 {c0} 到 {c1} 列（大小不一的窗口"
                       "铺满整个输入）；它的 {size} 个值中最大的是 **{total}**；PyTorch 给出 **{value}**（{check}）。", **n)
        return say("Adaptive pooling: the window of output row {row} covers input rows {r0} to {r1} and columns "
                   "{c0} to {c1} (windows of uneven sizes that tile the input); the mean of its {size} values is "
                   "**{total}**; PyTorch gave **{value}** ({check}).",
                   "自适应池化：输出第 {row} 行的窗口覆盖输入的第 {r0} 到 {r1} 行、第 {c0} 到 {c1} 列（大小不一的窗口"
                   "铺满整个输入）；它的 {size} 个值的平均是 **{total}**；PyTorch 给出 **{value}**（{check}）。", **n)
    if u.op == "max_pool2d":
        return say("Max pooling: the largest of the {counted} taps inside the input (padding is -inf: it never wins) "
                   "is **{total}**; PyTorch gave **{value}** ({check}).",
                   "最大池化：输入内 {counted} 个位置中最大的值（填充为 -inf，永远不会胜出）是 **{total}**；"
                   "PyTorch 给出 **{value}**（{check}）。", counted=u.counted, **n)
    if u.divisor != u.counted:
        return say("Average pooling: the sum of the window divided by {divisor}, counting the padding zeros "
                   "(count_include_pad=True), is **{total}**; PyTorch gave **{value}** ({check}).",
                   "平均池化：窗口之和除以 {divisor}（把填充的 0 也算在内，count_include_pad=True），得 **{total}**；"
                   "PyTorch 给出 **{value}**（{check}）。", divisor=u.divisor, **n)
    return say("Average pooling: the sum of the window divided by {divisor}, over the taps inside the input, is "
               "**{total}**; PyTorch gave **{value}** ({check}).",
               "平均池化：窗口之和除以 {divisor}（只算输入内的位置），得 **{total}**；PyTorch 给出 **{value}**（{check}）。",
               divisor=u.divisor, **n)


def _after_words(u) -> str:
    lines = [f"{i + 1}. {step} → **{value:.6g}**" for i, (step, value) in enumerate(u.after)]
    then = None
    if u.then:
        then = pick(THEN_WORDS[u.then]) if u.then in THEN_WORDS else say("{op} reads it", "{op} 读取它", op=u.then)
    if not lines:
        return say("\n\nNothing changes this value on its own before {then}.", "\n\n在{then}之前，没有任何逐单元的步骤"
                   "改变这个值。", then=then) if then else ""
    text = say("\n\n**Then, before the next stage, unit by unit:**\n", "\n\n**然后，在下一个阶段之前，逐单元地：**\n")
    return text + "\n".join(lines) + (say("\n\nAfter that {then}.", "\n\n之后，{then}。", then=then) if then else "")
