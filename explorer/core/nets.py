"""The models written out by hand, layer by layer, as the chapter writes its own.

`CNNNet` is the chapter's model (it is AlexNet, layer for layer: explorer.core.architecture proves it);
`DigitNet` is the small LeNet-style network trained in this repository on scikit-learn's digits
(scripts/train_digits.py; its sketch preprocessing lives in explorer.core.digits). Both are registered
in explorer.core.registry; this module imports nothing from the package, so any module may import it.
"""
from collections import OrderedDict

import torch
from torch import nn


class CNNNet(nn.Module):
    """The chapter's own model, written out layer by layer as the chapter does (it is AlexNet)."""

    def __init__(self, num_classes: int = 2):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


class DigitNet(nn.Module):
    """LeNet-style: two Conv -> ReLU -> MaxPool stages, then two fully connected layers, one logit per
    digit. It reads 1x28x28 (explorer.core.digits.INPUT_SIZE): the classifier's 32 * 5 * 5 inputs fix it."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(1, 16, kernel_size=5, padding=2)),   # 1x28x28 -> 16x28x28
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),                              # -> 16x14x14
            ("conv2", nn.Conv2d(16, 32, kernel_size=5)),             # -> 32x10x10
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),                              # -> 32x5x5
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(32 * 5 * 5, 64)),
            ("relu3", nn.ReLU()),
            ("dropout", nn.Dropout(0.3)),
            ("fc2", nn.Linear(64, num_classes)),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
