"""The Architecture tab: open up a classic CNN, compare several, check that the chapter's model is AlexNet, run
the chapter's other layers on your matrix (layers_panel); words and tables: architecture_html. Page events go by
name; the public endpoints (/summarize, /block_picture, /compare, /alexnet_outputs) keep their parameters."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import gradio as gr

from explorer.core import architecture as arch
from explorer.core.gpu import gpu, model_gmacs, slot_seconds
from explorer.core.models import DEFAULT_MODEL
from explorer.core.state import STORES
from explorer.core.timm_models import PREFIX, is_timm
from explorer.core.words import current, pick, say, speaking
from explorer.drawing.architecture_drawing import branching_blocks, draw_block, draw_chain
from explorer.drawing.comparison_drawing import compare_plot
from explorer.ui import language, layers_panel
from explorer.ui.architecture_html import alexnet_check_html, compare_table_html, table_html, totals_markdown
from explorer.ui.by_name import Components, event
from explorer.ui.fixed_words import both
from explorer.ui.number_inputs import NumberInput
from explorer.ui.queues import MODEL_QUEUE
from explorer.ui.words import t

TITLE = t("Architecture", "网络结构")
DEFAULT_COMPARE = ["alexnet", "vgg16", "googlenet", "resnet18", "resnet50", "mobilenet_v3_large"]
NO_BRANCHES = "(no block with branches)"      # the block box's value then (its words: no_branches())
BLOCK_NOTE = {"en": "Drawn from the layers that really ran inside the block.", "zh": "按块里真正运行过的层画出。"}
CANNOT = {"en": "Cannot use this", "zh": "无法使用这个值"}
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

def _checked_size(control: str, value) -> int:
    """The size box `control` ("height" or "width") as a whole number of pixels; a ValueError whose
    `dimensions` names that box."""
    label = say("input " + control, {"height": "输入高度", "width": "输入宽度"}[control])
    if value is None:
        message = say("{label}: enter a number of pixels", "{label}：请填像素数", label=label)
    elif value != int(value) or not 1 <= value <= MAX_SIDE:
        message = say("{label}: a whole number of pixels from 1 to {m}, got {v:g}",
                      "{label}：应是 1 到 {m} 之间的整数像素，收到的是 {v:g}", label=label, m=MAX_SIDE, v=value)
    else:
        return int(value)
    error = ValueError(message)
    error.dimensions = (control,)
    raise error


def no_branches(in_update: bool = False) -> list:
    """The block box's one choice when no block has branches (`in_update`: as plain text, for an update)."""
    return [((say if in_update else t)(NO_BRANCHES, "（没有带分支的块）"), NO_BRANCHES)]


def inspect_values(name: str, height, width) -> dict:
    """What the Inspect view shows for one model at one input size, by InspectView field name (totals,
    chain, picture, table, text, note), with `blocks` (those with branches) and `block` (the one shown);
    ValueError naming the input at fault."""
    channels = arch.model_input_size(name)[0]     # ValueError naming what works for an unknown name
    size = (channels, _checked_size("height", height), _checked_size("width", width))
    s = arch.summarize(name, size)
    blocks = branching_blocks(s)
    choice = _pick_block(blocks)
    return dict(totals=totals_markdown(s), chain=draw_chain(s), blocks=blocks, block=choice,
                picture=draw_block(s, choice) if choice else None, table=table_html(s), text=s.text,
                note=block_note(s, choice))


def _on_screen(values: dict) -> dict:
    """inspect_values' results as the page's updates: the block box offers the blocks with branches."""
    shown = {name: value for name, value in values.items() if name != "blocks"}
    shown["block"] = gr.Dropdown(choices=values["blocks"] or no_branches(True), value=values["block"] or NO_BRANCHES,
                                 interactive=bool(values["blocks"]))
    return shown


def inspect_model(name: str, height, width):
    """Summarize a classic CNN layer by layer: its parameters, multiply-accumulates, output shapes and receptive field at an input size.

    The numbers come from one real forward pass of the torchvision (or timm) model on an input of 3 (1 for "digits") x height x width; nothing is downloaded (the weights are not needed to count).

    Args:
        name: the model, e.g. "alexnet", "vgg16", "resnet18", "resnet50", "googlenet", "mobilenet_v3_large" or "digits" (a small CNN for 28x28 handwritten digits); the API lists every choice.
        height: the input picture's height in pixels, a whole number from 1 to 1024 (e.g. 224; 28 for "digits"); too small for the model's downsampling gives an error saying the smallest size it takes.
        width: the input picture's width in pixels, a whole number from 1 to 1024 (e.g. 224).

    Returns:
        Markdown totals: the parameters (sum of p.numel()), the multiply-accumulates per image, the number of layers and blocks, and the receptive field and jump before the classifier.
        A picture (PNG) of the network as a chain of blocks with their output shapes.
        The name of the first block with branches (residual, Inception, dense...), e.g. "layer1.0" for ResNet-18; "(no block with branches)" for a plain chain such as AlexNet or VGG (see /block_picture for any block).
        A picture (PNG) of that block's layers as they ran, or nothing when no block has branches.
        An HTML table of every layer in forward order, grouped by block: type, settings, output shape, parameters, MACs, receptive field.
        print(model): the module tree as PyTorch prints it.
    """
    try:
        v = _on_screen(inspect_values(name, height, width))
    except ValueError as error:
        raise gr.Error(str(error), title=pick(CANNOT)) from None
    return v["totals"], v["chain"], v["block"], v["picture"], v["table"], v["text"]


@functools.lru_cache(maxsize=2)
def _first_values(lang: str) -> dict:
    default = arch.model_names()[0]
    _, height, width = arch.model_input_size(default)
    with speaking(lang):
        return inspect_values(default, height, width)


STORES.register("architecture.first_view", _first_values, "the first view of the tab, drawn once for every visitor")


def first_view(_values: dict | None = None, request: gr.Request = None) -> dict:
    """What the Inspect view shows first (the default model at its input size), computed once per language:
    the request's (?lang=, else the browser's; it loads beside the event that sets the page's language)."""
    lang = language.request_language(request, None) if request is not None else current()
    return _on_screen(_first_values(lang))


def _pick_block(blocks: list[str]) -> str | None:
    """The first block with branches; for ResNets the first with a downsampling skip path."""
    return blocks[0] if blocks else None


def _control_at_fault(error: ValueError) -> str:
    """"height", "width" or "model": the control whose value the message is about."""
    dimensions = getattr(error, "dimensions", None)
    return dimensions[0] if dimensions else "model"


def _messages(error: ValueError | None) -> dict:
    """The messages beside the model, height and width controls: one shown at most."""
    at_fault = _control_at_fault(error) if error is not None else None
    return {f"{control}_msg": gr.Markdown(f"⚠ {error}" if control == at_fault else "", visible=control == at_fault)
            for control in ("model", "height", "width")}


def _shown_words(shown: tuple) -> str:
    name, height, width = shown
    channels = arch.model_input_size(name)[0]
    return say("{title} on a {c}×{h}×{w} input", "{title}，输入 {c}×{h}×{w}", title=arch.model_title(name), c=channels,
               h=height, w=width)


def inspect_in_page(values: dict) -> dict:
    """The page's Inspect view for the model, height and width given: new results, or on a bad value
    the last good ones kept (left out), marked as not updated, and one message beside the control at
    fault (no toast, no error badges)."""
    name, height, width = values["model"], values["height"], values["width"]
    try:
        found = inspect_values(name, height, width)
    except ValueError as error:
        stale = say("**Not updated**: the results below are still those for {shown}.",
                    "**未更新**：下面仍是 {shown} 的结果。", shown=_shown_words(values["shown"]))
        return dict(stale=gr.Markdown(stale, visible=True), **_messages(error))
    return dict(_on_screen(found), stale=gr.Markdown("", visible=False), **_messages(None),
                shown=(name, int(height), int(width)))


def pick_model(values: dict) -> dict:
    """A model picked: its own input size in the size boxes, and its Inspect view."""
    try:
        _, h, w = arch.model_input_size(values["model"])
    except ValueError as error:
        return _messages(error)
    return dict(inspect_in_page({**values, "height": h, "width": w}), height=h, width=w)


def block_picture(name: str, height, width, block: str):
    """Draw one block with branches of a classic CNN (a residual block, an Inception module, a dense block...) as its layers really ran.

    Args:
        name: the model, e.g. "resnet18", "resnet50", "googlenet", "densenet121" or "mobilenet_v3_large"; the API lists every choice.
        height: the input picture's height in pixels, a whole number (e.g. 224).
        width: the input picture's width in pixels, a whole number (e.g. 224).
        block: the block's module name in the model, e.g. "layer1.0" (ResNet), "inception3a" (GoogLeNet) or "features.denseblock1" (DenseNet); /summarize's third output is the model's first such block, and its layer table (fifth output) names every block.

    Returns:
        A picture (PNG) of the block: each layer with its settings and output shape, the branches side by side and where they join; nothing when block is empty.
    """
    if not block or block == NO_BRANCHES:
        return None
    try:
        channels = arch.model_input_size(name)[0]
        return draw_block(arch.summarize(name, (channels, height, width)), block)
    except ValueError as error:
        raise gr.Error(str(error), title=pick(CANNOT)) from None


def block_in_page(values: dict) -> dict:
    """The block picked, of the results on screen (whatever the size boxes hold now), and its note."""
    block = values["block"]
    if not block or block == NO_BRANCHES:
        return dict(picture=None, note=block_note(None, None))
    name, height, width = values["shown"]
    summary = arch.summarize(name, (arch.model_input_size(name)[0], height, width))
    return dict(picture=draw_block(summary, block), note=block_note(summary, block))


def block_note(summary: arch.Summary | None, block: str | None) -> str:
    note = arch.paper_difference(summary, block) if summary is not None and block else ""
    return pick(BLOCK_NOTE) + (f" {note}" if note else "")


# ---------------------------------------------------------------------------------------------------
# Compare

def _compare_seconds(names) -> int:
    """compare() loads each model and times 1 warm-up and 3 passes of it."""
    names = list(names or []) or [DEFAULT_MODEL]
    heaviest = max(names, key=model_gmacs)     # measured MACs, for a timm model too
    return slot_seconds(heaviest, 4 * len(names))


@gpu(duration=_compare_seconds)
def _compare(names) -> list:
    return arch.compare(names or [])


def run_compare(names):
    """Compare classic CNNs side by side: size, computation, speed measured on this machine, and ImageNet accuracy.

    Each model is loaded, run once to warm up and three times to time (a few seconds per large model).

    Args:
        names: the models to compare, a list of one or more names, e.g. ["alexnet", "vgg16", "resnet18", "mobilenet_v3_large"]; the API lists every choice.

    Returns:
        A table, one row per model: model, input size, parameters (millions), multiply-accumulates (G), latency (ms, median of 3 runs here), device, ImageNet top-1 and top-5 accuracy (%, from torchvision's weights), the weights' name, and the top-5 error the chapter quotes.
        A plot of accuracy against multiply-accumulates and against latency.
    """
    try:
        rows = _compare(names)
    except ValueError as error:
        raise gr.Error(str(error), title=pick(CANNOT)) from None
    return [arch.comparison_cells(r) for r in rows], compare_plot(rows)


def typed_timm_names(text) -> list[str]:
    """The timm models typed in the page beside the ticked ones, "timm:"-prefixed, in order."""
    names = [t.strip() for t in str(text or "").replace("\n", ",").split(",") if t.strip()]
    return [name if is_timm(name) else PREFIX + name for name in names]


def compare_in_page(values: dict) -> dict:
    """The page's comparison of the models ticked; a bad choice keeps the last table and plot (left
    out) and says why beside the boxes."""
    try:
        rows = _compare(list(values["picked"] or []) + typed_timm_names(values.get("also")))
    except ValueError as error:
        return dict(picked_msg=gr.Markdown(f"⚠ {error}", visible=True))
    return dict(table=compare_table_html(rows), plot=compare_plot(rows), picked_msg=gr.Markdown("", visible=False))


# ---------------------------------------------------------------------------------------------------
# Is the chapter's model AlexNet?

@gpu(duration=lambda: slot_seconds("alexnet", 4))
def alexnet_outputs() -> str:
    """Check that the chapter's hand-written CNNNet is AlexNet: load AlexNet's weights into it and compare the two models' outputs.

    Args:
        (none)

    Returns:
        Markdown: how many weight tensors were loaded, the output shape, the largest difference between the two outputs on the same two random 3x224x224 images, and whether torch.equal holds.
    """
    from torchvision.models import alexnet

    result = arch.same_outputs(arch.CNNNet(num_classes=2), alexnet(num_classes=2))
    if not result["loaded"]:
        return say("AlexNet's state_dict does not fit CNNNet: missing {missing}, unexpected {unexpected}.",
                   "AlexNet 的 state_dict 装不进 CNNNet：缺少 {missing}，多出 {unexpected}。",
                   missing=result["missing"], unexpected=result["unexpected"])
    return say("Loaded all {n} tensors of a fresh `alexnet(num_classes=2)` state_dict into `CNNNet(num_classes=2)` "
               "with `strict=True`-equivalent checks (no missing or unexpected key), then ran both in eval mode on the "
               "same two random 3×224×224 images: output shape {shape}, largest difference {diff}, `torch.equal`: "
               "**{equal}**. Same layers, same weights, same numbers: the chapter's model is AlexNet.",
               "把一个新建的 `alexnet(num_classes=2)` 的 state_dict 中全部 {n} 个张量装进 `CNNNet(num_classes=2)`，"
               "检查与 `strict=True` 等同（没有缺少或多出的键），然后在评估模式下用同样两张随机的 3×224×224 图片运行两者："
               "输出形状 {shape}，最大差值 {diff}，`torch.equal`：**{equal}**。层相同、权重相同、数值相同：本章的模型就是 "
               "AlexNet。", n=result["state_dict_keys"], shape=tuple(result["output_shape"]),
               diff=f"{result['max_abs_difference']:.3g}", equal=result["equal"])


def alexnet_in_page(_values: dict | None = None) -> dict:
    """The page's proof (alexnet_outputs), in the visitor's language."""
    return dict(proof=alexnet_outputs())


# ---------------------------------------------------------------------------------------------------
# The tab: its components, laid out, then wired

RESULTS = ("totals", "chain", "block", "picture", "table", "text")    # /summarize's outputs, in its order
IN_PAGE = RESULTS + ("note", "stale", "model_msg", "height_msg", "width_msg", "shown")   # inspect_in_page's


@dataclass(frozen=True)
class InspectView(Components):
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
        """/summarize's outputs, in its order (a contract: tests/ui/api_contract.json)."""
        return [getattr(self, name) for name in RESULTS]


@dataclass(frozen=True)
class CompareView(Components):
    picked: gr.CheckboxGroup
    picked_msg: gr.Markdown
    button: gr.Button
    table: gr.HTML
    plot: gr.Plot
    frame: gr.Dataframe              # never shown: /compare's table as data
    also: gr.Textbox | None = None   # timm models typed by name, compared with the ticked ones (page only)


@dataclass(frozen=True)
class AlexNetView:
    prove: gr.Button
    proof: gr.Markdown


@dataclass(frozen=True)
class ArchitectureTab:
    """The tab's components, one dataclass per inner tab (`parts`: the inner tabs, by id)."""
    inspect: InspectView
    compare: CompareView
    alexnet: AlexNetView
    layers: layers_panel.LayersPanel
    kernel_matrix: gr.Dataframe | None    # the Kernel tab's, which the other layers can copy
    parts: gr.Tabs | None = None


def build(kernel_matrix: gr.Dataframe | None = None) -> ArchitectureTab:
    tab = layout(kernel_matrix)
    wire(tab)
    return tab


def layout(kernel_matrix: gr.Dataframe | None = None) -> ArchitectureTab:
    """The tab's components in its four inner tabs; the Inspect view is filled when a page loads."""
    choices = [(both(arch.model_title, n), n) for n in arch.model_names()]
    gr.HTML(STYLE, padding=False)
    gr.Markdown(t("Open up the classic CNNs the chapter names, compare them on this machine, check that the "
                  "chapter's own model is AlexNet, and run its other layers on your numbers. Shapes, parameters "
                  "and multiply-accumulates come from one real forward pass; latency is measured here.",
                  "打开本章提到的经典卷积神经网络，在这台机器上比较它们，验证本章自己的模型就是 AlexNet，"
                  "再把它的其他层用在你的数字上。形状、参数和乘加次数都来自一次真实的前向传播；延迟是在这里实测的。"))
    with gr.Tabs() as parts:             # ids: inspect, compare, alexnet, layers (view_link.PARTS)
        with gr.Tab(t("Inspect a model", "查看一个模型"), id="inspect"):
            inspect = _inspect_layout(choices)
        with gr.Tab(t("Compare models", "比较模型"), id="compare"):
            compare = _compare_layout(choices)
        with gr.Tab(t("Is the chapter's model AlexNet?", "本章的模型是 AlexNet 吗？"), id="alexnet"):
            alexnet = _alexnet_layout()
        with gr.Tab(t("Other layers on your matrix", "在你的矩阵上试其他层"), id="layers"):
            layers = layers_panel.layout(can_copy=kernel_matrix is not None)
    return ArchitectureTab(inspect, compare, alexnet, layers, kernel_matrix, parts)


def _inspect_layout(choices: list) -> InspectView:
    default = arch.model_names()[0]
    _, h0, w0 = arch.model_input_size(default)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=220):
            model = gr.Dropdown(choices=choices, value=default, label=t("Model", "模型"), allow_custom_value=True,
                                info=t("or type any timm CNN as timm:<name>, e.g. timm:resnet18",
                                       "也可以输入任意 timm 卷积神经网络，写成 timm:<名称>，例如 timm:resnet18"))
            model_msg = gr.Markdown(visible=False, elem_classes=["field-message"])
        with gr.Column(scale=1, min_width=200):
            height = NumberInput(value=h0, precision=0, label=t("Input height (px)", "输入高度（像素）"))
            height_msg = gr.Markdown(visible=False, elem_classes=["field-message"])
        with gr.Column(scale=1, min_width=200):
            width = NumberInput(value=w0, precision=0, label=t("Input width (px)", "输入宽度（像素）"))
            width_msg = gr.Markdown(visible=False, elem_classes=["field-message"])
        go = gr.Button(t("Summarize", "汇总"), variant="primary", scale=1)
    shown = gr.State((default, h0, w0))
    stale = gr.Markdown(visible=False, elem_classes=["not-updated"])
    totals = gr.Markdown()
    gr.Markdown(t("#### The network as a chain of blocks (generated from the model)", "#### 把网络画成一串块（由模型生成）"))
    chain = gr.Image(None, type="pil", show_label=False, interactive=False, format="png")
    with gr.Row():
        with gr.Column(scale=1):
            block = gr.Dropdown(choices=no_branches(), value=NO_BRANCHES, interactive=False,
                                label=t("A block with branches (residual, Inception, dense...)",
                                        "一个带分支的块（残差、Inception、dense……）"))
            note = gr.Markdown()
        with gr.Column(scale=3):
            picture = gr.Image(None, type="pil", show_label=False, interactive=False, format="png")
    gr.Markdown(t("#### Every layer in forward order, by block (click a block to open it)",
                  "#### 按前向顺序列出每一层，按块分组（点一个块可以展开）"))
    table = gr.HTML()
    with gr.Accordion(t("print(model)", "print(model)"), open=False):
        text = gr.Code(None, language=None, lines=20, max_lines=40,
                       label=t("print(model): the module tree as PyTorch prints it", "print(model)：PyTorch 打印出的模块树"))
    return InspectView(model, model_msg, height, height_msg, width, width_msg, go, shown, stale, totals, chain,
                       block, note, picture, table, text, api_only=gr.Button(t("Run", "运行"), visible=False),
                       block_name=gr.Textbox(visible=False))


def _compare_layout(choices: list) -> CompareView:
    with gr.Row():
        with gr.Column(scale=4):
            picked = gr.CheckboxGroup(choices=choices, value=DEFAULT_COMPARE, label=t("Models", "模型"))
            also = gr.Textbox(label=t("and any timm CNNs (names, comma-separated)", "以及任意 timm 卷积神经网络（名称，用逗号分隔）"),
                              placeholder=t("resnet18, mixnet_s", "resnet18, mixnet_s"), elem_id="compare-timm")
            picked_msg = gr.Markdown(visible=False, elem_classes=["field-message"])
        button = gr.Button(t("Compare (measures latency: a few seconds)", "比较（要实测延迟：需要几秒）"), variant="primary",
                           scale=1)
    table = gr.HTML(elem_id="compare-table")
    gr.Markdown(t("#### Accuracy against multiply-accumulates and against measured latency", "#### 准确率与乘加次数、与实测延迟的关系"))
    plot = gr.Plot(show_label=False, elem_id="compare-plot")
    gr.Markdown(t("Latency: median of 3 forward passes of one image after one warm-up, on this machine, "
                  "shared with everyone using it. Top-1 / top-5: torchvision's DEFAULT weights' metadata. "
                  "Chapter's figure: ImageNet top-5 error from the chapter, for the model named.",
                  "延迟：预热一次后，对一张图做 3 次前向传播的中位数，在这台与所有使用者共用的机器上测得。"
                  "Top-1 / top-5：来自 torchvision DEFAULT 权重的元数据。本章数据：本章给出的该模型的 ImageNet top-5 错误率。"))
    frame = gr.Dataframe(headers=arch.COMPARE_COLUMNS, interactive=False, visible=False)
    return CompareView(picked, picked_msg, button, table, plot, frame, also)


def _alexnet_layout() -> AlexNetView:
    gr.Markdown(t("The chapter writes its model out by hand (`CNNNet`) and says it is "
                  "`torchvision.models.alexnet(num_classes=2)`. Layer by layer:",
                  "本章亲手写出了它的模型（`CNNNet`），并说它就是 `torchvision.models.alexnet(num_classes=2)`。逐层对照："))
    gr.HTML(both(alexnet_check_html))
    prove = gr.Button(t("Load AlexNet's weights into CNNNet and compare their outputs",
                        "把 AlexNet 的权重装进 CNNNet，比较两者的输出"))
    return AlexNetView(prove, proof=gr.Markdown())


def wire(tab: ArchitectureTab) -> None:
    """Every event of the tab, in the order Gradio numbers them."""
    _wire_inspect(tab.inspect)
    _wire_compare(tab.compare, tab.inspect.api_only)
    gr.on([], alexnet_outputs, None, [tab.alexnet.proof], api_name="alexnet_outputs", **MODEL_QUEUE)
    tab.alexnet.prove.click(**event({"proof": tab.alexnet.proof}, alexnet_in_page, (), ("proof",)),
                            api_name="alexnet_in_page", api_visibility="private", **MODEL_QUEUE)
    layers_panel.wire(tab.layers, tab.kernel_matrix)


def _wire_inspect(view: InspectView) -> None:
    # filled when a page loads, not while the app starts (a cold start serves its first page sooner)
    # One at a time, in order: a model picked while the first view is still being drawn is shown
    # after it, not overwritten by it.
    in_order = dict(concurrency_id="architecture_inspect", concurrency_limit=1, api_visibility="private")
    c = view.components()
    gr.context.Context.root_block.load(**event(c, first_view, (), RESULTS + ("note",)),
                                       api_name="architecture_first_view", **in_order)
    gr.on([view.go.click, view.height.submit, view.width.submit],
          **event(c, inspect_in_page, ("model", "height", "width", "shown"), IN_PAGE),
          api_name="summarize_in_page", **in_order)
    # `select`, not `input`: Gradio 6.31's dropdown sends `input` on the pick and again on the blur that
    # follows, and that second answer put the default size back over a size typed in between
    view.model.select(**event(c, pick_model, ("model", "shown"), ("height", "width") + IN_PAGE),
                      api_name="pick_model", **in_order)
    view.block.select(**event(c, block_in_page, ("shown", "block"), ("picture", "note")),
                      api_name="block_in_page", **in_order)
    # The API's endpoints raise on bad input; the page's own events above keep the last result instead.
    view.api_only.click(inspect_model, [view.model, view.height, view.width], view.results, api_name="summarize")
    # a block of any model, not only of the one on screen (the dropdown holds that one's blocks)
    view.api_only.click(block_picture, [view.model, view.height, view.width, view.block_name], [view.picture],
                        api_name="block_picture")


def _wire_compare(view: CompareView, api_only: gr.Button) -> None:
    view.button.click(**event(view.components(), compare_in_page, ("picked", "also"), ("table", "plot", "picked_msg")),
                      api_name="compare_in_page", api_visibility="private", **MODEL_QUEUE)
    api_only.click(run_compare, [view.picked], [view.frame, view.plot], api_name="compare", **MODEL_QUEUE)
