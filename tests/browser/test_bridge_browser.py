"""The bridge in headless Chromium: draw a digit, click a unit of a real feature map, read how its
number was made, and replay it in the Kernel tab."""
import re

import pytest
from stages_page import click_image_pixel, draw_a_seven, loaded

from explorer.drawing.feature_maps import large_factor, overview_layout
from explorer.ui.kernel_tab import FROM_STAGES

NUMBER = r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"


def _click_image_pixel(page, selector, x, y):
    """Scroll the image into view (a click outside the viewport hits nothing), then click pixel (x, y)."""
    page.locator(f"{selector} img").first.scroll_into_view_if_needed()
    click_image_pixel(page, selector, x, y)


@pytest.mark.browser
def test_click_a_unit_read_its_sum_and_animate_it_in_the_kernel_tab(page, screenshot_dir):
    draw_a_seven(page)
    x, y = overview_layout(4).origin(2)                              # stage 3: the second convolution
    _click_image_pixel(page, "#stages-overview", x + 10, y + 10)
    page.wait_for_function("document.body.innerText.includes('Stage 3 of')")
    loaded(page, "#stages-large")
    assert not page.locator("#stages-unit").is_visible()

    assert "16×14×14 → 32×10×10" in page.locator("body").inner_text()      # conv2's maps are 10x10
    factor = large_factor((10, 10))
    _click_image_pixel(page, "#stages-large", 6 * factor + factor // 2, 5 * factor + factor // 2)
    page.wait_for_function("document.querySelector('#stages-unit-words')?.innerText.includes('How this number')")
    words = page.locator("#stages-unit-words").inner_text()
    assert "row 5, column 6" in words
    total, value = re.search(rf"= {NUMBER}; PyTorch's layer gave {NUMBER}", words).groups()
    assert float(total) == pytest.approx(float(value), rel=1e-5, abs=1e-6)
    first = re.search(rf"\n1\s+(\d+)\s+{NUMBER}", words)
    channel, partial = int(first.group(1)), float(first.group(2))
    loaded(page, "#stages-unit-picture")
    page.screenshot(path=str(screenshot_dir / "stages-unit.png"), full_page=True)

    page.locator("#stages-animate").click()
    page.wait_for_function("document.body.innerText.includes('From Digits')")
    assert page.locator("#kernel_preset input").input_value() == FROM_STAGES    # not a blank preset box
    text = page.locator("body").inner_text()
    assert f"this is input channel {channel} of" in text
    step, given = re.search(rf"Step (\d+) \(output row \d+, column \d+\) gives {NUMBER}", text).groups()
    # the numbers come rounded to 4 significant digits (the note says so): the sum is the partial's, to that
    assert "rounded to 4 significant digits" in text
    assert float(given) == pytest.approx(partial, rel=1e-2, abs=1e-2)
    page.wait_for_function("s => document.querySelector('#kernel_live .kl')?.dataset.step === s", arg=step)
    grid = page.locator("#kernel_matrix [role=grid]")
    cells = [c.inner_text().strip() for c in grid.locator("[data-testid^=cell-]").all()]
    digits = [len(re.sub(r"[^0-9]", "", c.split("e")[0]).lstrip("0")) for c in cells]
    assert cells and max(digits) <= 4, f"cells longer than 4 significant digits: {cells[:6]}"
    columns = int(grid.get_attribute("aria-colcount")) - (1 if grid.locator("[role=rowheader]").count() else 0)
    drawn_columns = page.locator("#kernel_live g[data-role=input][data-r='0']").count()
    assert columns == drawn_columns, f"the table shows {columns} columns, the animation {drawn_columns}"
    page.screenshot(path=str(screenshot_dir / "kernel-from-unit.png"), full_page=True)
