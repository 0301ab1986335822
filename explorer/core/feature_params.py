"""The picture a feature drawing optimises, parameterised as Lucid does: a Fourier spectrum scaled by
1 / frequency, colours decorrelated through ImageNet's colour-correlation square root, a sigmoid to
[0, 1]; and its conversion to and from an 8-bit picture."""
from __future__ import annotations

import torch
from PIL import Image

DECAY_POWER = 1.0             # the spectrum is scaled by 1 / frequency ** DECAY_POWER
INIT_SD = 0.01                # standard deviation of the initial spectrum (Lucid's)
SPECTRUM_DIVISOR = 2.0        # the inverse FFT is divided by this before the sigmoid (Lucid's is 4: half the contrast per step)
# Lucid's color_correlation_svd_sqrt: the square root of ImageNet's RGB covariance.
COLOR_CORRELATION = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR_CORRELATION = COLOR_CORRELATION / COLOR_CORRELATION.norm(dim=0).max()


def _frequency_scale(size: int) -> torch.Tensor:
    """Lucid's 1 / frequency ** DECAY_POWER scaling of an rfft2 spectrum, (size, size // 2 + 1)."""
    fy = torch.fft.fftfreq(size, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(size, dtype=torch.float64)[None, :]
    frequency = torch.sqrt(fx * fx + fy * fy)
    return (frequency.clamp_min(1.0 / size) ** -DECAY_POWER * size).float()


class FourierPicture:
    """A picture of `channels` x `size` x `size` in [0, 1], parameterised by a 1 / frequency scaled
    spectrum and, for RGB, decorrelated colours. `spectrum` is the only tensor that is optimised."""

    def __init__(self, channels: int, size: int, generator: torch.Generator):
        self.channels, self.size = channels, size
        shape = (1, channels, size, size // 2 + 1, 2)
        self.spectrum = (torch.randn(shape, generator=generator) * INIT_SD).requires_grad_(True)
        self.scale = _frequency_scale(size)

    def pixels(self) -> torch.Tensor:
        """(1, C, size, size) in [0, 1], differentiable with respect to the spectrum."""
        spectrum = torch.view_as_complex(self.spectrum) * self.scale
        image = torch.fft.irfft2(spectrum, s=(self.size, self.size)) / SPECTRUM_DIVISOR
        if self.channels == 3:
            image = torch.einsum("ij,bjhw->bihw", COLOR_CORRELATION, image)
        return torch.sigmoid(image)


def to_image(pixels: torch.Tensor) -> Image.Image:
    """(1, C, H, W) in [0, 1] -> an 8-bit PIL image, RGB for 3 channels, L for 1."""
    array = (pixels[0].detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
    if array.shape[0] == 1:
        return Image.fromarray(array[0].numpy(), "L")
    return Image.fromarray(array.permute(1, 2, 0).contiguous().numpy(), "RGB")


def from_image(image: Image.Image) -> torch.Tensor:
    """The inverse of to_image: an 8-bit PIL image -> (1, C, H, W) float in [0, 1]."""
    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    channels = len(image.getbands())
    return (data.view(image.height, image.width, channels).permute(2, 0, 1)[None].float() / 255)
