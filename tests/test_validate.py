"""``validate_dataset`` and ``acgpn validate``: every planted fault is named, in one pass."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from acgpn.cli.data_commands import register
from acgpn.data import inspect_dataset, validate_dataset
from acgpn.labels import VALID_IDS

IDS = np.array(sorted(VALID_IDS), dtype=np.uint8)
H, W = 64, 48


def write_clean(root: Path, num: int = 3) -> Path:
    """A small valid ACGPN-VITON test set: persons 000000_0.jpg.., clothes 000000_1.jpg.."""
    rng = np.random.default_rng(0)
    for view in ("img", "label", "color", "edge", "pose"):
        (root / f"test_{view}").mkdir(parents=True)
    for i in range(num):
        s = f"{i:06d}"
        Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(root / f"test_img/{s}_0.jpg")
        Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(root / f"test_color/{s}_1.jpg")
        Image.fromarray(IDS[rng.integers(0, len(IDS), (H, W))]).save(root / f"test_label/{s}_0.png")
        Image.fromarray(np.full((H, W), 255, np.uint8)).save(root / f"test_edge/{s}_1.jpg")
        kp = np.c_[rng.uniform(2, W - 2, 18), rng.uniform(2, H - 2, 18), np.ones(18)]
        people = [{"pose_keypoints": kp.reshape(-1).tolist()}]
        (root / f"test_pose/{s}_0_keypoints.json").write_text(json.dumps({"people": people}))
    pairs = "".join(f"{i:06d}_0.jpg {(i + 1) % num:06d}_1.jpg\n" for i in range(num))
    (root / "test_pairs.txt").write_text("# unpaired\n" + pairs)
    return root


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clean(tmp_path_factory.mktemp("clean") / "data")


@pytest.fixture
def data(clean_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(clean_dir, tmp_path / "data"))


def _save_gray(path: Path, arr: np.ndarray, mode: str = "L") -> None:
    Image.fromarray(arr.astype(np.uint8)).convert(mode).save(path)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:300])


def _pose(path: Path, values: list[float]) -> None:
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": values}]}))


def _resize_sample(root: Path, size: tuple[int, int]) -> None:
    for rel in ("test_img/000001_0.jpg", "test_label/000001_0.png", "test_color/000001_1.jpg",
                "test_edge/000001_1.jpg"):  # fmt: skip
        img = Image.open(root / rel)
        img.resize((size[1], size[0]), Image.Resampling.NEAREST).save(root / rel)


def _mask_in_alpha(path: Path) -> None:
    """The cloth mask moved into the alpha channel of a black RGBA PNG (a common export)."""
    grey = np.asarray(Image.open(path).convert("L"))
    rgba = np.zeros(grey.shape + (4,), np.uint8)
    rgba[..., 3] = grey
    rgba[:, : grey.shape[1] // 2, 3] = 0  # the garment in the right half only
    Image.fromarray(rgba, "RGBA").save(path, format="PNG")


# (name, fault, pair file or None, expected file name, expected text) — one entry per fault kind
FAULTS: list[tuple[str, Callable[[Path], None], str | None, str, str]] = [
    ("missing-label", lambda r: (r / "test_label/000001_0.png").unlink(), None,
     "test_label/000001_0.png", "missing label file for person image 000001_0.jpg"),
    ("missing-pose", lambda r: (r / "test_pose/000002_0_keypoints.json").unlink(), None,
     "test_pose/000002_0_keypoints.json", "missing pose file"),
    ("missing-edge", lambda r: (r / "test_edge/000000_1.jpg").unlink(), None,
     "test_edge/000000_1.jpg", "missing product_mask file for cloth image 000000_1.jpg"),
    ("missing-folder", lambda r: shutil.rmtree(r / "test_pose"), None,
     "test_pose", "missing viton folder for pose files"),
    ("other-image-type", lambda r: (r / "test_img/000009_0.webp").write_bytes(b"RIFF"), None,
     "test_img/000009_0.webp", "unsupported image type .webp in the image folder"),
    ("transparent-mask", lambda r: _mask_in_alpha(r / "test_edge/000001_1.jpg"), None,
     "test_edge/000001_1.jpg", "has transparent pixels (alpha)"),
    ("empty-mask", lambda r: _save_gray(r / "test_edge/000001_1.jpg", np.zeros((64, 48))), None,
     "test_edge/000001_1.jpg", "the cloth mask is empty (all black)"),
    ("zero-one-mask", lambda r: _save_gray(r / "test_edge/000001_1.jpg", np.ones((64, 48))), None,
     "test_edge/000001_1.jpg", "no pixel brighter than 1 of 255"),
    ("orphan-label", lambda r: shutil.copyfile(r / "test_label/000000_0.png", r / "test_label/000009_0.png"),
     None, "test_label/000009_0.png", "no matching person image"),
    ("orphan-edge", lambda r: shutil.copyfile(r / "test_edge/000000_1.jpg", r / "test_edge/000009_1.jpg"),
     None, "test_edge/000009_1.jpg", "no matching cloth image"),
    ("truncated-image", lambda r: _truncate(r / "test_img/000001_0.jpg"), None,
     "test_img/000001_0.jpg", "unreadable or truncated image"),
    ("corrupt-mask", lambda r: (r / "test_edge/000002_1.jpg").write_bytes(b"\xff\xd8\xff garbage"), None,
     "test_edge/000002_1.jpg", "unreadable or truncated image"),
    ("gif-mask", lambda r: (r / "test_edge/000002_1.jpg").write_bytes(b"GIF89a garbage"), None,
     "test_edge/000002_1.jpg", "not a JPEG or PNG file"),
    ("label-size", lambda r: _save_gray(r / "test_label/000001_0.png", np.zeros((32, 48))), None,
     "test_label/000001_0.png", "size 32x48 (HxW) differs from person image 000001_0.jpg (64x48)"),
    ("mask-size", lambda r: _save_gray(r / "test_edge/000001_1.jpg", np.full((64, 32), 255)), None,
     "test_edge/000001_1.jpg", "size 64x32 (HxW) differs from cloth image 000001_1.jpg"),
    ("not-multiple-of-16", lambda r: _resize_sample(r, (60, 44)), None,
     "test_img/000001_0.jpg", "size 60x44 (HxW) is not a multiple of 16"),
    ("pair-size", lambda r: _resize_sample(r, (128, 96)), "test_pairs.txt",
     "test_pairs.txt:3", "person 000001_0.jpg is 128x96 (HxW) but cloth 000002_1.jpg is 64x48"),
    ("label-id-2-3", lambda r: _save_gray(r / "test_label/000000_0.png", np.full((H, W), 2)), None,
     "test_label/000000_0.png", "label ids [2] are not ACGPN ids"),
    ("label-id-too-big", lambda r: _save_gray(r / "test_label/000000_0.png", np.full((H, W), 20)), None,
     "test_label/000000_0.png", "label ids [20] are not ACGPN ids"),
    ("label-rgb", lambda r: _save_gray(r / "test_label/000002_0.png", np.zeros((H, W)), "RGB"), None,
     "test_label/000002_0.png", "got mode RGB"),
    ("keypoint-count", lambda r: _pose(r / "test_pose/000001_0_keypoints.json", [3.0] * 51), None,
     "test_pose/000001_0_keypoints.json", "found 51"),
    ("malformed-json", lambda r: (r / "test_pose/000001_0_keypoints.json").write_text("{oops"), None,
     "test_pose/000001_0_keypoints.json", "not a readable JSON file"),
    ("pair-absent-cloth", lambda r: (r / "test_pairs.txt").write_text("000000_0.jpg 000777_1.jpg\n"),
     "test_pairs.txt", "test_pairs.txt:1", "cloth image 000777_1.jpg not found"),
    ("pair-absent-person", lambda r: (r / "test_pairs.txt").write_text("\n000555_0.jpg 000001_1.jpg\n"),
     "test_pairs.txt", "test_pairs.txt:2", "person image 000555_0.jpg not found"),
    ("pair-malformed", lambda r: (r / "test_pairs.txt").write_text("000000_0.jpg\n"),
     "test_pairs.txt", "test_pairs.txt:1", "expected 'person_image cloth_image'"),
    ("pair-file-missing", lambda r: (r / "test_pairs.txt").unlink(), "test_pairs.txt",
     "test_pairs.txt", "file not found (expected a pair file"),
    ("own-cloth-missing", lambda r: [(r / f).unlink() for f in ("test_color/000001_1.jpg",
                                                                "test_edge/000001_1.jpg")],
     None, "000001_0.jpg", "cloth image 000001_1.jpg not found"),
]  # fmt: skip


def test_clean_dataset_has_no_problems(clean_dir: Path) -> None:
    assert validate_dataset(clean_dir) == []
    assert validate_dataset(clean_dir, pairs=clean_dir / "test_pairs.txt") == []


@pytest.mark.parametrize("fault", FAULTS, ids=[f[0] for f in FAULTS])
def test_planted_fault_is_named(data: Path, fault: tuple) -> None:
    _, plant, pair_file, file_name, text = fault
    plant(data)
    problems = validate_dataset(data, pairs=None if pair_file is None else data / pair_file)
    hits = [line for line in problems if file_name in line and text in line]
    assert hits, f"no line with {file_name!r} and {text!r} in {problems}"
    assert all("\n" not in line and Path(data).name in line for line in problems)


def test_all_faults_found_in_one_pass(data: Path) -> None:
    singles = [f for f in FAULTS if f[2] is None and f[0] not in ("missing-folder", "own-cloth-missing")]
    kinds = {f[0]: f for f in singles}
    # faults on distinct files only, so none hides another
    chosen = ["missing-pose", "missing-edge", "other-image-type", "orphan-label", "truncated-image",
              "mask-size", "label-id-2-3", "label-rgb", "keypoint-count"]  # fmt: skip
    for name in chosen:
        kinds[name][1](data)
    (data / "test_pairs.txt").write_text("bad line here\n000000_0.jpg 000042_1.jpg\n")
    problems = validate_dataset(data, pairs=data / "test_pairs.txt")
    for name in chosen:
        _, _, _, file_name, text = kinds[name]
        assert any(file_name in p and text in p for p in problems), (name, problems)
    assert any("test_pairs.txt:1" in p for p in problems)
    assert any("test_pairs.txt:2" in p and "000042_1.jpg" in p for p in problems)
    assert len(problems) == len(chosen) + 2


def test_png_persons_find_their_jpeg_cloths(data: Path) -> None:
    """Without a pair file, a person's own cloth is found by its stem under any image extension."""
    from acgpn.data.pairs import paired_list

    person = data / "test_img" / "000001_0.jpg"
    Image.open(person).save(person.with_suffix(".png"))
    person.unlink()
    assert ("000001_0.png", "000001_1.jpg") in paired_list(data)
    assert validate_dataset(data) == []
    (data / "test_color" / "000001_1.jpg").rename(data / "test_color" / "000001_1.png")
    (data / "test_edge" / "000001_1.jpg").rename(data / "test_edge" / "000001_1.png")
    assert ("000001_0.png", "000001_1.png") in paired_list(data) and validate_dataset(data) == []


def test_other_layouts_and_missing_root(data: Path, tmp_path: Path) -> None:
    problems = validate_dataset(data, dataset_layout="cpvton")
    assert len(problems) == 5 and all("missing cpvton folder" in p for p in problems)
    assert any("test/image-parse" in p for p in problems)
    problems = validate_dataset(data, dataset_layout="vitonhd")
    assert any("test/image-parse-v3" in p for p in problems)  # names the preferred folder
    assert any("test/openpose_json" in p for p in problems)
    assert validate_dataset(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: dataset root folder not found"]
    # LIP ids checked against the LIP table when asked
    _save_gray(data / "test_label/000000_0.png", np.full((H, W), 19))
    assert validate_dataset(data, parse_source="lip") == []
    assert any("[19]" in p for p in validate_dataset(data))


def test_synth_dataset_is_clean(request: pytest.FixtureRequest) -> None:
    try:
        root = Path(request.getfixturevalue("synth_dir"))
    except pytest.FixtureLookupError:
        pytest.skip("synth_dir fixture (acgpn.synth) not available yet")
    report = inspect_dataset(root)
    assert report.problems == [] and report.warnings == []  # no empty pose, no off-image keypoint
    assert (report.persons, report.clothes, report.pairs, report.sizes) == (6, 6, 6, [(256, 192)])
    for pair_file in sorted(root.glob("test_pairs*.txt")):
        assert validate_dataset(root, pairs=pair_file) == [], pair_file


# -------------------------------------------------------------------------------------- CLI


def _app() -> typer.Typer:
    """A fresh app with only the data commands (a callback keeps ``validate`` a sub-command)."""
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


def test_cli_clean_exit_0(clean_dir: Path) -> None:
    result = CliRunner().invoke(_app(), ["validate", str(clean_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "ok: 3 persons, 3 clothes, 3 pairs (viton, test, 64x48)"
    result = CliRunner().invoke(
        _app(), ["validate", str(clean_dir), "--pairs", str(clean_dir / "test_pairs.txt"), "--phase", "test"]
    )
    assert result.exit_code == 0 and result.output.startswith("ok: 3 persons"), result.output


def test_cli_problems_exit_2(data: Path) -> None:
    (data / "test_label/000001_0.png").unlink()
    (data / "test_img/000009_0.webp").write_bytes(b"RIFF")
    (data / "test_img/notes.txt").write_text("x")  # not an image: infer ignores it, validate warns
    result = CliRunner().invoke(_app(), ["validate", str(data), "--layout", "viton"])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.strip().splitlines() if not line.startswith("warning: ")]
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors), result.stderr
    assert any("000001_0.png" in line for line in errors) and any("000009_0.webp" in line for line in errors)
    assert any(line.startswith("warning: ") and "notes.txt" in line for line in result.stderr.splitlines()), result.stderr
    assert result.stdout.strip() == f"failed: 2 problem(s) in {data}; 1 warning(s)"
    assert CliRunner().invoke(_app(), ["validate", str(data), "--layout", "nope"]).exit_code == 2


def test_main_app_validate(clean_dir: Path) -> None:
    from acgpn.cli.main import app

    if not hasattr(typer.main.get_command(app), "commands"):  # not a group
        pytest.skip("acgpn.cli.main.app has a single command (no callback yet), so no sub-commands")
    result = CliRunner().invoke(app, ["validate", str(clean_dir)])
    assert result.exit_code == 0 and result.output.startswith("ok: 3 persons"), result.output
    shutil.rmtree(clean_dir / "missing", ignore_errors=True)
    assert CliRunner().invoke(app, ["validate", str(clean_dir / "missing")]).exit_code == 2
