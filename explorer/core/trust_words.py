"""The trust check's verdicts (explorer.core.trust) and what they mean, in English and Simplified Chinese.

Each verdict is a key in English (FASTER, ..., NOT_MEASURABLE: the API returns it, tests compare with it);
`verdict_words`, `part_words` and `meaning` give a visitor its words in the language spoken now."""
from explorer.core.words import pick

NOT_MEASURABLE = "not measurable"
FASTER, NOT_FASTER, CANT_TELL = "faster than random", "no faster than random", "can't tell"
CHANGES, BARELY = "the map changes", "barely changes"


# The verdicts in words: each verdict above is a key (the API and the tests compare with it); a visitor reads
# it in their language.
VERDICT_WORDS = {
    FASTER: {"en": FASTER, "zh": "比随机快"}, NOT_FASTER: {"en": NOT_FASTER, "zh": "不比随机快"},
    CANT_TELL: {"en": CANT_TELL, "zh": "说不准"}, NOT_MEASURABLE: {"en": NOT_MEASURABLE, "zh": "无法测量"},
    CHANGES: {"en": CHANGES, "zh": "显著图变了"}, BARELY: {"en": BARELY, "zh": "几乎不变"},
}
PART_WORDS = {"deletion": {"en": "deletion", "zh": "删除"}, "insertion": {"en": "insertion", "zh": "插入"},
              "randomisation": {"en": "randomisation", "zh": "随机化"}}


def verdict_words(verdict: str) -> str:
    """A verdict (FASTER, ..., NOT_MEASURABLE) in the language spoken now."""
    return pick(VERDICT_WORDS[verdict]) if verdict in VERDICT_WORDS else verdict


def part_words(part: str) -> str:
    """"deletion", "insertion" or "randomisation" in the language spoken now."""
    return pick(PART_WORDS[part])


_NOTHING = {"en": "This test cannot be run on this map (its figures below say why), so it says nothing for or against "
                  "it.",
            "zh": "这张图没法做这项检验（下面的数据说明了原因），所以它既不支持也不否定这张图。"}
# What each verdict means, one sentence a learner can follow (the Saliency tab shows those in its table).
MEANING = {
    ("deletion", FASTER): {
        "en": "Filling in the pixels this map marks first from their surroundings makes the model lose the class "
              "sooner than filling in random pixels: the map points at what the model used.",
        "zh": "先把这张图标出的像素用周围的像素填掉，模型比填掉随机像素时更快认不出这个类别：这张图指出了模型用到的地方。"},
    ("deletion", NOT_FASTER): {
        "en": "Filling in the pixels this map marks first from their surroundings takes the class away no sooner "
              "than filling in random pixels: the map does not point at what the model used.",
        "zh": "先把这张图标出的像素用周围的像素填掉，模型认不出这个类别并不比填掉随机像素时快：这张图没有指出模型用到的地方。"},
    ("deletion", CANT_TELL): {
        "en": "The map beats most random orders, but not by enough to be sure: on this picture the deletion test "
              "cannot decide.",
        "zh": "这张图胜过大多数随机顺序，但差距不够大，不能确定：在这张图片上，删除检验下不了结论。"},
    ("insertion", FASTER): {
        "en": "Starting from a blurred copy, putting back the pixels this map marks first brings the class back "
              "sooner than putting back random pixels.",
        "zh": "从模糊的副本出发，先放回这张图标出的像素，比放回随机像素更快让模型重新认出这个类别。"},
    ("insertion", NOT_FASTER): {
        "en": "Putting back the pixels this map marks first brings the class back no sooner than random pixels: "
              "the map misses what the model needs.",
        "zh": "先放回这张图标出的像素，并不比放回随机像素更快让模型认出这个类别：这张图漏掉了模型需要的东西。"},
    ("insertion", CANT_TELL): {
        "en": "The map beats most random orders at bringing the class back, but not by enough to be sure: on this "
              "picture the insertion test cannot decide.",
        "zh": "在让类别回来这件事上，这张图胜过大多数随机顺序，但差距不够大：在这张图片上，插入检验下不了结论。"},
    ("randomisation", CHANGES): {
        "en": "With the learned weights of the top layers replaced by random ones the map looks different: it "
              "depends on what the model learned.",
        "zh": "把顶部几层学到的权重换成随机权重后，图就变了样：它取决于模型学到的东西。"},
    ("randomisation", BARELY): {
        "en": "Even with random weights in the top layers the map stays much the same: it may show the picture's "
              "edges rather than what the model learned.",
        "zh": "即使顶部几层换成了随机权重，图也几乎不变：它显示的可能只是图片的边缘，而不是模型学到的东西。"},
} | {(part, NOT_MEASURABLE): _NOTHING for part in ("deletion", "insertion", "randomisation")}


def meaning(part: str, verdict: str) -> str:
    """What a part's verdict means, in one sentence in the language spoken now."""
    return pick(MEANING[part, verdict])


REPLACEMENT_WORDS = {
    "en": "**Which replacement each curve uses, and why.** Deletion fills a removed patch in from the pixels around "
          "it (ROAD's imputation): a removed object takes the colours of its surroundings and is really gone, and "
          "the picture still looks like a photo, not like one with squares on it. The deletion with blurred patches "
          "is shown for comparison: a blurred patch keeps its own colours, so a small object blurred away can still "
          "be recognised and the curve falls late even for the right map. Grey squares are not used: the model "
          "never saw them in training and its answer can move because of the squares themselves. Insertion starts "
          "from the whole picture blurred, a start with the detail gone that is still a photo, and puts the real "
          "patches back.",
    "zh": "**每条曲线用什么替换，为什么。** 删除检验用一块图像周围的像素把它填上（ROAD 的插补方法）：被删掉的物体换上了"
          "周围的颜色，真的不见了，而图片看上去仍然是照片，不会多出一个个方块。用模糊图块的删除曲线只作对比：模糊的图块"
          "保留了自己的颜色，小物体模糊掉之后仍可能被认出来，所以即使图是对的，曲线也降得晚。灰色方块不用：模型训练时"
          "从没见过这种方块，它的答案可能因为方块本身而改变。插入检验从整张模糊的图片出发（细节没了，但仍是照片），"
          "再把真实的图块一块块放回去。"}
