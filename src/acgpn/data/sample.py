"""The one sample structure every reader returns (and ``torch.utils.data.default_collate`` batches).

Tensors are float32, channels first; H and W are the dataset's working size (multiples of 16).
"""

from __future__ import annotations

from typing import Final, TypedDict

import torch


class Sample(TypedDict):
    """One (person, cloth) pair. With a batch dimension after collation."""

    image: torch.Tensor  # (3, H, W) person image I, RGB in [-1, 1]
    label: torch.Tensor  # (1, H, W) ACGPN label ids 0..13 stored as float
    cloth: torch.Tensor  # (3, H, W) product cloth image T_c (official name "color"), RGB in [-1, 1]
    edge: torch.Tensor  # (1, H, W) product cloth mask in [0, 1] (official name "edge")
    pose: torch.Tensor  # (18, H, W) pose map M_p in {-1, +1}
    keypoints: torch.Tensor  # (18, 3) COCO-18 (x, y, confidence) in pixels of the working size
    person: str  # person image file name, e.g. "000001_0.jpg"
    cloth_name: str  # cloth image file name, e.g. "000007_1.jpg"


SAMPLE_TENSOR_KEYS: Final = ("image", "label", "cloth", "edge", "pose", "keypoints")
