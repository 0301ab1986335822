"""Pictures generated from a model's Summary: the network as a chain of blocks, and one block's data
flow (the Inception module's branches, the residual block's skip connection) drawn from the layers
that really ran. matplotlib only; no gradio."""
from __future__ import annotations

import io
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from PIL import Image

from explorer.core.architecture import Row, Summary
from explorer.core.words import say
from explorer.drawing.fonts import use_cjk_fallback

COLOURS = {"plain": "#dbe8f7", "residual": "#fde2c4", "branches": "#d6f0d6", "classifier": "#e6e6e6",
           "input": "#ffffff"}
IN = -99   # the block's input, in block graphs
KIND_WORDS = {"plain": ("plain chain", "普通的链"), "residual": ("adds its input back (skip)", "把输入加回来（跳跃连接）"),
              "branches": ("branches joined by concat", "分支再拼接（concat）"), "classifier": ("classifier", "分类器")}


def kind_words() -> list[str]:
    """The legend's words for each kind of box, in the language spoken."""
    return [say(en, zh) for en, zh in KIND_WORDS.values()]


def new_figure(**options) -> Figure:
    """A figure drawn by Agg, matplotlib's raster renderer, without pyplot: no backend is chosen and no
    figure is kept by a global registry (the way matplotlib recommends for web servers)."""
    use_cjk_fallback()             # Chinese words drawn with Noto Sans CJK; English ones stay DejaVu Sans
    fig = Figure(**options)
    FigureCanvasAgg(fig)
    return fig


def _render(fig) -> Image.Image:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", facecolor="white")
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def _shape(shape: tuple) -> str:
    return "×".join(str(d) for d in shape)


# ---------------------------------------------------------------------------------------------------
# The whole network as a chain of stages

@dataclass
class Stage:
    label: str
    detail: str
    shape: tuple
    kind: str
    rows: list[Row]


def _kind(rows: list[Row]) -> str:
    types = {r.type for r in rows}
    if "torch.cat" in types:
        return "branches"
    if any(t.startswith("+") or t.startswith("×") for t in types):
        return "residual"
    if all(len(r.output_shape) < 3 for r in rows):
        return "classifier"
    return "plain"


def _plain(summary: Summary, block: str) -> bool:
    """A top-level run of layers or a bare container (nn.Sequential...), not a block class of its own."""
    return block == "" or dict(summary.blocks).get(block) in ("Sequential", "ModuleList", "ModuleDict")


def _layer_name(row: Row) -> str:
    """A module's path; for a function called in the model's own forward (no path), the function."""
    return row.name or row.type


def _run_label(names: list[str]) -> str:
    """"conv1 … relu", "torch.flatten → fc"; a path both ends share is said once: "features: 0 … 4"."""
    if len(names) == 1:
        return names[0]
    first, last = names[0], names[-1]
    shared = first.rsplit(".", 1)[0] if "." in first else ""
    if shared and last.startswith(shared + "."):
        return f"{shared}: {first[len(shared) + 1:]} {'→' if len(names) == 2 else '…'} {last[len(shared) + 1:]}"
    return f"{first} {'→' if len(names) == 2 else '…'} {last}"


def stages(summary: Summary) -> list[Stage]:
    """Consecutive rows of one block; a plain container (AlexNet's `features`) or the top level is cut
    wherever the feature map changes size, so every stage has one output size."""
    groups: list[list[Row]] = []
    for row in summary.rows:
        if groups and groups[-1][-1].block == row.block:
            last = groups[-1][-1]
            resized = row.output_shape[1:] != last.output_shape[1:] or len(row.output_shape) != len(last.output_shape)
            if not (_plain(summary, row.block) and resized):
                groups[-1].append(row)
                continue
        groups.append([row])
    result = []
    for rows in groups:
        names = [_layer_name(r) for r in rows]
        if not _plain(summary, rows[0].block):
            label = rows[0].block
        else:
            label = _run_label(names)
        main = sum(1 for r in rows if r.kernel is not None or r.type == "Linear")
        detail = rows[0].type if len(rows) == 1 else say("{n} layers, {main} conv/pool/fc", "{n} 层，{main} 个卷积/池化/全连接",
                                                         n=len(rows), main=main)
        result.append(Stage(label, detail, rows[-1].output_shape, _kind(rows), rows))
    return result


BOX_W, BOX_H, BOX_PAD = 1.75, 1.0, 0.02    # a stage's box, in data units
COL_PITCH, ROW_PITCH = 2.2, 1.55          # distance between boxes side by side and between lines


def _box_top(y: float) -> float:
    return y + BOX_H - 0.35 + BOX_PAD


def _box_bottom(y: float) -> float:
    return y - 0.35 - BOX_PAD


def _wrap_path(x_from: float, y_from: float, y_to: float) -> tuple[list[float], list[float]]:
    """From the bottom of a line's last box down into the gap between the lines, back left along the
    gap, down into the next line's first box: the gap holds no box, so the path crosses none."""
    gap = (_box_bottom(y_from) + _box_top(y_to)) / 2
    centre_from, centre_to = x_from + BOX_W / 2, BOX_W / 2
    return [centre_from, centre_from, centre_to], [_box_bottom(y_from), gap, gap]


def _fit(text, width: float) -> None:
    """Make a text fit `width` data units (less a margin), as the renderer measures it: a point smaller
    first, then shortened with "…"."""
    ax = text.axes
    renderer = ax.figure.canvas.get_renderer()
    room = abs(ax.transData.transform((width - 0.1, 0))[0] - ax.transData.transform((0, 0))[0])
    if text.get_window_extent(renderer).width > room:
        text.set_fontsize(text.get_fontsize() - 1)
    words = text.get_text()
    while len(words) > 2 and text.get_window_extent(renderer).width > room:
        words = words[:-1].rstrip(" …")
        text.set_text(words + "…")


def chain_figure(summary: Summary, per_line: int = 6):
    """The chain drawing as a matplotlib figure (draw_chain renders it)."""
    chain = [Stage(say("input", "输入"), say("image", "图片"), summary.input_size, "input", [])] + stages(summary)
    lines = (len(chain) + per_line - 1) // per_line
    fig = new_figure(figsize=(2.15 * per_line, 1.45 * lines + 0.5))
    ax = fig.subplots()
    ax.set_xlim(-0.1, per_line * COL_PITCH)
    ax.set_ylim(-(lines - 1) * ROW_PITCH - 0.6, 0.9)
    ax.axis("off")
    for i, stage in enumerate(chain):
        line, col = divmod(i, per_line)
        x, y = col * COL_PITCH, -line * ROW_PITCH
        box = FancyBboxPatch((x, y - 0.35), BOX_W, BOX_H, boxstyle=f"round,pad={BOX_PAD},rounding_size=0.08",
                             facecolor=COLOURS[stage.kind], edgecolor="#555", linewidth=0.8)
        ax.add_patch(box)
        _fit(ax.text(x + BOX_W / 2, y + 0.45, stage.label, ha="center", va="center", fontsize=7.5, weight="bold"),
             BOX_W)
        _fit(ax.text(x + BOX_W / 2, y + 0.15, stage.detail, ha="center", va="center", fontsize=7), BOX_W)
        ax.text(x + BOX_W / 2, y - 0.15, _shape(stage.shape), ha="center", va="center", fontsize=8.5,
                family="monospace", color="#1a3d6d")
        if i + 1 == len(chain):
            continue
        if col + 1 < per_line:
            ax.annotate("", xy=(x + COL_PITCH, y + 0.15), xytext=(x + BOX_W + BOX_PAD, y + 0.15),
                        arrowprops=dict(arrowstyle="->", color="#444", lw=1))
        else:
            xs, ys = _wrap_path(x, y, y - ROW_PITCH)
            ax.plot(xs, ys, color="#999", lw=0.8, solid_capstyle="butt")
            ax.annotate("", xy=(xs[-1], _box_top(y - ROW_PITCH)), xytext=(xs[-1], ys[-1]),
                        arrowprops=dict(arrowstyle="->", color="#999", lw=0.8, shrinkA=0, shrinkB=0))
    handles = [Rectangle((0, 0), 1, 1, facecolor=COLOURS[k], edgecolor="#555") for k in KIND_WORDS]
    # the legend sits on the axes' top edge, the title above it (pad in points: clear of the legend's row)
    ax.legend(handles, kind_words(), loc="lower center", bbox_to_anchor=(0.5, 1.0), borderaxespad=0.2,
              ncol=4, fontsize=7.5, frameon=False)
    ax.set_title(say("{model}: output shape C×H×W after each stage, for a {size} input",
                     "{model}：每个阶段之后的输出形状 C×H×W，输入为 {size}", model=summary.model,
                     size=_shape(summary.input_size)), fontsize=9, pad=24)
    return fig


def draw_chain(summary: Summary, per_line: int = 6) -> Image.Image:
    """Boxes left to right, wrapping; each box: the stage, its layer count and its output C×H×W."""
    return _render(chain_figure(summary, per_line))


# ---------------------------------------------------------------------------------------------------
# One block's data flow

def branching_blocks(summary: Summary) -> list[str]:
    """Blocks in which paths split and meet again (add, concat, multiply): the ones worth a picture."""
    found = []
    for index, row in enumerate(summary.rows):
        if row.block and len(row.inputs) > 1 and row.block not in found:
            found.append(row.block)
    return found


def _line(row: Row) -> str:
    if row.kernel is not None:
        conv, max_pool, avg_pool = say("conv", "卷积"), say("max pool", "最大池化"), say("avg pool", "平均池化")
        what = {"MaxPool2d": max_pool, "AvgPool2d": avg_pool, "F.max_pool2d": max_pool,
                "F.avg_pool2d": avg_pool}.get(row.type, row.type)
        if "Conv" in row.type:
            what = conv
        k = row.kernel[0] if row.kernel[0] == row.kernel[1] else f"{row.kernel[0]}×{row.kernel[1]}"
        text = f"{k}×{k} {what}" if isinstance(k, int) else f"{k} {what}"
        if row.stride and max(row.stride) > 1:
            text += f" /{row.stride[0]}"
        if len(row.output_shape) == 3 and what == conv:
            text += f" → {row.output_shape[0]}"
        return text
    if row.type.startswith("BatchNormAct2d"):
        return ", ".join(["BN"] + row.type.split("+")[1:])
    short = {"BatchNorm2d": "BN", "F.relu": "ReLU", "ReLU": "ReLU", "ReLU6": "ReLU6",
             "Hardswish": "h-swish", "F.hardsigmoid": "h-sigmoid", "Hardsigmoid": "h-sigmoid",
             "AdaptiveAvgPool2d": say("global avg pool", "全局平均池化"),
             "F.adaptive_avg_pool2d": say("global avg pool", "全局平均池化"), "torch.cat": "concat",
             "Identity": say("identity", "恒等")}
    return short.get(row.type, row.type)


def block_graph(summary: Summary, block: str):
    """(boxes, edges): chains of the block's rows merged into boxes (a box = layers run one after another
    with nothing branching off), plus the block's input as box 0."""
    indices = [i for i, r in enumerate(summary.rows) if r.block == block]
    if not indices:
        raise ValueError(say("block: {block!r} is not a block of {model}", "block：{block!r} 不是 {model} 的块",
                             block=block, model=summary.model))
    inside = set(indices)
    preds = {i: sorted({p if p in inside else IN for p in summary.rows[i].inputs}) for i in indices}
    succs: dict = {IN: []}
    for i in indices:
        succs[i] = []
    for i in indices:
        for p in preds[i]:
            succs[p].append(i)
    box_of: dict = {IN: 0}
    boxes = [[IN]]
    for i in indices:
        p = preds[i]
        merge = len(p) == 1 and p[0] != IN and len(succs[p[0]]) == 1 and \
            summary.rows[i].type not in ("torch.cat",) and summary.rows[i].type[:1] not in "+×"
        if merge:
            boxes[box_of[p[0]]].append(i)
            box_of[i] = box_of[p[0]]
        else:
            box_of[i] = len(boxes)
            boxes.append([i])
    edges = sorted({(box_of[p], box_of[i]) for i in indices for p in preds[i] if box_of[p] != box_of[i]})
    return boxes, edges


def _box_text(summary: Summary, members: list) -> tuple[str, tuple]:
    if members == [IN]:
        return say("input", "输入"), ()
    lines: list[str] = []
    for i in members:
        if summary.rows[i].type == "Identity":      # timm's placeholders for switched-off drop-path etc.
            continue
        text = _line(summary.rows[i])
        if lines and (text.startswith("BN") or text in ("ReLU", "ReLU6", "h-swish")) and len(lines[-1]) < 30:
            lines[-1] += f", {text}"
        else:
            lines.append(text)
    if len(lines) > 7:
        lines = lines[:3] + [say("… {n} more …", "… 另 {n} 项 …", n=len(lines) - 6)] + lines[-3:]
    return "\n".join(lines) or say("identity", "恒等"), summary.rows[members[-1]].output_shape


def draw_block(summary: Summary, block: str) -> Image.Image:
    """The block's layers as boxes in data-flow order: splits, skip connections and joins as they ran."""
    boxes, edges = block_graph(summary, block)
    indices = [i for i, r in enumerate(summary.rows) if r.block == block]
    outside = [p for i in indices for p in summary.rows[i].inputs if p not in indices]
    in_shape = summary.rows[outside[0]].output_shape if outside and outside[0] >= 0 else summary.input_size
    level = [0] * len(boxes)
    for a, b in sorted(edges, key=lambda e: e[1]):
        level[b] = max(level[b], level[a] + 1)
    by_level: dict[int, list[int]] = {}
    for b in range(len(boxes)):
        by_level.setdefault(level[b], []).append(b)
    width = max(len(v) for v in by_level.values())
    depth = max(by_level) + 1
    texts = [_box_text(summary, members) for members in boxes]
    heights = [0.32 + 0.17 * t[0].count("\n") for t in texts]
    row_gap = max(max(heights) + 0.45, 1.0)
    fig = new_figure(figsize=(max(2.9 * width, 6), 0.95 * row_gap * depth + 0.6))
    ax = fig.subplots()
    ax.axis("off")
    pos = {}
    for lev, members in by_level.items():
        for k, b in enumerate(members):
            pos[b] = ((k - (len(members) - 1) / 2) * 2.9, -lev * row_gap)
    for b, (x, y) in pos.items():
        text, shape = texts[b]
        if b == 0:
            text, shape = say("input of {block}", "{block} 的输入", block=block), in_shape
        kind = "input" if b == 0 else ("branches" if summary.rows[boxes[b][0]].type == "torch.cat" else
                                       "residual" if summary.rows[boxes[b][0]].type[:1] in "+×" else "plain")
        h = heights[b] + 0.22
        ax.add_patch(FancyBboxPatch((x - 1.2, y - h / 2), 2.4, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                    facecolor=COLOURS[kind], edgecolor="#555", linewidth=0.8))
        ax.text(x, y + 0.09, text, ha="center", va="center", fontsize=7.5, linespacing=1.25)
        ax.text(x, y - h / 2 + 0.1, _shape(shape), ha="center", va="center", fontsize=7, family="monospace",
                color="#1a3d6d")
    for a, b in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        around = level[b] - level[a] > 1 and abs(xa - xb) < 0.1    # a skip past boxes in the same column
        if around:   # a bracket on the right; longer skips stand further out, so they nest without crossing
            start, end = (xa + 1.2, ya - 0.08), (xb + 1.2, yb + 0.08)
            span = (level[b] - level[a]) * row_gap
            style = f"bar,fraction={-(0.25 + 0.12 * span) / span:.3f}"
        else:
            start, end = (xa, ya - heights[a] / 2 - 0.11), (xb, yb + heights[b] / 2 + 0.11)
            style = "arc3,rad=0"
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9,
                                     color="#c0392b" if around else "#444", lw=1.2 if around else 0.9,
                                     connectionstyle=style))
    xs = [p[0] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.5, max(xs) + 1.9)
    ax.set_ylim(-(depth - 1) * row_gap - max(heights), max(heights) + 0.2)
    block_type = dict(summary.blocks).get(block, "")
    ax.set_title(say("{block} ({type}) as it ran: each box is layers run in a row; arrows carry feature maps",
                     "{block}（{type}）实际运行的样子：每个框是依次运行的几层；箭头传递特征图", block=block,
                     type=block_type), fontsize=8.5)
    return _render(fig)
