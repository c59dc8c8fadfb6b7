"""Multi-scale PatchGAN discriminators (pix2pixHD), used by ACGPN at training time only (spec §4).

ACGPN trains four of them, each conditioned on its generator's (detached) input:

    D1  [G1 input (37), layout (14)]          51 channels   step I, eq. 1 for G1
    D2  [G2 input (37), cloth mask (1)]       38 channels   step I, eq. 1 for G2
    D3  [target cloth mask, cloth (4), RGB]    7 channels   step II, refinement (eq. 6)
    D   [G input (24), image (3)]             27 channels   step IV, fusion

One scale (``n_layers = 3``): conv4x4/s2 (in -> ndf) + LeakyReLU(0.2); ``n_layers - 1`` more
conv4x4/s2 doubling the width (max 512) + IN + LeakyReLU; conv4x4/s1 + IN + LeakyReLU; conv4x4/s1
to one channel (LSGAN: no sigmoid). Padding 2 everywhere (``ceil(3 / 2)``). ``num_D`` scales; scale
``num_D - 1`` sees the full-resolution input, each lower scale the input average-pooled once more
(3x3, stride 2, padding 1, padding not counted). Keys ``scale{i}_layer{j}.0.{weight,bias}`` match
the official training code (``official_train_discriminators_manifest.json``).
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from acgpn.nets.config import ConfigMixin
from acgpn.nets.unet import InstanceNorm

#: Input channels of the four ACGPN discriminators (spec §4).
D1_CHANNELS, D2_CHANNELS, D3_CHANNELS, D_CHANNELS = 51, 38, 7, 27


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """pix2pixHD / official init: conv weights ~ N(0, std); biases keep PyTorch's default."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)


class MultiscaleDiscriminator(ConfigMixin, nn.Module):
    """``num_D`` PatchGANs at successively halved resolutions; returns every layer's features.

    ``forward(x)`` -> list over scales (full resolution first) of lists of the ``n_layers + 2``
    layer outputs; the last entry of each list is the (B, 1, h, w) patch score map.
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, num_D: int = 2) -> None:
        super().__init__()
        if n_layers < 1 or num_D < 1:
            raise ValueError("n_layers and num_D must be at least 1")
        self.in_channels, self.ndf, self.n_layers, self.num_D = in_channels, ndf, n_layers, num_D
        pad = math.ceil((4 - 1) / 2)
        for scale in range(num_D):
            blocks: list[nn.Sequential] = [
                nn.Sequential(nn.Conv2d(in_channels, ndf, 4, 2, pad), nn.LeakyReLU(0.2, inplace=True))
            ]
            width = ndf
            for n in range(1, n_layers + 1):
                prev, width = width, min(width * 2, 512)
                stride = 2 if n < n_layers else 1
                blocks.append(
                    nn.Sequential(nn.Conv2d(prev, width, 4, stride, pad), InstanceNorm(width), nn.LeakyReLU(0.2, inplace=True))
                )
            blocks.append(nn.Sequential(nn.Conv2d(width, 1, 4, 1, pad)))
            for j, block in enumerate(blocks):
                setattr(self, f"scale{scale}_layer{j}", block)
        init_weights(self)

    def set_fast_math(self, enabled: bool) -> MultiscaleDiscriminator:
        """Instance norm as group norm (same statistics, faster on the CPU)."""
        for m in self.modules():
            if isinstance(m, InstanceNorm):
                m.fast_math = enabled
        return self

    def _scale(self, x: Tensor, scale: int) -> list[Tensor]:
        feats = []
        for j in range(self.n_layers + 2):
            x = getattr(self, f"scale{scale}_layer{j}")(x)
            feats.append(x)
        return feats

    def forward(self, x: Tensor) -> list[list[Tensor]]:
        out = []
        for i in range(self.num_D):
            out.append(self._scale(x, self.num_D - 1 - i))
            if i != self.num_D - 1:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        return out
