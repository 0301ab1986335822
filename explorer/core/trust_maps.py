"""The map a trust check judges: why a map cannot be judged (empty, or the same everywhere), and a map of
anyone's own, given at the picture's size or the model's input size, put where the model looks.

A photo model sees the picture resized and centre-cropped (explorer.core.registry.PhotoTransform); a map
at the picture's size is cut to that crop box and resized to the model's input, the inverse of
explorer.core.attribution.map_on_picture, so that its patches line up with the pixels the model saw.
"""
import numpy as np
import torch
import torch.nn.functional as F

from explorer.core.attribution import method_title, signed
from explorer.core.images import load_image
from explorer.core.loaded_model import LoadedModel
from explorer.core.registry import PhotoTransform
from explorer.core.words import pick, say

_WHY_ZERO = {
    "saliency": {"en": "the class score's gradient is zero at every pixel",
                 "zh": "类别分数的梯度在每个像素上都是零"},
    "integrated_gradients": {"en": "the gradients along the path from the grey picture add up to zero at every pixel",
                             "zh": "沿着从灰色图片出发的路径，梯度在每个像素上加起来都是零"},
    "smoothgrad": {"en": "the gradient is zero at every pixel of every noisy copy",
                   "zh": "每份加噪副本的每个像素上，梯度都是零"},
    "gradcam": {"en": "the gradient-weighted sum of layer {layer}'s channels is zero or negative at every position, "
                      "and Grad-CAM keeps only its positive part",
                "zh": "{layer} 层各通道按梯度加权求和后，在每个位置都是零或负数，而 Grad-CAM 只保留正的部分"},
    "guided_gradcam": {"en": "its Grad-CAM factor (the gradient-weighted sum of layer {layer}'s channels) is zero or "
                             "negative at every position, and Grad-CAM keeps only its positive part",
                       "zh": "它的 Grad-CAM 部分（{layer} 层各通道按梯度加权求和）在每个位置都是零或负数，而 Grad-CAM "
                             "只保留正的部分"},
    "occlusion": {"en": "greying out any window leaves the class score where it was",
                  "zh": "不管遮住哪个窗口，类别分数都纹丝不动"},
}


def blank_map(method: str, heat: np.ndarray, sign: str = "absolute", layer: str | None = None) -> str | None:
    """Why the part `sign` of a map cannot rank pixels, in words ("Grad-CAM is zero everywhere for this
    class on this picture: ..."), or None when it can. `heat` is the signed map as computed."""
    title, shown = method_title(method), signed(np.asarray(heat), sign)
    if not np.any(heat):
        if method not in _WHY_ZERO:
            return say("{title} is zero everywhere for this class on this picture",
                       "在这张图片上，{title} 对这个类别处处为零", title=title)
        why = pick(_WHY_ZERO[method]).format(layer=layer or say("the chosen layer", "所选的层"))
        return say("{title} is zero everywhere for this class on this picture: {why}",
                   "在这张图片上，{title} 对这个类别处处为零：{why}", title=title, why=why)
    if not np.any(shown) and sign == "positive":
        return say("{title} has no part for the class (no pixel raises its score) for this class on this picture: "
                   "choose another sign shown", "在这张图片上，{title} 没有支持这个类别的部分（没有像素让它的分数"
                   "升高）：请换一种要显示的符号", title=title)
    if not np.any(shown):
        return say("{title} has no part against the class (no pixel lowers its score) for this class on this "
                   "picture: choose another sign shown", "在这张图片上，{title} 没有反对这个类别的部分（没有像素让"
                   "它的分数降低）：请换一种要显示的符号", title=title)
    if np.ptp(shown) <= 1e-6 * np.max(np.abs(shown)):
        return say("{title} has the same value at every pixel for this class on this picture",
                   "在这张图片上，{title} 对这个类别在每个像素上的值都一样", title=title)
    return None


def map_at_input(model: LoadedModel, picture, heat, size: tuple[int, int]) -> np.ndarray:
    """A plain (h, w) map as the model's input of `size` (h, w) sees it: as is at that size; at the
    picture's size, the part in the model's crop box resized to it. Anything else is refused in words."""
    try:
        heat = np.asarray(heat, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(say("attribution: give an Attribution or a numpy array of numbers, not a {kind}",
                             "attribution：请给 Attribution 或数字组成的 numpy 数组，而不是 {kind}",
                             kind=type(heat).__name__)) from None
    if heat.ndim != 2:
        raise ValueError(say("attribution: a map has two dimensions (height, width), not the shape {shape}: sum over "
                             "colour channels first", "attribution：图只有两个维度（高、宽），不能是形状 {shape}：请先"
                             "把颜色通道加起来", shape=heat.shape))
    if not np.all(np.isfinite(heat)):
        raise ValueError(say("attribution: the map has NaN or infinite values; give finite numbers",
                             "attribution：图里有 NaN 或无穷大；请给有限的数"))
    if heat.shape == tuple(size):
        return heat.astype(np.float32)
    image = None if isinstance(picture, torch.Tensor) else load_image(picture)
    if image is None or heat.shape != (image.height, image.width):
        values = dict(h=heat.shape[0], w=heat.shape[1], mh=size[0], mw=size[1])
        if image is None:
            raise ValueError(say("attribution: the map is {h}x{w} (height x width); give it at the model's input size "
                                 "{mh}x{mw}", "attribution：图的大小是 {h}x{w}（高 x 宽）；请按模型的输入大小 {mh}x{mw} "
                                 "给出", **values))
        raise ValueError(say("attribution: the map is {h}x{w} (height x width); give it at the picture's size {ph}x{pw} "
                             "or the model's input size {mh}x{mw}", "attribution：图的大小是 {h}x{w}（高 x 宽）；请按图片"
                             "的大小 {ph}x{pw} 或模型的输入大小 {mh}x{mw} 给出", ph=image.height, pw=image.width,
                             **values))
    return _into_crop(model, image.size, heat, size)


def _into_crop(model: LoadedModel, picture_size: tuple[int, int], heat: np.ndarray, size) -> np.ndarray:
    tensor = torch.from_numpy(np.ascontiguousarray(heat, dtype=np.float32))[None, None]
    if isinstance(model.transform, PhotoTransform):
        left, top, right, bottom = model.transform.crop_box(picture_size)
        width, height = picture_size
        x0, y0 = max(0, round(left)), max(0, round(top))
        x1, y1 = min(width, max(x0 + 1, round(right))), min(height, max(y0 + 1, round(bottom)))
        tensor = tensor[..., y0:y1, x0:x1]
    return F.interpolate(tensor, size=tuple(size), mode="area")[0, 0].numpy()
