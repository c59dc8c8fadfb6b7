"""The clothes warping net "U" of step II: STN (loc-net + TPS grid) followed by a refinement U-Net.

Spec §1.2-§1.4. The loc-net regresses 25 TPS control points from ``[cloth mask, target cloth mask,
cloth]``; the TPS maps the 5x5 lattice (range 0.9) of the target to those points in the source.
The loc-net ends in a fully connected layer whose input size is fixed by its ``input_size``
(256x192 for the released weights): inputs of any other size are resized (bilinear) to
``input_size`` before the loc-net only. Control points are in normalised coordinates, so the warp
itself is computed at the input's own resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from acgpn.nets.unet import UNet
from acgpn.ops import tps


class LocalizationNet(nn.Module):
    """Conv stack -> max-pool -> fc1 -> fc2 -> tanh: (B, in, H, W) -> (B, K, 2) points in [-1, 1].

    Layer order follows the official net (the first block is conv -> ReLU -> IN). Keys
    ``model.{0,3,...,21}``, ``fc1``, ``fc2``.
    """

    def __init__(
        self,
        in_channels: int = 5,
        num_points: int = 25,
        channels: tuple[int, ...] = (8, 16, 32, 64, 128, 256),
        input_size: tuple[int, int] = (256, 192),
        hidden: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for i, cout in enumerate(channels):
            conv = nn.Conv2d(cin, cout, kernel_size=4, stride=2, padding=1)
            if i == 0:
                layers += [conv, nn.ReLU(), nn.InstanceNorm2d(cout)]
            else:
                layers += [conv, nn.InstanceNorm2d(cout), nn.ReLU()]
            cin = cout
        for _ in range(2):
            layers += [nn.Conv2d(cin, cin, kernel_size=3, padding=1), nn.InstanceNorm2d(cin), nn.ReLU()]
        self.model = nn.Sequential(*layers)
        self.pool = nn.MaxPool2d(2)
        self.input_size = tuple(input_size)
        stride = 2 ** len(channels) * 2
        fc_in = cin * (input_size[0] // stride) * (input_size[1] // stride)
        if fc_in == 0:
            raise ValueError(f"loc-net input_size {input_size} is too small for {len(channels)} stride-2 convs")
        self.fc1 = nn.Linear(fc_in, hidden)
        self.fc2 = nn.Linear(hidden, num_points * 2)
        self.dropout = nn.Dropout(dropout)
        self.num_points = num_points

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
        h = self.pool(self.model(x)).flatten(1)
        h = self.dropout(F.relu(self.fc1(h)))
        return torch.tanh(self.fc2(h)).view(-1, self.num_points, 2)


class TPSGridGenerator(nn.Module):
    """Control points (B, K, 2) -> sampling grid (B, H, W, 2) (spec §1.3).

    Holds the official persistent buffers ``inverse_kernel`` (L^-1), ``padding_matrix`` (zeros)
    and ``target_coordinate_repr`` (TPS features of every pixel of ``size``); other output sizes
    compute the features on the fly.
    """

    def __init__(self, grid_shape: tuple[int, int] = (5, 5), extent: float = 0.9, size: tuple[int, int] = (256, 192)) -> None:
        super().__init__()
        control = tps.control_point_lattice(*grid_shape, extent=extent)
        height, width = size
        self.register_buffer("inverse_kernel", torch.inverse(tps.system_matrix(control)))
        self.register_buffer("padding_matrix", torch.zeros(3, 2))
        self.register_buffer(
            "target_coordinate_repr", tps.features(tps.reference_pixel_grid(height, width), control)
        )
        self.register_buffer("control_points", control, persistent=False)
        self.size = (height, width)

    def forward(self, points: Tensor, height: int, width: int) -> Tensor:
        coeffs = self.inverse_kernel.to(points.dtype) @ torch.cat(
            [points, self.padding_matrix.to(points.dtype).expand(points.shape[0], -1, -1)], dim=1
        )
        if (height, width) == self.size:
            feats = self.target_coordinate_repr.to(points.dtype)
        else:
            grid = tps.reference_pixel_grid(height, width, device=points.device, dtype=points.dtype)
            feats = tps.features(grid, self.control_points.to(points.dtype))
        return (feats @ coeffs).view(points.shape[0], height, width, 2)


class SpatialTransformer(nn.Module):
    """Loc-net + TPS grid generator (keys ``loc_net.cnn.*``, ``tps.*``)."""

    def __init__(self, loc_net: LocalizationNet, grid: TPSGridGenerator) -> None:
        super().__init__()
        self.loc_net = nn.Module()
        self.loc_net.cnn = loc_net
        self.tps = grid


def warp(x: Tensor, grid: Tensor, align_corners: bool = False) -> Tensor:
    """Bilinear ``grid_sample`` with zero padding, times the warped all-ones canvas (spec §1.4)."""
    sampled = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=align_corners)
    coverage = F.grid_sample(torch.ones_like(x[:, :1]), grid, mode="bilinear", padding_mode="zeros", align_corners=align_corners)
    return sampled * coverage


class WarpNet(UNet):
    """Official "U" (UnetMask): STN predicting TPS points, then a U-Net on ``[target mask, warped cloth]``.

    Its U-Net layers sit at the top level of the state dict (``conv1.0.weight``, ...), after ``stn.*``.
    The U-Net outputs 4 channels: RGB logits and the composition weight alpha (eq. 6).
    """

    def __init__(
        self,
        cloth_channels: int = 3,
        base_channels: int = 64,
        depth: int = 5,
        dropout: float = 0.0,
        loc_channels: tuple[int, ...] = (8, 16, 32, 64, 128, 256),
        loc_input_size: tuple[int, int] = (256, 192),
        grid_shape: tuple[int, int] = (5, 5),
    ) -> None:
        nn.Module.__init__(self)
        num_points = grid_shape[0] * grid_shape[1]
        loc_net = LocalizationNet(cloth_channels + 2, num_points, loc_channels, loc_input_size, dropout=dropout)
        self.stn = SpatialTransformer(loc_net, TPSGridGenerator(grid_shape, size=loc_input_size))
        self.grid_shape = tuple(grid_shape)
        self._add_unet_layers(cloth_channels + 1, cloth_channels + 1, base_channels, depth, dropout)

    def control_points(self, cloth: Tensor, target_mask: Tensor, cloth_mask: Tensor) -> Tensor:
        """STN: ``[cloth mask E, target mask M, cloth T]`` -> (B, K, 2) control points (x, y)."""
        return self.stn.loc_net.cnn(torch.cat([cloth_mask, target_mask, cloth], dim=1))

    def grid(self, points: Tensor, height: int, width: int) -> Tensor:
        """TPS sampling grid (B, H, W, 2) for the given control points."""
        return self.stn.tps(points, height, width)

    def refine(self, target_mask: Tensor, warped_cloth: Tensor) -> Tensor:
        """Refinement U-Net on ``[target mask, warped cloth]`` -> 4-channel logits."""
        return super().forward(torch.cat([target_mask, warped_cloth], dim=1))

    def forward(  # type: ignore[override]
        self, cloth: Tensor, target_mask: Tensor, cloth_mask: Tensor, align_corners: bool = False
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Returns (U-Net logits (B, 4, H, W), warped cloth, control points)."""
        points = self.control_points(cloth, target_mask, cloth_mask)
        warped = warp(cloth, self.grid(points, *cloth.shape[-2:]), align_corners)
        return self.refine(target_mask, warped.detach()), warped, points
