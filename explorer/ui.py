"""Builds the Gradio app from one module per tab."""
import importlib

import gradio as gr

from explorer import gradio_patches
from explorer.memory import limit_allocator_arenas
from explorer.warmup import start_background_warmup

# Each tab module has TITLE (str) and build(shared: dict) -> None, called inside its gr.Tab.
# `shared` lets a later tab use an earlier tab's components (the Architecture tab reads the
# Kernel tab's matrix, shared["matrix"]).
TAB_MODULES = (
    "explorer.kernel_tab",
    "explorer.stages_tab",
    "explorer.saliency_tab",
    "explorer.architecture_tab",
)

LAUNCH_OPTIONS = dict(
    max_file_size="20mb",
    footer_links=["api", "gradio"],
    theme=gr.themes.Soft(),
)

QUEUE_SIZE = 64          # a burst beyond this is refused with "queue full" instead of exhausting memory
CONCURRENCY = 2          # one worker per core: more only makes every request slower


def build_demo() -> gr.Blocks:
    gradio_patches.apply()
    limit_allocator_arenas()
    start_background_warmup()
    with gr.Blocks(title="CNN Explorer", delete_cache=(600, 1800)) as demo:
        gr.Markdown(
            "# CNN Explorer\n"
            "Slide a kernel over your own numbers, watch a real pretrained CNN look at your picture "
            "stage by stage, see which pixels decided its answer, and open up the classic architectures. "
            "Every number is computed by PyTorch itself."
        )
        shared: dict = {}
        with gr.Tabs():
            for name in TAB_MODULES:
                tab = importlib.import_module(name)
                with gr.Tab(tab.TITLE, id=name.rsplit(".", 1)[-1]):
                    tab.build(shared)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return demo
