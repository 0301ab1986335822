"""The Architecture tab: open up a classic CNN, compare several, check that the chapter's model is
AlexNet, and run the chapter's other layers on your own matrix."""
from __future__ import annotations

import functools
import html
import random

import gradio as gr
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from explorer.core import architecture as arch  # noqa: E402
from explorer.core import layer_playground as lp  # noqa: E402
from explorer.drawing.architecture_drawing import branching_blocks, draw_block, draw_chain  # noqa: E402
from explorer.core.gpu import MODEL_QUEUE, gpu, slot_seconds  # noqa: E402
from explorer.core.models import DEFAULT_MODEL, MODEL_NAMES, REGISTRY  # noqa: E402
from explorer.ui.number_inputs import NumberInput, SliderInput  # noqa: E402

TITLE = "Architecture"
# The chapter's matrix has no negatives (ReLU would change nothing) and a 4x4 input that 2x2 adaptive
# pooling cuts like plain pooling; this one shows every layer at work.
LAYERS_EXAMPLE = [[-3, 1, 4, -1, 5], [9, -2, 6, 5, -3], [5, 8, -9, 7, 9], [-3, 2, 3, -8, 4], [6, -2, 6, 4, -3]]
DEFAULT_COMPARE = ["alexnet", "vgg16", "googlenet", "resnet18", "resnet50", "mobilenet_v3_large"]
NO_BRANCHES = "(no block with branches)"
BLOCK_NOTE = "Drawn from the layers that really ran inside the block."
MAX_SIDE = 1024
STYLE = ("<style>.field-message p{color:#b42318;font-size:13px;margin:2px 0 0}"
         ".not-updated p{background:#fff4e5;border-left:4px solid #f79009;padding:4px 8px;margin:0}"
         ".compare-table table{border-collapse:collapse;width:100%;font-size:13px}"
         ".compare-table th,.compare-table td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:right;"
         "word-break:normal;overflow-wrap:normal;hyphens:none}"
         ".compare-table th{vertical-align:bottom}.compare-table .word{white-space:nowrap}"
         ".compare-table td:nth-child(1),.compare-table th:nth-child(1),.compare-table td:nth-child(6),"
         ".compare-table td:nth-child(9),.compare-table td:nth-child(10){text-align:left}</style>")


# ---------------------------------------------------------------------------------------------------
# Inspect a model

def _fmt(n: int) -> str:
    return f"{n:,}"


def totals_markdown(s: arch.Summary) -> str:
    lines = [f"**{arch.model_title(s.model) if s.model in arch.model_names() else s.model}** "
             f"(`{s.module_type}`) on a {'×'.join(map(str, s.input_size))} input → output "
             f"{'×'.join(map(str, s.output_shape))}: **{_fmt(s.total_params)} parameters** "
             f"(sum of `p.numel()`), **{s.total_macs / 1e9:.3f} G multiply-accumulates** per image "
             f"(counted by `torch.utils.flop_counter`), {len(s.rows)} layers run in {len(s.blocks)} groups."]
    if s.params_in_forward != s.total_params:
        unused = ", ".join(f"`{n}` ({_fmt(p)})" for n, p in s.unused[:6])
        lines.append(f"Only {_fmt(s.params_in_forward)} of them take part in this forward pass; never run in "
                     f"eval mode: {unused}.")
    last = [r for r in s.rows if r.receptive_field is not None]
    if last:
        rf, jump = last[-1].receptive_field, last[-1].jump
        lines.append(f"Before the global pooling / classifier one unit sees {arch._dims(rf)}×{arch._dims(rf)} "
                     f"input pixels (its receptive field, padding included) and neighbouring units are "
                     f"{arch._dims(jump)} pixels apart (the jump).")
    return "\n\n".join(lines)


def table_html(s: arch.Summary) -> str:
    """The layer table, one collapsible <details> per block, with totals per block and overall."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in arch.COLUMNS[:-1])
    style = ("<style>.arch-table table{border-collapse:collapse;font-size:12px;width:100%}"
             ".arch-table td,.arch-table th{border-bottom:1px solid #ddd;padding:2px 6px;text-align:right;"
             "white-space:nowrap}.arch-table td:nth-child(2),.arch-table td:nth-child(3),"
             ".arch-table th{text-align:left}.arch-table summary{cursor:pointer;padding:3px 0;font-size:13px}"
             ".arch-table details{border-left:3px solid #8aa8d8;padding-left:6px;margin:2px 0}</style>")
    parts = [style, '<div class="arch-table">']
    index = 0
    groups: list[tuple[str, list]] = []
    for row in s.rows:
        if not groups or groups[-1][0] != row.block:
            groups.append((row.block, []))
        groups[-1][1].append(row)
    block_types = dict(s.blocks)
    for block, rows in groups:
        params = sum(r.params for r in rows)
        macs = sum(r.macs for r in rows)
        kind = block_types.get(block, "")
        name = html.escape(block or "top level")
        summary = (f"<b>{name}</b> {html.escape(kind)} · {len(rows)} layers · {_fmt(params)} parameters · "
                   f"{macs / 1e6:,.1f} M MACs · out {'×'.join(map(str, rows[-1].output_shape))}")
        body = []
        for row in rows:
            index += 1
            cells = arch.row_cells(row, index)[:-1]
            cells[7] = _fmt(cells[7])
            cells[8] = _fmt(cells[8])
            body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        open_attr = " open" if len(groups) <= 4 else ""
        parts.append(f"<details{open_attr}><summary>{summary}</summary><table><tr>{head}</tr>"
                     + "".join(body) + "</table></details>")
    parts.append(f"<p><b>Total</b>: {len(s.rows)} layers · {_fmt(s.params_in_forward)} parameters in the layers "
                 f"that ran · {_fmt(s.total_params)} parameters in the model · {s.total_macs / 1e9:.3f} G MACs</p>")
    parts.append("</div>")
    return "".join(parts)


def inspect_model(name: str, height, width):
    """Everything the Inspect view shows for one model at one input size (the /summarize endpoint)."""
    try:
        md, chain, blocks, choice, picture, table, text, _ = inspect_values(name, height, width)
    except ValueError as error:
        raise gr.Error(str(error), title="Cannot use this") from None
    return md, chain, _block_choices(blocks, choice), picture, table, text


def _block_choices(blocks: list[str], choice: str | None):
    return gr.Dropdown(choices=blocks or [NO_BRANCHES], value=choice or NO_BRANCHES, interactive=bool(blocks))


def _checked_size(label: str, value) -> int:
    if value is None:
        raise ValueError(f"{label}: enter a number of pixels")
    if value != int(value) or not 1 <= value <= MAX_SIDE:
        raise ValueError(f"{label}: a whole number of pixels from 1 to {MAX_SIDE}, got {value:g}")
    return int(value)


def inspect_values(name: str, height, width):
    """(totals, chain picture, blocks with branches, the block shown, its picture, table, print(model),
    the note on that block); ValueError naming the input at fault."""
    if name not in arch.model_names():
        raise ValueError(f"model: unknown name {name!r}; choose one of {', '.join(arch.model_names())}")
    channels = arch.model_input_size(name)[0]
    size = (channels, _checked_size("input height", height), _checked_size("input width", width))
    s = arch.summarize(name, size)
    blocks = branching_blocks(s)
    choice = _pick_block(blocks)
    picture = draw_block(s, choice) if choice else None
    return totals_markdown(s), draw_chain(s), blocks, choice, picture, table_html(s), s.text, block_note(s, choice)


@functools.lru_cache(maxsize=1)
def _first_values() -> tuple:
    default = arch.model_names()[0]
    _, height, width = arch.model_input_size(default)
    return inspect_values(default, height, width)


def first_view():
    """What the Inspect view shows first (the default model at its input size), computed once."""
    md, chain, blocks, choice, picture, table, text, note = _first_values()
    return md, chain, _block_choices(blocks, choice), picture, table, text, note


def _pick_block(blocks: list[str]) -> str | None:
    """The first block with branches; for ResNets the first with a downsampling skip path."""
    return blocks[0] if blocks else None


def _control_at_fault(error: ValueError) -> str:
    """"height", "width" or "model": the control whose value the message is about."""
    dimensions = getattr(error, "dimensions", None)
    if dimensions:
        return dimensions[0]
    text = str(error)
    for control in ("height", "width"):
        if text.startswith(f"input {control}"):
            return control
    return "model"


def _messages(error: ValueError | None) -> list:
    """Updates for the messages beside the model, height and width controls: one shown at most."""
    at_fault = _control_at_fault(error) if error is not None else None
    return [gr.Markdown(f"⚠ {error}" if control == at_fault else "", visible=control == at_fault)
            for control in ("model", "height", "width")]


def _shown_words(shown: tuple) -> str:
    name, height, width = shown
    channels = arch.model_input_size(name)[0]
    return f"{arch.model_title(name)} on a {channels}×{height}×{width} input"


def inspect_in_page(name: str, height, width, shown: tuple):
    """The page's Inspect view: new results, or on a bad value the last good ones kept, marked as not
    updated, and one message beside the control at fault (no toast, no error badges)."""
    try:
        md, chain, blocks, choice, picture, table, text, note = inspect_values(name, height, width)
    except ValueError as error:
        stale = gr.Markdown(f"**Not updated**: the results below are still those for {_shown_words(shown)}.",
                            visible=True)
        return [gr.skip()] * 7 + [stale] + _messages(error) + [shown]
    return ([md, chain, _block_choices(blocks, choice), picture, table, text, note,
             gr.Markdown("", visible=False)] + _messages(None) + [(name, int(height), int(width))])


def pick_model(name: str, shown: tuple):
    try:
        _, h, w = arch.model_input_size(name)
    except ValueError as error:
        return [gr.skip()] * 10 + _messages(error) + [shown]
    return [h, w] + inspect_in_page(name, h, w, shown)


def block_picture(name: str, height, width, block: str):
    """One block's picture (the /block_picture endpoint)."""
    if not block or block == NO_BRANCHES:
        return None
    try:
        channels = arch.model_input_size(name)[0]
        return draw_block(arch.summarize(name, (channels, height, width)), block)
    except ValueError as error:
        raise gr.Error(str(error), title="Cannot use this") from None


def block_in_page(shown: tuple, block: str):
    """The chosen block of the results on screen, whatever the size boxes hold now."""
    if not block or block == NO_BRANCHES:
        return None, block_note(None, None)
    name, height, width = shown
    summary = arch.summarize(name, (arch.model_input_size(name)[0], height, width))
    return draw_block(summary, block), block_note(summary, block)


def block_note(summary: arch.Summary | None, block: str | None) -> str:
    note = arch.paper_difference(summary, block) if summary is not None and block else ""
    return BLOCK_NOTE + (f" {note}" if note else "")


# ---------------------------------------------------------------------------------------------------
# Compare

# Where a bubble's name may go, in points from its centre, tried in order until it overlaps nothing.
LABEL_OFFSETS = [(6, 6, "left", "bottom"), (6, -6, "left", "top"), (-6, 6, "right", "bottom"),
                 (-6, -6, "right", "top"), (0, 10, "center", "bottom"), (0, -10, "center", "top"),
                 (10, 0, "left", "center"), (-10, 0, "right", "center"), (14, 16, "left", "bottom"),
                 (14, -16, "left", "top"), (-14, 16, "right", "bottom"), (-14, -16, "right", "top")]


def _overlaps(box, others) -> bool:
    return any(box.overlaps(other) for other in others)


def place_labels(ax, points: list[tuple[float, float]], names: list[str], radii: list[float]) -> list:
    """One annotation per point, each at the first offset whose text box overlaps no label placed so far
    and no bubble, lies nearer its own point than any other and stays inside the axes (measured with the
    renderer's own text extents)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_pixels = fig.dpi / 72
    bubbles = [_bubble_box(ax, p, r * to_pixels) for p, r in zip(points, radii)]
    inside = ax.get_window_extent(renderer)
    centres = [ax.transData.transform(p) for p in points]
    placed, labels = [], []
    for index, (point, name) in enumerate(zip(points, names)):
        others = [b for k, b in enumerate(bubbles) if k != index]
        for dx, dy, ha, va in LABEL_OFFSETS:
            dx += np.sign(dx) * radii[index] * 0.7
            dy += np.sign(dy) * radii[index] * 0.7
            label = ax.annotate(name, point, xytext=(dx, dy), textcoords="offset points", fontsize=8, ha=ha, va=va)
            box = label.get_window_extent(renderer)
            fits = inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1)
            if fits and not _overlaps(box, placed + others) and _nearest(box, centres) == index:
                break
            label.remove()
        else:   # nowhere free: the first place, which at least names the right bubble
            dx, dy, ha, va = LABEL_OFFSETS[0]
            label = ax.annotate(name, point, xytext=(dx, dy), textcoords="offset points", fontsize=8, ha=ha, va=va)
            box = label.get_window_extent(renderer)
        placed.append(box)
        labels.append(label)
    return labels


def _nearest(box, centres) -> int:
    """The index of the point closest to a text box (distance to the box's nearest edge)."""
    def distance(c):
        return np.hypot(max(box.x0 - c[0], 0, c[0] - box.x1), max(box.y0 - c[1], 0, c[1] - box.y1))
    return int(np.argmin([distance(c) for c in centres]))


def _bubble_box(ax, point, radius_px: float):
    from matplotlib.transforms import Bbox

    x, y = ax.transData.transform(point)
    return Bbox([[x - radius_px, y - radius_px], [x + radius_px, y + radius_px]])


def compare_plot(rows: list[arch.Comparison]):
    known = [r for r in rows if r.top1 is not None]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    sizes = [max(r.params / 1e6 * 6, 12) for r in known]
    placements = []
    for ax, attr, label in ((axes[0], "macs", "multiply-accumulates per image (G)"),
                            (axes[1], "latency_ms", f"measured latency per image (ms, {rows[0].device})")):
        points = [(r.macs / 1e9 if attr == "macs" else r.latency_ms, r.top1) for r in known]
        for (x, y), size in zip(points, sizes):
            ax.scatter(x, y, s=size, alpha=0.55, edgecolor="black", linewidth=0.6)
        if known:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.margins(x=0.25, y=0.15)
        ax.set_xlabel(label)
        ax.set_ylabel("ImageNet top-1 accuracy (%)")
        ax.grid(alpha=0.3)
        placements.append((ax, points))
    missing = [r.title for r in rows if r.top1 is None]
    note = f" Not plotted (no ImageNet figure in the weights' metadata): {', '.join(missing)}." if missing else ""
    fig.suptitle("Accuracy against cost; bubble area ∝ parameters." + note, fontsize=9)
    fig.tight_layout()
    # after the layout is final: the labels are placed by where they fall in pixels
    names = [r.title.split(" (")[0] for r in known]
    radii = [size ** 0.5 / 2 for size in sizes]     # scatter's s is an area in points²
    for ax, points in placements:
        place_labels(ax, points, names, radii)
    return fig


def _compare_seconds(names) -> int:
    """compare() loads each model and times 1 warm-up and 3 passes of it."""
    names = [n for n in (names or []) if n in MODEL_NAMES] or [DEFAULT_MODEL]
    heaviest = max(names, key=lambda n: REGISTRY[n].gmacs)
    return slot_seconds(heaviest, 4 * len(names))


@gpu(duration=_compare_seconds)
def _compare(names) -> list:
    return arch.compare(names or [])


def compare_table_html(rows: list[arch.Comparison]) -> str:
    """The side-by-side table as the page shows it: headers wrap between words, never inside one."""
    head = "".join("<th>" + " ".join(f'<span class="word">{html.escape(w)}</span>' for w in c.split()) + "</th>"
                   for c in arch.COMPARE_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in arch.comparison_cells(r)) + "</tr>"
                   for r in rows)
    return f'<div class="compare-table"><table><tr>{head}</tr>{body}</table></div>'


def _cell(value) -> str:
    if isinstance(value, str) and "_Weights." in value:     # "ResNet18_Weights.IMAGENET1K_V1": the model is in column 1
        return value.split(".", 1)[1]
    return str(value)


def _compare_rows(names) -> list[arch.Comparison]:
    try:
        return _compare(names)
    except ValueError as error:
        raise gr.Error(str(error), title="Cannot use this") from None


def run_compare(names):
    """The /compare endpoint: the table as data, and the plot."""
    rows = _compare_rows(names)
    return [arch.comparison_cells(r) for r in rows], compare_plot(rows)


def compare_in_page(names):
    """The page's comparison; a bad choice keeps the last table and plot and says why beside the boxes."""
    try:
        rows = _compare(names)
    except ValueError as error:
        return gr.skip(), gr.skip(), gr.Markdown(f"⚠ {error}", visible=True)
    return compare_table_html(rows), compare_plot(rows), gr.Markdown("", visible=False)


# ---------------------------------------------------------------------------------------------------
# Is the chapter's model AlexNet?

def alexnet_check_html() -> str:
    import torch
    from torchvision.models import alexnet

    with torch.device("meta"):
        matches = arch.match_layers(arch.CNNNet(num_classes=2), alexnet(num_classes=2))
    colours = {"same": "#d9f2d9", "same maths": "#fff3c4", "different": "#f8d0d0"}
    counts = {v: sum(1 for m in matches if m.verdict == v) for v in colours}
    rows = "".join(
        f"<tr style='background:{colours[m.verdict]}'><td>{m.index}</td><td>{html.escape(m.name_a)}</td>"
        f"<td><code>{html.escape(m.layer_a)}</code></td><td><code>{html.escape(m.layer_b)}</code></td>"
        f"<td><b>{m.verdict}</b>{'<br>' + html.escape('; '.join(m.differences)) if m.differences else ''}</td></tr>"
        for m in matches)
    return (f"<p>{len(matches)} layers paired in order: <b>{counts['same']} identical</b> in type and every setting "
            f"and parameter shape, <b>{counts['same maths']} same maths</b> (they differ only in "
            f"<code>inplace</code>: torchvision's ReLU overwrites its input to save memory, the chapter's makes "
            f"a new tensor; the numbers are the same), <b>{counts['different']} different</b>.</p>"
            "<table style='border-collapse:collapse;font-size:12px'><tr><th>#</th><th>layer</th>"
            "<th>the chapter's CNNNet(num_classes=2)</th><th>torchvision alexnet(num_classes=2)</th>"
            f"<th>verdict</th></tr>{rows}</table>")


@gpu(duration=lambda: slot_seconds("alexnet", 4))
def alexnet_outputs() -> str:
    from torchvision.models import alexnet

    result = arch.same_outputs(arch.CNNNet(num_classes=2), alexnet(num_classes=2))
    if not result["loaded"]:
        return f"AlexNet's state_dict does not fit CNNNet: missing {result['missing']}, unexpected {result['unexpected']}."
    return (f"Loaded all {result['state_dict_keys']} tensors of a fresh `alexnet(num_classes=2)` state_dict into "
            f"`CNNNet(num_classes=2)` with `strict=True`-equivalent checks (no missing or unexpected key), then ran "
            f"both in eval mode on the same two random 3×224×224 images: output shape "
            f"{tuple(result['output_shape'])}, largest difference {result['max_abs_difference']:.3g}, "
            f"`torch.equal`: **{result['equal']}**. Same layers, same weights, same numbers: the chapter's model "
            f"is AlexNet.")


# ---------------------------------------------------------------------------------------------------
# Other layers on your matrix

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


def new_seed():
    return random.randint(0, 2**31 - 1)


# ---------------------------------------------------------------------------------------------------

def build(kernel_matrix: gr.Dataframe | None = None) -> None:
    names = arch.model_names()
    choices = [(arch.model_title(n), n) for n in names]
    default = names[0]
    _, h0, w0 = arch.model_input_size(default)
    gr.HTML(STYLE + "<p>Open up the classic CNNs the chapter names, compare them on this machine, check that the "
            "chapter's own model is AlexNet, and run its other layers on your numbers. Shapes, parameters "
            "and multiply-accumulates come from one real forward pass; latency is measured here.</p>",
            padding=False)
    with gr.Tabs():
        with gr.Tab("Inspect a model"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=220):
                    model = gr.Dropdown(choices=choices, value=default, label="Model")
                    model_msg = gr.Markdown(visible=False, elem_classes=["field-message"])
                with gr.Column(scale=1, min_width=200):
                    height = NumberInput(value=h0, precision=0, label="Input height (px)")
                    height_msg = gr.Markdown(visible=False, elem_classes=["field-message"])
                with gr.Column(scale=1, min_width=200):
                    width = NumberInput(value=w0, precision=0, label="Input width (px)")
                    width_msg = gr.Markdown(visible=False, elem_classes=["field-message"])
                go = gr.Button("Summarize", variant="primary", scale=1)
            shown = gr.State((default, h0, w0))
            stale = gr.Markdown(visible=False, elem_classes=["not-updated"])
            totals = gr.Markdown()
            gr.Markdown("#### The network as a chain of blocks (generated from the model)")
            chain = gr.Image(None, type="pil", show_label=False, interactive=False, format="png")
            with gr.Row():
                with gr.Column(scale=1):
                    block = gr.Dropdown(choices=[NO_BRANCHES], value=NO_BRANCHES,
                                        interactive=False, label="A block with branches (residual, "
                                        "Inception, dense...)")
                    note = gr.Markdown()
                with gr.Column(scale=3):
                    picture = gr.Image(None, type="pil", show_label=False, interactive=False, format="png")
            gr.Markdown("#### Every layer in forward order, by block (click a block to open it)")
            table = gr.HTML()
            with gr.Accordion("print(model)", open=False):
                text = gr.Code(None, language=None, lines=20, max_lines=40,
                               label="print(model): the module tree as PyTorch prints it")
            results = [totals, chain, block, picture, table, text]
            in_page = results + [note, stale, model_msg, height_msg, width_msg, shown]
            # filled when a page loads, not while the app starts (a cold start serves its first page sooner)
            # One at a time, in order: a model picked while the first view is still being drawn is shown
            # after it, not overwritten by it.
            in_order = dict(concurrency_id="architecture_inspect", concurrency_limit=1, api_visibility="private")
            gr.context.Context.root_block.load(first_view, None, results + [note], api_name="architecture_first_view",
                                               **in_order)
            gr.on([go.click, height.submit, width.submit], inspect_in_page, [model, height, width, shown], in_page,
                  api_name="summarize_in_page", **in_order)
            model.input(pick_model, [model, shown], [height, width] + in_page, api_name="pick_model", **in_order)
            block.input(block_in_page, [shown, block], [picture, note], api_name="block_in_page", **in_order)
            # The API's endpoints raise on bad input; the page's own events above keep the last result instead.
            api_only = gr.Button(visible=False)
            api_only.click(inspect_model, [model, height, width], results, api_name="summarize")
            # a block of any model, not only of the one on screen (the dropdown holds that one's blocks)
            block_name = gr.Textbox(visible=False)
            api_only.click(block_picture, [model, height, width, block_name], [picture], api_name="block_picture")

        with gr.Tab("Compare models"):
            with gr.Row():
                with gr.Column(scale=4):
                    picked = gr.CheckboxGroup(choices=choices, value=DEFAULT_COMPARE, label="Models")
                    picked_msg = gr.Markdown(visible=False, elem_classes=["field-message"])
                compare_button = gr.Button("Compare (measures latency: a few seconds)", variant="primary", scale=1)
            compare_table = gr.HTML(elem_id="compare-table")
            gr.Markdown("#### Accuracy against multiply-accumulates and against measured latency")
            compare_fig = gr.Plot(show_label=False, elem_id="compare-plot")
            gr.Markdown("Latency: median of 3 forward passes of one image after one warm-up, on this machine, "
                        "shared with everyone using it. Top-1 / top-5: torchvision's DEFAULT weights' metadata. "
                        "Chapter's figure: ImageNet top-5 error from the chapter, for the model named.")
            compare_button.click(compare_in_page, [picked], [compare_table, compare_fig, picked_msg],
                                 api_name="compare_in_page",
                                 api_visibility="private", **MODEL_QUEUE)
            compare_frame = gr.Dataframe(headers=arch.COMPARE_COLUMNS, interactive=False, visible=False)
            api_only.click(run_compare, [picked], [compare_frame, compare_fig], api_name="compare", **MODEL_QUEUE)

        with gr.Tab("Is the chapter's model AlexNet?"):
            gr.Markdown("The chapter writes its model out by hand (`CNNNet`) and says it is "
                        "`torchvision.models.alexnet(num_classes=2)`. Layer by layer:")
            gr.HTML(alexnet_check_html())
            prove = gr.Button("Load AlexNet's weights into CNNNet and compare their outputs")
            proof = gr.Markdown()
            prove.click(alexnet_outputs, None, [proof], api_name="alexnet_outputs", **MODEL_QUEUE)

        with gr.Tab("Other layers on your matrix"):
            build_other_layers(kernel_matrix)


def build_other_layers(kernel_matrix) -> None:
    """ReLU, Dropout, BatchNorm2d and adaptive pooling on a matrix of the learner's own, which starts
    as an example where each of them visibly does something; `kernel_matrix` (the Kernel tab's, when
    there is one) can be copied in."""
    gr.Markdown("An example where each layer shows what it does: negatives for ReLU, a spread for "
                "BatchNorm, a 5×5 input that adaptive pooling cuts into overlapping windows. Edit any cell; "
                "the tables follow.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            matrix = gr.Dataframe(LAYERS_EXAMPLE, label="Your matrix", interactive=True, type="array",
                                  datatype="number", elem_id="layers_matrix")
            matrix_msg = gr.HTML("", visible=False, elem_id="layers_matrix_msg")
        with gr.Column(scale=1, min_width=200):
            copy = gr.Button("Use the Kernel tab's matrix", visible=kernel_matrix is not None)
            example = gr.Button("Back to the example")
    with gr.Row():
        p = SliderInput(0, 1, value=0.5, step=0.05, label="Dropout p")
        seed = NumberInput(value=0, precision=0, label="Dropout seed")
        resample = gr.Button("Resample the dropout mask")
        out_h = NumberInput(value=2, precision=0, label="Adaptive pool output height", minimum=1, maximum=64)
        out_w = NumberInput(value=2, precision=0, label="Adaptive pool output width", minimum=1, maximum=64)
    controls_msg = gr.HTML("", visible=False, elem_id="layers_controls_msg")
    first = layer_results(LAYERS_EXAMPLE, 0.5, 0, 2, 2)
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
    layer_inputs = [matrix, p, seed, out_h, out_w]
    layer_outputs = [relu_out, drop_train, drop_eval, drop_md, bn_train, bn_eval, bn_md, avg_out, max_out,
                     pool_md]
    view = layer_outputs + [matrix_msg, controls_msg]
    # Every event that redraws the tables goes through the one queue, first come first served: leaving
    # a box and then clicking a button must not let the older answer land last.
    gr.on([], run_layers, layer_inputs, layer_outputs, api_name="layers")
    gr.on([matrix.input, p.input, seed.submit, seed.blur, out_h.submit, out_h.blur, out_w.submit, out_w.blur],
          layers_view, layer_inputs, view, api_name="layers_view", api_visibility="private",
          trigger_mode="always_last", **MODEL_QUEUE)

    def use_matrix(table, *rest):
        return table, *layers_view(table, *rest)
    if kernel_matrix is not None:
        copy.click(use_matrix, [kernel_matrix] + layer_inputs[1:], [matrix] + view,
                   api_name="layers_use_kernel_matrix", api_visibility="private", **MODEL_QUEUE)
    example.click(lambda *rest: use_matrix(LAYERS_EXAMPLE, *rest), layer_inputs[1:], [matrix] + view,
                  api_name="layers_example", api_visibility="private", **MODEL_QUEUE)
    resample.click(new_seed, None, [seed], api_name="dropout_resample", api_visibility="private").then(
        layers_view, layer_inputs, view, api_name="layers_after_resample", api_visibility="private", **MODEL_QUEUE)
