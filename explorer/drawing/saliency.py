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


# --- the trust check: a table, the curves, the randomisation wipe ------------------------------------

MARKS = {True: "✓ ", False: "⚠️ ", None: ""}


def _mark(check: trust.Check) -> str:
    return f"{MARKS[check.passed]}{check.verdict}"


def _curve_cell(check: trust.CurveCheck) -> str:
    """The verdict, and the effect size and p-value where measured."""
    if check.curve is None or not check.measurable:
        return _mark(check)
    return f"{_mark(check)} (ratio {check.curve.ratio:.2f}, p = {check.curve.p_value:.3f})"


def _randomisation_cell(check: trust.RandomisationCheck) -> str:
    rho = "" if check.correlation is None else f" (ρ {check.correlation:.2f})"
    return _mark(check) + rho


def meanings(rows: list[dict]) -> str:
    """One sentence for each verdict in the table, as a learner reads it."""
    seen = []
    for r in rows:
        for part, check in r["check"].parts.items():
            key = (part, check.verdict)
            if key not in seen and key in trust.MEANING:
                seen.append(key)
    return "\n".join(f"- **{part.capitalize()}, {verdict}**: {trust.MEANING[part, verdict]}" for part, verdict in seen)


def trust_table(rows: list[dict]) -> str:
    """One row per map ({"title", "check"}): each test's verdict with its figures, as Markdown; under the
    table, what each verdict means, then each map's reasons in words."""
    if not rows:
        return ""
    lines = ["| Map | Deletion (blurred patches) | Deletion (grey patches, for comparison) | Insertion (from a blurred "
             "picture) | Randomisation (cascade) |", "|---|---|---|---|---|"]
    reasons = []
    for r in rows:
        check = r["check"]
        grey = "—" if check.deletion.grey is None else _curve_cell(check.deletion.grey)
        lines.append(f"| {r['title']} | {_curve_cell(check.deletion)} | {grey} | {_curve_cell(check.insertion)} | "
                     f"{_randomisation_cell(check.randomisation)} |")
        verdict = "not measurable: " if check.blank is not None else ""
        reasons.append(f"- **{r['title']}**: {verdict}{check.reason}")
    return ("\n".join(lines) + "\n\n**What the verdicts mean**\n\n" + meanings(rows) + "\n\n**The figures**\n\n"
            + "\n".join(reasons))


def _band(axes, curve, label: str) -> None:
    orders = curve.by_random_orders
    axes.fill_between(curve.fractions, np.percentile(orders, 5, axis=0), np.percentile(orders, 95, axis=0),
                      color="0.5", alpha=0.25, label=f"{len(orders)} random orders, middle 90 %")
    axes.plot(curve.fractions, curve.by_random, "k--", label=label)


def curve_figure(rows: list[dict]):
    """The deletion curves (blurred patches) and the insertion curves of every map that could be checked,
    with the random orders' band and median, as a matplotlib figure (None: no curves)."""
    measured = [(r["title"], r["check"]) for r in rows if r["check"].deletion.curve is not None]
    if not measured:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.6, 3.4), dpi=100, layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True)
    for title, check in measured:
        left.plot(check.deletion.curve.fractions, check.deletion.curve.by_map, marker=".", label=title)
        right.plot(check.insertion.curve.fractions, check.insertion.curve.by_map, marker=".", label=title)
    _band(left, measured[0][1].deletion.curve, "random orders' median")
    _band(right, measured[0][1].insertion.curve, "random orders' median")
    left.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="share of patches blurred", ylabel="probability of the class",
             title="Deletion: lower sooner = better")
    right.set(xlim=(0, 1), xlabel="share of patches put back", title="Insertion: higher sooner = better")
    for axes in (left, right):
        axes.title.set_fontsize(9)
        axes.grid(alpha=0.3)
    left.legend(fontsize=7)
    return figure


def wipe_choices(rows: list[dict]) -> list[tuple[str, str]]:
    """(words, "row:step") for each step of each map's randomisation cascade."""
    choices = []
    for i, r in enumerate(rows):
        for k, step in enumerate(r["check"].randomisation.steps):
            rho = "empty map" if step.correlation is None else f"rank correlation {step.correlation:.2f}"
            layers = f"top {len(step.layers)} module{'s' * (len(step.layers) > 1)} random"
            choices.append((f"{r['title']}: {layers} ({rho})", f"{i}:{k}"))
    return choices


def wipe_pair(check: trust.TrustCheck, result: at.Attribution, step: int, sign: str, cmap: str = "inferno"
              ) -> tuple[Image.Image, Image.Image]:
    """The real map and the map at one step of the randomisation cascade, as heat maps at the model's input
    (each scaled to its own range, so that where it points shows, not how strong it is)."""
    random_map = check.randomisation.steps[step].random_map
    return (colorize(at.normalise(at.signed(result.input_map, sign)), cmap),
            colorize(at.normalise(at.signed(random_map, sign)), cmap))
