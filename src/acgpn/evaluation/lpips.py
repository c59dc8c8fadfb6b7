"""LPIPS (Zhang et al. 2018), the learned perceptual distance, from weight files given by path.

    d(x, y) = Σ_l mean_{h,w} Σ_c w_{l,c} (f̂_l(x) − f̂_l(y))²_{c,h,w},   f̂ = f / ‖f‖₂ over channels,

with f_l the ReLU outputs of five stages of an ImageNet backbone (AlexNet or VGG16) on inputs
mapped to [-1, 1] and then shifted / scaled per channel, and w_l the LPIPS v0.1 linear weights.
Two files are needed, both loaded from disk (nothing is downloaded):

* the backbone: torchvision's ImageNet weights, ``alexnet-owt-7be5be79.pth`` or
  ``vgg16-397923af.pth`` (keys ``features.N.weight`` / ``bias``; other keys are ignored);
* the linear layers (``lin0..4.model.1.weight``): ``alex.pth`` / ``vgg.pth`` beside the backbone
  file, else the copy that ships inside torchmetrics (``pip install 'acgpn[metrics]'``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

import torch
from torch import Tensor, nn

from acgpn.checkpoints import read_state_dict
from acgpn.errors import InputError

BACKBONE_FILES: Final = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}
#: Per-channel input shift and scale of LPIPS (applied after mapping to [-1, 1]).
SHIFT: Final = (-0.030, -0.088, -0.188)
SCALE: Final = (0.458, 0.448, 0.450)
EPS: Final = 1e-8


def backbone(net: str) -> tuple[nn.Sequential, tuple[int, ...], tuple[int, ...]]:
    """torchvision-indexed ``features`` stack of AlexNet or VGG16 -> (layers, tap indices, tap widths)."""
    layers: list[nn.Module] = []
    if net == "alex":
        spec = [(3, 64, 11, 4, 2), "M", (64, 192, 5, 1, 2), "M", (192, 384, 3, 1, 1), (384, 256, 3, 1, 1), (256, 256, 3, 1, 1)]
    elif net == "vgg":
        widths = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]
        spec, cin = [], 3
        for w in widths:
            spec.append("M" if w == "M" else (cin, w, 3, 1, 1))
            cin = cin if w == "M" else w
    else:
        raise InputError(f"unknown LPIPS backbone {net!r}; expected alex or vgg")
    taps, tap_widths = [], []
    for i, item in enumerate(spec):
        if item == "M":
            layers.append(nn.MaxPool2d(3, 2) if net == "alex" else nn.MaxPool2d(2, 2))
            continue
        cin, cout, k, s, p = item
        layers += [nn.Conv2d(cin, cout, k, stride=s, padding=p), nn.ReLU()]
        # LPIPS taps every ReLU of AlexNet, and VGG16's before each pooling and the last one.
        if net == "alex" or i + 1 == len(spec) or spec[i + 1] == "M":
            taps.append(len(layers) - 1)
            tap_widths.append(cout)
    return nn.Sequential(*layers), tuple(taps), tuple(tap_widths)


class LPIPS(nn.Module):
    """(B, 3, H, W) x2 RGB in [0, 1] -> (B,) LPIPS distances."""

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        self.net = net
        self.features, self.taps, widths = backbone(net)
        self.linear = nn.ParameterList([nn.Parameter(torch.zeros(1, w, 1, 1), requires_grad=False) for w in widths])
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        h = (torch.cat([x, y]) * 2 - 1 - self.shift) / self.scale  # (2B, 3, H, W)
        b = x.shape[0]
        total = torch.zeros(b, dtype=h.dtype, device=h.device)
        tap = 0
        for i, layer in enumerate(self.features):
            h = layer(h)
            if tap < len(self.taps) and i == self.taps[tap]:
                f = h / torch.sqrt(EPS + (h * h).sum(dim=1, keepdim=True))
                diff = (f[:b] - f[b:]) ** 2  # (B, C, h, w)
                total = total + (diff * self.linear[tap]).sum(dim=1).mean(dim=(1, 2))
                tap += 1
        return total


def _load(path: Path, what: str) -> dict:
    return read_state_dict(path, what)


def packaged_linear_weights(net: str) -> Path | None:
    """The LPIPS v0.1 linear weights shipped inside torchmetrics, if it is installed (not imported)."""
    spec = importlib.util.find_spec("torchmetrics")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "functional" / "image" / "lpips_models" / f"{net}.pth"
    return path if path.is_file() else None


def load_lpips(backbone_path: str | Path | None, linear_path: str | Path | None = None) -> LPIPS:
    """LPIPS from torchvision backbone weights (AlexNet or VGG16, told apart by shape) and LPIPS
    linear weights (``linear_path``, else ``alex.pth`` / ``vgg.pth`` beside the backbone, else
    torchmetrics' copy). :class:`InputError` naming the expected file otherwise."""
    expected = f"torchvision's ImageNet backbone weights {BACKBONE_FILES['alex']} (or {BACKBONE_FILES['vgg']})"
    if backbone_path is None:
        raise InputError(f"LPIPS needs {expected}; pass its path with --lpips-weights")
    backbone_path = Path(backbone_path)
    state = _load(backbone_path, expected)
    first = state.get("features.0.weight")
    shape = tuple(first.shape) if isinstance(first, Tensor) else None
    net = {(64, 3, 11, 11): "alex", (64, 3, 3, 3): "vgg"}.get(shape) if shape else None
    if net is None:
        raise InputError(f"not an AlexNet / VGG16 state dict (features.0.weight has shape {shape}); expected {expected}", backbone_path)
    model = LPIPS(net)
    want = model.features.state_dict()
    have = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    for key, value in want.items():
        if key not in have or tuple(have[key].shape) != tuple(value.shape):
            raise InputError(f"not {net} backbone weights (features.{key} missing or mis-shaped); expected {expected}", backbone_path)
    model.features.load_state_dict({k: have[k] for k in want})
    linear_expected = f"the LPIPS v0.1 linear weights {net}.pth"
    if linear_path is None:
        beside = backbone_path.parent / f"{net}.pth"
        linear_path = beside if beside.is_file() else packaged_linear_weights(net)
        if linear_path is None:
            raise InputError(f"{linear_expected} not found: put {net}.pth beside the backbone file or install 'acgpn[metrics]' (torchmetrics ships it)", beside)
    linear_path = Path(linear_path)
    lin = _load(linear_path, linear_expected)
    for k, param in enumerate(model.linear):
        value = lin.get(f"lin{k}.model.1.weight")
        if not isinstance(value, Tensor) or value.shape != param.shape:
            raise InputError(f"lin{k}.model.1.weight missing or not of shape {tuple(param.shape)}; expected {linear_expected}", linear_path)
        param.data.copy_(value)
    return model.eval()
