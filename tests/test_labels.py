"""Label-id conversions (LIP / CIHP / ATR -> ACGPN) and the colour picture."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from acgpn import labels

# Expected ACGPN id for every source id, written out from the table (not from labels.py).
LIP_EXPECTED = {0: 0, 1: 1, 2: 1, 5: 4, 6: 4, 7: 4, 18: 5, 19: 6, 3: 7, 8: 7, 10: 7, 11: 7, 9: 8,
                12: 8, 16: 9, 17: 10, 14: 11, 4: 12, 13: 12, 15: 13}  # fmt: skip
CIHP_EXPECTED = LIP_EXPECTED  # CIHP differs from LIP only in the name of class 10 (both -> 7)
# ATR: 0 bg, 1 hat, 2 hair, 3 sunglasses, 4 upper, 5 skirt, 6 pants, 7 dress, 8 belt, 9 l-shoe,
# 10 r-shoe, 11 face, 12 l-leg, 13 r-leg, 14 l-arm, 15 r-arm, 16 bag, 17 scarf.
ATR_EXPECTED = {0: 0, 1: 1, 2: 1, 3: 12, 4: 4, 5: 8, 6: 8, 7: 4, 8: 7, 9: 5, 10: 6, 11: 12,
                12: 9, 13: 10, 14: 11, 15: 13, 16: 7, 17: 7}  # fmt: skip
EXPECTED = {"lip": LIP_EXPECTED, "cihp": CIHP_EXPECTED, "atr": ATR_EXPECTED}


def hand_map(source_ids: list[int]) -> np.ndarray:
    """A small (3, n) map holding every source id once per row, in a shuffled column order."""
    ids = np.array(source_ids, dtype=np.uint8)
    return np.stack([ids, ids[::-1], np.roll(ids, 3)])


@pytest.mark.parametrize("source", ["lip", "cihp", "atr"])
def test_every_source_id_numpy(source: str) -> None:
    table = EXPECTED[source]
    assert sorted(table) == list(range(len(table)))
    src = hand_map(sorted(table))
    out = labels.convert_labels(src, source)
    assert isinstance(out, np.ndarray) and out.shape == src.shape
    expected = np.vectorize(table.__getitem__)(src)
    np.testing.assert_array_equal(out, expected)
    assert set(np.unique(out).tolist()) <= labels.VALID_IDS


@pytest.mark.parametrize("source", ["lip", "cihp", "atr"])
def test_every_source_id_torch(source: str) -> None:
    table = EXPECTED[source]
    src = torch.from_numpy(hand_map(sorted(table)).astype(np.int64))[None]  # (1, 3, n)
    out = labels.convert_labels(src, source)
    assert isinstance(out, torch.Tensor) and out.shape == src.shape
    expected = torch.tensor([[table[int(v)] for v in row] for row in src[0]])[None]
    assert torch.equal(out.long(), expected)
    # float tensors holding ids (as the data loader produces) convert the same way
    assert torch.equal(labels.convert_labels(src.float(), source).long(), expected)


def test_source_name_case_insensitive_and_unknown() -> None:
    src = np.array([[5, 14]], dtype=np.uint8)
    np.testing.assert_array_equal(labels.convert_labels(src, "LIP"), [[4, 11]])
    with pytest.raises(ValueError, match="unknown parsing source"):
        labels.convert_labels(src, "pascal")


@pytest.mark.parametrize("source,bad", [("lip", 20), ("cihp", 25), ("atr", 18)])
def test_out_of_range_raises(source: str, bad: int) -> None:
    with pytest.raises(ValueError, match="0.."):
        labels.convert_labels(np.array([[0, bad]], dtype=np.uint8), source)
    with pytest.raises(ValueError):
        labels.convert_labels(torch.tensor([[0, bad]]), source)
    with pytest.raises(ValueError):
        labels.convert_labels(torch.tensor([[-1, 0]]), source)


def test_valid_ids_and_names() -> None:
    assert labels.VALID_IDS == frozenset({0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
    assert len(labels.LABEL_NAMES) == labels.NUM_LABELS == 14
    assert labels.LABEL_NAMES[labels.UPPER_CLOTHES] == "upper-clothes"


def test_colorize_shapes_and_colours() -> None:
    ids = np.arange(14, dtype=np.uint8).reshape(2, 7)
    pic = labels.colorize(ids)
    assert pic.shape == (2, 7, 3) and pic.dtype == np.uint8
    np.testing.assert_array_equal(pic[0, 4], labels.PALETTE[4])
    # (1, H, W) float tensor (loader format) gives the same picture
    pic_t = labels.colorize(torch.from_numpy(ids).float()[None])
    np.testing.assert_array_equal(pic_t, pic)
    assert len({tuple(c) for c in labels.PALETTE.tolist()}) == 14  # distinct colours
