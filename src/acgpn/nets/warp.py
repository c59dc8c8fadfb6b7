"""The clothes warping net "U" of step II: STN (loc-net + TPS grid) followed by a refinement U-Net.

Spec §1.2-§1.4. The loc-net regresses 25 TPS control points from ``[E, M, T_c * E]`` (product
mask, target cloth mask, masked cloth); the TPS maps the 5x5 lattice (range 0.9) of the target to those points in the source.
The loc-net ends in a fully connected layer whose input size is fixed by its ``input_size``
(256x192 for the released weights): inputs of any other size are resized (bilinear) to
``input_size`` before the loc-net only. Control points are in normalised coordinates, so the warp
itself is computed at the input's own resolution.

The nets hold parameters and the official buffers and call the pure ops: the TPS maths is
:mod:`acgpn.ops.tps`, the warp :func:`acgpn.ops.warp.warp`; step II itself is
:func:`acgpn.modules.cwm.clothes_warping`.
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
        if not channels or min(in_channels, num_points, hidden, *channels) < 1:
            raise ValueError("loc-net channel counts and sizes must be positive")
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

    @torch.no_grad()
    def init_identity(self, lattice: Tensor) -> None:
        """Start at the identity warp: ``fc2`` weight 0 and bias ``atanh(lattice)``, so that
        ``tanh(fc2(h))`` is the lattice for every input (what the official constructor does).

        Args:
            lattice: the TPS control points in target space, (K, 2) with K = ``num_points``;
                float64 is best (``atanh`` is computed in its dtype, then cast).
        """
        if lattice.shape != (self.num_points, 2):
            raise ValueError(f"lattice must have shape ({self.num_points}, 2), got {tuple(lattice.shape)}")
        self.fc2.weight.zero_()
        self.fc2.bias.copy_(torch.atanh(lattice.reshape(-1)).to(self.fc2.bias.dtype))

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
        h = self.pool(self.model(x)).flatten(1)
        h = self.dropout(F.relu(self.fc1(h)))
        return torch.tanh(self.fc2(h)).view(-1, self.num_points, 2)


class TPSGridGenerator(nn.Module):
    """Control points (B, K, 2) -> sampling grid (B, H, W, 2) (spec §1.3), via :mod:`acgpn.ops.tps`.

    Holds the official persistent buffers ``inverse_kernel`` (L^-1), ``padding_matrix`` (zeros,
    kept for the state-dict keys) and ``target_coordinate_repr`` (TPS features of every pixel of
    ``size``, used as they are loaded for that size); other output sizes compute the features on
    the fly from the lattice.

    A new ``inverse_kernel`` inverts the float32 system matrix L (built as the official code builds
    it) in float64, rounded to float32: one result whatever the LAPACK. The official float32
    ``torch.inverse`` (cond(L) ~ 349) depends on the CPU's LAPACK kernels (1e-5 to 3e-5 apart
    between MKL code paths), which moved parity step 7 from 55 dB to under its 35 dB bound on one
    of them; the float64 inverse sits 1.7e-5 from the official values and gives 37.6-39.9 dB over
    recipe seeds 1-8, on every path. A loaded checkpoint brings its own buffer.
    """

    def __init__(self, grid_shape: tuple[int, int] = (5, 5), extent: float = 0.9, size: tuple[int, int] = (256, 192)) -> None:
        super().__init__()
        if len(grid_shape) != 2 or min(grid_shape) < 2:
            raise ValueError(f"grid_shape must be two sizes >= 2, got {tuple(grid_shape)}")
        if not 0 < extent < 1:
            raise ValueError(f"extent must lie in (0, 1), got {extent}")
        self.grid_shape, self.extent = (int(grid_shape[0]), int(grid_shape[1])), float(extent)
        height, width = size
        k = self.grid_shape[0] * self.grid_shape[1]
        self.register_buffer("inverse_kernel", torch.empty(k + 3, k + 3, dtype=torch.float32))
        self.register_buffer("padding_matrix", torch.zeros(3, 2))
        self.register_buffer("target_coordinate_repr", torch.empty(height * width, k + 3, dtype=torch.float32))
        self.register_buffer("lattice_points", torch.empty(k, 2, dtype=torch.float32), persistent=False)  # P (float32), not in the state dict
        self.size = (height, width)
        if not self.lattice_points.is_meta:  # on the meta device: shapes only (acgpn.nets.without_init)
            self.reset_buffers()

    @torch.no_grad()
    def reset_buffers(self) -> None:
        """Compute every buffer from the lattice, in place on its device: at construction, and
        after ``to_empty`` (:func:`acgpn.nets.without_init`)."""
        control = self.lattice(torch.float32).to(self.lattice_points.device)
        self.lattice_points.copy_(control)
        self.inverse_kernel.copy_(torch.inverse(tps.system_matrix(control).double()).float())  # float64: see the class docstring
        self.padding_matrix.zero_()
        self.target_coordinate_repr.copy_(tps.features(tps.reference_pixel_grid(*self.size), control))

    def lattice(self, dtype: torch.dtype = torch.float64) -> Tensor:
        """The target-space control points P (K, 2), computed afresh on the CPU in ``dtype``."""
        return tps.control_point_lattice(*self.grid_shape, extent=self.extent, dtype=dtype)

    def forward(self, points: Tensor, height: int, width: int, inverse_kernel: Tensor | None = None) -> Tensor:
        """Sampling grid (B, H, W, 2); ``inverse_kernel`` replaces the buffer L^-1 (parity step 5 feeds
        the stored one forward)."""
        features = self.target_coordinate_repr if (height, width) == self.size else None
        kernel = self.inverse_kernel if inverse_kernel is None else inverse_kernel
        return tps.sampling_grid(self.lattice_points, points, height, width, kernel.to(points.dtype), features)


class SpatialTransformer(nn.Module):
    """Loc-net + TPS grid generator (keys ``loc_net.cnn.*``, ``tps.*``)."""

    def __init__(self, loc_net: LocalizationNet, grid: TPSGridGenerator) -> None:
        super().__init__()
        self.loc_net = nn.Module()
        self.loc_net.cnn = loc_net
        self.tps = grid


class WarpNet(UNet):
    """Official "U" (UnetMask): STN predicting TPS points, then a U-Net on ``[M, T^W_c]``.

    Its U-Net layers sit at the top level of the state dict (``conv1.0.weight``, ...), after ``stn.*``.
    The U-Net outputs 4 channels: RGB logits and the composition weight alpha (eq. 6). The parts
    of step II are :meth:`control_points`, :meth:`grid` and :meth:`refine`; calling the net itself
    runs the refinement U-Net on the concatenated ``[M, T^W_c]`` (B, cloth_channels + 1, H, W).
    A new net starts at the identity warp (:meth:`init_identity`), as the official one does.
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
        self.init_identity()

    @classmethod
    def official(cls, name: str = "u") -> WarpNet:
        """The released architecture of the warp net (pipeline component ``u``)."""
        if name != "u":
            raise ValueError(f"the official warp net is 'u', not {name!r}")
        return cls()

    def init_identity(self) -> None:
        """Loc-net at the identity warp: it predicts the lattice for every input (see
        :meth:`LocalizationNet.init_identity`)."""
        self.stn.loc_net.cnn.init_identity(self.stn.tps.lattice(torch.float64))

    def control_points(self, masked_cloth: Tensor, product_mask: Tensor, target_cloth_mask: Tensor) -> Tensor:
        """STN: ``[E, M, T_c * E]`` -> (B, K, 2) control points (x, y)."""
        return self.stn.loc_net.cnn(torch.cat([product_mask, target_cloth_mask, masked_cloth], dim=1))

    def grid(self, points: Tensor, height: int, width: int, inverse_kernel: Tensor | None = None) -> Tensor:
        """TPS sampling grid (B, H, W, 2) for the given control points (``inverse_kernel``: an L^-1
        to use instead of the buffer)."""
        return self.stn.tps(points, height, width, inverse_kernel)

    def refine(self, target_cloth_mask: Tensor, warped_cloth: Tensor) -> Tensor:
        """Refinement U-Net on ``[M, T^W_c]`` -> (B, cloth_channels + 1, H, W) logits."""
        return self(torch.cat([target_cloth_mask, warped_cloth], dim=1))
