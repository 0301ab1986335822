"""The Kernel tab's animation, drawn by the browser: a gr.HTML whose value is a Slide as JSON
(explorer.core.slide_data) and whose script (kernel_live.js) draws the input, the window, the kernel,
the products and the output as SVG and plays them itself. Settings that change the numbers send one
request (the new value); playing, pausing, stepping, scrubbing, the speed and the keys send none."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from explorer.core.slide_data import slide_json
from explorer.core.sliding import Slide

PLAY, PAUSE = "▶ Play", "❚❚ Pause"     # U+23F8 (the pause sign) is in no font a Debian Chromium has
SCRIPT = (Path(__file__).with_name("kernel_live.js")).read_text()

CSS = """
.kl {outline: none}
.kl:focus-visible {outline: 2px solid #f97316; outline-offset: 2px}
.kl-pic {width: 100%; overflow: hidden}
.kl-pic svg {display: block; font-family: ui-sans-serif, system-ui, sans-serif}
.kl-sum {font-size: 15px; margin-top: 4px; overflow-wrap: anywhere}
.kl-sum code {font-size: 15px; background: #fff7ed; padding: 1px 4px; border-radius: 4px}
.kl-bar {display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; margin-top: 6px}
.kl-bar button {padding: 6px 12px; border-radius: 6px; border: 1px solid #d1d5db; background: #f9fafb;
                color: #111827; font-size: 14px; cursor: pointer; white-space: nowrap}
.kl-bar button.kl-primary {background: #ea580c; border-color: #ea580c; color: white; min-width: 96px}
.kl-bar button.kl-primary[aria-pressed=true] {background: #c2410c; border-color: #9a3412}
.kl-scrub {display: flex; gap: 6px; align-items: center; flex: 1 1 220px; font-size: 14px; white-space: nowrap}
.kl-scrub input {flex: 1}
.kl-speed {display: flex; gap: 4px; align-items: center; font-size: 14px}
.kl-legend {display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 13px; color: #374151; margin-top: 4px}
.kl-legend i {display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px;
              border: 1px solid #9ca3af}
.kl-legend .kl-win {background: rgba(249,115,22,0.3); border: 2px solid #ea580c}
.kl-legend .kl-pad {background: #f3f4f6}
.kl-legend .kl-unused {background: #d1d5db}
.kl-legend .kl-out {background: rgb(175,215,255)}
.kl-legend .kl-keys {color: #6b7280}
"""


def live_value(s: Slide, start: int = 1) -> str:
    """The player's value: `s` as JSON, opening on step `start` (1-based)."""
    return slide_json(s, start)


def live_player(s: Slide) -> gr.HTML:
    """The player, showing `s` from its first step."""
    return gr.HTML(live_value(s), html_template='<div class="kl" tabindex="0"></div>', css_template=CSS,
                   js_on_load=SCRIPT, elem_id="kernel_live", padding=False, container=False)
