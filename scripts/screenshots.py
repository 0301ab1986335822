"""Screenshots of every tab, as a newcomer sees them, at a desktop and a phone size, for a person to look at.

    python -m scripts.screenshots [--out artifacts/screens] [--lang en]

Starts the app on localhost, opens it in Debian's headless Chromium (Playwright), and for each tab takes
the first screen (what shows without scrolling) and the whole page, at 1440x900 and at 390x844. The Stages
and Saliency tabs are shown with the first example photo clicked, so their pictures are on screen.
"""
import argparse
import os
import socket
from pathlib import Path

from explorer.ui.architecture_tab import TITLE as ARCHITECTURE
from explorer.ui.kernel_tab import TITLE as KERNEL
from explorer.ui.saliency_tab import TITLE as SALIENCY
from explorer.ui.stages_tab import TITLE as STAGES

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
# tab title -> what the page shows once the tab's first result is drawn
READY = {KERNEL: "Step", STAGES: "Stage 1 of", SALIENCY: "", ARCHITECTURE: "parameters"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _open_tab(page, title: str) -> None:
    tab = page.get_by_role("tab", name=title).first
    if tab.is_visible():
        tab.click()
    else:                                      # a narrow screen folds some tabs behind Gradio's "•••" menu
        page.locator(".overflow-menu button").first.click()
        page.locator(".overflow-menu").get_by_text(title, exact=True).first.click()
    if title in (STAGES, SALIENCY):            # show a picture: the first example photo
        page.locator(".gallery-item, button.gallery-item, [data-testid='example'] button").first.click()
    page.wait_for_timeout(500)
    if READY[title]:
        page.wait_for_function("t => document.body.innerText.includes(t)", arg=READY[title], timeout=120_000)
    page.wait_for_timeout(1500)


def take(url: str, out: Path, lang: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    taken = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for size_name, (width, height) in SIZES.items():
            for title in (KERNEL, STAGES, SALIENCY, ARCHITECTURE):
                context = browser.new_context(viewport={"width": width, "height": height},
                                              locale="zh-CN" if lang == "zh" else "en-US")
                page = context.new_page()
                page.set_default_timeout(120_000)
                page.goto(url)
                page.wait_for_selector("button[role=tab]")
                try:
                    _open_tab(page, title)
                except Exception as e:                 # still take what is on screen, and say so
                    print(f"{title} at {size_name}: {type(e).__name__}: {str(e)[:200]}")
                stem = f"{title.lower()}-{size_name}-{lang}"
                for suffix, full in (("first", False), ("full", True)):
                    path = out / f"{stem}-{suffix}.png"
                    page.screenshot(path=str(path), full_page=full)
                    taken.append(path)
                context.close()
        browser.close()
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("artifacts/screens"))
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from explorer.ui import LAUNCH_OPTIONS, build_demo

    demo = build_demo()
    options = {**LAUNCH_OPTIONS, "mcp_server": False}
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(),
                            quiet=True, **options)
    try:
        for path in take(url, args.out, args.lang):
            print(path)
    finally:
        demo.close()


if __name__ == "__main__":
    main()
