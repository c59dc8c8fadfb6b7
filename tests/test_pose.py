"""OpenPose JSON reading and the pose map M_p (parity with the official rasterisation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from model_fixtures import PARITY_FILE

from acgpn.errors import InputError
from acgpn.pose import (
    BODY25_TO_COCO18,
    default_radius,
    keypoint_warnings,
    pose_map,
    read_openpose_json,
    scale_keypoints,
    write_openpose_json,
)


def parity_file() -> Path:
    """The parity vectors kept in the repository (tests/data)."""
    return PARITY_FILE


def test_pose_map_matches_official_parity_sums() -> None:
    from safetensors.torch import load_file

    ref = load_file(str(parity_file()))
    keypoints = ref["input.pose_keypoints"]
    maps = pose_map(keypoints, 256, 192)
    assert maps.shape == (2, 18, 256, 192) and maps.dtype == torch.float32
    assert set(maps.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(maps.sum(dim=-1), ref["check.pose_map_row_sum"])
    assert torch.equal(maps.sum(dim=-2), ref["check.pose_map_col_sum"])
    # keypoint 17 has x == 1: not drawn (strict x > 1)
    assert bool((maps[:, 17] == -1).all())
    # per sample, same result
    assert torch.equal(pose_map(keypoints[1], 256, 192), maps[1])


def test_square_geometry_and_clipping() -> None:
    kp = torch.zeros(18, 3)
    kp[0] = torch.tensor([50.7, 60.2, 1.0])  # floored to (50, 60)
    kp[1] = torch.tensor([2.0, 3.0, 1.0])  # near the corner: clipped
    kp[2] = torch.tensor([30.0, 1.0, 1.0])  # y == 1: not drawn
    m = pose_map(kp, 256, 192)
    on = (m[0] > 0).nonzero()
    assert on[:, 0].min() == 55 and on[:, 0].max() == 65  # rows 60 +- 5
    assert on[:, 1].min() == 45 and on[:, 1].max() == 55  # cols 50 +- 5
    assert int((m[0] > 0).sum()) == 121
    assert int((m[1] > 0).sum()) == 8 * 9  # cols 0..7, rows 0..8
    assert bool((m[2] == -1).all()) and bool((m[3:] == -1).all())


@pytest.mark.parametrize("height,width,radius", [(512, 384, 10), (1024, 768, 20), (64, 48, 1)])
def test_other_image_sizes(height: int, width: int, radius: int) -> None:
    assert default_radius(height) == radius
    kp = torch.zeros(18, 3)
    kp[5] = torch.tensor([width / 2, height / 2, 1.0])
    m = pose_map(kp, height, width)
    assert m.shape == (18, height, width)
    assert int((m[5] > 0).sum()) == (2 * radius + 1) ** 2
    # scaling keypoints with the image keeps the square centred on the same relative spot
    half = scale_keypoints(kp, 0.5, 0.5)
    assert half[5, 0] == width / 4 and half[5, 1] == height / 4
    assert torch.equal(half[0], kp[0])  # undetected points stay put


def _json(path: Path, people: list) -> Path:
    path.write_text(json.dumps({"version": 1.3, "people": people}))
    return path


def test_openpose_json_key_names(tmp_path: Path) -> None:
    values = [float(v) for v in range(54)]
    expected = torch.tensor(values).view(18, 3)
    old = read_openpose_json(_json(tmp_path / "a.json", [{"pose_keypoints": values}]))
    new = read_openpose_json(_json(tmp_path / "b.json", [{"pose_keypoints_2d": values}]))
    assert torch.equal(old, expected) and torch.equal(new, expected)
    # only people[0] is used
    two = [{"pose_keypoints_2d": values}, {"pose_keypoints_2d": [0.0] * 54}]
    assert torch.equal(read_openpose_json(_json(tmp_path / "c.json", two)), expected)


def test_body25_to_coco18(tmp_path: Path) -> None:
    body25 = torch.arange(75, dtype=torch.float32).view(25, 3)
    path = _json(tmp_path / "x_keypoints.json", [{"pose_keypoints_2d": body25.flatten().tolist()}])
    coco = read_openpose_json(path)
    assert coco.shape == (18, 3)
    # COCO-18: nose, neck, R arm (BODY_25 2-4), L arm (5-7), then R hip (BODY_25 9: 8 is mid-hip)
    assert [int(v) for v in coco[:, 0] / 3] == [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14,
                                               15, 16, 17, 18]  # fmt: skip
    assert list(BODY25_TO_COCO18) == [int(v) for v in coco[:, 0] / 3]


def test_empty_people_gives_zeros(tmp_path: Path) -> None:
    kp = read_openpose_json(_json(tmp_path / "e.json", []))
    assert torch.equal(kp, torch.zeros(18, 3))
    assert bool((pose_map(kp, 256, 192) == -1).all())


@pytest.mark.parametrize(
    "content,match",
    [
        (json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 51}]}), "found 51"),
        (json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 57}]}), "found 57"),
        (json.dumps({"people": [{"face_keypoints_2d": []}]}), "neither"),
        (json.dumps({"persons": []}), "'people'"),
        (json.dumps({"people": [{"pose_keypoints": ["a"] * 54}]}), "a JSON number"),
        (json.dumps({"people": [None]}), "people\\[0\\] must be an object"),
        (json.dumps({"people": [{"pose_keypoints_2d": "1 2 3"}]}), "must be a list"),
        (json.dumps([1, 2]), "'people'"),
        ("{not json", "JSON"),
    ],
)
def test_bad_json_raises_input_error(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "bad_keypoints.json"
    path.write_text(content)
    with pytest.raises(InputError, match=match) as info:
        read_openpose_json(path)
    assert "bad_keypoints.json" in str(info.value)


@pytest.mark.parametrize(
    "entry,said",
    [('"12"', 'a string "12"'), ('" 40 "', 'a string " 40 "'), ('"1_2"', 'a string "1_2"'), ("true", "true"),
     ("false", "false"), ("null", "null"), ("[3]", "a list"), ('{"x": 1}', "an object")],
)  # fmt: skip
def test_keypoints_must_be_json_numbers(tmp_path: Path, entry: str, said: str) -> None:
    numbers = ", ".join(["10", "20.5", "1"] * 18)  # ints and floats are both JSON numbers
    path = tmp_path / "p_keypoints.json"
    path.write_text(f'{{"people": [{{"pose_keypoints_2d": [{numbers}]}}]}}')
    assert read_openpose_json(path)[0].tolist() == [10.0, 20.5, 1.0]
    path.write_text(f'{{"people": [{{"pose_keypoints": [{numbers.replace("20.5", entry, 1)}]}}]}}')
    with pytest.raises(InputError) as info:
        read_openpose_json(path)
    assert info.value.path == str(path)
    assert info.value.message == f"people[0].pose_keypoints[1] is {said}; expected a JSON number (x, y, confidence per point)"


def test_numbers_too_large_are_input_errors(tmp_path: Path) -> None:
    path = tmp_path / "big_keypoints.json"
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": [10**400] + [1] * 53}]}))
    with pytest.raises(InputError, match="too large"):
        read_openpose_json(path)
    path.write_text('{"people": [{"pose_keypoints_2d": [' + "9" * 5000 + "]}]}")  # past Python's int digit limit
    with pytest.raises(InputError, match="not a readable JSON"):
        read_openpose_json(path)


def test_missing_json_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_openpose_json(tmp_path / "nope_keypoints.json")


def test_write_read_round_trip(tmp_path: Path) -> None:
    kp = torch.tensor([[10.5, 20.25, 0.5]] * 18)
    write_openpose_json(tmp_path / "w.json", kp)
    assert torch.equal(read_openpose_json(tmp_path / "w.json"), kp)


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    kp = [[10.0, 20.0, 1.0]] * 18
    (tmp_path / "bom.json").write_bytes(("\ufeff" + json.dumps({"people": [{"pose_keypoints_2d": sum(kp, [])}]})).encode())
    assert torch.equal(read_openpose_json(tmp_path / "bom.json"), torch.tensor(kp))


def test_keypoint_warnings_name_what_the_pose_map_ignores() -> None:
    kp = torch.tensor([[10.0, 20.0, 1.0]] * 18)
    assert keypoint_warnings(kp, 64, 48) == []
    kp[2, 0], kp[4, 1], kp[6, 0], kp[8, 1] = float("nan"), float("inf"), -3.0, 1e9
    messages = keypoint_warnings(kp, 64, 48)
    assert len(messages) == 3
    assert messages[0].startswith("keypoint(s) [2, 4] have NaN or infinite")
    assert messages[1].startswith("keypoint(s) [6] have negative")
    assert messages[2].startswith("keypoint(s) [8] lie outside the 64x48")
    # What is warned about is exactly what the pose map drops: those channels stay empty.
    drawn = (pose_map(kp, 64, 48) > 0).flatten(1).any(1)
    assert drawn.tolist() == [i not in (2, 4, 6, 8) for i in range(18)]
    assert keypoint_warnings(torch.zeros(18, 3), 64, 48) == [
        "no keypoint detected (no people, or all points undetected): the pose map is empty"
    ]
