"""Own photos: portrait framing and paste-back, BlazePose -> COCO-18, parse import, cloth masks,
``acgpn tryon`` / ``prepare`` on a real photograph (scikit-image's astronaut), and bad photos.

mediapipe is needed only by the tests marked so (skipped with the reason when it is missing).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from acgpn.cli.main import app
from acgpn.data import TryOnDataset
from acgpn.errors import InputError
from acgpn.photos.cloth import estimate_cloth_mask, frame_cloth
from acgpn.photos.detect import coco18_from_blazepose
from acgpn.photos.frame import CropTransform, crop, paste_back, portrait_box
from acgpn.photos.prepare import prepare_cloth, prepare_person, read_photo, write_prepared
from acgpn.photos.tryon import load_pipeline
from acgpn.pipeline import TryOnPipeline
from acgpn.pose import write_openpose_json
from model_fixtures import roughness
from acgpn.synth import make_sample

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image provides the test photograph")
needs_mediapipe = pytest.mark.skipif(
    __import__("importlib").util.find_spec("mediapipe") is None, reason="mediapipe not installed (pip install 'acgpn[photos]')"
)
SIZE = "64x48"
#: ACGPN id -> a LIP id that converts back to it (for a LIP parse built from a synthetic label).
ACGPN_TO_LIP = {0: 0, 1: 2, 4: 5, 5: 18, 6: 19, 7: 11, 8: 9, 9: 16, 10: 17, 11: 14, 12: 13, 13: 15}


@pytest.fixture(scope="module")
def model_checkpoint() -> Path:
    """The embedded (trained) model's folder, given as ``--checkpoint``: its try-ons are pictures
    (a random-weight model's are noise), at the cost of tiny nets at 64x48."""
    from acgpn.assets import DEFAULT_MODEL, EMBEDDED

    return EMBEDDED[DEFAULT_MODEL]


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The astronaut, product photos on white and on a busy background, and a synthetic person
    with its LIP parse and OpenPose JSON."""
    d = tmp_path_factory.mktemp("photos")
    astronaut = skimage_data.astronaut()
    Image.fromarray(astronaut).save(d / "astronaut.png")
    Image.fromarray(np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)).save(d / "two_people.png")
    Image.fromarray(skimage_data.coffee()).save(d / "coffee.jpg")
    Image.fromarray(astronaut).resize((40, 40)).save(d / "tiny.png")
    (d / "notes.jpg").write_text("not a photo")
    s = make_sample(0, 0, 2, (256, 192))
    Image.fromarray(make_sample(0, 1, 2, (256, 192)).product).save(d / "shirt.jpg", quality=95)
    busy = np.asarray(Image.fromarray(skimage_data.chelsea()).resize((192, 256)))
    busy = np.where((s.product_mask > 127)[..., None], s.product, busy)
    Image.fromarray(busy.astype(np.uint8)).save(d / "busy.png")
    Image.fromarray(s.paired.image).save(d / "synth.png")
    lip = np.vectorize(ACGPN_TO_LIP.get)(s.paired.label).astype(np.uint8)
    Image.fromarray(lip, "L").save(d / "synth_parse.png")
    np.save(d / "synth_label.npy", s.paired.label)
    write_openpose_json(d / "synth_keypoints.json", torch.from_numpy(s.person.keypoints))
    return {p.stem: p for p in d.iterdir()}


def cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_error(result, text: str) -> None:  # type: ignore[no-untyped-def]
    """Exit 2, one ``error:`` line on stderr containing ``text``, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], result.stderr
    assert "Traceback" not in result.output


# ------------------------------------------------------------------------------------ pure parts
def test_blazepose_landmarks_map_to_coco18_by_joint() -> None:
    marks = np.zeros((33, 3))
    marks[:, 2] = 0.9
    marks[:, 0] = np.linspace(0.1, 0.9, 33)  # x identifies the landmark
    marks[:, 1] = 0.5
    marks[15, 2] = 0.2  # left wrist barely visible -> undetected
    marks[28, 1] = 1.2  # right ankle below the photo -> undetected
    kp = coco18_from_blazepose(marks, height=200, width=100)
    x_of = lambda i: marks[i, 0] * 100 - 0.5  # noqa: E731
    assert kp[2, 0] == pytest.approx(x_of(12), abs=1e-4)  # COCO right shoulder = BlazePose 12
    assert kp[5, 0] == pytest.approx(x_of(11), abs=1e-4)  # COCO left shoulder = BlazePose 11
    assert kp[14, 0] == pytest.approx(x_of(5), abs=1e-4) and kp[17, 0] == pytest.approx(x_of(7), abs=1e-4)  # r-eye, l-ear
    assert kp[1, 0] == pytest.approx((x_of(11) + x_of(12)) / 2, abs=1e-4)  # neck: mid-shoulders
    assert kp[1, 1] == pytest.approx(99.5, abs=1e-4)
    assert kp[7].tolist() == [0, 0, 0] and kp[10].tolist() == [0, 0, 0]


def test_portrait_box_centres_the_torso_and_keeps_the_person() -> None:
    person = np.zeros((300, 400), dtype=bool)
    person[40:260, 150:230] = True
    kp = torch.zeros(18, 3)
    kp[[2, 5, 8, 11]] = torch.tensor([[170.0, 80, 1], [210, 80, 1], [175, 200, 1], [205, 200, 1]])
    left, top, right, bottom = portrait_box(person, (256, 192), kp)
    assert (right - left) / (bottom - top) == pytest.approx(0.75, abs=0.01)
    assert left <= 150 and right >= 230 and top <= 40 and bottom >= 260
    assert (left + right) / 2 == pytest.approx(190, abs=1)
    wide = np.zeros((300, 400), dtype=bool)
    wide[100:160, 20:380] = True  # arms out: wider than tall
    left, top, right, bottom = portrait_box(wide, (256, 192))
    assert left <= 20 and right >= 380 and (right - left) / (bottom - top) == pytest.approx(0.75, abs=0.01)


def test_crop_and_paste_back_round_trip() -> None:
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (120, 100, 3), dtype=np.uint8))
    t = CropTransform((120, 100), (-10, 20, 38, 84), (64, 48))  # box of the frame's size, partly off the photo
    frame = crop(photo, t, Image.Resampling.BICUBIC, (1, 2, 3))
    assert np.asarray(frame)[0, 0].tolist() == [1, 2, 3]  # off-photo part filled
    back = np.asarray(paste_back(photo, frame, t))
    assert np.array_equal(back, np.asarray(photo))  # the identity crop pastes back exactly
    untouched = paste_back(photo, Image.new("RGB", (48, 64)), t, region=np.zeros((64, 48)))
    assert np.array_equal(np.asarray(untouched), np.asarray(photo))
    pts = np.array([[5.0, 30.0], [37.2, 83.9]])
    assert np.allclose(t.to_photo(t.to_frame(pts)), pts)
    scaled = CropTransform((120, 100), (0, 0, 75, 100), (64, 48))
    assert np.allclose(scaled.to_frame(np.array([[74.5, 99.5]])), [[47.5, 63.5]])  # far pixel edges match
    assert CropTransform.from_json(json.loads(json.dumps(t.to_json()))) == t


def test_cloth_mask_estimate_matches_the_synthetic_truth() -> None:
    for seed in range(3):
        s = make_sample(seed, 0, 2, (256, 192))
        mask = estimate_cloth_mask(s.product)
        truth = s.product_mask > 127
        assert (mask & truth).sum() / (mask | truth).sum() > 0.95
    cloth, framed, t = frame_cloth(Image.fromarray(s.product), mask, (64, 48))
    assert cloth.size == framed.size == (48, 64) and t.size == (64, 48)
    rgb, m = np.asarray(cloth), np.asarray(framed) > 127
    assert (rgb[~m] > 250).all()  # off the garment: white


def test_photo_reading_applies_exif_orientation(tmp_path: Path) -> None:
    img = Image.new("RGB", (120, 80), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img.save(tmp_path / "rotated.jpg", exif=exif)
    assert read_photo(tmp_path / "rotated.jpg", "a photo").size == (80, 120)


def test_given_lip_parse_and_pose_need_no_mediapipe(photos: dict[str, Path]) -> None:
    p = prepare_person(photos["synth"], (128, 96), parse=photos["synth_parse"], parse_format="lip", pose=photos["synth_keypoints"])
    expected = crop(Image.fromarray(np.load(photos["synth_label"])), p.transform, Image.Resampling.NEAREST, 0)
    assert np.array_equal(np.asarray(p.label), np.asarray(expected))  # LIP ids -> ACGPN ids, same crop
    assert not p.approximate and p.pose_source.endswith("synth_keypoints.json")
    with pytest.raises(InputError, match="--parse-format"):
        prepare_person(photos["synth"], (128, 96), parse=photos["synth_parse"], pose=photos["synth_keypoints"])


def test_default_model_is_the_embedded_one_or_a_clear_message() -> None:
    import inspect

    default = inspect.signature(TryOnPipeline.from_pretrained).parameters["directory"].default
    shipped = default is not inspect.Parameter.empty and (Path(__import__("acgpn").__file__).parent / "assets" / "synthetic" / "config.json").is_file()
    if shipped:  # an install with the embedded model must load it
        pipe, note = load_pipeline(None)
        assert isinstance(pipe, TryOnPipeline) and "embedded" in note
    else:  # without it: one clear message saying what to pass
        with pytest.raises(InputError, match="embedded model.*--checkpoint"):
            load_pipeline(None)


def test_core_imports_neither_mediapipe_nor_gradio() -> None:
    code = ("import sys, acgpn, acgpn.cli.main, acgpn.pipeline, acgpn.data, acgpn.photos, acgpn.photos.prepare; "
            "bad = [m for m in ('mediapipe', 'gradio', 'cv2') if m in sys.modules]; print(bad); sys.exit(bool(bad))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------------------------ CLI
def test_bad_photos_get_one_line_and_exit_2(photos: dict[str, Path], model_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    base = ["tryon", "--checkpoint", model_checkpoint, "--out", out, "--size", SIZE]
    given = ["--parse", photos["synth_parse"], "--parse-format", "lip", "--pose", photos["synth_keypoints"]]
    assert_error(cli(*base, "--person", photos["notes"], "--cloth", photos["shirt"]), "not a JPEG or PNG")
    assert_error(cli(*base, "--person", photos["tiny"], "--cloth", photos["shirt"]), "at least 64 pixels")
    assert_error(cli(*base, "--person", photos["synth"], *given, "--cloth", photos["busy"]), "background is not plain")
    assert_error(cli(*base, "--person", photos["synth"], *given, "--cloth", photos["shirt"], "--parse-format", "pascal"), "--parse-format")
    assert not out.exists() and not out.with_suffix(".json").exists()



def _given_folders(photos: dict[str, Path], root: Path) -> dict[str, Path]:
    """people/anna.png (synthetic person), clothes/shirt.jpg, and anna's parse and pose folders."""
    folders = {name: root / name for name in ("people", "clothes", "parses", "poses")}
    for folder in folders.values():
        folder.mkdir()
    (folders["people"] / "anna.png").write_bytes(photos["synth"].read_bytes())
    (folders["clothes"] / "shirt.jpg").write_bytes(photos["shirt"].read_bytes())
    (folders["parses"] / "anna.png").write_bytes(photos["synth_parse"].read_bytes())
    (folders["poses"] / "anna_keypoints.json").write_bytes(photos["synth_keypoints"].read_bytes())
    return folders


def test_prepare_refuses_missing_or_non_folder_options(photos: dict[str, Path], tmp_path: Path) -> None:
    f = _given_folders(photos, tmp_path)
    a_file, empty, out = tmp_path / "a_file", tmp_path / "empty", tmp_path / "dataset"
    a_file.write_text("x")
    empty.mkdir()
    base = ["prepare", "--out", out, "--size", SIZE, "--parse-format", "lip"]
    good = {"--people": f["people"], "--clothes": f["clothes"], "--parses": f["parses"], "--poses": f["poses"]}

    def run(**change: Path):  # type: ignore[no-untyped-def]
        options = {**good, **{"--" + k.replace("_", "-"): v for k, v in change.items()}}
        return cli(*base, *[x for item in options.items() for x in item])

    for option in ("parses", "poses", "cloth_masks"):  # a given folder is used, never silently replaced
        assert_error(run(**{option: tmp_path / "nope"}), f"nope: folder not found; --{option.replace('_', '-')} expects")
        assert_error(run(**{option: a_file}), f"a_file: is not a folder; --{option.replace('_', '-')} expects")
    assert_error(run(people=a_file), "a_file: is not a folder; --people expects a folder of person photos")
    assert_error(run(clothes=tmp_path / "nope"), "nope: folder not found; --clothes")
    # A given folder without the file for one photo: the expected file is named.
    assert_error(run(poses=empty), f"{empty / 'anna_keypoints.json'}: not found (nor anna.json); --poses is given")
    assert_error(run(parses=empty), f"{empty / 'anna.png'}: not found; --parses is given")
    assert_error(run(cloth_masks=empty), f"{empty / 'shirt.png'}: not found (nor shirt.jpg, shirt.jpeg); --cloth-masks")
    assert not out.exists()


def test_prepare_refuses_an_output_among_its_inputs(photos: dict[str, Path], tmp_path: Path) -> None:
    f = _given_folders(photos, tmp_path)
    base = ["prepare", "--people", f["people"], "--clothes", f["clothes"], "--poses", f["poses"], "--size", SIZE]
    assert_error(cli(*base, "--out", f["people"]), "the output folder is the --people folder")
    assert_error(cli(*base, "--out", f["clothes"] / ".." / "clothes"), "the output folder is the --clothes folder")
    assert_error(cli(*base, "--out", f["people"] / "dataset"), "the output folder lies inside the --people folder")
    assert_error(cli(*base, "--out", f["poses"]), "the output folder is the --poses folder")
    assert_error(cli(*base, "--out", tmp_path), "the output folder holds the --people folder")  # the reverse
    assert sorted(p.name for p in f["people"].iterdir()) == ["anna.png"]  # nothing written among the photos
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clothes", "parses", "people", "poses"]


def test_a_pose_with_no_person_is_refused(photos: dict[str, Path], model_checkpoint: Path, tmp_path: Path) -> None:
    given = {"parse": photos["synth_parse"], "parse_format": "lip"}
    nobody = tmp_path / "nobody_keypoints.json"
    nobody.write_text(json.dumps({"people": []}))
    with pytest.raises(InputError, match="no person in this pose: 0/18 keypoints") as info:
        prepare_person(photos["synth"], (64, 48), pose=nobody, **given)
    assert info.value.path == str(nobody)
    few = torch.zeros(18, 3)
    few[[2, 5]] = torch.tensor([[60.0, 80.0, 1.0], [130.0, 80.0, 1.0]])  # two shoulders only: below the rule's 3
    few[8] = torch.tensor([500.0, 200.0, 1.0])  # a hip off the 256x192 photo does not count
    write_openpose_json(tmp_path / "few.json", few)
    with pytest.raises(InputError, match="2/18 keypoints detected on the 256x192"):
        prepare_person(photos["synth"], (64, 48), pose=tmp_path / "few.json", **given)
    # Points on the photo but away from the person: none falls in the person's frame.
    parse = np.zeros((256, 192), dtype=np.uint8)
    parse[10:40, 10:40] = 5  # LIP upper clothes, top-left corner
    Image.fromarray(parse, "L").save(tmp_path / "corner_parse.png")
    elsewhere = torch.tensor([[150.0, 200.0 + i, 1.0] for i in range(18)])
    write_openpose_json(tmp_path / "elsewhere.json", elsewhere)
    with pytest.raises(InputError, match="only 0/18 keypoints of this pose fall in the person's frame"):
        prepare_person(photos["synth"], (64, 48), pose=tmp_path / "elsewhere.json", parse=tmp_path / "corner_parse.png", parse_format="lip")
    # The CLI: one line naming the pose file, nothing written.
    out = tmp_path / "out.png"
    res = cli("tryon", "--person", photos["synth"], "--cloth", photos["shirt"], "--pose", nobody, "--parse", photos["synth_parse"],
              "--parse-format", "lip", "--out", out, "--checkpoint", model_checkpoint, "--size", SIZE)  # fmt: skip
    assert_error(res, f"{nobody}: no person in this pose")
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_validate_and_infer_refuse_a_pose_with_string_numbers(photos: dict[str, Path], model_checkpoint: Path, tmp_path: Path) -> None:
    person = prepare_person(photos["synth"], (64, 48), parse=photos["synth_parse"], parse_format="lip", pose=photos["synth_keypoints"])
    cloth = prepare_cloth(photos["shirt"], (64, 48))
    root = write_prepared(tmp_path / "ds", [person], [cloth], [(person.name, cloth.name)])
    pose = root / "test_pose" / "synth_0_keypoints.json"
    data = json.loads(pose.read_text())
    data["people"][0]["pose_keypoints_2d"][4] = "12"
    pose.write_text(json.dumps(data))
    expected = f"{pose}: people[0].pose_keypoints_2d[4] is a string \"12\"; expected a JSON number"
    assert_error(cli("validate", root, "--pairs", root / "test_pairs.txt"), expected)
    res = cli("infer", "--data", root, "--pairs", root / "test_pairs.txt", "--checkpoint", model_checkpoint, "--out", tmp_path / "inf", "--device", "cpu")
    assert_error(res, expected)
    assert not (tmp_path / "inf").exists()


@needs_mediapipe
def test_no_person_and_two_people_are_refused(photos: dict[str, Path], model_checkpoint: Path, tmp_path: Path) -> None:
    base = ["tryon", "--checkpoint", model_checkpoint, "--out", tmp_path / "out.png", "--size", SIZE, "--cloth", photos["shirt"]]
    assert_error(cli(*base, "--person", photos["coffee"]), "no person found")
    assert_error(cli(*base, "--person", photos["two_people"]), "2 people found")
    assert not any(tmp_path.iterdir())


@needs_mediapipe
def test_tryon_on_a_real_photograph(photos: dict[str, Path], model_checkpoint: Path, tmp_path: Path) -> None:
    out, kept = tmp_path / "astronaut_tryon.png", tmp_path / "prepared"
    res = cli("tryon", "--person", photos["astronaut"], "--cloth", photos["shirt"], "--checkpoint", model_checkpoint,
              "--out", out, "--size", SIZE, "--keep-prepared", kept, "--device", "cpu")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "APPROXIMATE" in res.stderr  # the log flags the parse
    assert roughness(np.asarray(Image.open(out))) < 0.4  # a picture, not noise
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["approximate_parse"] is True and meta["person"]["pose"] == "mediapipe"

    # Pose found and the crop is a sane portrait around the body.
    ds = TryOnDataset(kept, pairs=kept / "test_pairs.txt")
    kp = ds[0]["keypoints"]
    seen = (kp[:, 0] > 1) & (kp[:, 1] > 1)
    assert seen[[0, 1, 2, 5, 14, 15]].all()  # nose, neck, shoulders, eyes
    h, w = ds.size
    assert (h, w) == (64, 48) and kp[0, 1] < 0.4 * h  # head in the upper part
    assert abs(float(kp[[2, 5], 0].mean()) - w / 2) < 0.12 * w  # torso centred
    box = meta["person"]["transform"]["box"]
    assert (box[2] - box[0]) / (box[3] - box[1]) == pytest.approx(0.75, abs=0.01)
    label = ds[0]["label"][0]
    nose = label[int(kp[0, 1]), int(kp[0, 0])]
    assert nose == 12 and (label == 4).sum() > (label == 12).sum() > 0 and (label == 0).any()

    # The prepared folder is a valid dataset, and infer on it reproduces tryon's image.
    res = cli("validate", kept, "--pairs", kept / "test_pairs.txt")
    assert res.exit_code == 0 and res.stdout.startswith("ok: 1 persons, 1 clothes, 1 pairs"), res.output
    res = cli("infer", "--data", kept, "--pairs", kept / "test_pairs.txt", "--checkpoint", model_checkpoint,
              "--out", tmp_path / "infer", "--device", "cpu")  # fmt: skip
    assert res.exit_code == 0, res.output
    again = np.asarray(Image.open(tmp_path / "infer" / "astronaut_0__shirt_1.png"), dtype=np.int16)
    assert np.abs(again - np.asarray(Image.open(out), dtype=np.int16)).max() <= 1

    # --paste-back: the photo's size, the background far from the person untouched.
    pasted = tmp_path / "pasted.png"
    res = cli("tryon", "--person", photos["astronaut"], "--cloth", photos["shirt"], "--checkpoint", model_checkpoint,
              "--out", pasted, "--size", SIZE, "--paste-back", "--device", "cpu")  # fmt: skip
    assert res.exit_code == 0, res.output
    result, original = np.asarray(Image.open(pasted)), np.asarray(Image.open(photos["astronaut"]))
    assert result.shape == original.shape
    right = box[2] + 1
    assert np.array_equal(result[:, right:], original[:, right:])


def test_prepare_folders_with_given_parses_and_poses(photos: dict[str, Path], tmp_path: Path) -> None:
    people, clothes, parses, poses = (tmp_path / n for n in ("people", "clothes", "parses", "poses"))
    for folder in (people, clothes, parses, poses):
        folder.mkdir()
    for name in ("anna", "ben"):
        (people / f"{name}.png").write_bytes(photos["synth"].read_bytes())
        (parses / f"{name}.png").write_bytes(photos["synth_parse"].read_bytes())
        (poses / f"{name}_keypoints.json").write_bytes(photos["synth_keypoints"].read_bytes())
    (clothes / "shirt.jpg").write_bytes(photos["shirt"].read_bytes())
    out = tmp_path / "dataset"
    res = cli("prepare", "--people", people, "--clothes", clothes, "--out", out, "--size", SIZE, "--parses", parses,
              "--parse-format", "lip", "--poses", poses)  # fmt: skip
    assert res.exit_code == 0 and "wrote 2 persons (0 with an approximate parse), 1 clothes, 2 pairs" in res.stdout, res.output
    assert (out / "test_pairs.txt").read_text() == "anna_0.png shirt_1.png\nben_0.png shirt_1.png\n"
    res = cli("validate", out, "--pairs", out / "test_pairs.txt")
    assert res.exit_code == 0 and res.stdout.startswith("ok: 2 persons, 1 clothes, 2 pairs (viton, test, 64x48)"), res.output
    record = json.loads((out / "photos.json").read_text())
    assert record["persons"]["anna_0.png"]["parse"].startswith("lip:") and record["clothes"]["shirt_1.png"]["cloth_mask"] == "estimated"
    # A bad photo among good ones: nothing is written.
    (people / "zz.png").write_text("broken")
    (parses / "zz.png").write_bytes(photos["synth_parse"].read_bytes())  # its companions are there
    (poses / "zz_keypoints.json").write_bytes(photos["synth_keypoints"].read_bytes())
    res = cli("prepare", "--people", people, "--clothes", clothes, "--out", tmp_path / "other", "--size", SIZE,
              "--parses", parses, "--parse-format", "lip", "--poses", poses)  # fmt: skip
    assert_error(res, "not a JPEG or PNG")
    assert not (tmp_path / "other").exists()
