"""The Kernel tab's public endpoints (/slide, /kernel_step, /kernel_gif): a bad setting raises one
gr.Error naming it. Their docstrings are the API's and the MCP tools' descriptions (Gradio reads the
Args section line by line: one line per parameter)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from explorer.core import budgets
from explorer.core.sliding import SlideSettings, pytorch_code
from explorer.core.words import say
from explorer.drawing.kernel_frames import GifStopped
from explorer.ui.gradio_patches import abandoned
from explorer.ui.kernel_settings import DEFAULT_SPEED, compute, describe, frame_at, gradio_cache, slide_settings


def step_label(n: int) -> str:
    """The step slider's label: steps are counted from 1 ("step 1 of 4")."""
    return say("Step (1 to {n})", "步（1 到 {n}）", n=n)


def input_error(e: ValueError) -> gr.Error:
    return gr.Error(str(e), title=say("Please check the input", "请检查输入"))


def run_slide(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode):
    """Slide a convolution kernel or a pooling window over a small matrix exactly as PyTorch does, and explain the output size.

    Example: matrix [[10,11,9,3],[2,123,4,0],[45,237,23,99],[20,67,22,255]] with kernel [[1,0],[1,0]], op "conv", stride "2", padding "0", dilation "1", bias 0 gives the 2x2 output [[12,13],[65,45]]: the first step reads the top-left 2x2 window and computes 10*1 + 11*0 + 2*1 + 123*0 = 12. The same matrix with op "max", kernel_size "2", stride "2" gives [[123,9],[237,255]].

    Args:
        matrix: the input, a table of numbers (a list of rows, e.g. [[10,11,9,3],[2,123,4,0]]; or {"headers": [...], "data": [[...]]}); 1 to 32 rows and columns.
        kernel: the convolution's weights, a table of numbers like matrix (e.g. [[1,0],[1,0]]), no larger than the padded matrix; only read when op is "conv".
        op: "conv" (convolution: multiply the window by the kernel and add up the products, plus bias), "max" (max pooling) or "avg" (average pooling).
        kernel_size: the pooling window as text, "k" for k x k or "h,w" (e.g. "2" or "2,3"); only read when op is "max" or "avg" (a convolution's size is its kernel's).
        stride: how far the window moves each step, as text: "s" or "h,w" (e.g. "2" or "1,2"); at least 1.
        padding: zeros added around the matrix, as text: "p" or "h,w" (e.g. "0" or "1,0"); max pooling pads with -inf instead.
        dilation: the spacing between the cells the window reads, as text: "d" or "h,w" (e.g. "1", the usual, or "2"); at least 1.
        bias: a number added to every output of a convolution (e.g. 0); ignored for pooling.
        ceil_mode: pooling only: true rounds the output size up (a last, partial window), false rounds it down as PyTorch does by default.

    Returns:
        The first step of the animation as a PNG picture: the window on the padded input, the kernel, the sum written out, and the output filled so far.
        Markdown: the output's size from PyTorch's formula with these numbers, for rows and columns, and which input rows or columns no window ever reads.
        The PyTorch code (torch.nn.functional.conv2d / max_pool2d / avg_pool2d) that gives the same output.
        The step slider reset to step 1; its maximum is the number of steps, one per output cell (use /kernel_step to see another step).
    """
    try:
        r = compute(slide_settings(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode))
    except ValueError as e:
        raise input_error(e) from None
    n = len(r)
    return r.frame(0), describe(r.s), pytorch_code(r.s), gr.Slider(minimum=1, maximum=max(n, 2), value=1,
                                                                    label=step_label(n))


def show_step(step, matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode):
    """Draw one step of a kernel or pooling window sliding over a matrix: which window it reads and the sum it computes there.

    Step k (counting from 1) computes output cell k in reading order: with a 2x2 output, step 3 is row 2, column 1. Call /slide with the same settings first to learn how many steps there are.

    Args:
        step: which step to draw, a whole number counting from 1; a number beyond the last step draws the last one.
        matrix: the input, a table of numbers (a list of rows, e.g. [[10,11,9,3],[2,123,4,0]]; or {"headers": [...], "data": [[...]]}); 1 to 32 rows and columns.
        kernel: the convolution's weights, a table of numbers like matrix (e.g. [[1,0],[1,0]]); only read when op is "conv".
        op: "conv" (convolution), "max" (max pooling) or "avg" (average pooling).
        kernel_size: the pooling window as text, "k" or "h,w" (e.g. "2"); only read when op is "max" or "avg".
        stride: how far the window moves each step, as text: "s" or "h,w" (e.g. "2"); at least 1.
        padding: zeros added around the matrix, as text: "p" or "h,w" (e.g. "0").
        dilation: the spacing between the cells the window reads, as text: "d" or "h,w" (e.g. "1").
        bias: a number added to every output of a convolution (e.g. 0); ignored for pooling.
        ceil_mode: pooling only: true rounds the output size up, false rounds it down (PyTorch's default).

    Returns:
        The step drawn (the one asked for, kept between 1 and the number of steps).
        That step's picture (PNG): the window on the padded input, the kernel, the products and their sum, and the output filled up to this step.
    """
    try:
        return frame_at(slide_settings(matrix, kernel, op, kernel_size, stride, padding, dilation, bias,
                                       ceil_mode), step)
    except ValueError as e:
        raise input_error(e) from None


def make_gif(speed, matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode,
             request: gr.Request = None) -> str:
    """Make an animated GIF of a kernel or pooling window sliding over a matrix, every step from the first to the last.

    Refused (with a message saying so) when the animation would be too large: many steps of a big padded matrix.

    Args:
        speed: steps per second, from 0.5 to 20 (e.g. 2).
        matrix: the input, a table of numbers (a list of rows, e.g. [[10,11,9,3],[2,123,4,0]]; or {"headers": [...], "data": [[...]]}); 1 to 32 rows and columns.
        kernel: the convolution's weights, a table of numbers like matrix (e.g. [[1,0],[1,0]]); only read when op is "conv".
        op: "conv" (convolution), "max" (max pooling) or "avg" (average pooling).
        kernel_size: the pooling window as text, "k" or "h,w" (e.g. "2"); only read when op is "max" or "avg".
        stride: how far the window moves each step, as text: "s" or "h,w" (e.g. "2"); at least 1.
        padding: zeros added around the matrix, as text: "p" or "h,w" (e.g. "0").
        dilation: the spacing between the cells the window reads, as text: "d" or "h,w" (e.g. "1").
        bias: a number added to every output of a convolution (e.g. 0); ignored for pooling.
        ceil_mode: pooling only: true rounds the output size up, false rounds it down (PyTorch's default).

    Returns:
        The GIF file, one frame per step, named after the operation and the number of steps (e.g. conv_4_steps.gif).
    """
    try:
        settings = slide_settings(matrix, kernel, op, kernel_size, stride, padding, dilation, bias, ceil_mode)
        return write_gif(settings, speed, keep_going=lambda: not abandoned(request))
    except ValueError as e:
        raise input_error(e) from None


def write_gif(settings: SlideSettings, speed, keep_going) -> str:
    """The GIF of these settings at `speed` steps per second, in a folder of its own in Gradio's cache
    (which serves it and deletes it with the rest: delete_cache); ValueError beyond the GIF budget,
    gr.Error when keep_going() says nobody waits for it any more (the GIF is stopped and removed)."""
    r = compute(settings)
    budgets.check_gif(len(r), r.width, r.height)
    folder = Path(tempfile.mkdtemp(prefix="kernel-gif-", dir=gradio_cache()))
    step_ms = int(1000 / max(0.5, min(float(speed or DEFAULT_SPEED), 20)))
    try:
        name = f"{r.s.op}_{len(r)}_step{'s' * (len(r) != 1)}.gif"                # conv_4_steps.gif, max_1_step.gif
        return str(r.gif(folder / name, step_ms=step_ms, keep_going=keep_going))
    except GifStopped as stopped:
        raise gr.Error(say("{stopped}: nobody was waiting for it.", "{stopped}：已没有人在等它。", stopped=stopped),
                       title=say("Cancelled", "已取消")) from None
    finally:
        if not any(folder.iterdir()):
            folder.rmdir()
