"""The Stages tab: one forward pass of a real CNN on the user's picture, then every Conv and Pool
stage stepped through from the activations kept server-side (no new pass per step).

`layout()` places the components and returns them as a StagesTab, `wire(tab, kernel, tabs)` connects
the events by the components' names (explorer.ui.by_name); `build()` does both. The jobs live in their
own modules: the activations kept (stages_inspections), what a stage, channel or unit shows
(stages_views), the page's events (stages_events), "What does this channel look for?"
(stages_features) and the public endpoints /predict, /stages, /unit and /visualize (stages_api)."""
from dataclasses import dataclass

import gradio as gr
from gradio.blocks import Block

from explorer.core.words import COUNTING
from explorer.ui import stages_events as on
from explorer.ui.by_name import Components, event
from explorer.ui.kernel_tab import CONTROL_FIELDS, KernelTab, filled_controls, settings_from_unit
from explorer.ui.number_inputs import NumberInput, SliderInput
from explorer.ui.picture_input import PictureInput, build_picture_input
from explorer.ui.queues import MODEL_QUEUE
from explorer.ui.stages_api import StagesApi, api_layout, wire_api
from explorer.ui.stages_features import FeatureRow, feature_row_layout, wire_feature_row
from explorer.ui.stages_inspections import HINT
from explorer.ui.stages_live import LiveRow, live_layout, wire_live
from explorer.ui.stages_views import (
    ANIMATE,
    HEADING,
    HEADINGS,
    OVERLAY_HEADING,
    STAGE_VIEWS,
    TOP5,
    UNIT_HEADING,
    UNIT_VIEWS,
)
from explorer.ui.words import t

TITLE = t("Stages", "阶段")
PLAY_SECONDS = 1.2
COUNT_CHOICES = [("16", "16"), ("64", "64"), (t("all", "全部"), "all")]
SCALE_CHOICES = [(t("shared", "共用"), "shared"), (t("per channel", "每个通道"), "per channel")]
OVERLAY_FORMAT = "jpeg"   # a photo: PNG costs ~60 ms to encode here, JPEG ~1 ms
LARGE_HEADING = t("**The channel, enlarged**, on its own colour scale (± its largest |value|)",
                  "**放大的通道**，用它自己的色标（± 它最大的 |值|）")
INTRO = ("A CNN turns a picture into a stack of **stages**. Each convolution (conv) slides its kernels over the "
         "previous stage and gives one **feature map** per kernel (a channel); each pooling stage shrinks them. Give "
         "the network a picture, then step through every stage and see what it computed. ",
         "卷积神经网络把一张图片变成一叠**阶段**。每个卷积层（conv）把它的卷积核在上一个阶段上滑动，每个卷积核给出一张"
         "**特征图**（一个通道）；每个池化阶段把它们缩小。给网络一张图片，然后一个阶段一个阶段地看它算出了什么。")

# The picture first. A wide screen shows the intro, then the picture column beside the stage's maps; the
# note on the weights heads the picture column. On a phone Gradio stacks the row's columns (picture first),
# which put the maps ~1700 px down: once a photo has stages (the strip has its image: a live frame alone
# does not count), the row and the picture column give their parts to #stages-first, which shows the note,
# the maps' column, the intro, then the model and picture. `order` needs them as one flex container's
# items: `display: contents`. While the Draw tab is open the canvas stays above the maps: a drawing's
# every stroke gives new stages, and the canvas would move ~1500 px down after the first one.
# While Live is open (LIVE, with or without a photo before) the camera heads the picture column, beside the
# maps, and a phone shows the note, the camera, the maps under it, then the rest: a visitor pointing the
# camera sees the maps follow without scrolling.
# On a phone the grid fills the width and its buttons would cover the top-right cell.
PHONE = "@media (max-width: 767px)"      # the row's two columns (320 px each at least) stack below 768 px
FIRST = "#stages-first:has(#stages-overview img):not(:has(#stages-draw-button[aria-selected=true]))"
LIVE = "#stages-first:has(#stages-live-box .label-wrap.open)"
STYLE = f"""
#stages-style {{display: none}}
#stages-note {{background: #fffaeb; border-left: 4px solid #f79009; border-radius: 4px; padding: 6px 10px}}
#stages-note * {{color: #4e1d09}}       /* dark text on the light box in a dark theme too */
@media (max-width: 700px) {{#stages-grid .icon-button-wrapper {{display: none}}}}
{LIVE} #stages-note {{order: -2}}
{LIVE} #stages-live-box {{order: -1}}
{PHONE} {{
  {FIRST} #stages-top, {FIRST} #stages-inputs, {LIVE} #stages-top, {LIVE} #stages-inputs {{display: contents}}
  {FIRST} #stages-note, {LIVE} #stages-note {{order: -5}}
  {LIVE} #stages-live-box {{order: -4}}
  {FIRST} #stages-maps, {LIVE} #stages-maps {{order: -3}}
  {FIRST} #stages-intro, {LIVE} #stages-intro {{order: -1}}
  {FIRST}, {LIVE} {{gap: 10px}}
  #stages-maps {{gap: 8px}}
  #stages-note {{padding: 4px 8px}}
  #stages-note p {{font-size: 13px; line-height: 1.4}}
  #stages-maps h4 {{font-size: 15px; margin: 0}}
}}
"""
# After a new photo or model a phone whose maps were moved first (STYLE; looked for up to 3 s) and do not
# start in the upper half of the screen (the visitor was further down, at the examples or the model box)
# goes back to its top, where they are. A refused picture, a drawing or a wide screen moves nothing. A
# lesson's Try it has put the page at its top already; it scrolls to a part further down only once that
# part is shown, after this.
PHONE_TOP_JS = """() => {
  if (window.innerWidth > 767) return [];
  let tries = 0;
  const look = setInterval(() => {
    const maps = document.querySelector("#stages-maps"), grid = document.querySelector("#stages-grid");
    const first = maps && getComputedStyle(maps).order === "-3";
    if (!first && ++tries < 30) return;
    clearInterval(look);
    if (!first || !grid || !grid.offsetParent) return;          // not moved, or another tab is shown
    const top = grid.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight / 2) window.scrollTo({top: 0});
  }, 100);
  return [];
}"""
# Opening Photo or Draw on a phone moves the maps below or above the picture input (STYLE): the Photo and
# Draw buttons the visitor pressed are brought back to the top of the screen.
PHONE_SOURCES_JS = """() => {
  if (window.innerWidth > 767) return [];
  requestAnimationFrame(() => document.querySelector("#stages-draw-button")?.scrollIntoView({block: "start"}));
  return [];
}"""

# --- the page: layout -----------------------------------------------------------------------------

@dataclass
class StagesTab(Components):
    """The tab's components. Its events read and write them by these names (see `components`)."""
    picture_input: PictureInput     # its picture (the State of what was given last) and model: see components
    live: LiveRow                   # the webcam streamed through the model (stages_live)
    note: gr.Markdown
    channel_heading: gr.Markdown    # "... its strongest unit", or "... the chosen unit" once one is clicked
    overlay_heading: gr.Markdown
    unit_heading: gr.Markdown       # over the unit's picture: kernel slices (conv) or the window (pool)
    label_title: gr.Markdown
    label: gr.Label
    strip: gr.Image             # every stage's strongest channel; click one to jump to it
    stage_row: gr.Row           # shown once there are stages
    stage: SliderInput
    play: gr.Button
    stage_md: gr.Markdown
    count: gr.Radio
    scale: gr.Radio
    grid: gr.Image
    channel: NumberInput
    channel_md: gr.Markdown
    large: gr.Image
    overlay: gr.Image
    unit_panel: gr.Column       # "How this number was made", hidden until a unit is clicked
    unit_words: gr.Markdown
    unit_picture: gr.Image
    animate: gr.Button          # the unit's numbers into the Kernel tab
    feature: FeatureRow
    api: StagesApi
    playing: gr.State
    timer: gr.Timer
    shown_channel: gr.State     # the channel the pictures show, for the box to go back to
    shown_stage: gr.State
    unit: gr.State              # [stage (1-based), channel, row, col] of the unit explained

    @property
    def picture(self) -> gr.State:
        return self.picture_input.picture

    @property
    def model(self) -> gr.Dropdown:
        return self.picture_input.model

    def components(self) -> dict[str, Block]:
        """Every component the events read or write, by the name the handlers use: the fields, and
        "picture" and "model" of the picture input."""
        return super().components() | {"picture": self.picture, "model": self.model}


def _unit_panel() -> dict:
    """"How this number was made": the unit's words, "Animate this" and the picture of its arithmetic."""
    with gr.Column(visible=False, elem_id="stages-unit") as panel:
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                words = gr.Markdown(elem_id="stages-unit-words")
                animate = gr.Button(t(*ANIMATE), variant="primary", elem_id="stages-animate")
            with gr.Column(scale=3):
                heading = gr.Markdown(t(*UNIT_HEADING["conv"]), elem_id="stages-unit-heading")
                picture = gr.Image(label=t("How this number was made", "这个数是怎么算出来的"), show_label=False,
                                   format="png", interactive=False, elem_id="stages-unit-picture")
    return dict(unit_panel=panel, unit_words=words, unit_picture=picture, animate=animate, unit_heading=heading)


def _picture_column() -> dict:
    """Any note on the model's weights, the picture, the model and its top-5 classes."""
    with gr.Column(scale=2, min_width=320, elem_id="stages-inputs"):
        # beside the maps on a wide screen (above them it pushed the grid's last row off the first screen);
        # above them on a phone (STYLE)
        note = gr.Markdown(visible=False, elem_id="stages-note")
        picture = build_picture_input("stages")
        live = live_layout()
        # the title in its own Markdown: a long model name wraps there instead of over the top class
        title = gr.Markdown(t(*TOP5), elem_id="stages-label-title")
        label = gr.Label(num_top_classes=5, label=t("Top-5 predictions", "前 5 个预测"), show_label=False,
                         elem_id="stages-label")
    return dict(note=note, picture_input=picture, live=live, label_title=title, label=label)


def _stages_column() -> dict:
    """The strip of all stages, the stage slider and Play, the stage's words and its feature maps."""
    with gr.Column(scale=5, elem_id="stages-maps"):
        # the picture first: the stage's maps on the first screen, the words, the choices and the strip of
        # all stages below them
        gr.Markdown(t("#### Feature maps of this stage: #rank and channel number above each; click one to open it below",
                      "#### 这个阶段的特征图：每张上方是 #名次 和通道号；点击一张，在下面打开它"))
        grid = gr.Image(label=t("Feature maps", "特征图"), show_label=False, format="png", interactive=False,
                        buttons=["download", "fullscreen"], elem_id="stages-grid")
        with gr.Row(equal_height=True, visible=False) as stage_row:
            stage = SliderInput(1, 2, value=1, step=1, label=t("Stage", "阶段"), scale=5)
            play = gr.Button(t(*on.PLAY), scale=1, min_width=100, elem_id="stages-play")
        stage_md = gr.Markdown(t("### " + HINT[0], "### " + HINT[1]))
        with gr.Row():
            count = gr.Radio(COUNT_CHOICES, value="16", label=t("Channels shown (strongest mean first)",
                                                                "显示的通道（平均值最强的在前）"))
            scale = gr.Radio(SCALE_CHOICES, value="shared", label=t("Colour scale", "色标"))
        gr.Markdown(t("#### All stages, in the order the network runs them: each shows its strongest channel; "
                      "click one to jump to it",
                      "#### 全部阶段，按网络运行的顺序：每个显示它最强的通道；点击一个跳到那里"))
        # no buttons: they would sit on the first row's last thumbnails
        strip = gr.Image(label=t("All stages", "全部阶段"), show_label=False, format="png", interactive=False,
                         buttons=[], elem_id="stages-overview")
        gr.HTML(f"<style>{STYLE}</style>", elem_id="stages-style")
    return dict(strip=strip, stage_row=stage_row, stage=stage, play=play, stage_md=stage_md, count=count,
                scale=scale, grid=grid)


def _channel_row() -> dict:
    """One channel: its number and words, enlarged, and over the picture the model saw."""
    heading = gr.Markdown(t(*HEADING[False]), elem_id="stages-channel-heading")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=200):
            channel = NumberInput(value=0, precision=0, minimum=0, label=t("Channel", "通道"), elem_id="stages-channel")
            channel_md = gr.Markdown()
        with gr.Column(scale=2):
            gr.Markdown(LARGE_HEADING)
            large = gr.Image(label=t("The channel, enlarged", "放大的通道"), show_label=False, format="png", interactive=False,
                             elem_id="stages-large")
        with gr.Column(scale=2):
            overlay_heading = gr.Markdown(t(*OVERLAY_HEADING[False]), elem_id="stages-overlay-heading")
            overlay = gr.Image(label=t("The channel over the picture", "叠在图片上的通道"), show_label=False,
                               format=OVERLAY_FORMAT, interactive=False, elem_id="stages-overlay")
    return dict(channel=channel, channel_md=channel_md, large=large, overlay=overlay, channel_heading=heading,
                overlay_heading=overlay_heading)


def layout() -> StagesTab:
    """Places the tab's components in the current layout context and returns them."""
    with gr.Column(elem_id="stages-first"):       # reordered on a phone: see STYLE
        gr.Markdown(t(INTRO[0] + COUNTING["en"], INTRO[1] + COUNTING["zh"]), elem_id="stages-intro")
        with gr.Row(equal_height=False, elem_id="stages-top"):
            picture_side = _picture_column()
            stages_side = _stages_column()
    channel_side = _channel_row()
    unit_side, feature = _unit_panel(), feature_row_layout()
    return StagesTab(**picture_side, **stages_side, **channel_side, **unit_side, feature=feature,
                     playing=gr.State(False), timer=gr.Timer(PLAY_SECONDS, active=False),
                     shown_channel=gr.State(None), shown_stage=gr.State(None), unit=gr.State(None),
                     api=api_layout())


# --- the page: wiring -----------------------------------------------------------------------------

QUIET = dict(api_visibility="private", show_progress="hidden")
SHOWN = ("picture", "model")        # every event reads the stages of this picture and model


def _wire_stepping(tab: StagesTab) -> None:
    """A new picture or model, a stage typed or jumped to, another count or colour scale."""
    c = tab.components()
    tab.after_new_picture = tab.picture_input.on_new_input(      # explorer.ui.page_wiring follows these
        **event(c, on.on_new_picture, SHOWN + ("count", "scale"),
                ("note", "label", "stage", "stage_row", "label_title") + STAGE_VIEWS),
        show_progress="minimal", **MODEL_QUEUE)
    for computed in tab.after_new_picture.values():
        computed.then(None, js=PHONE_TOP_JS)
    tab.picture_input.sources.select(None, js=PHONE_SOURCES_JS)
    tab.stage.input(**event(c, on.on_stage_typed, SHOWN + ("stage", "count", "scale", "shown_stage"),
                            ("stage",) + STAGE_VIEWS),
                    preprocess=False, api_name="stages_step", trigger_mode="always_last", **QUIET)
    for control, name in ((tab.count, "stages_count"), (tab.scale, "stages_scale")):
        control.input(**event(c, on.on_stage, SHOWN + ("stage", "count", "scale", "channel"), STAGE_VIEWS + HEADINGS),
                      api_name=name, **QUIET)
    tab.strip.select(**event(c, on.on_overview_click, SHOWN + ("count", "scale"), ("stage",) + STAGE_VIEWS),
                     api_name="stages_jump", **QUIET)


def _wire_unit(tab: StagesTab) -> None:
    """A channel or a unit clicked."""
    c = tab.components()
    tab.grid.select(**event(c, on.on_grid_click, SHOWN + ("stage", "count"),
                            ("channel", "shown_channel") + UNIT_VIEWS),
                    api_name="stages_pick_channel", **QUIET)
    tab.large.select(**event(c, on.on_large_click, SHOWN + ("stage", "channel"), UNIT_VIEWS),
                     api_name="stages_pick_unit", **QUIET)


def _wire_channel(tab: StagesTab) -> None:
    """Another picture, stage or channel hides the unit explained (no longer on screen); a channel typed."""
    c = tab.components()
    gr.on([tab.picture.change, tab.model.change, tab.stage.input, tab.strip.select, tab.channel.input,
           tab.timer.tick], **event(c, on.on_hide_unit, (), ("unit_panel", "unit") + HEADINGS),
          api_name="stages_hide_unit", **QUIET)
    tab.channel.input(**event(c, on.on_channel, SHOWN + ("stage", "channel", "shown_channel"),
                              ("large", "overlay", "channel_md", "channel", "shown_channel")),
                      api_name="stages_channel", trigger_mode="always_last", **QUIET)


def _wire_animate(tab: StagesTab, kernel: KernelTab, tabs: gr.Tabs) -> None:
    """"Animate this": the unit's strongest input channel, kernel slice, stride and dilation in the Kernel
    tab, at the unit's position, and the Kernel tab shown. The one place that calls into
    explorer.ui.kernel_tab (its components by name, CONTROL_FIELDS, settings_from_unit, filled_controls)."""
    def on_animate(values: dict) -> dict:
        numbers, note = on.unit_for_kernel_tab(values["picture"], values["model"], values["unit"])
        # filled_controls also sets the preset box: it says the numbers came from the Stages tab
        return filled_controls(settings_from_unit(numbers, note)) | {"tabs": gr.Tabs(selected="kernel_tab")}

    # the Kernel tab's components by its names (none is "picture", "model", "unit" or "tabs")
    c = kernel.components() | {"picture": tab.picture, "model": tab.model, "unit": tab.unit, "tabs": tabs}
    tab.animate.click(**event(c, on_animate, ("picture", "model", "unit"), CONTROL_FIELDS + ("tabs",)),
                      api_name="stages_animate_unit", **QUIET).then(
        None, js="() => window.scrollTo({top: 0})")      # the Kernel tab opens at its top, not at the panel's height


def _wire_play(tab: StagesTab) -> None:
    c = tab.components()
    playing = ("playing", "timer", "play", "stage")
    tab.play.click(**event(c, on.on_play, ("playing", "stage") + SHOWN, playing), api_name="stages_play", **QUIET)
    tab.timer.tick(**event(c, on.on_tick, SHOWN + ("stage", "count", "scale"), playing + STAGE_VIEWS),
                   api_name="stages_tick", **QUIET)


def wire(tab: StagesTab, kernel: KernelTab, tabs: gr.Tabs) -> None:
    """Connects the tab's events and endpoints; "Animate this" fills `kernel` and selects its tab in `tabs`."""
    _wire_stepping(tab)
    _wire_unit(tab)
    _wire_animate(tab, kernel, tabs)
    wire_feature_row(tab.feature, {name: getattr(tab, name) for name in ("picture", "model", "stage", "channel")})
    _wire_channel(tab)
    _wire_play(tab)
    wire_live(tab.live, tab.components() | {"photo": tab.picture_input.photo})
    wire_api(tab.api, tab.label, tab.grid)


def build(kernel: KernelTab, tabs: gr.Tabs) -> StagesTab:
    tab = layout()
    wire(tab, kernel, tabs)
    return tab
