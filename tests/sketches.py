"""Drawings for the tests: digits in black strokes on a transparent canvas, as Gradio's Sketchpad hands
them over (the digit model's tests, the trust check's, the Saliency tab's)."""
from PIL import Image, ImageDraw


def draw(digit: int, width: int = 18, size: int = 600, scale: float = 1.0, offset=(0, 0)) -> Image.Image:
    """A digit drawn in black strokes on a transparent canvas, as Gradio's Sketchpad hands it over."""
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    ink = (0, 0, 0, 255)
    f = size / 600 * scale

    def p(points):
        return [(x * f + offset[0], y * f + offset[1]) for x, y in points]

    def line(points):
        d.line(p(points), fill=ink, width=width, joint="curve")

    def arc(box, start, end):
        d.arc(p(box), start, end, fill=ink, width=width)

    def ellipse(box):
        d.ellipse(p(box), outline=ink, width=width)

    strokes = {
        0: lambda: ellipse([(200, 120), (400, 480)]),
        1: lambda: line([(300, 120), (300, 480)]),
        2: lambda: (arc([(200, 120), (400, 300)], 180, 30), line([(386, 255), (200, 480), (400, 480)])),
        3: lambda: (arc([(210, 120), (390, 300)], 200, 90), arc([(200, 300), (400, 480)], 270, 160)),
        4: lambda: (line([(340, 120), (200, 380), (420, 380)]), line([(340, 250), (340, 480)])),
        5: lambda: (line([(390, 120), (220, 120), (210, 280)]), arc([(200, 250), (400, 480)], 220, 150)),
        6: lambda: (arc([(200, 120), (420, 480)], 190, 280), ellipse([(200, 300), (380, 480)]),
                    line([(205, 300), (205, 390)])),
        7: lambda: line([(200, 120), (400, 120), (260, 480)]),
        8: lambda: (ellipse([(220, 120), (380, 290)]), ellipse([(200, 290), (400, 480)])),
        9: lambda: (ellipse([(210, 120), (390, 300)]), line([(390, 210), (370, 480)])),
    }
    strokes[digit]()
    return im


def strokes_picture() -> Image.Image:
    """Dark strokes on a light background: a photo for the ImageNet models, a drawing for the digit model."""
    image = Image.new("RGB", (256, 240), (230, 220, 200))
    draw = ImageDraw.Draw(image)
    draw.line([(128, 40), (128, 200)], fill=(20, 20, 20), width=18)
    draw.ellipse([60, 60, 110, 120], fill=(200, 30, 30))
    return image
