"""The Saliency tab's pictures: each attribution map over the picture and as a heat map with its colour
scale, all maps on one sheet, and the trust check as a table and a plot of the deletion curves.
PIL and matplotlib (drawn on a Figure of its own, no pyplot); no gradio."""
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from explorer.core import attribution as at
from explorer.core import trust
from explorer.core.budgets import echo
from explorer.core.models import LoadedModel

LEGEND_HEIGHT = 30


COLORMAPS = ("inferno", "jet", "viridis", "magma", "hot", "gray")


def colorize(heat01: np.ndarray, cmap: str = "inferno") -> Image.Image:
    """A [0, 1] map -> RGB picture through a matplotlib colour map."""
    if cmap not in COLORMAPS:
        raise ValueError(f"colour map: {echo(cmap)}; choose one of {', '.join(COLORMAPS)}")
    from matplotlib import colormaps

    rgba = colormaps[cmap](np.clip(heat01, 0, 1), bytes=True)
    return Image.fromarray(rgba[..., :3])


def overlay(image: Image.Image, heat01: np.ndarray, opacity: float = 0.5, cmap: str = "inferno") -> Image.Image:
    """The picture with the coloured map laid over it; the map's opacity grows with its value, so
    unimportant pixels keep the picture visible."""
    try:
        opacity = float(opacity)
    except (TypeError, ValueError):
        raise ValueError(f"opacity: {echo(opacity)} is not a number; give one between 0 and 1") from None
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity: {echo(opacity)} must be between 0 and 1")
    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    colour = np.asarray(colorize(heat01, cmap), dtype=np.float32)
    alpha = float(opacity) * np.sqrt(np.clip(heat01, 0, 1))[..., None]
    return Image.fromarray((base * (1 - alpha) + colour * alpha).round().astype(np.uint8))


@dataclass(frozen=True)
class MapLook:
    """How the maps are painted: the part of the map shown, the overlay's opacity, the colour map."""
    sign: str = "absolute"          # "absolute", "positive" or "negative"
    opacity: float = 0.5
    cmap: str = "inferno"


# --- the maps ---------------------------------------------------------------------------------------

def _legend(width: int, cmap: str) -> Image.Image:
    bar = colorize(np.tile(np.linspace(0, 1, max(width - 120, 10)), (12, 1)), cmap)
    strip = Image.new("RGB", (width, LEGEND_HEIGHT), "white")
    strip.paste(bar, (60, 9))
    draw = ImageDraw.Draw(strip)
    draw.text((6, 8), "low", fill="black")
    draw.text((width - 54, 8), "high", fill="black")
    return strip


def render(model: LoadedModel, image: Image.Image, result: at.Attribution, look: MapLook
           ) -> tuple[Image.Image, Image.Image]:
    """(overlay on the picture, with a box round what the model saw; heat map with a colour scale)."""
    heat = at.normalise(at.signed(at.map_on_picture(model, image, result.input_map), look.sign))
    over = overlay(image, heat, look.opacity, look.cmap)
    box = at.seen_box(model, image)
    if box and box != (0, 0, image.width, image.height):
        draw = ImageDraw.Draw(over)
        draw.rectangle(box, outline="white", width=3)
        draw.rectangle(box, outline="black", width=1)
    plain = colorize(heat, look.cmap)
    framed = Image.new("RGB", (plain.width, plain.height + LEGEND_HEIGHT), "white")
    framed.paste(plain, (0, 0))
    framed.paste(_legend(plain.width, look.cmap), (0, plain.height))
    return over, framed


def gallery_items(model: LoadedModel, image: Image.Image, results, look: MapLook) -> list:
    """(picture, caption) for each map: over the picture, then as a heat map; the caption says when the
    part of the map shown is empty."""
    items = []
    for result in results:
        over, heat = render(model, image, result, look)
        title = at.method_title(result.method)
        empty = " (empty map)" if trust.blank_map(result.method, result.input_map, look.sign, result.layer) else ""
        items += [(over, f"{title}{empty}: over the picture"), (heat, f"{title}{empty}: heat map")]
    return items


# --- the sheet to download ----------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "map"


def download_name(model_name: str, results) -> str:
    """The sheet's file name says what it holds: saliency-<model>-<methods>-<class>.png."""
    methods = "+".join(_slug(r.method) for r in results)
    return f"saliency-{_slug(model_name)}-{methods}-{_slug(results[0].label)}.png"


def draw_sheet(items: list) -> Image.Image:
    """All maps side by side, each captioned above it."""
    height = max(img.height for img, _ in items)
    width = sum(img.width for img, _ in items) + 10 * (len(items) - 1)
    sheet = Image.new("RGB", (width, height + 24), "white")
    left = 0
    for img, caption in items:
        sheet.paste(img, (left, 24))
        ImageDraw.Draw(sheet).text((left + 4, 6), caption[:max(10, img.width // 6)], fill="black")
        left += img.width + 10
    return sheet


# --- the trust check: a table and the deletion curves -------------------------------------------------

MARKS = {True: "✓ ", False: "⚠️ ", None: ""}


def _mark(check: trust.Check) -> str:
    return f"{MARKS[check.passed]}{check.verdict}"


def _areas(check: trust.TrustCheck) -> str:
    curve = check.curve
    if curve is None:
        return "—"
    return f"{curve.auc_map:.3f} (random {curve.auc_random:.3f} ± {curve.random_sd:.3f})"


def trust_table(rows: list[dict]) -> str:
    """One row per map ({"title", "check"}): the figures and both verdicts, as Markdown; under the table,
    each verdict's reason in words (one sentence per map when the map itself cannot be checked)."""
    if not rows:
        return ""
    lines = ["| Map | Deletion area: map (random orders) | Deletion verdict | Rank correlation with the randomised "
             "model | Randomisation verdict |", "|---|---|---|---|---|"]
    reasons = []
    for r in rows:
        check = r["check"]
        rho = "—" if check.correlation is None else f"{check.correlation:.2f}"
        lines.append(f"| {r['title']} | {_areas(check)} | {_mark(check.deletion)} | {rho} | "
                     f"{_mark(check.randomisation)} |")
        verdict = "not measurable: " if check.blank is not None else ""
        reasons.append(f"- **{r['title']}**: {verdict}{check.reason}")
    return "\n".join(lines) + "\n\n" + "\n".join(reasons)


def curve_figure(rows: list[dict]):
    """The deletion curves of every map that could be checked, and the random orders' spread and mean, as a
    matplotlib figure (None: no curves)."""
    curves = [(r["title"], r["check"].curve) for r in rows if r["check"].curve is not None]
    if not curves:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.2, 3.4), dpi=100, layout="constrained")
    axes = figure.subplots()
    for title, curve in curves:
        axes.plot(curve.fractions, curve.by_map, marker=".", label=f"{title} order (area {curve.auc_map:.2f})")
    first = curves[0][1]
    orders = first.by_random_orders
    axes.fill_between(first.fractions, orders.min(axis=0), orders.max(axis=0), color="0.5", alpha=0.25,
                      label=f"{len(orders)} random orders, their range")
    axes.plot(first.fractions, first.by_random, "k--", label=f"random orders' mean (area {first.auc_random:.2f})")
    axes.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="share of patches greyed out", ylabel="probability of the class",
             title="Deletion curves: lower sooner = the map found what the model uses")
    axes.title.set_fontsize(9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return figure
