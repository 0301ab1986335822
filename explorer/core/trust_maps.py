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

_WHY_ZERO = {
    "saliency": "the class score's gradient is zero at every pixel",
    "integrated_gradients": "the gradients along the path from the grey picture add up to zero at every pixel",
    "smoothgrad": "the gradient is zero at every pixel of every noisy copy",
    "gradcam": "the gradient-weighted sum of layer {layer}'s channels is zero or negative at every position, "
               "and Grad-CAM keeps only its positive part",
    "guided_gradcam": "its Grad-CAM factor (the gradient-weighted sum of layer {layer}'s channels) is zero or "
                      "negative at every position, and Grad-CAM keeps only its positive part",
    "occlusion": "greying out any window leaves the class score where it was",
}
_PART = {"positive": "no part for the class (no pixel raises its score)",
         "negative": "no part against the class (no pixel lowers its score)"}


def blank_map(method: str, heat: np.ndarray, sign: str = "absolute", layer: str | None = None) -> str | None:
    """Why the part `sign` of a map cannot rank pixels, in words ("Grad-CAM is zero everywhere for this
    class on this picture: ..."), or None when it can. `heat` is the signed map as computed."""
    title, shown = method_title(method), signed(np.asarray(heat), sign)
    if not np.any(heat):
        why = _WHY_ZERO.get(method, "").format(layer=layer or "the chosen layer")
        return f"{title} is zero everywhere for this class on this picture" + (f": {why}" if why else "")
    if not np.any(shown):
        return f"{title} has {_PART[sign]} for this class on this picture: choose another sign shown"
    if np.ptp(shown) <= 1e-6 * np.max(np.abs(shown)):
        return f"{title} has the same value at every pixel for this class on this picture"
    return None


def map_at_input(model: LoadedModel, picture, heat, size: tuple[int, int]) -> np.ndarray:
    """A plain (h, w) map as the model's input of `size` (h, w) sees it: as is at that size; at the
    picture's size, the part in the model's crop box resized to it. Anything else is refused in words."""
    try:
        heat = np.asarray(heat, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("attribution: give an Attribution or a numpy array of numbers, "
                         f"not a {type(heat).__name__}") from None
    if heat.ndim != 2:
        raise ValueError(f"attribution: a map has two dimensions (height, width), not the shape {heat.shape}: "
                         "sum over colour channels first")
    if not np.all(np.isfinite(heat)):
        raise ValueError("attribution: the map has NaN or infinite values; give finite numbers")
    if heat.shape == tuple(size):
        return heat.astype(np.float32)
    image = None if isinstance(picture, torch.Tensor) else load_image(picture)
    if image is None or heat.shape != (image.height, image.width):
        sizes = f"the model's input size {size[0]}x{size[1]}"
        if image is not None:
            sizes = f"the picture's size {image.height}x{image.width} or " + sizes
        raise ValueError(f"attribution: the map is {heat.shape[0]}x{heat.shape[1]} (height x width); give it at "
                         f"{sizes}")
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
