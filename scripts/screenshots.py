"""Screenshots as a newcomer sees the app, at a desktop and a phone size, in English or Chinese, for a
person to look at.

    python -m scripts.screenshots [--out artifacts/screens] [--lang en|zh] [--what tabs|lesson|trust|all]

Starts the app on localhost and opens it in Debian's headless Chromium (Playwright) with the browser's
language set to the one asked for. `tabs`: each tab's first screen (what shows without scrolling) and whole
page, with the lesson closed; the Stages and Saliency tabs with the first example photo clicked. `lesson`:
each lesson page opened by its link (?page=<key>), its Try it done, the lesson beside the tab. `trust`:
the Saliency tab's trust check of Grad-CAM and the gradient on the first example photo (its verdicts, curves
and wipe on the screen, then with the wipe's list open, then the wipe itself; a trust check takes a minute on 2 CPU cores). Each set
also gets a contact sheet (`sheet-<what>-<size>-<lang>.png`) of its first screens.
"""
import argparse
import os
import socket
from pathlib import Path

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
TABS = ("kernel_tab", "stages_tab", "saliency_tab", "architecture_tab")
# what each tab shows once its first result is drawn
READY = {"kernel_tab": "#kernel_live .kl", "stages_tab": "#stages-grid img",
         "saliency_tab": "#saliency-maps img", "architecture_tab": ".tabitem img, #compare-table table"}
LOCALES = {"en": "en-US", "zh": "zh-CN"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _close_lesson(page) -> None:
    toggle = page.locator(".sidebar.open .toggle-button")
    if toggle.count():
        toggle.first.click()
        page.wait_for_timeout(400)


def _open_tab(page, tab_id: str) -> None:
    tab = page.locator(f"button[role=tab][data-tab-id={tab_id}]").first
    if tab.is_visible():
        tab.click()
    else:                                      # a narrow screen folds some tabs behind Gradio's "•••" menu
        page.locator(".overflow-menu button").first.click()
        page.locator(f".overflow-menu [data-tab-id={tab_id}]").first.click()
    if tab_id in ("stages_tab", "saliency_tab"):            # show a picture: the first example photo
        page.locator(".gallery-item, button.gallery-item, [data-testid='example'] button").first.click()
    _settle(page, tab_id)


def _settle(page, tab_id: str) -> None:
    page.wait_for_timeout(800)
    try:
        page.locator(READY[tab_id]).first.wait_for(state="attached", timeout=90_000)
    except Exception as e:                     # still take what is on screen, and say so
        print(f"{tab_id}: not ready: {type(e).__name__}: {str(e)[:120]}")
    page.wait_for_timeout(2500)


def _context(browser, size: str, lang: str):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale=LOCALES[lang])
    page = context.new_page()
    page.set_default_timeout(120_000)
    return context, page


def _shoot(page, out: Path, stem: str, full: bool) -> list[Path]:
    taken = [out / f"{stem}-first.png"]
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(taken[0]))
    if full:
        taken.append(out / f"{stem}-full.png")
        page.screenshot(path=str(taken[1]), full_page=True)
    return taken


def take_tabs(browser, url: str, out: Path, lang: str) -> list[Path]:
    taken = []
    for size in SIZES:
        for tab_id in TABS:
            context, page = _context(browser, size, lang)
            page.goto(url)
            page.wait_for_selector("#lesson-text")
            _close_lesson(page)
            _open_tab(page, tab_id)
            taken += _shoot(page, out, f"{tab_id.removesuffix('_tab')}-{size}-{lang}", full=True)
            context.close()
    return taken


def take_lesson(browser, url: str, out: Path, lang: str) -> list[Path]:
    from explorer import lesson

    taken = []
    for size in SIZES:
        for number, page_ in enumerate(lesson.PAGES, 1):
            context, page = _context(browser, size, lang)
            page.goto(f"{url}?page={page_.key}&lang={lang}")
            page.wait_for_selector("#lesson-text")
            _settle(page, f"{page_.tab}_tab")
            taken += _shoot(page, out, f"lesson-{number:02d}-{page_.key}-{size}-{lang}", full=False)
            context.close()
    return taken


def take_trust(browser, url: str, out: Path, lang: str) -> list[Path]:
    taken = []
    for size in SIZES:
        context, page = _context(browser, size, lang)
        page.set_default_timeout(300_000)
        page.goto(f"{url}?lang={lang}")
        page.wait_for_selector("#lesson-text")
        _close_lesson(page)
        tab = page.locator("button[role=tab][data-tab-id=saliency_tab]").first
        if tab.is_visible():
            tab.click()
        else:
            page.locator(".overflow-menu button").first.click()
            page.locator(".overflow-menu [data-tab-id=saliency_tab]").first.click()
        ticks = page.locator("#saliency input[type=checkbox]")
        for i in range(2):                          # Grad-CAM and the gradient
            ticks.nth(i).check()
        page.locator(".gallery-item, button.gallery-item, [data-testid='example'] button").first.click()
        page.wait_for_function("() => (document.querySelector('#saliency-ranking')?.innerText || '').length > 20")
        page.locator("#saliency-wipe img").nth(1).wait_for(state="attached")
        page.wait_for_timeout(1500)
        page.locator("#saliency-ranking").scroll_into_view_if_needed()
        stem = f"trust-{size}-{lang}"
        taken.append(out / f"{stem}-first.png")
        page.screenshot(path=str(taken[-1]))
        taken.append(out / f"{stem}-full.png")
        page.screenshot(path=str(taken[-1]), full_page=True)
        page.locator("#saliency-wipe-step").scroll_into_view_if_needed()
        page.locator("#saliency-wipe-step input").click()
        page.wait_for_timeout(800)
        taken.append(out / f"{stem}-wipe.png")
        page.screenshot(path=str(taken[-1]))
        page.keyboard.press("Escape")
        page.locator("#saliency-wipe").evaluate("e => e.scrollIntoView({block: 'end'})")
        page.wait_for_timeout(800)
        taken.append(out / f"{stem}-slider.png")
        page.screenshot(path=str(taken[-1]))
        context.close()
    return taken


def contact_sheet(paths: list[Path], target: Path, columns: int = 4) -> Path:
    """The first screens side by side, a third of their size, each captioned by its file name."""
    from PIL import Image, ImageDraw

    firsts = [Image.open(p).convert("RGB") for p in paths if p.name.endswith("-first.png")]
    if not firsts:
        return target
    w, h = firsts[0].width // 3, firsts[0].height // 3
    rows = -(-len(firsts) // columns)
    sheet = Image.new("RGB", (columns * w, rows * (h + 16)), "white")
    names = [p.stem for p in paths if p.name.endswith("-first.png")]
    for i, (image, name) in enumerate(zip(firsts, names)):
        x, y = (i % columns) * w, (i // columns) * (h + 16)
        sheet.paste(image.resize((w, h)), (x, y + 16))
        ImageDraw.Draw(sheet).text((x + 4, y + 2), name, fill="black")
    sheet.save(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("artifacts/screens"))
    parser.add_argument("--lang", choices=tuple(LOCALES), default="en")
    parser.add_argument("--what", choices=("tabs", "lesson", "trust", "all"), default="all")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from playwright.sync_api import sync_playwright

    from explorer.ui import LAUNCH_OPTIONS, build_demo

    demo = build_demo()
    options = {**LAUNCH_OPTIONS, "mcp_server": False}
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(),
                            quiet=True, **options)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for what, take in (("tabs", take_tabs), ("lesson", take_lesson), ("trust", take_trust)):
                if args.what not in (what, "all"):
                    continue
                taken = take(browser, url, args.out, args.lang)
                for path in taken:
                    print(path)
                for size in SIZES:
                    print(contact_sheet([p for p in taken if f"-{size}-" in p.name],
                                        args.out / f"sheet-{what}-{size}-{args.lang}.png"))
            browser.close()
    finally:
        demo.close()


if __name__ == "__main__":
    main()
