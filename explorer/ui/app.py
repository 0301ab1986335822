"""Builds the Gradio app from one module per tab."""
import os

import gradio as gr

import explorer.ui.architecture_tab as architecture_tab
import explorer.ui.gradio_patches as gradio_patches
import explorer.ui.kernel_tab as kernel_tab
import explorer.ui.language as language
import explorer.ui.lesson_panel as lesson_panel
import explorer.ui.page_param as page_param
import explorer.ui.page_wiring as page_wiring
import explorer.ui.saliency_tab as saliency_tab
import explorer.ui.stages_tab as stages_tab
from explorer.core import settings
from explorer.core.memory import freeze_startup_objects, limit_allocator_arenas
from explorer.core.settings import delete_cache_setting
from explorer.core.state import STORES
from explorer.core.warmup import start_background_warmup
from explorer.ui.by_name import PAGE_LANGUAGE
from explorer.ui.words import I18N, t


def mcp_setting() -> bool:
    """Whether `python app.py` serves Gradio's MCP server (every named endpoint a tool, at
    /gradio_api/mcp/): on unless the environment variable EXPLORER_MCP is 0 (docs/api.md)."""
    text = os.environ.get("EXPLORER_MCP", "1").strip().lower()
    if text not in ("0", "1", "false", "true", "no", "yes", "off", "on"):
        raise ValueError(f"EXPLORER_MCP: give 1 to serve the MCP server or 0 to turn it off, not {text!r}")
    return text in ("1", "true", "yes", "on")


def max_file_size() -> str:
    """Gradio's max_file_size: the larger of EXPLORER_UPLOAD_FILE_MB and EXPLORER_OWN_MODEL_UPLOAD_MB (a
    visitor's .safetensors weights); explorer.ui.upload_budget holds each file to its own cap."""
    size = max(settings.setting("upload_file_bytes"), settings.setting("own_upload_bytes"))
    return f"{size // settings.MB}mb" if size % settings.MB == 0 else f"{size}b"


# Every tab's name on one line on a phone (Gradio would hide those that do not fit behind "..."), the
# language switch compact.
PAGE_CSS = """
@media (max-width: 640px) {
  .tab-wrapper .tab-container button { padding: 6px 5px; font-size: 13px; }   /* measured copies too */
  #header-words p { display: none; }           /* a phone keeps the title; the lesson says the rest */
  #header-words h1 { font-size: 22px; margin: 0; }
  #header { gap: 4px; }
}
#language-switch { flex-grow: 0; }
"""

LAUNCH_OPTIONS = dict(
    max_file_size=max_file_size(),
    footer_links=["api", "gradio"],
    theme=gr.themes.Soft(),
    mcp_server=mcp_setting(),
    i18n=I18N,
    css=PAGE_CSS,            # in the page's head: Gradio measures the tab names when it starts
)

QUEUE_SIZE = 64          # a burst beyond this is refused with "queue full" instead of exhausting memory
CONCURRENCY = 2          # one worker per core: more only makes every request slower


def _forget_session(request: gr.Request) -> None:
    """A closed browser tab: the stores drop what they kept for that visitor (explorer.core.state)."""
    STORES.forget_session(getattr(request, "session_hash", None))


def _picture_parts(given) -> dict:
    """A picture input's parts a view sets: the photo, the drawing, and which of the two is shown."""
    return {"photo": given.photo, "sketch": given.sketch, "sources": given.sources}


def _header():
    """The title, the language switch and the link to what is on screen."""
    with gr.Row(equal_height=True, elem_id="header"):
        with gr.Column(scale=5, min_width=240):
            gr.Markdown(t(
                "# CNN Explorer\n"
                "Slide a kernel over your own numbers, watch a real pretrained CNN look at your picture "
                "stage by stage, see which pixels decided its answer, and open up the classic architectures. "
                "Every number is computed by PyTorch itself.",
                "# CNN Explorer 卷积网络探索\n"
                "让卷积核在你自己输入的数字上滑动，看一个真实的预训练 CNN 一层一层地观察你的图片，"
                "看哪些像素决定了它的答案，再打开经典网络结构看个究竟。每个数字都由 PyTorch 亲自算出。"),
                elem_id="header-words")
        with gr.Column(scale=1, min_width=180):
            lang = language.build()
            link_button = gr.Button(t("Link to this view", "本视图的链接"), size="sm", elem_id="link-button")
    link = gr.Textbox(visible=False, label=t("Link to what is on screen (copy it)", "当前画面的链接（复制它）"),
                      buttons=["copy"], interactive=False, elem_id="view-link")
    return lang, link, link_button


def build_demo() -> gr.Blocks:
    # Gradio notices a closed event stream only at its next heartbeat (15 s by default); a long job
    # stops at the first step after that (gradio_patches.abandoned), so the next visitor waits ~1 s.
    os.environ.setdefault("GRADIO_HEARTBEAT_INTERVAL", "1")
    gradio_patches.apply()
    page_param.apply()
    limit_allocator_arenas()
    start_background_warmup()
    with gr.Blocks(title="CNN Explorer", delete_cache=delete_cache_setting()) as demo:
        with gr.Sidebar(open=True, width=380, elem_id="lesson") as sidebar:
            lesson_view = lesson_panel.layout()
        lang, link, link_button = _header()
        building = PAGE_LANGUAGE.set(lang.state)        # every event below speaks the visitor's language
        tab_shown = gr.State("kernel")
        with gr.Tabs() as tabs:
            with gr.Tab(kernel_tab.TITLE, id="kernel_tab") as kernel_item:
                kernel = kernel_tab.build()
            with gr.Tab(stages_tab.TITLE, id="stages_tab") as stages_item:
                stages = stages_tab.build(kernel=kernel, tabs=tabs)       # "Animate this" fills the Kernel tab
            with gr.Tab(saliency_tab.TITLE, id="saliency_tab") as saliency_item:
                saliency = saliency_tab.build()
            with gr.Tab(architecture_tab.TITLE, id="architecture_tab") as architecture_item:
                architecture = architecture_tab.build(kernel_matrix=kernel.matrix)   # other layers run on its matrix
        c = page_wiring.page_components(
            {"kernel": kernel.components(),
             "stages": stages.components() | _picture_parts(stages.picture_input),
             "saliency": saliency.components() | _picture_parts(saliency.picture),
             "architecture": architecture.inspect.components() | {"parts": architecture.parts,
                                                                  "picked": architecture.compare.picked}},
            lesson_view, lang, tab_shown, link, link_button, tabs, gr.State(None, time_to_live=1800))
        c["sidebar"] = sidebar
        demo.explorer_page = c            # the page by name (tests read its components' first values)
        page_wiring.wire_lesson(c)
        page_wiring.wire_pending(c, stages.after_new_picture)
        page_wiring.wire_link(c)
        items = {"kernel": kernel_item, "stages": stages_item, "saliency": saliency_item,
                 "architecture": architecture_item}
        page_wiring.wire_tab_shown(items, c)
        page_wiring.wire_one_picture(c, items)
        PAGE_LANGUAGE.reset(building)
        page_wiring.wire_switch(c)
        page_wiring.wire_load(demo, c)
        demo.unload(_forget_session)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    freeze_startup_objects()     # the warm-up thread freezes again once the default model is loaded
    return demo
