"""Stand-alone network classes. State-dict keys match the official checkpoints exactly.

Every net records its constructor arguments (:class:`~acgpn.nets.config.ConfigMixin`), which
checkpoints store and loading rebuilds from. The nets hold parameters and buffers; the maths
between them lives in :mod:`acgpn.ops` and the paper's steps in :mod:`acgpn.modules`.
"""

from collections.abc import Callable
from typing import Final, TypeVar

import torch
from torch import nn

from acgpn.nets.config import ConfigMixin
from acgpn.nets.unet import OFFICIAL_UNET_CHANNELS, UNet
from acgpn.nets.warp import LocalizationNet, SpatialTransformer, TPSGridGenerator, WarpNet
from acgpn.nets.discriminator import MultiscaleDiscriminator
from acgpn.nets.vgg import VGG19Features

ModuleT = TypeVar("ModuleT", bound=nn.Module)

#: The pipeline's four components, in the order the official code runs them.
OFFICIAL_NET_NAMES: Final = ("g1", "g2", "u", "g")


def without_init(build: Callable[[], ModuleT], device: str | torch.device = "cpu") -> ModuleT:
    """``build()`` without its random init, for a net whose weights are loaded next: built on the
    meta device, then given uninitialised storage on ``device``; each module's derived buffers
    (the TPS lattice and kernels) recomputed by its ``reset_buffers()``. Every parameter and
    persistent buffer must then be loaded. Saves the init: 0.65 s for the four official nets on
    2 cores, against 0.05 s."""
    with torch.device("meta"):
        net = build()
    net.to_empty(device=device)
    for module in net.modules():
        reset = getattr(module, "reset_buffers", None)
        if callable(reset):
            reset()
        elif module._non_persistent_buffers_set:  # not in a state dict, so no load would fill it
            raise TypeError(f"{type(module).__name__} has non-persistent buffers but no reset_buffers()")
    return net


def official_net(name: str) -> UNet:
    """A new net with the released architecture of pipeline component ``name``: ``g1``, ``g2``,
    ``u`` (:class:`WarpNet`) or ``g`` (random weights; :mod:`acgpn.checkpoints` loads them)."""
    if name == "u":
        return WarpNet.official(name)
    return UNet.official(name)


__all__ = [
    "OFFICIAL_NET_NAMES", "OFFICIAL_UNET_CHANNELS", "ConfigMixin", "LocalizationNet", "SpatialTransformer",
    "TPSGridGenerator", "UNet", "WarpNet", "official_net", "without_init", "MultiscaleDiscriminator", "VGG19Features",
]  # fmt: skip
