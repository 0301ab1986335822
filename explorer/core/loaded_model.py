"""A model loaded for use (LoadedModel): its module on its device, its labels and transform, the lock that
serialises every use of the shared module (hooks of stage capture and Captum mutate it while they run),
and what it answers: predictions, the stages of one forward pass, the crop it looked at."""
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision.transforms import functional as TF

from explorer.core.both import said
from explorer.core.images import load_image
from explorer.core.registry import PhotoTransform
from explorer.core.stages import Stage, capture_stages, stage_layers
from explorer.core.words import say


def photo_tensor(transform: PhotoTransform, seen: Image.Image) -> torch.Tensor:
    """(C, H, W): TF.normalize(TF.to_tensor(seen), mean, std), the same operations on the same numbers in
    the same order, so the same tensor to the last bit, without their two copies: the pixels keep their
    (H, W, C) order in memory, which is channels-last, the models' own format (load_model), so the
    first convolution need not reorder them either."""
    if seen.mode != "RGB" or 0 in transform.std:      # TF's own way (and its error for a zero std)
        return TF.normalize(TF.to_tensor(seen), transform.mean, transform.std)
    pixels = torch.from_numpy(np.array(seen))                       # (H, W, C) uint8
    mean = torch.tensor(transform.mean, dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(transform.std, dtype=torch.float32).view(-1, 1, 1)
    return pixels.permute(2, 0, 1).to(torch.float32).div_(255).sub_(mean).div_(std)


@dataclass
class Inspection:
    predictions: list[tuple[str, float]]
    stages: list[Stage]
    seen: Image.Image          # the picture the model actually looked at (after resize and crop)


@dataclass
class LoadedModel:
    name: str
    title: str
    module: nn.Module
    labels: list[str]
    transform: Callable
    device: torch.device
    pretrained: bool
    input_kind: str = "photo"
    has_weights: bool = True            # False: deliberately untrained (ModelEntry.has_weights)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _fields: dict = field(default_factory=dict, repr=False)     # input shape -> stages' Geometry
    _layers: dict = field(default_factory=dict, repr=False)     # stage module -> (path, kind, repr)
    _companions: dict = field(default_factory=dict, init=False, repr=False)  # companion(): made from it

    @property
    def display_name(self) -> str:
        """The title as the visitor reads it (in the language spoken now), "(untrained)" when it is."""
        if self.pretrained or not self.has_weights:
            return said(self.title)
        return say("{title} (untrained)", "{title}（未训练）", title=said(self.title))

    def preprocess(self, image) -> torch.Tensor:
        """PIL image of any mode (or a sketch dict / array) -> tensor (1, C, H, W) on the model's device."""
        image = load_image(image)
        if isinstance(self.transform, PhotoTransform):
            return photo_tensor(self.transform, self.transform.seen(image)).unsqueeze(0).to(self.device)
        return self.transform(image).unsqueeze(0).to(self.device)

    def seen(self, image) -> Image.Image:
        image = load_image(image)
        if isinstance(self.transform, PhotoTransform):
            return self.transform.seen(image)
        tensor = self.transform(image)
        return TF.to_pil_image((tensor - tensor.min()) / (tensor.max() - tensor.min() + 1e-12))

    def _top(self, logits: torch.Tensor, k: int) -> list[tuple[str, float]]:
        probabilities = torch.softmax(logits.detach().float(), dim=-1)[0].cpu()
        values, indices = probabilities.topk(min(k, len(self.labels)))
        return [(self.labels[i], float(v)) for v, i in zip(values.tolist(), indices.tolist())]

    def predict(self, image, k: int = 5) -> list[tuple[str, float]]:
        x = self.preprocess(image)
        with self.lock, torch.inference_mode():
            return self._top(self.module(x), k)

    def stages(self, image) -> list[Stage]:
        return self.inspect(image).stages

    def inspect(self, image, k: int = 5) -> Inspection:
        """Predictions and every stage from one forward pass."""
        image = load_image(image)
        if isinstance(self.transform, PhotoTransform):  # resize and crop once for both
            seen = self.transform.seen(image)
            x = photo_tensor(self.transform, seen)
        else:
            seen, x = self.seen(image), self.transform(image)
        logits, stages = self.sweep(x.unsqueeze(0))
        return Inspection(self._top(logits, k), stages, seen)

    def sweep(self, x: torch.Tensor) -> tuple[torch.Tensor, list[Stage]]:
        """The stage sweep: one forward pass of the preprocessed batch x (1, C, H, W) that captures every
        stage, returning (logits, stages). Receptive fields are traced on the first pass at an input
        shape and reused after it."""
        x = x.to(self.device)
        with self.lock, torch.inference_mode():
            if not self._layers:
                self._layers.update(stage_layers(self.module))
            logits, stages = capture_stages(self.module, x, self._fields.get(x.shape), self._layers)
            self._fields[x.shape] = [stage.geometry for stage in stages]   # the same objects when unchanged
        return logits, stages
