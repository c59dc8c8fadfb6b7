"""ACGPN's 14 semantic label ids, conversions from common human-parsing datasets, and a palette.

Ids follow the official code (spec §2.1). Ids 2 and 3 are unused; id 7 ("noise") collects parsed
pixels that belong to neither the body nor the garment being replaced (gloves, scarves, ...).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import torch

NUM_LABELS: Final = 14

BACKGROUND: Final = 0
HAIR: Final = 1
UPPER_CLOTHES: Final = 4
LEFT_SHOE: Final = 5
RIGHT_SHOE: Final = 6
NOISE: Final = 7
PANTS: Final = 8
LEFT_LEG: Final = 9
RIGHT_LEG: Final = 10
LEFT_ARM: Final = 11  # the person's left arm: image right for a person facing the camera
FACE: Final = 12
RIGHT_ARM: Final = 13

LABEL_NAMES: Final[dict[int, str]] = {
    0: "background",
    1: "hair",
    2: "unused-2",
    3: "unused-3",
    4: "upper-clothes",
    5: "left-shoe",
    6: "right-shoe",
    7: "noise",
    8: "pants",
    9: "left-leg",
    10: "right-leg",
    11: "left-arm",
    12: "face",
    13: "right-arm",
}

#: Ids that may legitimately appear in a label map (2 and 3 are never produced by a parser).
VALID_IDS: Final = frozenset(range(NUM_LABELS)) - {2, 3}

# Source-dataset class ids -> ACGPN ids. Index = source id.
#: LIP (20 classes): 0 bg, 1 hat, 2 hair, 3 glove, 4 sunglasses, 5 upper-clothes, 6 dress, 7 coat,
#: 8 socks, 9 pants, 10 jumpsuits, 11 scarf, 12 skirt, 13 face, 14 left-arm, 15 right-arm,
#: 16 left-leg, 17 right-leg, 18 left-shoe, 19 right-shoe.
LIP_TO_ACGPN: Final = (0, 1, 1, 7, 12, 4, 4, 4, 7, 8, 7, 7, 8, 12, 11, 13, 9, 10, 5, 6)
#: CIHP (20 classes) is LIP's table except that id 10 is "torso-skin" instead of "jumpsuits"; visible
#: torso skin changes with the garment, so like LIP's 10 it goes to 7 (noise, fused with the cloth).
CIHP_TO_ACGPN: Final = (0, 1, 1, 7, 12, 4, 4, 4, 7, 8, 7, 7, 8, 12, 11, 13, 9, 10, 5, 6)
#: ATR (18 classes): 0 bg, 1 hat, 2 hair, 3 sunglasses, 4 upper-clothes, 5 skirt, 6 pants, 7 dress,
#: 8 belt, 9 left-shoe, 10 right-shoe, 11 face, 12 left-leg, 13 right-leg, 14 left-arm, 15 right-arm,
#: 16 bag, 17 scarf.
ATR_TO_ACGPN: Final = (0, 1, 1, 12, 4, 8, 8, 4, 7, 5, 6, 12, 9, 10, 11, 13, 7, 7)

CONVERSIONS: Final[dict[str, tuple[int, ...]]] = {
    "lip": LIP_TO_ACGPN,
    "cihp": CIHP_TO_ACGPN,
    "atr": ATR_TO_ACGPN,
}

#: One RGB colour per ACGPN id, for pictures only (distinct, readable on white).
PALETTE: Final = np.array(
    [
        (0, 0, 0),  # 0 background
        (128, 64, 0),  # 1 hair
        (90, 90, 90),  # 2 unused
        (160, 160, 160),  # 3 unused
        (220, 20, 60),  # 4 upper clothes
        (0, 100, 0),  # 5 left shoe
        (0, 160, 80),  # 6 right shoe
        (255, 0, 255),  # 7 noise
        (0, 0, 142),  # 8 pants
        (70, 130, 180),  # 9 left leg
        (0, 191, 255),  # 10 right leg
        (255, 165, 0),  # 11 left arm
        (255, 224, 189),  # 12 face
        (255, 255, 0),  # 13 right arm
    ],
    dtype=np.uint8,
)
PALETTE.setflags(write=False)  # shared by every caller: read-only


def convert_labels(parsing: np.ndarray | torch.Tensor, source: str) -> np.ndarray | torch.Tensor:
    """Map a LIP / CIHP / ATR parsing map to ACGPN ids (same type and shape, integer dtype).

    Raises ``ValueError`` for an unknown source or ids outside the source table.
    """
    key = source.lower()
    if key not in CONVERSIONS:
        raise ValueError(f"unknown parsing source {source!r}; expected one of {sorted(CONVERSIONS)}")
    table = CONVERSIONS[key]
    if isinstance(parsing, torch.Tensor):
        ids = parsing.long()
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= len(table)):
            raise ValueError(f"{key} parsing ids must lie in 0..{len(table) - 1}")
        return torch.tensor(table, dtype=torch.long, device=ids.device)[ids]
    ids_np = np.asarray(parsing).astype(np.int64)
    if ids_np.size and (ids_np.min() < 0 or ids_np.max() >= len(table)):
        raise ValueError(f"{key} parsing ids must lie in 0..{len(table) - 1}")
    return np.asarray(table, dtype=np.uint8)[ids_np]


def colorize(label: np.ndarray | torch.Tensor) -> np.ndarray:
    """(H, W) or (1, H, W) label ids -> (H, W, 3) uint8 RGB picture using :data:`PALETTE`."""
    arr = label.detach().cpu().numpy() if isinstance(label, torch.Tensor) else np.asarray(label)
    arr = arr.reshape(arr.shape[-2:]).astype(np.int64)
    return PALETTE[np.clip(arr, 0, NUM_LABELS - 1)]
