"""DatasetLayout readers, pair files, resizing and batching (``acgpn.data``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, default_collate

from acgpn.data import SAMPLE_TENSOR_KEYS, TryOnDataset, build_sample, format_pairs, output_name, paired_list, read_pairs
from acgpn.data.pairs import list_images, output_clashes
from acgpn.errors import InputError
from acgpn.labels import VALID_IDS
from acgpn.pose import BODY25_TO_COCO18, pose_map, read_openpose_json, scale_keypoints

ACGPN_IDS = np.array(sorted(VALID_IDS), dtype=np.uint8)
#: Inverse map ACGPN id -> a LIP/CIHP id that converts back to it (hair->2, upper->5, noise->3 glove,
#: pants->9, legs->16/17, arms->14/15, face->13, shoes->18/19).
ACGPN_TO_LIP = {0: 0, 1: 2, 4: 5, 5: 18, 6: 19, 7: 3, 8: 9, 9: 16, 10: 17, 11: 14, 12: 13, 13: 15}
VIEWS = ("img", "label", "color", "edge", "pose")


def write_tiny_viton(root: Path, num: int = 4, size: tuple[int, int] = (64, 48), seed: int = 0) -> Path:
    """A small random-but-valid ACGPN-VITON test set (labels in 4x4 blocks, some undetected points)."""
    rng = np.random.default_rng(seed)
    h, w = size
    for view in VIEWS:
        (root / f"test_{view}").mkdir(parents=True, exist_ok=True)
    for i in range(num):
        stem = f"{i:06d}"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / f"test_img/{stem}_0.jpg")
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / f"test_color/{stem}_1.jpg")
        blocks = ACGPN_IDS[rng.integers(0, len(ACGPN_IDS), (h // 4, w // 4))]
        Image.fromarray(blocks.repeat(4, 0).repeat(4, 1)).save(root / f"test_label/{stem}_0.png")
        mask = np.zeros((h, w), np.uint8)
        mask[h // 8 : h - h // 8, w // 6 : w - w // 6] = 255
        Image.fromarray(mask).save(root / f"test_edge/{stem}_1.jpg")
        kp = np.c_[rng.uniform(2, w - 2, 18), rng.uniform(2, h - 2, 18), rng.uniform(0.1, 1, 18)]
        kp[17] = 0  # undetected
        people = [{"pose_keypoints": kp.reshape(-1).tolist()}]
        (root / f"test_pose/{stem}_0_keypoints.json").write_text(json.dumps({"people": people}))
    return root


@pytest.fixture(scope="module")
def viton_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared synthetic set (``synth_dir``) when available, else a tiny hand-made one."""
    try:
        return Path(request.getfixturevalue("synth_dir"))
    except pytest.FixtureLookupError:
        return write_tiny_viton(tmp_path_factory.mktemp("viton"), num=4, size=(128, 96))


def copy_as(src: Path, dst: Path, layout: str) -> Path:
    """Copy an ACGPN-VITON test set into the ``cpvton`` or ``vitonhd`` layout.

    Images are copied byte for byte; labels become LIP/CIHP ids (cpvton: mode L, vitonhd: palette
    PNG); vitonhd renames ``X_0``/``Y_1`` to ``X_00``/``Y_00`` and writes BODY_25 keypoints.
    """
    base = dst / "test"
    folders = {
        "cpvton": ("image", "image-parse", "cloth", "cloth-mask", "pose"),
        "vitonhd": ("image", "image-parse-v3", "cloth", "cloth-mask", "openpose_json"),
    }[layout]
    for folder in folders:
        (base / folder).mkdir(parents=True)
    img, parse, cloth, mask, pose = (base / f for f in folders)
    lut = np.zeros(256, np.uint8)
    lut[list(ACGPN_TO_LIP)] = list(ACGPN_TO_LIP.values())
    hd = layout == "vitonhd"

    def rename(name: str) -> str:
        stem = Path(name).stem
        return f"{stem[:-2]}_00{Path(name).suffix}" if hd else name

    for person in sorted((src / "test_img").iterdir()):
        stem = person.stem
        shutil.copyfile(person, img / rename(person.name))
        ids = lut[np.asarray(Image.open(src / f"test_label/{stem}.png"))]
        label = Image.fromarray(ids)
        if hd:
            label = label.convert("P")
            label.putpalette(np.random.default_rng(1).integers(0, 256, 768, dtype=np.uint8).tobytes())
        label.save(parse / f"{Path(rename(person.name)).stem}.png")
        kp_src = src / f"test_pose/{stem}_keypoints.json"
        kp_dst = pose / f"{Path(rename(person.name)).stem}_keypoints.json"
        if hd:
            body25 = torch.full((25, 3), 77.0)  # mid-hip and feet: junk the reader must drop
            body25[list(BODY25_TO_COCO18)] = read_openpose_json(kp_src)
            people = [{"pose_keypoints_2d": body25.flatten().tolist()}]
            kp_dst.write_text(json.dumps({"version": 1.3, "people": people}))
        else:
            shutil.copyfile(kp_src, kp_dst)
    for c in sorted((src / "test_color").iterdir()):
        shutil.copyfile(c, cloth / rename(c.name))
        shutil.copyfile(src / "test_edge" / c.name, mask / rename(c.name))
    return dst


def write_pairs(path: Path, pairs: list[tuple[str, str]], header: str = "") -> Path:
    path.write_text(header + "".join(f"{p} {c}\n" for p, c in pairs))
    return path


def assert_same(a: dict, b: dict) -> None:
    for key in SAMPLE_TENSOR_KEYS:
        assert torch.equal(a[key], b[key]), key


# ----------------------------------------------------------------------------------- format


def test_sample_format_and_normalisation(viton_dir: Path) -> None:
    ds = TryOnDataset(viton_dir)
    first = paired_list(viton_dir)[0]
    h, w = np.asarray(Image.open(viton_dir / "test_img" / first[0])).shape[:2]
    assert ds.size == (h, w) and h % 16 == 0 and w % 16 == 0
    s = ds[0]
    assert (s["person"], s["cloth_name"]) == first == (first[0], first[0].replace("_0.", "_1."))
    shapes = {"image": (3, h, w), "label": (1, h, w), "cloth": (3, h, w), "product_mask": (1, h, w),
              "pose": (18, h, w), "keypoints": (18, 3)}  # fmt: skip
    for key, shape in shapes.items():
        assert s[key].shape == shape and s[key].dtype == torch.float32, key
    raw = np.asarray(Image.open(viton_dir / "test_img" / first[0]).convert("RGB"), np.float32)
    assert torch.equal(s["image"], torch.from_numpy(raw).permute(2, 0, 1) / 255 * 2 - 1)
    raw_label = np.asarray(Image.open(viton_dir / "test_label" / first[0].replace(".jpg", ".png")))
    assert torch.equal(s["label"][0], torch.from_numpy(raw_label.astype(np.float32)))
    assert set(s["label"].unique().tolist()) <= VALID_IDS
    raw_edge = np.asarray(Image.open(viton_dir / "test_edge" / first[1]).convert("L"), np.float32)
    assert torch.equal(s["product_mask"][0], torch.from_numpy(raw_edge) / 255)
    assert -1 <= s["cloth"].min() and s["cloth"].max() <= 1
    kp = read_openpose_json(viton_dir / "test_pose" / first[0].replace(".jpg", "_keypoints.json"))
    assert torch.equal(s["keypoints"], kp)
    assert torch.equal(s["pose"], pose_map(kp, h, w))
    with pytest.raises(IndexError):
        ds[len(ds)]


# ------------------------------------------------------------------------------ layouts


@pytest.fixture(scope="module")
def three_layouts(viton_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("layouts")
    return {
        "viton": viton_dir,
        "cpvton": copy_as(viton_dir, tmp / "cpvton", "cpvton"),
        "vitonhd": copy_as(viton_dir, tmp / "vitonhd", "vitonhd"),
    }


def test_three_readers_return_identical_tensors(three_layouts: dict[str, Path]) -> None:
    sets = {name: TryOnDataset(root, dataset_layout=name) for name, root in three_layouts.items()}
    assert len({len(d) for d in sets.values()}) == 1
    assert sets["cpvton"].parse_source == "lip" and sets["vitonhd"].parse_source == "cihp"
    for i in range(len(sets["viton"])):
        ref = sets["viton"][i]
        assert_same(ref, sets["cpvton"][i])
        hd = sets["vitonhd"][i]
        assert_same(ref, hd)
        assert hd["person"] == hd["cloth_name"] == ref["person"].replace("_0.", "_00.")


def test_three_readers_unpaired_pair_files(three_layouts: dict[str, Path], tmp_path: Path) -> None:
    persons = [p for p, _ in paired_list(three_layouts["viton"])]
    clothes = [p.replace("_0.", "_1.") for p in persons][::-1]
    viton_pairs = list(zip(persons, clothes))
    hd_pairs = [(p.replace("_0.", "_00."), c.replace("_1.", "_00.")) for p, c in viton_pairs]
    files = {
        "viton": write_pairs(tmp_path / "v.txt", viton_pairs),
        "cpvton": write_pairs(tmp_path / "c.txt", viton_pairs),
        "vitonhd": write_pairs(tmp_path / "h.txt", hd_pairs),
    }
    sets = {n: TryOnDataset(three_layouts[n], dataset_layout=n, pairs=files[n]) for n in files}
    for i in range(len(viton_pairs)):
        assert sets["viton"][i]["cloth_name"] == clothes[i]
        assert_same(sets["viton"][i], sets["cpvton"][i])
        assert_same(sets["viton"][i], sets["vitonhd"][i])


def test_vitonhd_falls_back_to_image_parse(three_layouts: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "hd"
    shutil.copytree(three_layouts["vitonhd"], root)
    (root / "test/image-parse-v3").rename(root / "test/image-parse")
    ds = TryOnDataset(root, dataset_layout="vitonhd")
    assert ds.folders["label"].name == "image-parse"
    assert_same(ds[0], TryOnDataset(three_layouts["viton"])[0])


def test_parse_source_option(three_layouts: dict[str, Path]) -> None:
    # LIP ids read as ACGPN ids: 3 (glove), 14..19 are rejected, naming the label file
    ds = TryOnDataset(three_layouts["cpvton"], dataset_layout="cpvton", parse_source="acgpn")
    with pytest.raises(InputError, match=r"image-parse/.*\.png: label ids \[.*\] are not ACGPN ids"):
        for i in range(len(ds)):
            ds[i]
    with pytest.raises(InputError, match="unknown parse_source"):
        TryOnDataset(three_layouts["cpvton"], dataset_layout="cpvton", parse_source="pascal")
    with pytest.raises(InputError, match="unknown layout"):
        TryOnDataset(three_layouts["cpvton"], dataset_layout="deepfashion")


# ---------------------------------------------------------------------------------- pairs


def test_pair_files_keep_order_and_comments(viton_dir: Path, tmp_path: Path) -> None:
    paired = paired_list(viton_dir)
    assert paired == sorted(paired) and all(c == p.replace("_0.", "_1.") for p, c in paired)
    persons = [p for p, _ in paired]
    unpaired = [(p, paired[(i + 1) % len(paired)][1]) for i, p in enumerate(persons)][::-1]
    text = "# unpaired test list\n\n" + "".join(f"{p}  {c}   # note\n" for p, c in unpaired) + "\n"
    (tmp_path / "pairs.txt").write_text(text)
    assert read_pairs(tmp_path / "pairs.txt") == unpaired
    ds = TryOnDataset(viton_dir, pairs=tmp_path / "pairs.txt")
    assert [(ds[i]["person"], ds[i]["cloth_name"]) for i in range(len(ds))] == unpaired
    assert TryOnDataset(viton_dir, pairs=unpaired).pairs == unpaired  # explicit list also accepted
    assert TryOnDataset(viton_dir, pairs=write_pairs(tmp_path / "p.txt", paired)).pairs == paired


def test_pair_file_errors(viton_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"file not found \(expected a pair file"):
        TryOnDataset(viton_dir, pairs=tmp_path / "missing.txt")
    (tmp_path / "bad.txt").write_text("a_0.jpg b_1.jpg\nonly_one.jpg\n")
    with pytest.raises(InputError, match=r"bad\.txt:2: expected 'person_image cloth_image'"):
        read_pairs(tmp_path / "bad.txt")
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(InputError, match="no pairs"):
        read_pairs(tmp_path / "empty.txt")
    person = paired_list(viton_dir)[0][0]
    absent = write_pairs(tmp_path / "p.txt", [(person, person.replace("_0.", "_1.")), (person, "9_1.jpg")])
    with pytest.raises(InputError, match=r"test_color/9_1\.jpg: file not found \(pair 2: "):
        TryOnDataset(viton_dir, pairs=absent)  # checked up front, before any decoding
    with pytest.raises(InputError, match=r"test_img/9_0\.jpg: file not found \(pair 1: "):
        TryOnDataset(viton_dir, pairs=[("9_0.jpg", person.replace("_0.", "_1."))])
    shutil.rmtree(tmp_path / "copy", ignore_errors=True)
    ds = TryOnDataset(shutil.copytree(viton_dir, tmp_path / "copy"))
    (tmp_path / "copy/test_color" / ds.pairs[0][1]).unlink()  # removed after construction
    with pytest.raises(InputError, match=r"file not found \(expected the cloth image\)"):
        ds[0]


# --------------------------------------------------------------------------------- resize


def test_downscale_2x_is_stride_sampling(viton_dir: Path) -> None:
    full = TryOnDataset(viton_dir)
    h, w = full.size
    if h % 32 or w % 32:
        pytest.skip("needs sides that are multiples of 32")
    half = TryOnDataset(viton_dir, size=(h // 2, w // 2))
    a, b = full[0], half[0]
    assert b["label"].shape == (1, h // 2, w // 2)
    assert torch.equal(b["label"], a["label"][:, 1::2, 1::2])  # PIL NEAREST samples pixel centres
    assert torch.equal(b["product_mask"], a["product_mask"][:, 1::2, 1::2])
    assert set(b["label"].unique().tolist()) <= VALID_IDS
    assert torch.equal(b["keypoints"], scale_keypoints(a["keypoints"], 0.5, 0.5))
    assert torch.equal(b["pose"], pose_map(b["keypoints"], h // 2, w // 2))
    src = Image.open(viton_dir / "test_img" / a["person"]).convert("RGB")
    ref = np.asarray(src.resize((w // 2, h // 2), Image.Resampling.BICUBIC), np.float32)
    assert torch.equal(b["image"], torch.from_numpy(ref).permute(2, 0, 1) / 255 * 2 - 1)


def test_upscale_to_other_multiple_of_16(viton_dir: Path) -> None:
    full = TryOnDataset(viton_dir)
    h, w = full.size
    big = TryOnDataset(viton_dir, size=(2 * h, 2 * w))[1]
    a = full[1]
    assert torch.equal(big["label"], a["label"].repeat_interleave(2, 1).repeat_interleave(2, 2))
    odd = TryOnDataset(viton_dir, size=(h + 16, w + 32))[1]  # non-integer factors
    assert odd["image"].shape == (3, h + 16, w + 32)
    assert set(odd["label"].unique().tolist()) <= set(a["label"].unique().tolist())
    sx, sy = (w + 32) / w, (h + 16) / h
    assert torch.allclose(odd["keypoints"], scale_keypoints(a["keypoints"], sx, sy))
    detected = (a["keypoints"][:, 0] > 1) & (a["keypoints"][:, 1] > 1)
    assert torch.equal(odd["keypoints"][~detected], a["keypoints"][~detected])


def test_size_must_be_multiple_of_16(viton_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="multiples of 16"):
        TryOnDataset(viton_dir, size=(250, 192))
    root = write_tiny_viton(tmp_path / "odd", num=1, size=(60, 44))
    with pytest.raises(InputError, match=r"000000_0\.jpg: size 60x44 \(HxW\) is not a multiple of 16"):
        TryOnDataset(root)
    s = TryOnDataset(root, size=(64, 48))[0]  # explicit size: resized
    assert s["image"].shape == (3, 64, 48) and set(s["label"].unique().tolist()) <= VALID_IDS


# --------------------------------------------------------------------------------- errors


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_tiny_viton(tmp_path / "tiny", num=2, size=(64, 48))


def test_size_mismatch_within_sample(tiny: Path) -> None:
    Image.fromarray(np.zeros((32, 48), np.uint8)).save(tiny / "test_edge/000001_1.jpg")
    ds = TryOnDataset(tiny)
    ds[0]
    with pytest.raises(InputError, match=r"000001_1\.jpg: size 32x48 \(HxW\) differs .* \(64x48\)"):
        ds[1]


def test_camera_jpeg_orientation_is_applied(tiny: Path) -> None:
    """A person JPEG stored sideways with EXIF orientation 6 (as phones store portrait shots) is read
    upright, as parsers and pose estimators (OpenCV) read it: it then matches its label map."""
    path = tiny / "test_img/000000_0.jpg"
    upright = Image.open(path).convert("RGB")
    upright.save(path, quality=100)
    expected = TryOnDataset(tiny)[0]["image"]
    exif = Image.Exif()
    exif[0x0112] = 6  # the viewer turns the stored pixels 90 degrees clockwise
    upright.transpose(Image.Transpose.ROTATE_90).save(path, quality=100, exif=exif)
    assert Image.open(path).size == (64, 48)  # stored sideways: W x H swapped
    image = TryOnDataset(tiny)[0]["image"]
    assert image.shape == expected.shape and float((image - expected).abs().mean()) < 0.02


def test_missing_and_truncated_files(tiny: Path) -> None:
    (tiny / "test_label/000000_0.png").unlink()
    (tiny / "test_pose/000001_0_keypoints.json").unlink()
    ds = TryOnDataset(tiny)
    with pytest.raises(InputError, match=r"000000_0\.png: file not found \(expected the label map"):
        ds[0]
    with pytest.raises(InputError, match=r"000001_0_keypoints\.json: file not found"):
        ds[1]
    data = (tiny / "test_color/000001_1.jpg").read_bytes()
    (tiny / "test_color/000001_1.jpg").write_bytes(data[: len(data) // 2])
    (tiny / "test_img/000000_0.jpg").write_bytes(b"not an image")
    with pytest.raises(InputError, match=r"000001_1\.jpg: unreadable or truncated image"):
        ds[1]
    with pytest.raises(InputError, match=r"000000_0\.jpg: not a JPEG or PNG file"):
        TryOnDataset(tiny)  # the first person image fixes the working size


@pytest.mark.parametrize("ids,mode,match", [
    ([0, 2], "L", r"label ids \[2\] are not ACGPN ids"),
    ([3, 14, 200], "L", r"label ids \[3, 14, 200\] are not ACGPN ids"),
    ([0, 4], "RGB", "got mode RGB"),
])  # fmt: skip
def test_bad_labels(tiny: Path, ids: list[int], mode: str, match: str) -> None:
    arr = np.array(ids, np.uint8)[np.arange(64 * 48) % len(ids)].reshape(64, 48)
    Image.fromarray(arr).convert(mode).save(tiny / "test_label/000001_0.png")
    with pytest.raises(InputError, match=rf"000001_0\.png: .*{match}"):
        TryOnDataset(tiny)[1]


def test_palette_label_indices_are_ids(tiny: Path) -> None:
    ref = TryOnDataset(tiny)[0]["label"]
    pal = Image.fromarray(ref[0].numpy().astype(np.uint8)).convert("P")
    pal.putpalette(bytes(range(256)) * 3)  # colours unrelated to ids
    pal.save(tiny / "test_label/000000_0.png")
    assert Image.open(tiny / "test_label/000000_0.png").mode == "P"
    assert torch.equal(TryOnDataset(tiny)[0]["label"], ref)


def test_wrong_keypoint_count(tiny: Path) -> None:
    people = [{"pose_keypoints": [5.0] * 51}]
    (tiny / "test_pose/000000_0_keypoints.json").write_text(json.dumps({"people": people}))
    with pytest.raises(InputError, match=r"000000_0_keypoints\.json: expected 54 .* found 51"):
        TryOnDataset(tiny)[0]


def test_missing_layout_folder_and_own_cloth_rule(tiny: Path) -> None:
    shutil.rmtree(tiny / "test_img")
    with pytest.raises(InputError, match=r"test_img: folder not found"):
        TryOnDataset(tiny)
    with pytest.raises(InputError, match="cannot derive"):
        TryOnDataset(break_person_names(tiny))


def break_person_names(root: Path) -> Path:
    """Re-create the person folder with a name that breaks the ``_0`` -> ``_1`` rule."""
    (root / "test_img").mkdir()
    Image.new("RGB", (48, 64)).save(root / "test_img/person.jpg")
    return root


# ------------------------------------------------------------------------ in-memory builder


def test_build_sample_from_memory_equals_the_dataset(tiny: Path) -> None:
    """The dataset is file reading + ``build_sample``: the same images in memory, the same sample."""
    ds = TryOnDataset(tiny, size=(32, 32))  # resized: the size rule lives in the builder too
    paths = ds.paths(1)
    images = {role: Image.open(paths[role]) for role in ("image", "label", "cloth", "product_mask")}
    built = build_sample(**images, keypoints=read_openpose_json(paths["pose"]), size=(32, 32),
                         person="000001_0.jpg", cloth_name="000001_1.jpg")  # fmt: skip
    assert_same(built, ds[1])
    assert (built["person"], built["cloth_name"]) == ("000001_0.jpg", "000001_1.jpg")
    native = build_sample(**images, keypoints=read_openpose_json(paths["pose"]))  # size None: native
    assert native["image"].shape == (3, 64, 48)
    images["cloth"] = images["cloth"].resize((48, 32))
    with pytest.raises(InputError, match=r"the cloth image: size 32x48 \(HxW\) differs from the person image"):
        build_sample(**images, keypoints=torch.zeros(18, 3))


# ------------------------------------------------------------------------ names and listing


def test_output_names_pair_text_and_clashes() -> None:
    assert output_name("000001_0.jpg", "000007_1.png") == "000001_0__000007_1.png"
    assert output_name("a.b.jpg", "c.jpg", ".jpg") == "a.b__c.jpg"
    pairs = [("a.jpg", "c.jpg"), ("b.jpg", "c.jpg"), ("a.jpg", "c.jpg"), ("a.jpg", "c.png")]
    assert output_clashes(pairs) == [(0, 3)]  # the repeated identical pair is no clash
    assert format_pairs(pairs[:2]) == "a.jpg c.jpg\nb.jpg c.jpg\n"


def test_person_listing_uses_or_reports_every_image(tiny: Path) -> None:
    (tiny / "test_img/notes.txt").write_text("ignored: not an image")
    (tiny / "test_img/.hidden.jpg").write_text("ignored: hidden")
    assert list_images(tiny / "test_img") == ["000000_0.jpg", "000001_0.jpg"]
    (tiny / "test_img/000002_0.webp").write_bytes(b"RIFF")
    with pytest.raises(InputError, match=r"000002_0\.webp: unsupported image type \.webp"):
        paired_list(tiny)
    (tiny / "test_img/000002_0.webp").unlink()
    (tiny / "test_img/000003_0.jpg").symlink_to(tiny / "gone.jpg")  # broken link
    with pytest.raises(InputError, match=r"000003_0\.jpg: not a regular file"):
        paired_list(tiny)


# ------------------------------------------------------------------------------- batching


def test_dataloader_batches_with_default_collate(viton_dir: Path) -> None:
    ds = TryOnDataset(viton_dir)
    h, w = ds.size
    loader = DataLoader(ds, batch_size=2, shuffle=False, collate_fn=default_collate)
    batches = list(loader)
    assert len(batches) == (len(ds) + 1) // 2
    b = batches[0]
    assert b["image"].shape == (2, 3, h, w) and b["pose"].shape == (2, 18, h, w)
    assert b["label"].shape == (2, 1, h, w) and b["keypoints"].shape == (2, 18, 3)
    assert b["person"] == [ds.pairs[0][0], ds.pairs[1][0]]
    assert b["cloth_name"] == [ds.pairs[0][1], ds.pairs[1][1]]
    assert torch.equal(b["label"][1], ds[1]["label"])
