"""What the Stages tab's browser tests do on the page: draw on the Sketchpad, wait for a picture to
load, click a pixel of a displayed picture, draw a 7 on a fresh Stages tab."""
from explorer.ui import stages_tab
from explorer.ui.words import english

TITLE = english(stages_tab.TITLE)

SEVEN = [[(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]]      # strokes, as fractions of the canvas


def draw(page, strokes, canvas_selector="#component-0 canvas, canvas"):
    canvas = page.locator(canvas_selector).first
    canvas.wait_for()
    stroke(page, canvas.bounding_box(), strokes)


def stroke(page, box: dict, strokes) -> None:
    """Mouse strokes over `box` (a bounding box); each point is (x, y) as fractions of its width and height."""
    for points in strokes:
        (x, y), rest = points[0], points[1:]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=10)
        page.mouse.up()


def loaded(page, selector):
    page.wait_for_function(
        "s => { const i = document.querySelector(s + ' img'); return i && i.complete && i.naturalWidth > 0; }",
        arg=selector)


def click_image_pixel(page, selector, x, y):
    """Click the displayed image at pixel (x, y) of the image itself, whatever its display scale."""
    image = page.locator(f"{selector} img").first
    image.scroll_into_view_if_needed()          # a click outside the viewport hits nothing
    box = image.bounding_box()
    natural = image.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    page.mouse.click(box["x"] + x * box["width"] / natural[0], box["y"] + y * box["height"] / natural[1])


def draw_a_seven(page):
    """Open the Stages tab's Draw tab, draw a 7 and wait for its first stage."""
    page.get_by_role("tab", name=TITLE).click()
    page.get_by_role("tab", name="Draw").click()
    page.get_by_role("button", name="Brush").first.click()
    draw(page, SEVEN)
    page.wait_for_function("document.body.innerText.includes('Stage 1 of')")
