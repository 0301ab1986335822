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
from explorer.core.words import say
from explorer.drawing.fonts import cjk_font, has_cjk, use_cjk_fallback

LEGEND_HEIGHT = 30


COLORMAPS = ("inferno", "jet", "viridis", "magma", "hot", "gray")


def colorize(heat01: np.ndarray, cmap: str = "inferno") -> Image.Image:
    """A [0, 1] map -> RGB picture through a matplotlib colour map."""
    if cmap not in COLORMAPS:
        raise ValueError(say("colour map: {cmap}; choose one of {names}", "colour map：没有 {cmap}；请从 {names} 中选",
                             cmap=echo(cmap), names=", ".join(COLORMAPS)))
    from matplotlib import colormaps

    rgba = colormaps[cmap](np.clip(heat01, 0, 1), bytes=True)
    return Image.fromarray(rgba[..., :3])


def overlay(image: Image.Image, heat01: np.ndarray, opacity: float = 0.5, cmap: str = "inferno") -> Image.Image:
    """The picture with the coloured map laid over it; the map's opacity grows with its value, so
    unimportant pixels keep the picture visible."""
    try:
        opacity = float(opacity)
    except (TypeError, ValueError):
        raise ValueError(say("opacity: {value} is not a number; give one between 0 and 1",
                             "opacity：{value} 不是数字；请给 0 到 1 之间的数", value=echo(opacity))) from None
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(say("opacity: {value} must be between 0 and 1", "opacity：{value} 必须在 0 到 1 之间",
                             value=echo(opacity)))
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

def _write(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str) -> None:
    """Words drawn in black: English in PIL's own small font (as always), Chinese in Noto Sans CJK SC."""
    font = cjk_font(13) if has_cjk(text) else None
    draw.text((xy[0], xy[1] - 2) if font else xy, text, fill="black", font=font)


def _wrapped(text: str, width: int, most: int = 2) -> list[str]:
    """Chinese words in lines no wider than `width` in the CJK font (at most `most`; the last cut with …)."""
    font = cjk_font(13)
    if font is None:
        return [text]
    lines, line = [], ""
    for ch in text:
        if line and font.getlength(line + ch) > width:
            lines.append(line)
            line = ch.lstrip()
        else:
            line += ch
    lines.append(line)
    if len(lines) > most:
        lines = lines[:most - 1] + [lines[most - 1][:-1] + "…"]
    return lines


def _legend(width: int, cmap: str) -> Image.Image:
    bar = colorize(np.tile(np.linspace(0, 1, max(width - 120, 10)), (12, 1)), cmap)
    strip = Image.new("RGB", (width, LEGEND_HEIGHT), "white")
    strip.paste(bar, (60, 9))
    draw = ImageDraw.Draw(strip)
    _write(draw, (6, 8), say("low", "低"))
    _write(draw, (width - 54, 8), say("high", "高"))
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
        if trust.blank_map(result.method, result.input_map, look.sign, result.layer):
            items += [(over, say("{title} (empty map): over the picture", "{title}（空图）：叠在图片上", title=title)),
                      (heat, say("{title} (empty map): heat map", "{title}（空图）：热力图", title=title))]
        else:
            items += [(over, say("{title}: over the picture", "{title}：叠在图片上", title=title)),
                      (heat, say("{title}: heat map", "{title}：热力图", title=title))]
    return items


# --- the sheet to download ----------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "map"


def download_name(model_name: str, results) -> str:
    """The sheet's file name says what it holds: saliency-<model>-<methods>-<class>.png."""
    methods = "+".join(_slug(r.method) for r in results)
    return f"saliency-{_slug(model_name)}-{methods}-{_slug(results[0].label)}.png"


def draw_sheet(items: list) -> Image.Image:
    """All maps side by side, each captioned above it (a Chinese caption on up to two lines)."""
    height = max(img.height for img, _ in items)
    width = sum(img.width for img, _ in items) + 10 * (len(items) - 1)
    captions = [_wrapped(caption, img.width - 8) if has_cjk(caption) else [caption[:max(10, img.width // 6)]]
                for img, caption in items]
    top = 24 + 18 * (max(len(lines) for lines in captions) - 1)
    sheet = Image.new("RGB", (width, height + top), "white")
    left = 0
    for (img, _), lines in zip(items, captions):
        sheet.paste(img, (left, top))
        for row, line in enumerate(lines):
            _write(ImageDraw.Draw(sheet), (left + 4, 6 + 18 * row), line)
        left += img.width + 10
    return sheet


# --- the trust check: a table, the curves, the randomisation wipe ------------------------------------

MARKS = {True: "✓ ", False: "⚠️ ", None: ""}


def _mark(check: trust.Check) -> str:
    return f"{MARKS[check.passed]}{check.words}"


def _curve_cell(check: trust.CurveCheck) -> str:
    """The verdict, and the effect size and p-value where measured."""
    if check.curve is None or not check.measurable:
        return _mark(check)
    return say("{mark} (ratio {ratio:.2f}, p = {p:.3f})", "{mark}（比值 {ratio:.2f}，p = {p:.3f}）", mark=_mark(check),
               ratio=check.curve.ratio, p=check.curve.p_value)


def _randomisation_cell(check: trust.RandomisationCheck) -> str:
    rho = "" if check.correlation is None else say(" (ρ {rho:.2f})", "（ρ {rho:.2f}）", rho=check.correlation)
    return _mark(check) + rho


def meanings(rows: list[dict]) -> str:
    """One sentence for each verdict in the table, as a learner reads it."""
    seen = []
    for r in rows:
        for part, check in r["check"].parts.items():
            key = (part, check.verdict)
            if key not in seen and key in trust.MEANING:
                seen.append(key)
    return "\n".join(say("- **{Part}, {verdict}**: {meaning}", "- **{Part}，{verdict}**：{meaning}",
                         Part=trust.part_words(part).capitalize(), verdict=trust.verdict_words(verdict),
                         meaning=trust.meaning(part, verdict)) for part, verdict in seen)


def trust_table(rows: list[dict]) -> str:
    """One row per map ({"title", "check"}): each test's verdict with its figures, as Markdown; under the
    table, what each verdict means, then each map's reasons in words."""
    if not rows:
        return ""
    lines = [say("| Map | Deletion (patches filled in) | Deletion (blurred, for comparison) | Insertion (from "
                 "blurred) | Randomisation (cascade) |",
                 "| 图 | 删除（填补图块） | 删除（模糊，作对比） | 插入（从模糊开始） | 随机化（逐层） |"),
             "|---|---|---|---|---|"]
    reasons = []
    for r in rows:
        check = r["check"]
        blur = "—" if check.deletion.blur is None else _curve_cell(check.deletion.blur)
        lines.append(f"| {r['title']} | {_curve_cell(check.deletion)} | {blur} | {_curve_cell(check.insertion)} | "
                     f"{_randomisation_cell(check.randomisation)} |")
        if check.blank is not None:
            reasons.append(say("- **{title}**: not measurable: {reason}", "- **{title}**：无法测量：{reason}",
                               title=r["title"], reason=check.reason))
        else:
            reasons.append(say("- **{title}**: {reason}", "- **{title}**：{reason}", title=r["title"],
                               reason=check.reason))
    return ("\n".join(lines) + say("\n\n**What the verdicts mean**\n\n", "\n\n**这些结论是什么意思**\n\n")
            + meanings(rows) + say("\n\n**The figures**\n\n", "\n\n**具体数据**\n\n") + "\n".join(reasons))


def _band(axes, curve, label: str) -> None:
    orders = curve.by_random_orders
    axes.fill_between(curve.fractions, np.percentile(orders, 5, axis=0), np.percentile(orders, 95, axis=0),
                      color="0.5", alpha=0.25, label=say("{n} random orders, middle 90 %", "{n} 个随机顺序，中间 90%",
                                                         n=len(orders)))
    axes.plot(curve.fractions, curve.by_random, "k--", label=label)


def curve_figure(rows: list[dict]):
    """The deletion curves (patches filled from their surroundings) and the insertion curves of every map that could be checked,
    with the random orders' band and median, as a matplotlib figure (None: no curves)."""
    measured = [(r["title"], r["check"]) for r in rows if r["check"].deletion.curve is not None]
    if not measured:
        return None
    from matplotlib.figure import Figure

    use_cjk_fallback()
    # drawn for a column about 460 px wide (a phone: 350): few inches at a high dpi, so its words stay readable
    figure = Figure(figsize=(5.2, 3.7), dpi=150, layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True)
    for title, check in measured:
        left.plot(check.deletion.curve.fractions, check.deletion.curve.by_map, marker=".", label=title)
        right.plot(check.insertion.curve.fractions, check.insertion.curve.by_map, marker=".", label=title)
    median = say("random orders' median", "随机顺序的中位数")
    _band(left, measured[0][1].deletion.curve, median)
    _band(right, measured[0][1].insertion.curve, median)
    left.set(xlim=(0, 1), ylim=(0, 1.02), xlabel=say("share of patches filled in", "已填补的图块比例"),
             ylabel=say("probability of the class", "该类别的概率"),
             title=say("Deletion: lower sooner = better", "删除：越早降低越好"))
    right.set(xlim=(0, 1), xlabel=say("share of patches put back", "已放回的图块比例"),
              title=say("Insertion: higher sooner = better", "插入：越早升高越好"))
    for axes in (left, right):
        axes.title.set_fontsize(9)
        axes.xaxis.label.set_fontsize(8)
        axes.yaxis.label.set_fontsize(8)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
    handles, labels = left.get_legend_handles_labels()      # under the plots, never over a curve or the band
    figure.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=7.5, frameon=False)
    return figure


def wipe_choices(rows: list[dict]) -> list[tuple[str, str]]:
    """(words, "row:step") for each step of each map's randomisation cascade: the map and how many of the
    top layers are random (short, so that a phone shows the whole choice; its rank correlation is in
    wipe_label, above the wipe)."""
    choices = []
    for i, r in enumerate(rows):
        for k, step in enumerate(r["check"].randomisation.steps):
            choices.append((say("{title}: {modules}", "{title}：{modules}", title=r["title"],
                                modules=trust.random_layers_words(len(step.layers))), f"{i}:{k}"))
    return choices


def wipe_label(title: str, n: int, rho: float | None) -> str:
    """The wipe's label for one step of the cascade: what the two sides are, and their rank correlation."""
    if rho is None:
        return say("Drag: {title}, real (left) and with the {modules} (right): the randomised map is empty",
                   "拖动对比：{title}，真实的（左）与{modules}后的（右）：随机化后的图是空的",
                   title=title, modules=trust.random_layers_words(n))
    return say("Drag: {title}, real (left) and with the {modules} (right): rank correlation {rho:.2f}",
               "拖动对比：{title}，真实的（左）与{modules}后的（右）：秩相关 {rho:.2f}",
               title=title, modules=trust.random_layers_words(n), rho=rho)


def wipe_pair(check: trust.TrustCheck, result: at.Attribution, step: int, sign: str, cmap: str = "inferno"
              ) -> tuple[Image.Image, Image.Image]:
    """The real map and the map at one step of the randomisation cascade, as heat maps at the model's input
    (each scaled to its own range, so that where it points shows, not how strong it is)."""
    random_map = check.randomisation.steps[step].random_map
    return (colorize(at.normalise(at.signed(result.input_map, sign)), cmap),
            colorize(at.normalise(at.signed(random_map, sign)), cmap))
