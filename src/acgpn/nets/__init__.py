"""Stand-alone network classes. State-dict keys match the official checkpoints exactly."""

from acgpn.nets.unet import UNet
from acgpn.nets.warp import LocalizationNet, SpatialTransformer, TPSGridGenerator, WarpNet

__all__ = ["LocalizationNet", "SpatialTransformer", "TPSGridGenerator", "UNet", "WarpNet"]
