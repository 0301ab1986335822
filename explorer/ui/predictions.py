"""The model's top-5 classes for a picture, as the Stages and Saliency tabs show them (and /predict
returns them): one forward pass in a GPU slot of its own."""
from PIL import Image

from explorer.core.gpu import gpu, slot_seconds
from explorer.core.models import get_model


def one_pass(model_name: str, *args, **kwargs) -> int:
    """The GPU slot of a call that runs `model_name` forward once, whatever its other arguments."""
    return slot_seconds(model_name)


@gpu(duration=one_pass)
def _predict(model_name: str, image: Image.Image) -> list[tuple[str, float]]:
    model, _ = get_model(model_name)
    return model.predict(image, k=5)


# The tabs call it by this name; the GPU slot is logged under the function's own, "_predict"
# (tests/ui/test_zerogpu.py reads it there).
top_five = _predict


def as_label(predictions: list[tuple[str, float]]) -> dict:
    """[(class, probability)] -> what gr.Label shows: {class: probability}."""
    return {label: probability for label, probability in predictions}
