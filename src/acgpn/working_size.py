"""Run a pipeline at the size its nets were trained at: resize a batch in, the outputs back.

A model trained at a smaller size (e.g. the embedded synthetic model, 128x96) records it in its
``config.json`` as ``"working_size": [H, W]``. :class:`~acgpn.pipeline.TryOnPipeline` then runs
its nets at that size whatever the input size, and returns every output at the input's size:

* in — person and cloth images bilinear with antialiasing, the product mask bilinear (the model
  thresholds it at 0.5), label ids nearest; the pose map M_p is redrawn at the working size from
  the scaled keypoints when the batch holds them (``keypoints``, as a
  :class:`~acgpn.data.Sample` batch does), else resized nearest;
* out — images and probabilities bilinear, ids and binary masks nearest; the TPS control points
  (normalised coordinates) and the skin colour are size-free and stay as they are.

The pose map is drawn as :mod:`acgpn.data` draws it at that size, so the model sees inputs like
those it was trained on. Pure tensor code on the batch's device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import torch.nn.functional as F
from torch import Tensor

from acgpn.data.size import Size, check_size
from acgpn.errors import InputError
from acgpn.pose import pose_map, scale_keypoints

if TYPE_CHECKING:
    from acgpn.pipeline import TryOnOutput

#: ``config.json`` key of the size a model's nets run at.
CONFIG_KEY: Final = "working_size"
#: Batch keys resized as images (bilinear, antialiased) and as ids (nearest).
_SMOOTH_INPUTS: Final = ("image", "cloth", "product_mask")
_ID_INPUTS: Final = ("label",)
#: Outputs that hold ids or binary decisions (nearest); every other (B, C, H, W) output is bilinear.
_ID_OUTPUTS: Final = ("layout_ids", "predicted_cloth_mask", "target_cloth_mask", "final_label", "preserved_mask")


def _resize(x: Tensor, size: Size, smooth: bool) -> Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if not smooth:
        return F.interpolate(x, size=size, mode="nearest")
    antialias = x.shape[-2] > size[0] or x.shape[-1] > size[1]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=antialias)


def resize_batch(batch: Mapping[str, Tensor], size: Size) -> dict[str, Tensor]:
    """A batch (keys ``image``, ``label``, ``cloth``, ``product_mask``, ``pose`` and optionally
    ``keypoints``, each with a batch dim) at ``size`` (H, W); other keys are passed through."""
    out: dict[str, Any] = dict(batch)
    h, w = batch["image"].shape[-2:]
    for key in _SMOOTH_INPUTS:
        out[key] = _resize(batch[key], size, smooth=True)
    for key in _ID_INPUTS:
        out[key] = _resize(batch[key], size, smooth=False)
    keypoints = batch.get("keypoints")
    if isinstance(keypoints, Tensor) and keypoints.shape[-2:] == (18, 3):
        scaled = scale_keypoints(keypoints, size[1] / w, size[0] / h)
        out["keypoints"] = scaled
        out["pose"] = pose_map(scaled, *size).to(batch["pose"])
    else:
        out["pose"] = _resize(batch["pose"], size, smooth=False)
    return out


def resize_noise(noise: Mapping[str, Tensor] | None, size: Size) -> dict[str, Tensor] | None:
    """Given noise channels (B, 1, H, W) at ``size`` (nearest: they stay binary); None stays None."""
    return None if noise is None else {k: _resize(v, size, smooth=False) for k, v in noise.items()}


def resize_output(output: TryOnOutput, size: Size) -> TryOnOutput:
    """Every image-shaped output of a forward pass at ``size`` (H, W)."""
    changes = {}
    for f in fields(output):
        value = getattr(output, f.name)
        if value.dim() == 4:
            changes[f.name] = _resize(value, size, smooth=f.name not in _ID_OUTPUTS)
    return replace(output, **changes)


def read_working_size(config: Mapping[str, Any], source: str | Path | None = None) -> Size | None:
    """The checked ``"working_size"`` of a model's ``config.json`` (None when absent or null)."""
    value = config.get(CONFIG_KEY)
    if value is None:
        return None
    if not isinstance(value, Sequence) or isinstance(value, str) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise InputError(f"{CONFIG_KEY}: expected [H, W], two multiples of 16, got {value!r}", source)
    return check_size(value, source, max_pixels=None)
