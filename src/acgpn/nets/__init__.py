"""Stand-alone network classes. State-dict keys match the official checkpoints exactly.

Every net records its constructor arguments (:class:`~acgpn.nets.config.ConfigMixin`), which
checkpoints store and loading rebuilds from. The nets hold parameters and buffers; the maths
between them lives in :mod:`acgpn.ops` and the paper's steps in :mod:`acgpn.modules`.
"""

from typing import Final

from acgpn.nets.config import ConfigMixin
from acgpn.nets.unet import OFFICIAL_UNET_CHANNELS, UNet
from acgpn.nets.warp import LocalizationNet, SpatialTransformer, TPSGridGenerator, WarpNet
from acgpn.nets.discriminator import MultiscaleDiscriminator
from acgpn.nets.vgg import VGG19Features

#: The pipeline's four components, in the order the official code runs them.
OFFICIAL_NET_NAMES: Final = ("g1", "g2", "u", "g")


def official_net(name: str) -> UNet:
    """A new net with the released architecture of pipeline component ``name``: ``g1``, ``g2``,
    ``u`` (:class:`WarpNet`) or ``g`` (random weights; :mod:`acgpn.checkpoints` loads them)."""
    if name == "u":
        return WarpNet.official(name)
    return UNet.official(name)


__all__ = [
    "OFFICIAL_NET_NAMES", "OFFICIAL_UNET_CHANNELS", "ConfigMixin", "LocalizationNet", "SpatialTransformer",
    "TPSGridGenerator", "UNet", "WarpNet", "official_net", "MultiscaleDiscriminator", "VGG19Features",
]  # fmt: skip
