"""Receptive-field geometry: the one implementation every view of a forward pass uses.

Along one axis a tensor's units have a receptive field on the model's input described by an `Axis`:
`rf`, how many input pixels one unit sees; `jump`, how many input pixels apart two neighbouring
units are; `start`, the centre of unit 0 in input pixels (negative where it sits in the padding).
The input itself is Axis(1, 1, 0). A window op with kernel k, stride s, padding p and dilation d
(convolution, pooling) maps it to

    rf'    = rf + (k_eff - 1) * jump,      k_eff = d * (k - 1) + 1
    jump'  = jump * s
    start' = start + ((k_eff - 1) / 2 - p) * jump

Adaptive pooling from n_in to n_out cells cuts windows [floor(i * n_in / n_out), ceil((i + 1) * n_in /
n_out)) (`adaptive_windows`); the field grows by its widest window and the jump by n_in / n_out.
Padding added by its own op (F.pad) moves `start` back by the padding.

A `Field` is the pair of axes (rows, cols) plus `whole`: true once a unit sees the whole input (a
fully connected layer, a reduction over the map, adaptive pooling to 1x1). Its axes still hold the
geometry up to that point, so a box can always be drawn. Where paths meet (add, cat, a gate) the
field is the union of the meeting fields: the smallest span holding all of them.
"""
from __future__ import annotations

from dataclasses import dataclass


def pair(value, default=None) -> tuple:
    """(rows, cols) of a PyTorch size argument: an int, or a sequence of one or two (the last two of
    longer ones). None or an empty sequence (F.max_pool2d's stride) means `default`."""
    if value is None or (isinstance(value, (tuple, list)) and len(value) == 0):
        value = default
    if isinstance(value, (tuple, list)):
        return (value[0], value[-1]) if len(value) in (1, 2) else tuple(value[-2:])
    return value, value


def adaptive_windows(size_in: int, size_out: int) -> list[tuple[int, int]]:
    """[start, end) of each output cell's window along one axis, as PyTorch's adaptive pooling cuts them."""
    return [((i * size_in) // size_out, -(-((i + 1) * size_in) // size_out)) for i in range(size_out)]


def widest_adaptive_window(size_in: int, size_out: int) -> int:
    return max(end - start for start, end in adaptive_windows(size_in, size_out))


def tidy(value: float):
    """A whole float as an int (2.0 -> 2); other numbers unchanged."""
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True)
class Axis:
    """Receptive field along one axis: size `rf`, distance `jump` between neighbouring units,
    and `start`, the centre of unit 0 in input pixels (negative where it sits in the padding)."""
    rf: float
    jump: float
    start: float

    def span(self, index: int) -> tuple[float, float]:
        """First and last input pixel that unit `index` sees."""
        centre = self.start + index * self.jump
        return centre - (self.rf - 1) / 2, centre + (self.rf - 1) / 2

    def window(self, kernel: int, stride: int, padding: float = 0, dilation: int = 1) -> "Axis":
        reach = (kernel - 1) * dilation
        return Axis(self.rf + reach * self.jump, self.jump * stride, self.start + (reach / 2 - padding) * self.jump)

    def adaptive(self, size_in: int, size_out: int) -> "Axis":
        widest = widest_adaptive_window(size_in, size_out)
        return Axis(self.rf + (widest - 1) * self.jump, self.jump * size_in / size_out,
                    self.start + (widest - 1) / 2 * self.jump)

    def padded(self, before: float) -> "Axis":
        """After `before` cells of padding in front: unit 0 is the first padding cell."""
        return Axis(self.rf, self.jump, self.start - before * self.jump)


def union_axis(axes) -> Axis:
    """The smallest axis whose spans hold every one of `axes`' (their jump: the largest)."""
    axes = list(axes)
    if len(axes) == 1:
        return axes[0]
    low = min(a.start - (a.rf - 1) / 2 for a in axes)
    high = max(a.start + (a.rf - 1) / 2 for a in axes)
    return Axis(high - low + 1, max(a.jump for a in axes), (low + high) / 2)


INPUT_AXIS = Axis(1.0, 1.0, 0.0)


@dataclass(frozen=True)
class Field:
    """Receptive field of a tensor's units along rows and cols; `whole`: every unit sees the whole input."""
    rows: Axis = INPUT_AXIS
    cols: Axis = INPUT_AXIS
    whole: bool = False

    @property
    def size(self) -> tuple:
        """(rows, cols) input pixels one unit sees (whole floats as ints)."""
        return tidy(self.rows.rf), tidy(self.cols.rf)

    @property
    def jump(self) -> tuple:
        return tidy(self.rows.jump), tidy(self.cols.jump)

    def window(self, kernel, stride, padding=(0, 0), dilation=(1, 1)) -> "Field":
        """Through a convolution or pooling window; every argument a (rows, cols) pair."""
        return Field(self.rows.window(kernel[0], stride[0], padding[0], dilation[0]),
                     self.cols.window(kernel[1], stride[1], padding[1], dilation[1]), self.whole)

    def adaptive(self, size_in: tuple, size_out: tuple) -> "Field":
        """Through adaptive pooling from `size_in` to `size_out` (rows, cols): to 1x1 it sees everything."""
        everything = self.whole or (tuple(size_out) == (1, 1) and tuple(size_in) != (1, 1))
        return Field(self.rows.adaptive(size_in[0], size_out[0]), self.cols.adaptive(size_in[1], size_out[1]),
                     everything)

    def padded(self, top: float, left: float) -> "Field":
        return Field(self.rows.padded(top), self.cols.padded(left), self.whole)

    def everything(self) -> "Field":
        return Field(self.rows, self.cols, True)


INPUT = Field()


def union(fields) -> Field:
    """Where paths meet: the smallest field holding all of `fields`; whole if any of them is."""
    fields = list(fields)
    if len(fields) == 1:
        return fields[0]
    return Field(union_axis(f.rows for f in fields), union_axis(f.cols for f in fields),
                 any(f.whole for f in fields))


def op_padding(padding, kernel: tuple, dilation: tuple) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) an op pads by: an int or pair, or "valid" / "same" (split as PyTorch
    does, the odd cell at the end)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return totals[0] // 2, totals[0] - totals[0] // 2, totals[1] // 2, totals[1] - totals[1] // 2
    rows, cols = pair(padding if padding is not None else 0)
    return rows, rows, cols, cols


def _spatial(tensor) -> tuple | None:
    return tuple(tensor.shape[-2:]) if tensor.dim() >= 3 else None


def field_after(op: str, params: dict, sources: list, out) -> Field:
    """The field of an op's output tensor `out`. `op`: its name (explorer.core.trace.op_name); `params`:
    its arguments by name; `sources`: (tensor, field) of each traced tensor it read, its input first."""
    source, field = sources[0]
    if op == "conv2d":
        kernel, dilation = tuple(params["weight"].shape[-2:]), pair(params.get("dilation", 1))
        padding = params.get("padding", 0)
        if isinstance(padding, str):     # "same" is centred: half the total padding on each side
            padding = (0, 0) if padding == "valid" else tuple(d * (k - 1) / 2 for d, k in zip(dilation, kernel))
        return field.window(kernel, pair(params.get("stride", 1)), pair(padding), dilation)
    if op in ("max_pool2d", "avg_pool2d", "lp_pool2d"):
        kernel = pair(params["kernel_size"])
        return field.window(kernel, pair(params.get("stride"), kernel), pair(params.get("padding", 0)),
                            pair(params.get("dilation", 1)))
    size_in, size_out = _spatial(source), _spatial(out)
    if op in ("adaptive_avg_pool2d", "adaptive_max_pool2d") and size_in and size_out:
        return field.adaptive(size_in, size_out)
    if op == "pad":
        pads = list(params.get("pad", ())) + [0, 0, 0, 0]
        return field.padded(pads[2], pads[0])
    if op == "linear" or (op in ("mean", "sum", "amax", "max") and out.dim() < source.dim()):
        return field.everything()
    return union(_meeting([(_spatial(t), f) for t, f in sources], size_out))


def _meeting(sources: list[tuple[tuple | None, Field]], out_size: tuple | None) -> list[Field]:
    """The fields that meet in an element-wise op, cat, view...: those of the output's own size, else
    all but 1x1 maps. A per-channel gate broadcast from a 1x1 map (squeeze-and-excitation) scales a
    map without widening what each of its units sees."""
    if out_size is None or out_size == (1, 1):
        return [f for _, f in sources]
    same = [f for size, f in sources if size == out_size]
    if same:
        return same
    return [f for size, f in sources if size not in (None, (1, 1))] or [f for _, f in sources]
