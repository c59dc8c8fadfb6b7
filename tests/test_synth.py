"""The synthetic dataset: layout, determinism, exact ground truth, sizes, CLI and contact sheet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.random import PCG64, Generator, SeedSequence
from PIL import Image
from typer.testing import CliRunner

from acgpn import labels as L
from acgpn.cli.main import app
from acgpn.errors import InputError
from acgpn.ops.tps import sampling_grid
from acgpn.pose import read_openpose_json
from acgpn.synth import contact_sheet, generate_dataset, make_sample, parse_size
from acgpn.synth.dataset import FOLDERS, META_NAME
from acgpn.synth.person import sample_person
from acgpn.synth.sheet import COLUMNS, HEADER

ALLOWED = {0, 1, 4, 5, 6, 8, 9, 10, 11, 12, 13}
#: Labels that may change when the garment changes (cloth, arms, bare neck/chest).
CHANGEABLE = [L.UPPER_CLOTHES, L.LEFT_ARM, L.RIGHT_ARM, L.FACE]
OCCLUDERS = [L.HAIR, L.LEFT_ARM, L.FACE, L.RIGHT_ARM]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _grey(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(np.int16)


def _dilate(mask: np.ndarray, r: int = 1) -> np.ndarray:
    """Binary dilation with a (2r+1)^2 square."""
    t = torch.from_numpy(mask.astype(np.float32))[None, None]
    return torch.nn.functional.max_pool2d(t, 2 * r + 1, 1, r)[0, 0].numpy() > 0


def _erode(mask: np.ndarray, r: int = 1) -> np.ndarray:
    return ~_dilate(~mask, r)


# ----------------------------------------------------------------------------------- layout


def test_layout_meta_and_pairs(synth_dir: Path) -> None:
    meta = json.loads((synth_dir / META_NAME).read_text())
    assert meta["generator"] == "acgpn.synth" and meta["seed"] == 0 and meta["num"] == 6
    assert meta["size"] == [256, 192] and meta["phase"] == "test" and "version" in meta
    for folder in FOLDERS:
        assert len(list((synth_dir / f"test_{folder}").iterdir())) == 6, folder
    paired = (synth_dir / "test_pairs_paired.txt").read_text().splitlines()
    unpaired = (synth_dir / "test_pairs_unpaired.txt").read_text().splitlines()
    assert paired[0] == "000000_0.jpg 000000_1.jpg" and len(paired) == 6
    people = [line.split()[0] for line in unpaired]
    clothes = [line.split()[1] for line in unpaired]
    assert people == [line.split()[0] for line in paired]
    assert sorted(clothes) == sorted(line.split()[1] for line in paired)  # a permutation ...
    assert all(p[:6] != c[:6] for p, c in zip(people, clothes))  # ... with no fixed point
    for p, c in zip(people, clothes):
        stem = f"{p[:-4]}__{c[:-4]}"
        assert (synth_dir / "test_gt_unpaired" / f"{stem}.jpg").is_file()
        assert (synth_dir / "test_gt_unpaired_label" / f"{stem}.png").is_file()
    with Image.open(synth_dir / "test_label" / "000000_0.png") as im:
        assert im.mode == "L" and im.size == (192, 256)
    with Image.open(synth_dir / "test_img" / "000000_0.jpg") as im:
        assert im.format == "JPEG" and im.size == (192, 256)


def test_same_seed_same_bytes_other_seed_differs(synth_dir: Path, tmp_path: Path) -> None:
    again = generate_dataset(tmp_path / "again", 6, (256, 192), seed=0)
    assert _files(again) == _files(synth_dir)
    other = _files(generate_dataset(tmp_path / "other", 6, (256, 192), seed=1))
    ours = _files(synth_dir)
    assert other.keys() == ours.keys()
    differing = [k for k in ours if k.endswith(".jpg") and ours[k] != other[k]]
    assert len(differing) == sum(k.endswith(".jpg") for k in ours)


def test_regenerating_into_a_synth_dir_replaces_it(tmp_path: Path) -> None:
    root = generate_dataset(tmp_path / "d", 4, (64, 48), seed=3)
    first = _files(root)
    generate_dataset(root, 3, (64, 48), seed=3)
    assert len(list((root / "test_img").iterdir())) == 3
    generate_dataset(root, 4, (64, 48), seed=3)
    assert _files(root) == first


# ------------------------------------------------------------------------------ ground truth


def test_label_ids_are_valid(synth_dir: Path) -> None:
    for folder in ("test_label", "test_gt_unpaired_label"):
        for path in (synth_dir / folder).iterdir():
            ids = set(np.unique(_grey(path)).tolist())
            assert ids <= ALLOWED, (path, ids)
            assert {0, 1, 4, 8, 12} <= ids, (path, ids)


@pytest.mark.parametrize("index", range(8))
def test_cloth_label_is_exactly_the_visible_warped_cloth(index: int) -> None:
    sample = make_sample(seed=11, index=index, num=8)
    for r in (sample.paired, sample.unpaired):
        occluded = np.isin(r.label, OCCLUDERS)
        assert np.array_equal(r.label == L.UPPER_CLOTHES, r.warped_mask & ~occluded)
        inside = _erode(r.label == L.UPPER_CLOTHES) & (r.cloth_share == 1.0)
        assert inside.sum() > 500
        assert np.array_equal(r.image[inside], r.warped_cloth[inside])  # exact before JPEG
        assert (r.warped_cloth[~_dilate(r.warped_mask, 3)] == 255).all()  # whole garment on white


def test_files_agree_with_ground_truth(synth_dir: Path) -> None:
    for i in range(6):
        label = _grey(synth_dir / "test_label" / f"{i:06d}_0.png")
        mask = _grey(synth_dir / "test_gt_warped_mask" / f"{i:06d}_0.png")
        assert set(np.unique(mask).tolist()) <= {0, 255}
        occluded = np.isin(label, OCCLUDERS)
        assert np.array_equal(label == L.UPPER_CLOTHES, (mask == 255) & ~occluded)
        inside = _erode(label == L.UPPER_CLOTHES, 2)
        image = _rgb(synth_dir / "test_img" / f"{i:06d}_0.jpg")
        warped = _rgb(synth_dir / "test_gt_warped_cloth" / f"{i:06d}_0.jpg")
        assert np.abs(image[inside] - warped[inside]).mean() < 3.0  # JPEG noise only
        edge = _grey(synth_dir / "test_edge" / f"{i:06d}_1.jpg")
        color = _rgb(synth_dir / "test_color" / f"{i:06d}_1.jpg")
        assert (color[_erode(edge < 30, 2)] > 240).all()  # product on white
        assert 0.12 < (edge > 128).mean() < 0.6


def test_keypoints_lie_on_the_body(synth_dir: Path) -> None:
    for i in range(6):
        kp = read_openpose_json(synth_dir / "test_pose" / f"{i:06d}_0_keypoints.json")
        assert kp.shape == (18, 3)
        label = _grey(synth_dir / "test_label" / f"{i:06d}_0.png")
        visible = (kp[:, 0] > 1) & (kp[:, 1] > 1)
        assert visible[:16].all()  # only ears may be undetected
        assert ((kp[~visible] == 0).all())
        for x, y, _ in kp[visible].tolist():
            c, r = int(round(x)), int(round(y))
            assert 0 <= c < 192 and 0 <= r < 256
            assert (label[max(0, r - 2) : r + 3, max(0, c - 2) : c + 3] > 0).any(), (i, x, y)


@pytest.mark.parametrize("index", range(6))
def test_unpaired_ground_truth_keeps_everything_but_clothes_and_arms(index: int) -> None:
    sample = make_sample(seed=5, index=index, num=6)
    a, b = sample.paired, sample.unpaired
    changeable = np.isin(a.label, CHANGEABLE) | np.isin(b.label, CHANGEABLE)
    assert np.array_equal(a.label[~changeable], b.label[~changeable])
    keep = ~_dilate(changeable, 2)  # anti-aliased rims (alpha < 0.5) reach ~2 px past a label
    assert keep.mean() > 0.5
    assert np.array_equal(a.image[keep], b.image[keep])  # exact before JPEG
    head = a.label == L.HAIR
    assert np.array_equal(head, b.label == L.HAIR)


def test_unpaired_files_keep_the_scene(synth_dir: Path) -> None:
    for line in (synth_dir / "test_pairs_unpaired.txt").read_text().splitlines()[:3]:
        person, cloth = line.split()
        stem = f"{person[:-4]}__{cloth[:-4]}"
        la = _grey(synth_dir / "test_label" / f"{person[:-4]}.png")
        lb = _grey(synth_dir / "test_gt_unpaired_label" / f"{stem}.png")
        changeable = np.isin(la, CHANGEABLE) | np.isin(lb, CHANGEABLE)
        assert np.array_equal(la[~changeable], lb[~changeable])
        keep = ~_dilate(changeable, 3)
        ia, ib = _rgb(synth_dir / "test_img" / person), _rgb(synth_dir / "test_gt_unpaired" / f"{stem}.jpg")
        assert np.abs(ia[keep] - ib[keep]).mean() < 1.5


def _indices_with(families: tuple[str, ...], seed: int, count: int) -> list[int]:
    found = []
    for i in range(200):
        if sample_person(Generator(PCG64(SeedSequence([seed, i, 0]))), (256, 192)).family in families:
            found.append(i)
        if len(found) == count:
            break
    return found


def test_hard_poses_put_forearms_in_front_of_the_cloth() -> None:
    indices = _indices_with(("cross_one", "cross_both"), seed=2, count=4)
    assert len(indices) == 4
    for i in indices:
        s = make_sample(seed=2, index=i, num=200)
        for r in (s.paired, s.unpaired):
            arm = np.isin(r.label, [L.LEFT_ARM, L.RIGHT_ARM])
            assert (arm & _erode(r.warped_mask, 3)).sum() > 40  # arm pixels over the garment
            for k, arm_obj in enumerate(s.person.arms):
                if arm_obj.front:
                    x, y = (int(round(v)) for v in arm_obj.wrist)
                    assert r.label[y, x] == (L.RIGHT_ARM, L.LEFT_ARM)[k]  # the hand is visible
                    assert r.warped_mask[y, x]  # ... where the garment lies underneath


def test_tps_json_describes_the_warp(synth_dir: Path) -> None:
    data = json.loads((synth_dir / "test_gt_tps" / "000000_0.json").read_text())
    assert data["size"] == [256, 192] and "torso" in data["pieces"]
    mask = _grey(synth_dir / "test_gt_warped_mask" / "000000_0.png")
    edge = _grey(synth_dir / "test_edge" / "000000_1.jpg")
    scale = torch.tensor([2 / 191, 2 / 255], dtype=torch.float64)
    for name, piece in data["pieces"].items():
        body = torch.tensor(piece["body"], dtype=torch.float64)
        tmpl = torch.tensor(piece["template"], dtype=torch.float64)
        assert body.shape == tmpl.shape and body.shape[0] >= 6
        grid = sampling_grid(body * scale - 1, (tmpl * scale - 1)[None], 256, 192)[0]
        rows, cols = body[:, 1].round().long().clamp(0, 255), body[:, 0].round().long().clamp(0, 191)
        back = (grid[rows, cols] + 1) / scale  # where the body pixel samples the cloth image
        assert (back - tmpl).abs().max() < 1.5, name  # control points are interpolated
    names = data["torso_point_names"]
    torso = data["pieces"]["torso"]
    for point in ("chest_c", "belly_c"):
        bx, by = torso["body"][names.index(point)]
        tx, ty = torso["template"][names.index(point)]
        assert mask[round(by), round(bx)] == 255 and edge[round(ty), round(tx)] > 128


# ------------------------------------------------------------------------------------ sizes


@pytest.mark.parametrize("size", [(128, 96), (512, 384), (256, 256)])
def test_other_sizes(size: tuple[int, int], tmp_path: Path) -> None:
    root = generate_dataset(tmp_path / "d", 2, size, seed=4)
    h, w = size
    for folder in ("img", "label", "color", "edge", "gt_unpaired", "gt_warped_mask"):
        for path in (root / f"test_{folder}").iterdir():
            with Image.open(path) as im:
                assert im.size == (w, h), path
    label = _grey(root / "test_label" / "000000_0.png")
    assert set(np.unique(label).tolist()) <= ALLOWED and (label == 4).mean() > 0.04
    kp = read_openpose_json(root / "test_pose" / "000000_0_keypoints.json")
    assert float(kp[:, 0].max()) < w and float(kp[:, 1].max()) < h


def test_small_fixture(small_synth_dir: Path) -> None:
    label = _grey(small_synth_dir / "test_label" / "000000_0.png")
    assert label.shape == (64, 48) and (label == 4).any() and set(np.unique(label).tolist()) <= ALLOWED


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("size", [(250, 192), (256, 200), (16, 16), (0, 192)])
def test_bad_size_raises(size: tuple[int, int], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="multiples of 16"):
        generate_dataset(tmp_path / "d", 2, size)


def test_bad_arguments_raise(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        parse_size("256by192")
    assert parse_size("512x384") == (512, 384)
    with pytest.raises(InputError, match="at least 2"):
        generate_dataset(tmp_path / "d", 1)
    with pytest.raises(InputError, match="phase"):
        generate_dataset(tmp_path / "d", 2, phase="../x")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "photo.jpg").write_bytes(b"x")
    with pytest.raises(InputError, match="not empty"):
        generate_dataset(busy, 2, (64, 48))
    assert [p.name for p in busy.iterdir()] == ["photo.jpg"]


def test_cli_synth_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["synth", str(tmp_path / "d"), "--num", "2", "--size", "64x48", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "d" / "test_img").iterdir())) == 2
    result = runner.invoke(app, ["synth", str(tmp_path / "e"), "--num", "2", "--size", "100x48"])
    assert result.exit_code == 2 and "multiples of 16" in result.output
    result = runner.invoke(app, ["synth", str(tmp_path / "e"), "--num", "1", "--size", "64x48"])
    assert result.exit_code == 2


@pytest.mark.parametrize("index", range(4))
def test_upper_framing_shows_the_same_person_larger_with_the_same_guarantees(index: int) -> None:
    """``framing="upper"`` (VITON's camera): the same people and clothes, the body 1.5x larger,
    points outside the picture undetected, and the exact ground truth kept."""
    full, upper = (make_sample(seed=3, index=index, num=4, size=(128, 96), framing=f) for f in ("full", "upper"))
    assert np.array_equal(full.product, upper.product) and full.person.family == upper.person.family
    assert upper.person.scale == pytest.approx(1.5 * full.person.scale)
    for r in (upper.paired, upper.unpaired):
        occluded = np.isin(r.label, OCCLUDERS)
        assert np.array_equal(r.label == L.UPPER_CLOTHES, r.warped_mask & ~occluded)
    garment = [s.paired.warped_mask.sum() for s in (full, upper)]
    assert 1.8 < garment[1] / garment[0] < 2.6  # 1.5^2 = 2.25, less what leaves the picture
    a, b = upper.paired, upper.unpaired
    changeable = np.isin(a.label, CHANGEABLE) | np.isin(b.label, CHANGEABLE)
    assert np.array_equal(a.label[~changeable], b.label[~changeable])
    kp = upper.person.keypoints
    inside = (kp[:, 0] >= 0) & (kp[:, 0] <= 95) & (kp[:, 1] >= 0) & (kp[:, 1] <= 127)
    detected = kp[:, 2] > 0
    assert (detected <= inside).all() and detected[[0, 1, 2, 5]].all()  # nose, neck, shoulders: in the picture
    assert not detected[[10, 13]].any()  # the ankles are below it
    with pytest.raises(InputError, match="framing must be one of full, upper"):
        make_sample(seed=3, index=0, num=4, size=(128, 96), framing="side")


def test_cli_synth_framing(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["synth", str(tmp_path / "d"), "--num", "2", "--size", "64x48", "--framing", "upper"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "d" / META_NAME).read_text())["framing"] == "upper"
    result = runner.invoke(app, ["validate", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["synth", str(tmp_path / "e"), "--num", "2", "--size", "64x48", "--framing", "side"])
    assert result.exit_code == 2 and result.output.strip().splitlines() == ["error: framing must be one of full, upper, got 'side'"]


# --------------------------------------------------------------------------- contact sheet


def test_contact_sheet(synth_dir: Path, tmp_path: Path) -> None:
    out = contact_sheet(synth_dir, tmp_path / "sheet.png", num_rows=4)
    with Image.open(out) as im:
        assert im.size == (192 * len(COLUMNS), HEADER + 4 * 256)
        sheet = np.asarray(im.convert("RGB"))
    assert sheet[HEADER:].std() > 30  # pictures, not a blank page
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]  # no temp file left behind
    with pytest.raises(InputError):
        contact_sheet(tmp_path / "missing", tmp_path / "x.png")


def test_cli_sheet_and_demo_sheet(synth_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["sheet", str(synth_dir), "--out", str(tmp_path / "s.png"), "--rows", "2"])
    assert result.exit_code == 0 and (tmp_path / "s.png").is_file()
    result = runner.invoke(app, ["demo-sheet", "--out", str(tmp_path / "demo"), "--num", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(tmp_path / "demo" / "contact_sheet.png")
    assert (tmp_path / "demo" / "data" / "test_img" / "000002_0.jpg").is_file()
