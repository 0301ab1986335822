"""What is on screen, as a link: the tab, the Kernel tab's settings, the model, the picture (one of the
app's examples), the stage, channel and unit, and the method. A teacher sends one link to a class; a
lesson page's "Try it" is such a view too (explorer.lesson.Page.try_it).

    ?tab=stages&model=resnet18&picture=cat&stage=3&channel=5&unit=2,3
    ?tab=kernel&preset=0&stride=2&padding=1&op=conv&step=2
    ?page=pooling&lang=zh

`View.from_query` reads a query (unknown keys are ignored; a bad value is dropped and named in
`View.problems`), `View.query()` writes one. What each value does to the tabs: explorer.ui.restore."""
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlencode

from explorer import lesson
from explorer.core.registry import MODEL_NAMES
from explorer.core.state import STORES
from explorer.drawing.kernel_presets import PRESET_NAMES

TABS = ("kernel", "stages", "saliency", "architecture")
KERNEL_FIELDS = ("preset", "matrix", "kernel", "op", "pool", "stride", "padding", "dilation", "step")
EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
OPS = ("conv", "max", "avg")
SMALL = re.compile(r"^\d{1,3}$")
PAIR = re.compile(r"^\d{1,2}(,\d{1,2})?$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,80}$")
PARTS = ("inspect", "compare", "alexnet", "layers")


@functools.lru_cache(maxsize=1)
def example_digests() -> dict[str, str]:
    """The app's example photos by the SHA-1 of their bytes -> their names (read once)."""
    return {hashlib.sha1(p.read_bytes()).hexdigest(): p.stem for p in sorted(EXAMPLES.glob("*.jpg"))}


STORES.register("ui.example_digests", example_digests, "the example photos' digests")


def example_of(digest: str | None) -> str | None:
    """The example a picture is, given the SHA-1 of its bytes; None for any other picture."""
    return example_digests().get(digest) if digest else None


def picture_value(name: str):
    """What the picture inputs hold for picture `name` (explorer.lesson.picture_names: an example photo or
    a drawn digit): (the tab's picture State, {"photo": ...} or {"sketch": ...} to show it). A drawn digit
    is written once as a PNG under Gradio's upload folder and given as the Sketchpad gives a drawing."""
    import tempfile

    import gradio as gr
    from gradio.utils import get_upload_folder

    drawn = lesson.picture(name)
    if isinstance(drawn, str):
        return drawn, {"photo": drawn, "sources": gr.Tabs(selected="photo")}
    folder = Path(get_upload_folder() or tempfile.gettempdir()) / "lesson-pictures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    if not path.exists():
        drawn.save(path)
    sketch = {"background": None, "layers": [str(path)], "composite": str(path)}
    return sketch, {"sketch": sketch, "sources": gr.Tabs(selected="draw")}


@dataclass(frozen=True)
class View:
    """One view of the app; None: left as it is."""

    tab: str | None = None
    page: str | None = None                  # a lesson page's key
    preset: str | None = None                # a Kernel preset's name (kernel_presets.PRESET_NAMES)
    matrix: tuple | None = None              # rows of numbers ("1,2,3;4,5,6" in a link)
    kernel: tuple | None = None
    op: str | None = None                    # conv / max / avg
    pool: str | None = None                  # a pooling window's size, as the tab's box takes it
    stride: str | None = None                # as the tab's boxes take them: "2" or "1,2"
    padding: str | None = None
    dilation: str | None = None
    step: int | None = None                  # 1-based, as the animation counts
    model: str | None = None
    picture: str | None = None               # an example's name
    stage: int | str | None = None           # 1-based, as the Stages slider counts, or the stage's name
    channel: int | None = None               # 0-based, as PyTorch indexes
    unit: tuple[int, int] | None = None      # (row, column), 0-based
    method: str | None = None                # a Saliency method's name (explorer.core.attribution.METHODS)
    view: str | None = None                  # the Architecture tab's part: inspect, compare, alexnet, layers
    block: str | None = None                 # a block with branches of the model inspected
    compare: tuple[str, ...] | None = None   # the models compared
    feature: bool | None = None              # "What does this channel look for?" brought into view
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_query(cls, params) -> View:
        """The view a URL's query parameters describe (a mapping, e.g. gr.Request.query_params)."""
        values, problems = {}, []
        for f in fields(cls):
            if f.name == "problems" or f.name not in params:
                continue
            text = str(params[f.name]).strip()
            read = _READERS[f.name](text)
            if read is None:
                problems.append(f"{f.name}={text[:40]}")
            else:
                values[f.name] = read
        return cls(**values, problems=tuple(problems))

    @classmethod
    def from_try_it(cls, try_it, page: str | None = None, tab: str | None = None) -> View:
        """The view of a lesson page's Try it (explorer.lesson: its keys are View's fields, "kernel_size"
        is "pool"), on the page's tab."""
        named = {("pool" if k == "kernel_size" else k): v for k, v in dict(try_it).items()}
        view = cls.from_query({k: as_text(v) for k, v in named.items()})
        return replace(view, page=page or view.page, tab=tab or view.tab)

    def query(self) -> str:
        """"?tab=...&..." for the fields set (the empty string when none is)."""
        pairs = [(f.name, as_text(getattr(self, f.name))) for f in fields(self)
                 if f.name != "problems" and getattr(self, f.name) is not None]
        pairs = [(name, str(PRESET_NAMES.index(text)) if name == "preset" else text) for name, text in pairs]
        return "?" + urlencode(pairs, safe=",") if pairs else ""

    def kernel_set(self) -> bool:
        return any(getattr(self, name) is not None for name in KERNEL_FIELDS)


def as_text(value) -> str:
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], (tuple, list)):
        return ";".join(",".join(_number_text(v) for v in row) for row in value)
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return str(value)


def _number_text(value) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _table(text: str):
    """Rows of numbers from "1,2,3;4,5,6" (at most 32 by 32, as the Kernel tab takes)."""
    rows = [row.split(",") for row in text.split(";")]
    if not 1 <= len(rows) <= 32 or any(len(r) != len(rows[0]) or len(r) > 32 for r in rows):
        return None
    try:
        table = tuple(tuple(float(x) for x in row) for row in rows)
    except ValueError:
        return None
    if any(x != x or abs(x) > 1e6 for row in table for x in row):
        return None
    return tuple(tuple(int(x) if x.is_integer() else x for x in row) for row in table)


def _preset(text: str) -> str | None:
    if SMALL.match(text) and int(text) < len(PRESET_NAMES):
        return PRESET_NAMES[int(text)]
    return text if text in PRESET_NAMES else None


def _whole(low: int):
    return lambda text: int(text) if SMALL.match(text) and int(text) >= low else None


def _unit(text: str):
    parts = text.split(",")
    if len(parts) == 2 and all(SMALL.match(p) for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _method(text: str):
    from explorer.core.attribution import METHODS

    return text if text in METHODS else None


_READERS = {
    "tab": lambda t: t if t in TABS else None,
    "page": lambda t: t if re.fullmatch(r"[a-z0-9-]{1,40}", t) else None,
    "preset": _preset,
    "matrix": _table,
    "kernel": _table,
    "op": lambda t: t if t in OPS else None,
    "pool": lambda t: t if PAIR.match(t) and "0" not in t.split(",") else None,
    "stride": lambda t: t if PAIR.match(t) and "0" not in t.split(",") else None,
    "padding": lambda t: t if PAIR.match(t) else None,
    "dilation": lambda t: t if PAIR.match(t) and "0" not in t.split(",") else None,
    "step": _whole(1),
    "model": lambda t: t if t in MODEL_NAMES else None,
    "picture": lambda t: t if t in lesson.picture_names() else None,
    "stage": lambda t: int(t) if SMALL.match(t) and int(t) >= 1 else t if NAME.match(t) else None,
    "channel": _whole(0),
    "unit": _unit,
    "method": _method,
    "view": lambda t: t if t in PARTS else None,
    "block": lambda t: t if NAME.match(t) else None,
    "compare": lambda t: tuple(t.split(",")) if all(m in MODEL_NAMES for m in t.split(",")) else None,
    "feature": lambda t: True if t.lower() in ("1", "true", "yes") else None,
}
