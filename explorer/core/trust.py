"""How far to trust an attribution map: three tests the usual tools do not show.

- Deletion (explorer.core.trust_curves): the patches the map ranks highest are replaced first (filled from
  their surroundings, ROAD's imputation; with blurred patches and grey squares too, for comparison) and the
  class's probability is followed; the map's curve is ranked among many random orders' curves.
- Insertion: from a blurred copy of the picture, the real patches come back, highest-ranked first.
- Cascading randomisation (explorer.core.trust_randomisation): the same method on copies of the model
  whose top layers are re-initialised, one more at each step; the rank correlation with the real map.

Each test gives "faster than random", "no faster than random" or "can't tell" (randomisation: "the map
changes" or "barely changes"), or "not measurable" with the reason where it cannot say anything. The bars
come from benchmarks/bench_trust_calibration.py, which checks them on composites whose right answer is
known (a recognised photo pasted on a background; the right map, a map over empty background, noise).
"""
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from explorer.core import budgets, cost, trust_curves
from explorer.core.attribution import (
    METHODS,
    Attribution,
    attribute_input,
    image_passes,
    resolve_target,
    signed,
)
from explorer.core.loaded_model import LoadedModel
from explorer.core.trust_curves import (  # noqa: F401  (re-exported: the curves' names, here as before)
    ORDERS,
    RANDOM_CURVES,
    STEPS,
    Curve,
    curve_passes,
    intact_probability,
    is_random_known,
    kept_patches,
    map_order,
    measure_curves,
    patch_grid,
    patch_scores,
    step_counts,
)
from explorer.core.trust_maps import blank_map, map_at_input
from explorer.core.trust_randomisation import (  # noqa: F401
    CASCADE,
    RANDOMISED_MAPS,
    Step,
    cascade,
    randomised_copy,
    rank_correlation,
    shared_randomised_copy,
    top_layers,
)
from explorer.core.trust_words import (  # noqa: F401  (re-exported: the verdicts and their words, here as before)
    BARELY,
    CANT_TELL,
    CHANGES,
    FASTER,
    MEANING,
    NOT_FASTER,
    NOT_MEASURABLE,
    PART_WORDS,
    REPLACEMENT_WORDS,
    VERDICT_WORDS,
    meaning,
    part_words,
    verdict_words,
)
from explorer.core.words import pick, say

# The bars. Each curve's p-value bar (the usual 0.05, or 1 / (ORDERS + 1): the map beats every random order),
# ratio bar and "no faster" bar (one set per deletion replacement, one for insertion) are fitted by
# benchmarks/bench_trust_calibration.py on one set of composites and checked on another, and written to
# trust_bars.json (the right map passes on >= 90 % of its composites, a map over empty background on none,
# a map with no information on <= 5 %, and the right map is never called "no faster than random"). A noise
# map's patches come in a random order: it gets p <= 0.05 by chance on 2 in 40 pictures, p <= 0.025 on 1 in
# 40, so the p-value bar alone keeps it to the goal; the benchmark measures that goal on 40 such maps per
# composite (its noise map and each random order against the other 39), never on a few noise maps alone.
P_BAR = 0.05                # "faster than random": at most this share of random orders do as well (where the
                            # bars give no "p" of their own)
BARS_FILE = Path(__file__).with_name("trust_bars.json")
BARS = json.loads(BARS_FILE.read_text())["bars"]  # {"deletion_impute"|...|"insertion": {"p", "ratio", "not_faster_p"}}
MIN_PROBABILITY = 0.01      # below this on the intact picture, the class has no fall to measure
MIN_CHANGE = 0.2            # a curve must move the probability by this share of the intact picture's
CHANGES_BELOW = 0.5         # "the map changes": rank correlation at the cascade's last step below this

@dataclass
class Check:
    """One test's outcome: passed is True, False, or None when it could not tell or not be measured."""
    measurable: bool
    passed: bool | None
    verdict: str
    reason: str

    @property
    def words(self) -> str:
        """The verdict in the language spoken now."""
        return verdict_words(self.verdict)

    def as_dict(self) -> dict:
        return {"measurable": self.measurable, "passed": self.passed, "verdict": self.words, "reason": self.reason}


@dataclass
class CurveCheck(Check):
    """A deletion or insertion test, with its curves (None where not measured); deletion keeps the same test
    with the other replacements in `compared` ("blur", "grey"), for comparison (their verdicts are not the
    deletion's)."""
    curve: Curve | None = None
    compared: dict = field(default_factory=dict)      # replacement -> CurveCheck

    @property
    def blur(self) -> "CurveCheck | None":
        return self.compared.get("blur")

    def as_dict(self) -> dict:
        c = self.curve
        figures = {} if c is None else {"replacement": c.replacement, "area": c.area_map, "ratio": c.ratio,
                                        "p_value": c.p_value, "random_median_area": float(np.median(c.areas_random))}
        return super().as_dict() | figures | {name: check.as_dict() for name, check in self.compared.items()}


@dataclass
class RandomisationCheck(Check):
    steps: list[Step] = field(default_factory=list)

    @property
    def correlation(self) -> float | None:
        """The rank correlation at the cascade's last step (None: not measured, or its map is empty)."""
        return self.steps[-1].correlation if self.steps else None

    def as_dict(self) -> dict:
        return super().as_dict() | {"cascade": [{"layers": s.layers, "rank_correlation": s.correlation}
                                                for s in self.steps]}


def _not_measurable(reason: str, kind=Check):
    return kind(False, None, NOT_MEASURABLE, reason)


def _percent(p: float) -> str:
    return f"{p:.2%}" if p >= 1e-4 else f"{p * 100:.0e}%"


# ----------------------------------------------------------------------------------------------------
# The verdicts

_REPLACED = {"impute": {"en": "patches filled from their surroundings", "zh": "周围像素填补的图块"},
             "blur": {"en": "blurred patches", "zh": "模糊图块"}, "grey": {"en": "grey patches", "zh": "灰色图块"}}


def bars_key(curve: Curve) -> str:
    """The bars a curve is judged by: "insertion", or "deletion_" and its replacement."""
    return curve.kind if curve.kind == "insertion" else f"deletion_{curve.replacement}"


def curve_verdict(ratio: float, p: float, bars: dict) -> str:
    """FASTER, NOT_FASTER or CANT_TELL for a measurable curve's effect size and p-value with these bars
    (one entry of BARS: "ratio", "not_faster_p" and, where fitted, "p")."""
    if p <= bars.get("p", P_BAR) + 1e-12 and ratio <= bars["ratio"]:
        return FASTER
    return NOT_FASTER if p >= bars["not_faster_p"] else CANT_TELL


def judge_curve(curve: Curve, intact: float) -> CurveCheck:
    """Faster than random when the p-value (the share of random orders that do as well) is at most the
    calibrated bar (BARS' "p", else P_BAR) and the map's area is at most the calibrated share of theirs
    (effect size, BARS' "ratio"); no faster than random when the
    calibrated share of them or more do as well; can't tell in between. Not measurable when the curve
    hardly moves."""
    ends = curve.by_map[[0, -1]]
    replaced = pick(_REPLACED[curve.replacement])
    if curve.change < MIN_CHANGE * intact:
        values = dict(replaced=replaced, start=_percent(ends[0]), end=_percent(ends[1]))
        why = (say("with {replaced}, replacing every patch moves the probability only from {start} to {end}: too "
                   "little to rank orders by", "用{replaced}替换全部图块，概率也只从 {start} 变到 {end}：变化太小，"
                   "没法给各种顺序排高低", **values) if curve.kind == "deletion" else
               say("with {replaced}, putting every patch back moves the probability only from {start} to {end}: too "
                   "little to rank orders by", "从{replaced}出发把图块全部放回，概率也只从 {start} 变到 {end}：变化"
                   "太小，没法给各种顺序排高低", **values))
        return CurveCheck(False, None, NOT_MEASURABLE, why, curve)
    ratio, p, bars = curve.ratio, curve.p_value, BARS[bars_key(curve)]
    p_bar = bars.get("p", P_BAR)
    slower = int(np.sum(curve.areas_random > curve.area_map + 1e-12))
    figures = say("with {replaced}, area {area:.2f} against the random orders' median {median:.2f} (ratio "
                  "{ratio:.2f}); {slower} of {orders} random orders are slower (p = {p:.3f})",
                  "用{replaced}：面积 {area:.2f}，随机顺序的中位数 {median:.2f}（比值 {ratio:.2f}）；{orders} 个"
                  "随机顺序中有 {slower} 个更慢（p = {p:.3f}）", replaced=replaced, area=curve.area_map,
                  median=np.median(curve.areas_random), ratio=ratio, slower=slower, orders=curve.areas_random.size, p=p)
    needs = say("faster needs p ≤ {p_bar:g} and ratio ≤ {ratio_bar:g}", "要算“更快”，需要 p ≤ {p_bar:g} 且比值 ≤ "
                "{ratio_bar:g}", p_bar=p_bar, ratio_bar=bars["ratio"])
    said = curve_verdict(ratio, p, bars)
    if said == FASTER:
        return CurveCheck(True, True, FASTER, figures, curve)
    if said == NOT_FASTER:
        return CurveCheck(True, False, NOT_FASTER, say("{figures}; {needs}", "{figures}；{needs}", figures=figures,
                                                       needs=needs), curve)
    return CurveCheck(True, None, CANT_TELL, say("{figures}: better than most random orders, not clearly enough "
                                                 "({needs})", "{figures}：比大多数随机顺序好，但还不够明显（{needs}）",
                                                 figures=figures, needs=needs), curve)


def judge_randomisation(steps: list[Step]) -> RandomisationCheck:
    """The map changes when its rank correlation with the last step's map is below CHANGES_BELOW (or that
    map is empty); the reason gives every step's correlation."""
    each = say("; ", "；").join(_step_words(s) for s in steps)
    last = steps[-1].correlation
    if last is None:
        return RandomisationCheck(True, True, CHANGES, say(
            "the randomised model's map is empty, so nothing of the map survives without the learned weights ({each})",
            "随机化模型的图是空的：没有了学到的权重，原图一点也留不下来（{each}）", each=each), steps)
    values = dict(last=last, bar=CHANGES_BELOW, each=each)
    if last < CHANGES_BELOW:
        return RandomisationCheck(True, True, CHANGES, say(
            "rank correlation {last:.2f} with the fully randomised model's map, below {bar:g} (cascade: {each}): the "
            "map depends on what the model learned", "与完全随机化模型的图的秩相关为 {last:.2f}，低于 {bar:g}（逐层："
            "{each}）：这张图取决于模型学到的东西", **values), steps)
    return RandomisationCheck(True, False, BARELY, say(
        "rank correlation {last:.2f} with the fully randomised model's map, {bar:g} or more (cascade: {each}): with "
        "random top layers the map stays much the same; it may show the picture, not the model",
        "与完全随机化模型的图的秩相关为 {last:.2f}，不低于 {bar:g}（逐层：{each}）：顶部几层随机后图几乎不变；"
        "它显示的可能是图片本身，而不是模型", **values), steps)


def random_layers_words(n: int) -> str:
    """How many of the top layers one cascade step randomised, in words (the table's and the wipe's)."""
    return say("top {n} layers random", "顶部 {n} 层随机", n=n) if n != 1 else say("top layer random", "顶层随机")


def _step_words(step: Step) -> str:
    """One cascade step in words: how many of the top layers are random, and its rank correlation."""
    layers = random_layers_words(len(step.layers))
    if step.correlation is None:
        return say("{layers}: empty map", "{layers}：空图", layers=layers)
    return say("{layers}: {rho:.2f}", "{layers}：{rho:.2f}", layers=layers, rho=step.correlation)


@dataclass
class TrustCheck:
    """How far to trust one map: `deletion`, `insertion` and `randomisation`, each with measurable / verdict /
    reason, and these summed up (measurable when deletion and insertion are)."""
    method: str
    target: int
    label: str
    sign: str
    probability: float               # the class's probability on the intact picture
    deletion: CurveCheck
    insertion: CurveCheck
    randomisation: RandomisationCheck
    blank: str | None = None         # why the map is empty or constant, in words; None when it is not

    @property
    def parts(self) -> dict[str, Check]:
        return {"deletion": self.deletion, "insertion": self.insertion, "randomisation": self.randomisation}

    @property
    def curve(self) -> Curve | None:
        """The judged deletion curve (trust_curves.JUDGED's replacement; None when not measured)."""
        return self.deletion.curve

    @property
    def correlation(self) -> float | None:
        return self.randomisation.correlation

    @property
    def measurable(self) -> bool:
        return self.deletion.measurable and self.insertion.measurable

    @property
    def verdict(self) -> str:
        if not self.measurable:
            return NOT_MEASURABLE
        named = self.parts.items()
        failed = [part_words(n) for n, c in named if c.measurable and c.passed is False]
        unsure = [part_words(n) for n, c in named if c.measurable and c.passed is None]
        if failed:
            return say("fails the {parts} check", "未通过{parts}检验", parts=say(" and the ", "和").join(failed))
        if unsure:
            return say("can't tell from the {parts} check", "{parts}检验说不准", parts=say(" and the ", "和").join(unsure))
        passed = [part_words(n) for n, c in named if c.passed]
        return say("passes the {parts} checks", "通过了{parts}检验", parts=say(" and the ", "和").join(passed))

    @property
    def reason(self) -> str:
        if self.blank is not None:
            return say("{blank}; a map that ranks no pixel above another cannot be checked.",
                       "{blank}；一张不把任何像素排在别的像素之前的图，没法检验。", blank=self.blank)
        return say(" ", "").join(say("{Part}: {verdict}, {reason}.", "{Part}：{verdict}，{reason}。",
                                     Part=part_words(name).capitalize(), verdict=c.words, reason=c.reason)
                                 for name, c in self.parts.items())

    def as_dict(self) -> dict:
        """The verdicts and reasons in words, and the figures (JSON-ready)."""
        return {"measurable": self.measurable, "verdict": self.words, "reason": self.reason,
                "probability": self.probability} | {n: c.as_dict() for n, c in self.parts.items()}

    @property
    def words(self) -> str:
        """The overall verdict in the language spoken now (`verdict` is already in it, except NOT_MEASURABLE)."""
        return verdict_words(self.verdict)


# ----------------------------------------------------------------------------------------------------
# The cost, checked before any work

def check_passes(method_passes: int, random_known: bool = False, steps: int = len(CASCADE)) -> int:
    """Pictures through the model for one trust check: the three curves and `steps` randomised maps of a
    method that costs `method_passes` (what sizes its GPU slot: explorer.core.gpu)."""
    return curve_passes(random_known=random_known) + steps * method_passes


def plan_cascade(method_passes: int, random_known: bool, budget: budgets.Budget | None = None) -> tuple:
    """The cascade's steps that fit the budget: all of them, or only the last (every layer randomised at
    once) when the steps between would not; OverBudget when even that does not fit."""
    most = (budget or budgets.current()).model_passes
    if check_passes(method_passes, random_known) <= most:
        return CASCADE
    pictures = check_passes(method_passes, random_known, 1)
    budgets.check_model_passes(
        say("trust check: {orders} random orders of {steps} steps and the map on a randomised model make {n:,} pictures",
            "trust check：{orders} 个 {steps} 步的随机顺序，加上随机化模型上的图，共要算 {n:,} 张图",
            orders=trust_curves.ORDERS, steps=STEPS, n=pictures), pictures, _CHEAPER(), budget)
    return CASCADE[-1:]


def check_seconds(model_name: str, map_passes: int, curve_passes: int) -> float:
    """The check's estimated seconds (its curves are forward passes, its randomised maps forward and
    backward), refused in words before any pass when beyond the per-request time budget
    (explorer.core.cost, EXPLORER_REQUEST_SECONDS); 0 for a model whose cost is not on record."""
    if not cost.priced(model_name):
        return 0.0
    seconds = cost.estimate(model_name, curve_passes, backward=False)
    if map_passes:
        seconds += cost.estimate(model_name, map_passes)
    return cost.refuse_over(say("trust check: {curves:,} pictures for its curves and {maps:,} for the randomised maps",
                                "trust check：曲线要算 {curves:,} 张图，随机化的图要算 {maps:,} 张",
                                curves=curve_passes, maps=map_passes), seconds,
                            say("{n:,} passes", "{n:,} 次前向传播", n=curve_passes + map_passes),
                            say("{cheaper} or pick a smaller model", "{cheaper}，或换一个小一些的模型",
                                cheaper=_CHEAPER()))


def _CHEAPER() -> str:
    return say("make the method cheaper (fewer steps or noisy copies, a larger occlusion stride)",
               "让方法便宜一些（更少的步数或加噪副本，更大的遮挡步幅）")


# ----------------------------------------------------------------------------------------------------
# The check

def _randomisation(model: LoadedModel, x, result, sign, probability, counts, progress) -> RandomisationCheck:
    if not model.pretrained:
        return _not_measurable(say("{model} is untrained: its weights are random already, so there is nothing "
                                   "learned for randomisation to destroy",
                                   "{model} 没有训练过：它的权重本来就是随机的，没有学到的东西可以让随机化去破坏",
                                   model=model.display_name), RandomisationCheck)
    if probability < MIN_PROBABILITY:
        return _not_measurable(say("“{label}” has probability {p}: the model has learned next to nothing about this "
                                   "class here, so there is nothing for randomisation to destroy",
                                   "“{label}”的概率只有 {p}：模型在这里对这个类别几乎什么也没学到，没有东西可以让随机化"
                                   "去破坏", label=result.label, p=_percent(probability)), RandomisationCheck)
    if result.method not in METHODS:
        return _not_measurable(say("a map given as numbers cannot be computed again on the randomised model",
                                   "直接以数字给出的图，没法在随机化的模型上重新计算"), RandomisationCheck)
    blank = (lambda heat: blank_map(result.method, heat, sign, result.layer))
    return judge_randomisation(cascade(model, x, result, sign, counts, progress, blank))


def _curve_checks(model, x, shown, result, probability, progress) -> tuple[CurveCheck, CurveCheck]:
    if probability < MIN_PROBABILITY:
        why = say("“{label}” has probability {p} on the intact picture, too small for its change to be measured: the "
                  "curves need at least {least:.0%}", "“{label}”在完整图片上的概率只有 {p}，太小了，测不出它的变化："
                  "曲线至少需要 {least:.0%}", label=result.label, p=_percent(probability), least=MIN_PROBABILITY)
        return _not_measurable(why, CurveCheck), _not_measurable(why, CurveCheck)
    curves = measure_curves(model, x, shown, result.target, progress=progress)
    deletion = judge_curve(curves[f"deletion_{trust_curves.JUDGED}"], probability)
    deletion.compared = {name: judge_curve(curves[f"deletion_{name}"], probability)
                         for name in trust_curves.REPLACEMENTS if name != trust_curves.JUDGED and f"deletion_{name}" in curves}
    return deletion, judge_curve(curves["insertion"], probability)


def _scaled(progress, start: float, share: float):
    return None if progress is None else (lambda f: progress(start + share * f))


def trust_check(model: LoadedModel, picture, method: str, target=None, *, sign: str = "absolute",
                attribution=None, progress=None, **options) -> TrustCheck:
    """How far to trust an attribution map: deletion and insertion curves against many random orders, and
    cascading model randomisation.

    Args:
        model (LoadedModel): From `get_model` or `load_model`.
        picture: A picture (anything `load_image` takes), a path, or the model's input tensor (1, C, h, w).
        method (str): A key of ``explorer.METHODS``; with a numpy ``attribution``, any name for the map.
        target: The class: an index, a class name, or None (default) for the top-1 prediction.
        sign (str): The part of the map judged: ``"absolute"`` (default), ``"positive"`` or ``"negative"``.
        attribution (Attribution or numpy.ndarray, optional): The map already computed (from `explain`), or
            a plain (h, w) map of your own at the picture's size or at the model's input size (higher = more
            important); it is not computed again.
        progress (callable, optional): Given the fraction done before each pass; may raise ``Cancelled``.
        **options: The method's own options (see `explain`).

    Returns:
        TrustCheck: ``measurable``, ``verdict`` and ``reason`` in words, and the parts ``deletion``,
        ``insertion`` (each ``"faster than random"``, ``"no faster than random"``, ``"can't tell"`` or
        ``"not measurable"``, with its ``curve``: p-value, area ratio to the random median) and
        ``randomisation`` (``"the map changes"``, ``"barely changes"`` or ``"not measurable"``, with the
        rank correlation of each cascade step); ``as_dict()`` for JSON.

    Raises:
        ValueError: an unknown sign, method, option or class; a map of the wrong size or shape (the message
            gives the sizes it takes); ``OverBudget`` when the check would cost more passes than allowed.
        Cancelled: raised by ``progress`` to stop.
    """
    signed(np.zeros(1), sign)           # an unknown sign is refused before any work
    x = picture if isinstance(picture, torch.Tensor) else model.preprocess(picture)
    result = _attribution(model, picture, x, method, target, attribution, options)
    shown = signed(result.input_map, sign)
    recompute = result.method in METHODS and model.pretrained
    passes = image_passes(result.method, result.options, tuple(x.shape[-2:])) if recompute else 0
    random_known = is_random_known(model, x, result.target)
    counts = plan_cascade(passes, random_known)                                  # before any pass of its own
    check_seconds(model.name, passes * len(counts), trust_curves.curve_passes(random_known=random_known))
    probability = intact_probability(model, x, result.target)
    blank = blank_map(result.method, result.input_map, sign, result.layer)
    if blank is not None:
        why = say("{blank}: it ranks no patch above another, so its order would be arbitrary",
                  "{blank}：它没有把任何图块排在别的图块之前，所以它给出的顺序是随意的", blank=blank)
        ranks = say("{blank}: the rank correlation of a map without ranks means nothing",
                    "{blank}：一张分不出高低的图，谈不上秩相关", blank=blank)
        return TrustCheck(result.method, result.target, result.label, sign, probability,
                          _not_measurable(why, CurveCheck), _not_measurable(why, CurveCheck),
                          _not_measurable(ranks, RandomisationCheck), blank)
    randomisation = _randomisation(model, x, result, sign, probability, counts, _scaled(progress, 0.0, 0.5))
    deletion, insertion = _curve_checks(model, x, shown, result, probability, _scaled(progress, 0.5, 0.5))
    return TrustCheck(result.method, result.target, result.label, sign, probability, deletion, insertion,
                      randomisation)


def _attribution(model, picture, x, method, target, attribution, options) -> Attribution:
    """The map judged: computed here, given as an Attribution, or a numpy map put at the model's input."""
    if attribution is None:
        return attribute_input(model, x, method, target, **options)
    if isinstance(attribution, Attribution):
        return attribution
    heat = map_at_input(model, picture, attribution, tuple(x.shape[-2:]))
    index = resolve_target(model, target)
    if index is None:
        with model.lock, torch.inference_mode():
            index = int(model.module(x.detach()).argmax(dim=-1)[0])
    name = str(method) if method else say("your map", "你的图")
    return Attribution(name, index, model.labels[index], heat)


# ----------------------------------------------------------------------------------------------------
# Which method explains this prediction best

def ranking(rows: list[tuple[str, TrustCheck]]) -> list[tuple[str, float]]:
    """(title, score) of each map whose deletion and insertion were measured, best first; the score is the
    mean of its two area ratios to the random orders' median (below 1: sooner than random)."""
    scored = [(title, (c.deletion.curve.ratio + c.insertion.curve.ratio) / 2) for title, c in rows
              if c.deletion.measurable and c.insertion.measurable]
    return sorted([(t, s) for t, s in scored if math.isfinite(s)], key=lambda item: item[1])


def ranking_words(rows: list[tuple[str, TrustCheck]]) -> str:
    """The ranking in words: which map explains this prediction best by its curves, and how the others do."""
    ranked = ranking(rows)
    if not ranked:
        return say("No map could be ranked: none had deletion and insertion curves that could be measured.",
                   "没有哪张图能排名：没有一张图的删除曲线和插入曲线都能测量。")
    best_title, best = ranked[0]
    check = dict(rows)[best_title]
    words = say("By the curves, **{title}** explains this prediction best: its curves reach their end in {share:.0%} of "
                "the area random orders need (deletion {deletion}, insertion {insertion}).",
                "按曲线看，**{title}** 对这次预测解释得最好：它的曲线走到终点所用的面积，只有随机顺序的 {share:.0%}"
                "（删除：{deletion}，插入：{insertion}）。", title=best_title, share=best,
                deletion=check.deletion.words, insertion=check.insertion.words)
    if len(ranked) > 1:
        others = say(", ", "、").join(say("{title} ({share:.0%})", "{title}（{share:.0%}）", title=t, share=s)
                                     for t, s in ranked[1:])
        words += say(" Then {others}.", "其次是 {others}。", others=others)
    left = [t for t, _ in rows if t not in dict(ranked)]
    if left:
        words += say(" Not ranked (a curve not measurable): {names}.", "未排名（有曲线无法测量）：{names}。",
                     names=say(", ", "、").join(left))
    return words
