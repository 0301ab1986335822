"""The Architecture tab: open up a classic CNN, compare several, check that the chapter's model is
AlexNet, and run the chapter's other layers on your own matrix."""
from __future__ import annotations

import functools
import html
from dataclasses import dataclass

import gradio as gr

from explorer.core import architecture as arch
from explorer.core.gpu import gpu, slot_seconds
from explorer.core.models import DEFAULT_MODEL, MODEL_NAMES, REGISTRY
from explorer.core.state import STORES
from explorer.drawing.architecture_drawing import branching_blocks, draw_block, draw_chain
from explorer.drawing.comparison_drawing import compare_plot
from explorer.ui import layers_panel
from explorer.ui.number_inputs import NumberInput
from explorer.ui.queues import MODEL_QUEUE

TITLE = "Architecture"
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


STORES.register("architecture.first_view", _first_values, "the first view of the tab, drawn once for every visitor")


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
# The tab: its components, laid out, then wired

@dataclass(frozen=True)
class InspectView:
    model: gr.Dropdown
    model_msg: gr.Markdown
    height: NumberInput
    height_msg: gr.Markdown
    width: NumberInput
    width_msg: gr.Markdown
    go: gr.Button
    shown: gr.State                  # (model, height, width) of the results on screen
    stale: gr.Markdown
    totals: gr.Markdown
    chain: gr.Image
    block: gr.Dropdown
    note: gr.Markdown
    picture: gr.Image
    table: gr.HTML
    text: gr.Code
    api_only: gr.Button              # never shown: the API's endpoints hang on its click
    block_name: gr.Textbox           # never shown: /block_picture's block, of any model

    @property
    def results(self) -> list:
        """What inspect_model returns, in its order (/summarize)."""
        return [self.totals, self.chain, self.block, self.picture, self.table, self.text]

    @property
    def in_page(self) -> list:
        """What inspect_in_page returns, in its order."""
        return self.results + [self.note, self.stale, self.model_msg, self.height_msg, self.width_msg, self.shown]


@dataclass(frozen=True)
class CompareView:
    picked: gr.CheckboxGroup
    picked_msg: gr.Markdown
    button: gr.Button
    table: gr.HTML
    plot: gr.Plot
    frame: gr.Dataframe              # never shown: /compare's table as data


@dataclass(frozen=True)
class AlexNetView:
    prove: gr.Button
    proof: gr.Markdown


@dataclass(frozen=True)
class ArchitectureTab:
    """The tab's components, one dataclass per inner tab."""
    inspect: InspectView
    compare: CompareView
    alexnet: AlexNetView
    layers: layers_panel.LayersPanel
    kernel_matrix: gr.Dataframe | None    # the Kernel tab's, which the other layers can copy


def build(kernel_matrix: gr.Dataframe | None = None) -> ArchitectureTab:
    tab = layout(kernel_matrix)
    wire(tab)
    return tab


def layout(kernel_matrix: gr.Dataframe | None = None) -> ArchitectureTab:
    """The tab's components in its four inner tabs; the Inspect view is filled when a page loads."""
    choices = [(arch.model_title(n), n) for n in arch.model_names()]
    gr.HTML(STYLE + "<p>Open up the classic CNNs the chapter names, compare them on this machine, check that the "
            "chapter's own model is AlexNet, and run its other layers on your numbers. Shapes, parameters "
            "and multiply-accumulates come from one real forward pass; latency is measured here.</p>",
            padding=False)
    with gr.Tabs():
        with gr.Tab("Inspect a model"):
            inspect = _inspect_layout(choices)
        with gr.Tab("Compare models"):
            compare = _compare_layout(choices)
        with gr.Tab("Is the chapter's model AlexNet?"):
            alexnet = _alexnet_layout()
        with gr.Tab("Other layers on your matrix"):
            layers = layers_panel.layout(can_copy=kernel_matrix is not None)
    return ArchitectureTab(inspect, compare, alexnet, layers, kernel_matrix)


def _inspect_layout(choices: list) -> InspectView:
    default = arch.model_names()[0]
    _, h0, w0 = arch.model_input_size(default)
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
    return InspectView(model, model_msg, height, height_msg, width, width_msg, go, shown, stale, totals, chain,
                       block, note, picture, table, text, api_only=gr.Button(visible=False),
                       block_name=gr.Textbox(visible=False))


def _compare_layout(choices: list) -> CompareView:
    with gr.Row():
        with gr.Column(scale=4):
            picked = gr.CheckboxGroup(choices=choices, value=DEFAULT_COMPARE, label="Models")
            picked_msg = gr.Markdown(visible=False, elem_classes=["field-message"])
        button = gr.Button("Compare (measures latency: a few seconds)", variant="primary", scale=1)
    table = gr.HTML(elem_id="compare-table")
    gr.Markdown("#### Accuracy against multiply-accumulates and against measured latency")
    plot = gr.Plot(show_label=False, elem_id="compare-plot")
    gr.Markdown("Latency: median of 3 forward passes of one image after one warm-up, on this machine, "
                "shared with everyone using it. Top-1 / top-5: torchvision's DEFAULT weights' metadata. "
                "Chapter's figure: ImageNet top-5 error from the chapter, for the model named.")
    frame = gr.Dataframe(headers=arch.COMPARE_COLUMNS, interactive=False, visible=False)
    return CompareView(picked, picked_msg, button, table, plot, frame)


def _alexnet_layout() -> AlexNetView:
    gr.Markdown("The chapter writes its model out by hand (`CNNNet`) and says it is "
                "`torchvision.models.alexnet(num_classes=2)`. Layer by layer:")
    gr.HTML(alexnet_check_html())
    prove = gr.Button("Load AlexNet's weights into CNNNet and compare their outputs")
    return AlexNetView(prove, proof=gr.Markdown())


def wire(tab: ArchitectureTab) -> None:
    """Every event of the tab, in the order Gradio numbers them."""
    _wire_inspect(tab.inspect)
    _wire_compare(tab.compare, tab.inspect.api_only)
    tab.alexnet.prove.click(alexnet_outputs, None, [tab.alexnet.proof], api_name="alexnet_outputs", **MODEL_QUEUE)
    layers_panel.wire(tab.layers, tab.kernel_matrix)


def _wire_inspect(view: InspectView) -> None:
    # filled when a page loads, not while the app starts (a cold start serves its first page sooner)
    # One at a time, in order: a model picked while the first view is still being drawn is shown
    # after it, not overwritten by it.
    in_order = dict(concurrency_id="architecture_inspect", concurrency_limit=1, api_visibility="private")
    gr.context.Context.root_block.load(first_view, None, view.results + [view.note],
                                       api_name="architecture_first_view", **in_order)
    gr.on([view.go.click, view.height.submit, view.width.submit], inspect_in_page,
          [view.model, view.height, view.width, view.shown], view.in_page, api_name="summarize_in_page", **in_order)
    # `select`, not `input`: Gradio 6.31's dropdown sends `input` on the pick and again on the blur that
    # follows, and that second answer put the default size back over a size typed in between
    view.model.select(pick_model, [view.model, view.shown], [view.height, view.width] + view.in_page,
                      api_name="pick_model", **in_order)
    view.block.select(block_in_page, [view.shown, view.block], [view.picture, view.note], api_name="block_in_page",
                      **in_order)
    # The API's endpoints raise on bad input; the page's own events above keep the last result instead.
    view.api_only.click(inspect_model, [view.model, view.height, view.width], view.results, api_name="summarize")
    # a block of any model, not only of the one on screen (the dropdown holds that one's blocks)
    view.api_only.click(block_picture, [view.model, view.height, view.width, view.block_name], [view.picture],
                        api_name="block_picture")


def _wire_compare(view: CompareView, api_only: gr.Button) -> None:
    view.button.click(compare_in_page, [view.picked], [view.table, view.plot, view.picked_msg],
                      api_name="compare_in_page", api_visibility="private", **MODEL_QUEUE)
    api_only.click(run_compare, [view.picked], [view.frame, view.plot], api_name="compare", **MODEL_QUEUE)
