"""VGG19 feature extractor for the perceptual loss, with torchvision-compatible keys.

Only the convolutional trunk up to ``relu5_1`` (``features.0`` .. ``features.29``) is built; the keys
``features.{0,2,5,...,28}.{weight,bias}`` are those of ``torchvision.models.vgg19``, so its ImageNet
checkpoint (``vgg19-dcbb9e9d.pth``, or the same tensors as safetensors) loads directly: deeper
layers and the classifier are ignored. Nothing is downloaded: the weights come from a path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import torch
from torch import Tensor, nn

from acgpn.errors import InputError
from acgpn.nets.config import ConfigMixin

#: torchvision's VGG19 configuration ("E"); "M" is a 2x2 max-pool.
VGG19_LAYERS: Final = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512)
#: ``features`` indices after which relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 are taken.
SLICE_ENDS: Final = (1, 6, 11, 20, 29)
#: ImageNet statistics of torchvision's weights (RGB, inputs in [0, 1]).
IMAGENET_MEAN: Final = (0.485, 0.456, 0.406)
IMAGENET_STD: Final = (0.229, 0.224, 0.225)
#: What :meth:`VGG19Features.from_file` reads.
EXPECTED_FILE: Final = "torchvision's VGG19 ImageNet state dict, e.g. vgg19-dcbb9e9d.pth"


class VGG19Features(ConfigMixin, nn.Module):
    """``features`` of torchvision's VGG19 up to relu5_1; ``forward`` returns the five relu_k_1 maps.

    ``normalize=True`` maps inputs in [-1, 1] to ImageNet statistics first (what the weights
    expect); ``False`` feeds [-1, 1] unchanged, as the official ACGPN training code does.
    Parameters are frozen (``requires_grad=False``); the module stays in eval mode.
    """

    def __init__(self, normalize: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in VGG19_LAYERS:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU(inplace=True)]
                cin = int(v)
        self.features = nn.Sequential(*layers[: SLICE_ENDS[-1] + 1])
        self.normalize = normalize
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGG19Features:  # noqa: ARG002 - always eval (no dropout/BN anyway)
        return super().train(False)

    def forward(self, x: Tensor) -> list[Tensor]:
        if self.normalize:
            x = ((x + 1) / 2 - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        out, start = [], 0
        for end in SLICE_ENDS:
            for i in range(start, end + 1):
                x = self.features[i](x)
            out.append(x)
            start = end + 1
        return out

    @classmethod
    def from_file(cls, path: str | Path, normalize: bool = True) -> VGG19Features:
        """Load torchvision's VGG19 ImageNet weights (``.pth`` state dict or ``.safetensors``).

        Any file that is not such weights (missing, truncated, random bytes, a pickled model,
        non-tensor values, wrong keys or shapes) is an :class:`InputError` naming it.
        """
        from acgpn.checkpoints import read_state_dict

        state = read_state_dict(path, EXPECTED_FILE)
        with torch.device("meta"):  # keys and shapes only: no memory, no init for a file refused
            own = cls(normalize).state_dict()
        missing = [k for k in own if k not in state]
        wrong = [f"{k} is {tuple(state[k].shape)} {str(state[k].dtype).removeprefix('torch.')}, expected {tuple(v.shape)} float" for k, v in own.items()
                 if k in state and (tuple(state[k].shape) != tuple(v.shape) or not state[k].is_floating_point())]  # fmt: skip
        if missing or wrong:
            first = missing[0] if missing else wrong[0]
            raise InputError(
                f"expected {EXPECTED_FILE}; {len(missing)} keys missing, {len(wrong)} of the wrong shape or dtype (first: {first})",
                path,
            )
        net = cls(normalize)
        net.load_state_dict({k: state[k] for k in own})
        return net
