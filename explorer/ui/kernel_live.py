"""The Kernel tab's animation, drawn by the browser: a gr.HTML whose value is a Slide as JSON
(explorer.core.slide_data) and whose script (kernel_live.js) draws the input, the window, the kernel,
the products and the output as SVG and plays them itself. Settings that change the numbers send one
request (the new value); playing, pausing, stepping, scrubbing, the speed and the keys send none."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from explorer.core.slide_data import slide_data
from explorer.core.sliding import Slide
from explorer.core.words import current

PLAY, PAUSE = "▶ Play", "❚❚ Pause"     # U+23F8 (the pause sign) is in no font a Debian Chromium has
# Every word the player shows, in both languages: it shows those of the page's language and follows the
# switch (kernel_live.js). Rows and columns are counted from 0, steps from 1.
WORDS = {
    "en": dict(picture="the window sliding over the input", input="Input", input_padded="Input (padded)",
               kernel="Kernel", products="Products",
               window="Window", output="Output", at="Step {k}: output row {r}, column {c}", of="Step {k} of {n}",
               play=PLAY, pause=PAUSE, back="◀ Step back", fwd="Step forward ▶", step="step", speed="Speed",
               speed_aria="speed (steps per second)", per_s="/s", legend_window="the window (its taps)",
               legend_padding="padding", legend_unused="never read by any window",
               legend_output="output so far (hover or tap a cell: its window and sum)",
               keys="Keys: Space play/pause, ← → step, Home/End"),
    "zh": dict(picture="窗口在输入上滑动", input="输入", input_padded="输入（已填充）", kernel="卷积核",
               products="乘积", window="窗口", output="输出",
               at="第 {k} 步：输出第 {r} 行第 {c} 列", of="第 {k} 步，共 {n} 步", play="▶ 播放", pause="❚❚ 暂停",
               back="◀ 后退一步", fwd="前进一步 ▶", step="步", speed="速度", speed_aria="速度（每秒几步）",
               per_s="步/秒", legend_window="窗口（它覆盖的格）", legend_padding="填充",
               legend_unused="没有任何窗口读到", legend_output="已算出的输出（把鼠标移到或点一下某格：看它的窗口和求和）",
               keys="按键：空格 播放/暂停，← → 单步，Home/End 到头/到尾"),
}
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
    """The player's value: `s` as JSON, opening on step `start` (1-based), with the player's words in both
    languages and the language spoken now (`lang`)."""
    return json.dumps({**slide_data(s, start), "lang": current(), "words": WORDS}, separators=(",", ":"),
                      ensure_ascii=False)


def live_player(s: Slide) -> gr.HTML:
    """The player, showing `s` from its first step."""
    return gr.HTML(live_value(s), html_template='<div class="kl" tabindex="0"></div>', css_template=CSS,
                   js_on_load=SCRIPT, elem_id="kernel_live", padding=False, container=False)
