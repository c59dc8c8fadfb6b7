"""The one sample structure every reader returns, and the one builder of it from images in memory.

:func:`build_sample` holds the data conventions (size rule, normalisation, label conversion, pose
map); :class:`~acgpn.data.TryOnDataset` is file reading plus this builder, and the photo path,
the demo and evaluation call it on images they already hold. Tensors are float32, channels first;
H and W are the working size (:mod:`acgpn.data.size`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, TypedDict

import torch
from PIL import Image

from acgpn.data.files import check_mask_not_empty, check_opaque, label_ids, label_tensor, mask_tensor, rgb_tensor, size_hw
from acgpn.data.size import MAX_WORKING_PIXELS, check_size, format_size
from acgpn.errors import InputError
from acgpn.pose import default_radius, pose_map, scale_keypoints


class Sample(TypedDict):
    """One (person, cloth) pair. With a batch dimension after collation."""

    image: torch.Tensor  # (3, H, W) person image I, RGB in [-1, 1]
    label: torch.Tensor  # (1, H, W) ACGPN label ids 0..13 stored as float
    cloth: torch.Tensor  # (3, H, W) product cloth image T_c (official name "color"), RGB in [-1, 1]
    product_mask: torch.Tensor  # (1, H, W) product cloth mask E in [0, 1] (official name "edge")
    pose: torch.Tensor  # (18, H, W) pose map M_p in {-1, +1}
    keypoints: torch.Tensor  # (18, 3) COCO-18 (x, y, confidence) in pixels of the working size
    person: str  # person image file name, e.g. "000001_0.jpg"
    cloth_name: str  # cloth image file name, e.g. "000007_1.jpg"


SAMPLE_TENSOR_KEYS: Final = ("image", "label", "cloth", "product_mask", "pose", "keypoints")
#: What each image role is, for messages.
ROLE_NAMES: Final = {
    "image": "the person image",
    "label": "the label map",
    "cloth": "the cloth image",
    "product_mask": "the cloth mask",
}


def build_sample(
    image: Image.Image,
    label: Image.Image,
    cloth: Image.Image,
    product_mask: Image.Image,
    keypoints: torch.Tensor,
    size: Sequence[int] | None = None,
    *,
    parse_source: str = "acgpn",
    person: str = "person.jpg",
    cloth_name: str = "cloth.jpg",
    sources: Mapping[str, str | Path] | None = None,
    max_pixels: int | None = MAX_WORKING_PIXELS,
) -> Sample:
    """One :class:`Sample` from decoded images and (18, 3) keypoints in the person image's pixels.

    All four images must share the person image's native size. ``size`` is the working size (H, W)
    (``None``: the native size, checked by :func:`~acgpn.data.size.check_size`); a sample of
    another native size is resized once: images BICUBIC, label and mask NEAREST, keypoints scaled
    (undetected ones stay put). Images map to ``x / 255 * 2 - 1``, the mask to ``x / 255``, label
    ids (stored as ``parse_source``) to exact ACGPN ids as float; the pose map is drawn at the
    working size with :func:`acgpn.pose.default_radius`. ``sources`` (role -> file) and the names
    only label messages and the sample. Raises :class:`InputError`.
    """
    where = dict(sources or {})
    images = {"image": image, "label": label, "cloth": cloth, "product_mask": product_mask}
    native = size_hw(image)
    for role, img in images.items():
        if size_hw(img) != native:
            raise InputError(
                f"size {format_size(size_hw(img))} (HxW) differs from the person image {person} "
                f"({format_size(native)}); all files of a sample must share one size",
                where.get(role, ROLE_NAMES[role]),
            )
        if role != "label":
            check_opaque(img, where.get(role, ROLE_NAMES[role]), ROLE_NAMES[role])
    check_mask_not_empty(product_mask, where.get("product_mask", ROLE_NAMES["product_mask"]))
    h, w = check_size(native if size is None else size, where.get("image"), max_pixels)
    if native != (h, w):
        keypoints = scale_keypoints(keypoints, w / native[1], h / native[0])
    ids = label_ids(label, where.get("label", ROLE_NAMES["label"]), parse_source)
    return Sample(
        image=rgb_tensor(image, (h, w)),
        label=label_tensor(ids, (h, w)),
        cloth=rgb_tensor(cloth, (h, w)),
        product_mask=mask_tensor(product_mask, (h, w)),
        pose=pose_map(keypoints, h, w, default_radius(h)),
        keypoints=keypoints,
        person=person,
        cloth_name=cloth_name,
    )
