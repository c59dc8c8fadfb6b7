"""The U-Net generator shared by G1, G2 and G (and the refinement half of the warp net "U").

Official layout (spec §1.1) with ``depth=5, base_channels=64``: encoder levels ``conv1..conv5``
(double 3x3 conv, InstanceNorm, ReLU), 2x2 max-pool between them, dropout after the last two
levels, decoder levels ``up6..up9`` (nearest 2x upsample + conv) each followed by ``conv6..conv9``
on ``[skip, upsampled]``; ``conv9`` ends with a bare 3x3 conv producing logits. The ``nn.Sequential``
positions (``.0``/``.3``, ``.1``, ``.6``) reproduce the official state-dict keys.
H and W must be divisible by ``2 ** (depth - 1)`` (16 for the official depth).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from acgpn.nets.config import ConfigMixin
from acgpn.ops.checks import is_channels_last
from acgpn.ops.upsample import fold_upsample_conv3x3, upsample_conv3x3

#: ``(in_channels, out_channels)`` of the released U-Nets by pipeline component (spec §1.1):
#: G1 and G2 read ``[E, T_c * E, one-hot(14), M_p(18), z]``, G reads ``[I_w, one-hot(14), T^R_c, skin(3), z]``.
OFFICIAL_UNET_CHANNELS: Final = MappingProxyType({"g1": (37, 14), "g2": (37, 1), "g": (24, 3)})


#: Half-precision dtypes whose CPU instance norm runs as ``group_norm`` (see :class:`InstanceNorm`).
LOW_PRECISION: Final = (torch.bfloat16, torch.float16)
#: Below this many pixels per map, ATen's channels_last ``group_norm`` CPU kernel switches to a
#: path ~20x slower in bf16 (its feature-map threshold, 1024, measured: 1023 px 12.8 ms, 1024 px 0.13 ms).
GROUP_NORM_MIN_PIXELS: Final = 1024


class InstanceNorm(nn.Module):
    """Affine-free instance normalisation (``InstanceNorm2d(affine=False)``, eps 1e-5).

    With ``fast_math`` it is computed as a group norm with one channel per group: the same
    statistics up to float rounding (~1e-6), and 3-6x faster on the CPU than ``instance_norm``
    (which routes through batch norm); on channels_last maps as mean and variance in two passes
    (group_norm's NHWC CPU kernel loses up to ~1e-3 to cancellation). No parameters or buffers.

    ``inplace``: with ``fast_math`` on channels_last maps and no autograd, centre ``x`` in place
    instead of a copy (as ``nn.ReLU(inplace=True)``: only where ``x`` is a conv's output used
    nowhere else). Same values.

    bf16/fp16 channels_last maps on the CPU (autocast, :mod:`acgpn.speed`) of at least
    :data:`GROUP_NORM_MIN_PIXELS` pixels go to ``group_norm``, which accumulates in float32 and
    rounds once (about half the two-pass path's error against a float64 norm of the same bf16
    input, and 4-10x faster: the two-pass means copy the map to float32 first). Its
    one-pass variance loses ~1e-3 to cancellation, below bf16's resolution.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, inplace: bool = False) -> None:
        super().__init__()
        self.num_features, self.eps, self.inplace = num_features, eps, inplace
        self.fast_math = False

    def forward(self, x: Tensor) -> Tensor:
        if self.fast_math:
            if is_channels_last(x):
                if x.dtype in LOW_PRECISION and x.device.type == "cpu" and x.shape[-2] * x.shape[-1] >= GROUP_NORM_MIN_PIXELS:
                    return F.group_norm(x, self.num_features, eps=self.eps)
                # NHWC (acgpn.speed): two passes; group_norm's NHWC CPU kernel loses ~1e-3 to cancellation
                mean = x.mean((2, 3), keepdim=True)
                keep_input = x.requires_grad or not self.inplace
                centred = x - mean if keep_input else x.sub_(mean)
                scale = torch.rsqrt((centred * centred).mean((2, 3), keepdim=True) + self.eps)
                return centred * scale if centred.requires_grad else centred.mul_(scale)
            return F.group_norm(x, self.num_features, eps=self.eps)  # a constant group count: ONNX export
        return F.instance_norm(x, eps=self.eps)


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)


def double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """conv -> IN -> ReLU -> conv -> IN -> ReLU (convs at keys ``.0`` and ``.3``)."""
    return nn.Sequential(
        conv3x3(in_channels, out_channels), InstanceNorm(out_channels, inplace=True), nn.ReLU(inplace=True),
        conv3x3(out_channels, out_channels), InstanceNorm(out_channels, inplace=True), nn.ReLU(inplace=True),
    )  # fmt: skip


def max_pool2x2(x: Tensor) -> Tensor:
    """2x2 max-pool, stride 2, as the maximum of four strided views (same values as
    ``F.max_pool2d(x, 2)``, about 3x faster on the CPU); odd sizes fall back to max_pool2d."""
    if x.shape[-2] % 2 or x.shape[-1] % 2:
        return F.max_pool2d(x, 2)
    top = torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2])
    return torch.maximum(top, torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2]))


class UpConv(nn.Sequential):
    """Nearest 2x upsample -> conv -> IN -> ReLU (conv at key ``.1``).

    With ``fast_math`` the upsample and conv run as one stride-2 transposed convolution
    (:func:`acgpn.ops.upsample.upsample_conv3x3`: 16/36 of the multiply-adds, the same result up to
    float rounding). Without autograd (inference) the folded kernel is kept between calls, keyed
    on the weight's storage, version and layout, so it is refolded only when the weight changes (moved,
    loaded, trained, switched to channels_last); with autograd it is folded in every call. The kept
    kernel costs 16/9 of the conv weight's memory (0.18 GiB over the four official-width nets).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Upsample(scale_factor=2, mode="nearest"),
            conv3x3(in_channels, out_channels), InstanceNorm(out_channels, inplace=True), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.fast_math = False
        self._folded: tuple[tuple, Tensor] | None = None  # (weight key, folded kernel); not state

    def forward(self, x: Tensor) -> Tensor:
        conv = self[1]
        if self.fast_math:
            y = upsample_conv3x3(x, conv.weight, conv.bias, folded=self._kept_fold(conv.weight))
        else:
            y = conv(F.interpolate(x, scale_factor=2, mode="nearest"))
        return self[3](self[2](y))

    def _kept_fold(self, weight: Tensor) -> Tensor | None:
        """The folded kernel of ``weight``, kept across inference calls; ``None`` (fold in the
        call) under autograd, tracing (ONNX) or ``torch.compile``."""
        if torch.is_grad_enabled() or torch.jit.is_tracing() or torch.compiler.is_compiling():
            return None
        key = (id(weight), weight.data_ptr(), weight._version, weight.device, weight.dtype, weight.shape, weight.stride())
        if self._folded is None or self._folded[0] != key:
            self._folded = (key, fold_upsample_conv3x3(weight))
        return self._folded[1]


def up_conv(in_channels: int, out_channels: int) -> UpConv:
    """See :class:`UpConv`."""
    return UpConv(in_channels, out_channels)


class SkipConv(nn.Sequential):
    """A decoder block ``conv6..conv9`` on the pair ``(skip, up)``: its layers run on
    ``cat([skip, up], dim=1)`` (keys ``.0``, ``.3``, and ``.6`` for the output block).

    With ``fast_math`` the first conv runs as one conv over each half, summed (the same result up
    to float rounding, without the concatenated copy; faster on the CPU).
    """

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__(*layers)
        self.fast_math = False

    def forward(self, skip: Tensor, up: Tensor) -> Tensor:  # type: ignore[override]
        first = self[0]
        if self.fast_math:
            split = skip.shape[1]
            y = F.conv2d(skip, first.weight[:, :split], first.bias, padding=1)
            y = y.add_(F.conv2d(up, first.weight[:, split:], None, padding=1))
        else:
            y = first(torch.cat([skip, up], dim=1))
        for layer in self[1:]:
            y = layer(y)
        return y


def decoder_block(in_channels: int, out_channels: int) -> SkipConv:
    """:func:`double_conv` on ``[skip, up]`` (see :class:`SkipConv`)."""
    return SkipConv(*double_conv(in_channels, out_channels))


def output_block(in_channels: int, mid_channels: int, out_channels: int) -> SkipConv:
    """Double conv followed by a bare logits conv (keys ``.0``, ``.3``, ``.6``), on ``[skip, up]``."""
    return SkipConv(*double_conv(in_channels, mid_channels), conv3x3(mid_channels, out_channels))


class UNet(ConfigMixin, nn.Module):
    """Five-level (by default) U-Net returning raw logits of shape (B, out_channels, H, W).

    ``per_sample_pixels`` is a run-time schedule, not part of the architecture: when set, levels
    whose maps have at least that many pixels run one sample of a batch at a time (the pipeline
    sets it on the CPU, see :meth:`acgpn.pipeline.TryOnPipeline.apply_schedule`). Default
    ``None``: every level batched.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        base_channels: int = 64,
        depth: int = 5,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self._add_unet_layers(in_channels, out_channels, base_channels, depth, dropout)

    @classmethod
    def official(cls, name: str) -> UNet:
        """The released architecture of pipeline component ``name`` (``g1``, ``g2`` or ``g``)."""
        if name not in OFFICIAL_UNET_CHANNELS:
            raise ValueError(f"no official U-Net called {name!r} (expected one of {', '.join(OFFICIAL_UNET_CHANNELS)})")
        return cls(*OFFICIAL_UNET_CHANNELS[name])

    def _add_unet_layers(
        self, in_channels: int, out_channels: int, base_channels: int, depth: int, dropout: float
    ) -> None:
        """Register ``conv1..conv{2d-1}`` and ``up{d+1}..up{2d-1}`` in the official key order."""
        if depth < 2:
            raise ValueError("UNet depth must be at least 2")
        if min(in_channels, out_channels, base_channels) < 1:
            raise ValueError("UNet channel counts must be positive")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.per_sample_pixels: int | None = None
        self.base_channels, self.depth, self.dropout = base_channels, depth, dropout
        widths = [base_channels * 2**i for i in range(depth)]
        for level in range(depth):
            cin = in_channels if level == 0 else widths[level - 1]
            setattr(self, f"conv{level + 1}", double_conv(cin, widths[level]))
            if level >= depth - 2:
                setattr(self, f"drop{level + 1}", nn.Dropout(dropout))
        for step in range(1, depth):
            wide, narrow = widths[depth - step], widths[depth - step - 1]
            index = depth + step
            setattr(self, f"up{index}", up_conv(wide, narrow))
            block = output_block(wide, narrow, out_channels) if step == depth - 1 else decoder_block(wide, narrow)
            setattr(self, f"conv{index}", block)

    def set_fast_math(self, enabled: bool) -> UNet:
        """Use group-norm instance norms, transposed-conv up-convs and split skip convs (faster on
        the CPU, outputs within ~1e-5) instead of the official op sequence (bit-identical to the
        official net)."""
        for module in self.modules():
            if isinstance(module, (InstanceNorm, UpConv, SkipConv)):
                module.fast_math = enabled
        return self

    @property
    def size_multiple(self) -> int:
        """H and W must be multiples of this."""
        return 2 ** (self.depth - 1)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2] % self.size_multiple or x.shape[-1] % self.size_multiple:
            raise ValueError(
                f"UNet input height and width must be multiples of {self.size_multiple}, got {tuple(x.shape[-2:])}"
            )
        return self._level(x, 1)

    def _encode(self, x: Tensor, level: int) -> Tensor:
        x = getattr(self, f"conv{level}")(x)
        return getattr(self, f"drop{level}")(x) if level >= self.depth - 1 else x

    def _decode(self, skip: Tensor, deeper: Tensor, level: int) -> Tensor:
        index = 2 * self.depth - level
        up = getattr(self, f"up{index}")(deeper)
        return getattr(self, f"conv{index}")(skip, up)

    def _level(self, x: Tensor, level: int) -> Tensor:
        """Encoder block of ``level``, everything below it, and the matching decoder block.

        With ``per_sample_pixels`` set, batches on large maps (>= that many pixels) run this level's
        blocks one sample at a time (on the CPU their activations then stay in cache; also less
        memory) while the deeper levels, whose convs are weight-bound, stay batched. Only the
        schedule differs, never the maths.
        """
        limit = self.per_sample_pixels
        split = limit is not None and x.shape[0] > 1 and x.shape[-2] * x.shape[-1] >= limit
        skips = [self._encode(c, level) for c in (x.split(1) if split else [x])]
        if level == self.depth:
            return _join(skips)
        deeper = self._level(_join([max_pool2x2(s) for s in skips]), level + 1)
        return _join([self._decode(s, d, level) for s, d in zip(skips, deeper.split(1) if split else [deeper])])


def _join(tensors: list[Tensor]) -> Tensor:
    """Concatenate along the batch dimension (no copy for a single tensor)."""
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)
