"""Hostile input, command by command (issue 7): one clean line, exit code 2, nothing written.

Each table row plants one fault in a fresh copy of a tiny synthetic dataset (64x48) and runs the
CLI in-process with a tiny pipeline (U-Net widths 4). A row passes when the command exits with
code 2, prints exactly one ``error: <file>: <what>`` line on stderr (no traceback), and leaves
every file under the test folder as it was (no partial output; only the hidden lock file may
appear). Warnings (``validate``) give ``warning: <file>: <what>`` lines and exit 0. Faults that are
now read correctly (16-bit images, a byte-order mark) and the resume and file-mode rules have
their own tests below.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from acgpn.cli.main import app
from acgpn.data import TryOnDataset
from acgpn.fileio import LOCK_NAME, atomic_path, folder_lock, save_image
from acgpn.inference import INTERMEDIATE_FILES
from acgpn.runtime import resolve_device
from test_infer import tiny_ckpt, tiny_pipeline  # noqa: F401 - shared fixtures

Setup = Callable[[Path, Path], list[str]]  # (dataset root, scratch folder) -> extra CLI args
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def ds(small_synth_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the 4-sample 64x48 synthetic dataset."""
    return Path(shutil.copytree(small_synth_dir, tmp_path / "ds"))


@contextmanager
def deadline(seconds: int = 120) -> Iterator[None]:
    """Fail instead of hanging forever (a FIFO read would block). POSIX only; elsewhere a no-op."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(*_: object) -> None:
        raise TimeoutError(f"command still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (links not followed) -> (size, mtime)."""
    out = {}
    for path in root.rglob("*"):
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode):
            out[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return out


def run(args: list[str]):  # type: ignore[no-untyped-def]
    with deadline():
        return CliRunner().invoke(app, args)


def assert_clean_error(result, file: str, text: str) -> str:  # type: ignore[no-untyped-def]
    """Exit 2 and one stderr line ``error: ...<file>...: ...<text>...``; returns that line."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: ") and "Traceback" not in result.output, result.output
    assert file in line and text in line, (file, text, line)
    if file:  # "<file>: <what>": the file comes first
        assert line.index(file) < line.index(text) or file in text, line
    return line


def write_png16(path: Path, like: Path) -> np.ndarray:
    """Save ``like`` as a 16-bit grey PNG at ``path``; returns its 8-bit grey values."""
    grey = np.asarray(Image.open(like).convert("L"), dtype=np.uint16)
    Image.fromarray(grey * 257).save(path)  # mode I;16
    return grey.astype(np.uint8)


def plant_pose(ds: Path, stem: str, data: object) -> None:
    (ds / f"test_pose/{stem}_keypoints.json").write_text(json.dumps(data))


def resize_first_sample(ds: Path, size: tuple[int, int]) -> None:
    """Make sample 000000 (person, label, pose unchanged) ``size`` (H, W)."""
    for rel, resample in (("test_img/000000_0.jpg", Image.Resampling.BILINEAR), ("test_label/000000_0.png", Image.Resampling.NEAREST)):
        Image.open(ds / rel).resize((size[1], size[0]), resample).save(ds / rel)


def pairs_file(tmp: Path, text: str) -> Path:
    path = tmp / "pairs.txt"
    path.write_bytes(text.encode("utf-8"))
    return path


def same_stem_person(ds: Path, tmp: Path) -> list[str]:
    Image.open(ds / "test_img/000000_0.jpg").save(ds / "test_img/000000_0.png")
    return []


def same_stem_cloth(ds: Path, tmp: Path) -> list[str]:
    for folder in ("test_color", "test_edge"):
        Image.open(ds / f"{folder}/000001_1.jpg").save(ds / f"{folder}/000001_1.png")
    return ["--pairs", str(pairs_file(tmp, "000000_0.jpg 000001_1.jpg\n000000_0.jpg 000001_1.png\n"))]


def symlink_loop(ds: Path, tmp: Path) -> list[str]:
    os.symlink("000009_0.jpg", ds / "test_img/000009_0.jpg")  # points at itself
    return []


def fifo_label(ds: Path, tmp: Path) -> list[str]:
    (ds / "test_label/000001_0.png").unlink()
    os.mkfifo(ds / "test_label/000001_0.png")
    return []


def file_in_the_way(ds: Path, tmp: Path) -> list[str]:
    (tmp / "out").write_text("not a folder")
    return []


def worker_error(ds: Path, tmp: Path) -> list[str]:
    (ds / "test_label/000002_0.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return ["--workers", "1"]


# (id, setup, file named, text) — the output folder is tmp/"out" unless the setup passes --out.
INFER_FAULTS: list[tuple[str, Setup, str, str]] = [
    ("same-stem-persons", same_stem_person, "test_img/000000_0.png", "share the stem 000000_0"),
    ("same-output-name", same_stem_cloth, "test_color/000001_1.png", "would both be written as 000000_0__000001_1.png"),
    ("out-in-dataset", lambda d, t: ["--out", str(d / "test_img")], "ds/test_img", "inside the dataset's image folder"),
    ("out-is-root", lambda d, t: ["--out", str(d)], "ds", "output folder is the dataset root"),
    ("symlink-loop", symlink_loop, "test_img/000009_0.jpg", "not a regular file"),
    ("fifo-label", fifo_label, "test_label/000001_0.png", "not a regular file (a pipe"),
    ("working-size-cap", lambda d, t: resize_first_sample(d, (1040, 768)) or [], "test_img/000000_0.jpg",
     "above the cap of 786,432"),
    ("size-above-cap", lambda d, t: ["--size", "1040x768"], "", "pass a smaller size (CLI --size HxW"),
    ("lowered-cap", lambda d, t: ["--max-pixels", "1024"], "test_img/000000_0.jpg", "above the cap of 1,024"),
    ("pose-null-person", lambda d, t: plant_pose(d, "000001_0", {"people": [None]}) or [],
     "test_pose/000001_0_keypoints.json", "people[0] must be an object"),
    ("pose-keypoints-not-list", lambda d, t: plant_pose(d, "000001_0", {"people": [{"pose_keypoints_2d": {"a": 1}}]}) or [],
     "test_pose/000001_0_keypoints.json", "keypoints must be a list"),
    ("out-is-a-file", file_in_the_way, "out", "exists and is not a folder"),
    ("out-parent-is-a-file", lambda d, t: file_in_the_way(d, t) + ["--out", str(t / "out" / "sub")], "out",
     "needed as a parent folder of"),
    ("intermediates-is-a-file", lambda d, t: [(t / "out").mkdir(), (t / "out" / "intermediates").write_text("x")] and ["--save-intermediates"],
     "out/intermediates", "exists and is not a folder"),
    ("worker-error", worker_error, "test_label/000002_0.png", "unreadable or truncated image"),
    ("size-16x16", lambda d, t: ["--size", "16x16"], "", "too small"),
    ("size-not-16", lambda d, t: ["--size", "100x96"], "", "not a multiple of 16"),
    ("device-meta", lambda d, t: ["--device", "meta"], "", "device 'meta' is not supported"),
    ("device-hpu", lambda d, t: ["--device", "hpu"], "", "device 'hpu' is not supported"),
    ("device-absent-cuda", lambda d, t: ["--device", "cuda:7"], "", "device 'cuda:7' requested"),
    ("device-unknown", lambda d, t: ["--device", "gpu0"], "", "unknown device 'gpu0'"),
    ("pair-file-missing", lambda d, t: ["--pairs", str(t / "nope.txt")], "nope.txt", "file not found"),
    ("pair-absent-cloth", lambda d, t: ["--pairs", str(pairs_file(t, "000000_0.jpg 000777_1.jpg\n"))],
     "test_color/000777_1.jpg", "file not found"),
    ("corrupt-person", lambda d, t: (d / "test_img/000003_0.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut") and [],
     "test_img/000003_0.jpg", "unreadable or truncated image"),
    ("gif-as-jpg", lambda d, t: (d / "test_color/000002_1.jpg").write_bytes(b"GIF89a....") and [],
     "test_color/000002_1.jpg", "not a JPEG or PNG file"),
    ("mask-in-alpha", lambda d, t: mask_in_alpha(d / "test_edge/000002_1.jpg") or [],
     "test_edge/000002_1.jpg", "has transparent pixels (alpha)"),
    ("translucent-person", lambda d, t: translucent(d / "test_img/000001_0.jpg") or [],
     "test_img/000001_0.jpg", "the person image has transparent pixels"),
    ("empty-mask", lambda d, t: Image.new("L", (48, 64)).save(d / "test_edge/000001_1.jpg", format="PNG") or [],
     "test_edge/000001_1.jpg", "the cloth mask is empty (all black)"),
    ("zero-one-mask", lambda d, t: Image.fromarray((np.asarray(Image.open(d / "test_edge/000001_1.jpg").convert("L")) > 127).astype(np.uint8))
     .save(d / "test_edge/000001_1.jpg", format="PNG") or [], "test_edge/000001_1.jpg", "(a 0/1 mask?)"),
    ("pair-file-nul-and-huge-token", lambda d, t: ["--pairs", str(pairs_file(t, "000000_0.jpg\x00 " + "a" * 100_000 + "\n"))],
     "000000_0.jpg\\x00", "file not found"),  # the NUL escaped, the 100 kB token clipped (line length checked below)
]  # fmt: skip


def mask_in_alpha(path: Path) -> None:
    """The cloth mask moved into the alpha channel of a black RGBA PNG (a common export)."""
    grey = np.asarray(Image.open(path).convert("L"))
    rgba = np.zeros(grey.shape + (4,), np.uint8)
    rgba[..., 3] = grey
    Image.fromarray(rgba, "RGBA").save(path, format="PNG")


def translucent(path: Path) -> None:
    """A person image with one half-transparent pixel, saved as PNG under its .jpg name."""
    img = Image.open(path).convert("RGBA")
    img.putpixel((0, 0), (255, 255, 255, 128))
    img.save(path, format="PNG")


@pytest.mark.parametrize("fault", INFER_FAULTS, ids=[f[0] for f in INFER_FAULTS])
def test_infer_bad_input(fault: tuple, ds: Path, tiny_ckpt: Path, tmp_path: Path) -> None:
    _, setup, file, text = fault
    extra = setup(ds, tmp_path)
    args = ["infer", "--data", str(ds), "--checkpoint", str(tiny_ckpt), "--device", "cpu"]
    args += [] if "--out" in extra else ["--out", str(tmp_path / "out")]
    before = snapshot(tmp_path)
    result = run(args + extra)
    assert len(assert_clean_error(result, file, text)) < 1200
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.endswith(LOCK_NAME)} == before  # nothing written


def test_infer_refuses_images_beyond_the_decoder_limit(ds: Path, tiny_ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64x48 = 3072 pixels: a "bomb" here
    args = ["infer", "--data", str(ds), "--checkpoint", str(tiny_ckpt), "--device", "cpu", "--out", str(tmp_path / "out")]
    assert_clean_error(run(args), "test_img/000000_0.jpg", "too large to decode")
    assert not (tmp_path / "out").exists()


def test_infer_lock_refuses_a_second_writer(ds: Path, tiny_ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["infer", "--data", str(ds), "--checkpoint", str(tiny_ckpt), "--device", "cpu", "--out", str(out)]
    with folder_lock(out, "acgpn infer"):  # another run holds the folder
        assert_clean_error(run(args), "out", "another acgpn infer process is writing into this folder")
        assert [p.name for p in out.iterdir()] == [LOCK_NAME]
    result = run(args)  # released: the run goes ahead
    assert result.exit_code == 0 and "4 written" in result.stdout, result.output


# ---------------------------------------------------------------------------------- validate


def bad_keypoint(index: int, x: float) -> Setup:
    """Pose of sample 000002 with keypoint ``index`` at (x, 8); the others detected on the image."""
    def plant(ds: Path, tmp: Path) -> list[str]:
        kp = [[10.0, 10.0, 1.0] for _ in range(18)]
        kp[index] = [x, 8.0, 1.0]
        plant_pose(ds, "000002_0", {"people": [{"pose_keypoints_2d": sum(kp, [])}]})
        return []

    return plant


def big_person(ds: Path, tmp: Path) -> list[str]:
    resize_first_sample(ds, (1040, 768))
    return ["--pairs", str(pairs_file(tmp, "000001_0.jpg 000002_1.jpg\n"))]


# (id, setup, kind, file named, text)
VALIDATE_FAULTS: list[tuple[str, Setup, str, str, str]] = [
    ("same-stem-persons", lambda d, t: same_stem_person(d, t) + ["--pairs", str(pairs_file(t, "000001_0.jpg 000002_1.jpg\n"))],
     "error", "test_img/000000_0.png", "same stem as 000000_0.jpg"),
    ("same-output-name", same_stem_cloth, "error", "pairs.txt:2", "same output name 000000_0__000001_1.png"),
    ("symlink-loop", symlink_loop, "error", "test_img/000009_0.jpg", "not a regular file"),
    ("fifo-label", fifo_label, "error", "test_label/000001_0.png", "not a regular file (a pipe"),
    ("pose-null-person", lambda d, t: plant_pose(d, "000001_0", {"people": [None]}) or [], "error",
     "test_pose/000001_0_keypoints.json", "people[0] must be an object"),
    ("image-16x16", lambda d, t: [Image.new(m, (16, 16), "white").save(d / f) for m, f in (("RGB", "test_color/000003_1.jpg"), ("L", "test_edge/000003_1.jpg"))]
     and ["--pairs", str(pairs_file(t, "000001_0.jpg 000002_1.jpg\n"))], "error", "test_color/000003_1.jpg", "too small"),
    ("pair-file-folder", lambda d, t: ["--pairs", str(d / "test_img")], "error", "test_img", "a folder; expected a pair file"),
    ("no-people", lambda d, t: plant_pose(d, "000003_0", {"people": []}) or [], "warning",
     "test_pose/000003_0_keypoints.json", "no keypoint detected"),
    ("nan-keypoint", bad_keypoint(3, float("nan")), "warning", "test_pose/000002_0_keypoints.json", "keypoint(s) [3] have NaN"),
    ("infinite-keypoint", bad_keypoint(4, float("inf")), "warning", "test_pose/000002_0_keypoints.json", "keypoint(s) [4] have NaN or infinite"),
    ("negative-keypoint", bad_keypoint(5, -4.0), "warning", "test_pose/000002_0_keypoints.json", "keypoint(s) [5] have negative"),
    ("huge-keypoint", bad_keypoint(7, 1e9), "warning", "test_pose/000002_0_keypoints.json", "keypoint(s) [7] lie outside the 64x48"),
    ("above-size-cap", big_person, "warning", "test_img/000000_0.jpg", "above the working-size cap"),
]  # fmt: skip


@pytest.mark.parametrize("fault", VALIDATE_FAULTS, ids=[f[0] for f in VALIDATE_FAULTS])
def test_validate_bad_input(fault: tuple, ds: Path, tmp_path: Path) -> None:
    name, setup, kind, file, text = fault
    extra = setup(ds, tmp_path)
    before = snapshot(tmp_path)
    result = run(["validate", str(ds)] + extra)
    if kind == "error":
        assert_clean_error(result, file, text)
        assert result.stdout.startswith("failed: 1 problem(s)")
    else:
        assert result.exit_code == 0 and result.stdout.startswith("ok: "), result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("warning: "), result.stderr
        assert file in lines[0] and text in lines[0], lines[0]
        assert result.stdout.strip().endswith("; 1 warning(s)")
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------------------- other commands


CONVERT_FAULTS: list[tuple[str, Setup, str, str]] = [
    ("out-is-a-file", lambda d, t: [str(d), str(file_in_the_way(d, t) or t / "out")], "out", "exists and is not a folder"),
    ("out-parent-is-a-file", lambda d, t: [str(d), str(file_in_the_way(d, t) or t / "out" / "x")], "out", "needed as a parent"),
]


@pytest.mark.parametrize("fault", CONVERT_FAULTS, ids=[f[0] for f in CONVERT_FAULTS])
def test_convert_official_bad_output(fault: tuple, tmp_path: Path) -> None:
    _, setup, file, text = fault
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()  # empty: the output is checked before any checkpoint is read
    args = setup(ckpt, tmp_path)
    before = snapshot(tmp_path)
    assert_clean_error(run(["convert-official"] + args), file, text)
    assert snapshot(tmp_path) == before


SYNTH_FAULTS: list[tuple[str, list[str], str, str]] = [
    ("out-parent-is-a-file", ["{tmp}/file/sub"], "file", "needed as a parent folder"),
    ("size-16x16", ["{tmp}/d", "--size", "16x16"], "", "multiples of 16 and at least 32"),
    ("size-above-cap", ["{tmp}/d", "--size", "1040x768"], "", "synth draws at most 786,432"),
    ("num-1", ["{tmp}/d", "--num", "1"], "", "at least 2"),
]


@pytest.mark.parametrize(
    "args, text",
    [(["infer", "--data", "ds", "--out", "o", "--batch-size", "0"], "acgpn infer: Invalid value for '--batch-size'"),
     (["infer", "--out", "o"], "acgpn infer: Missing option '--data'"),
     (["synth", "d", "--bogus"], "acgpn synth: No such option: --bogus"),
     (["bogus"], "acgpn: No such command 'bogus'"),
     (["infer", "--data", "ds", "--out", ""], "--out: empty value"),  # not the current folder
     (["infer", "--data=", "--out", "o"], "--data: empty value"),
     (["synth", ""], "argument 2: empty value")],
    ids=["range", "missing", "unknown-option", "unknown-command", "empty-out", "empty-equals", "empty-positional"],
)  # fmt: skip
def test_bad_options_are_one_line(args: list[str], text: str, tmp_path: Path) -> None:
    """click's usage errors too: one ``error:`` line and exit 2, not the multi-line usage box."""
    line = assert_clean_error(run(args), "", text)
    assert "--help" in line and "Usage" not in line


@pytest.mark.parametrize("fault", SYNTH_FAULTS, ids=[f[0] for f in SYNTH_FAULTS])
def test_synth_bad_input(fault: tuple, tmp_path: Path) -> None:
    _, args, file, text = fault
    (tmp_path / "file").write_text("x")
    before = snapshot(tmp_path)
    assert_clean_error(run(["synth"] + [a.format(tmp=tmp_path) for a in args]), file, text)
    assert snapshot(tmp_path) == before


SHEET_FAULTS: list[tuple[str, Setup, str, str]] = [
    ("missing-dataset", lambda d, t: [str(t / "nowhere")], "nowhere", "dataset folder not found"),
    ("out-not-png", lambda d, t: [str(d), "--out", str(t / "sheet.txt")], "sheet.txt", "expected a .png file name"),
    ("out-parent-is-a-file", lambda d, t: [str(d), "--out", str(file_in_the_way(d, t) or t / "out" / "s.png")], "out",
     "exists and is not a folder"),
    ("no-pair-file", lambda d, t: [(d / "test_pairs_paired.txt").unlink(), (d / "test_pairs_unpaired.txt").unlink()] and [str(d)],
     "ds", "no test_pairs_unpaired.txt or test_pairs_paired.txt here"),
    ("fifo-label", lambda d, t: fifo_label(d, t) + [str(d), "--out", str(t / "s.png")], "test_label/000001_0.png", "not a regular file"),
]  # fmt: skip


@pytest.mark.parametrize("fault", SHEET_FAULTS, ids=[f[0] for f in SHEET_FAULTS])
def test_sheet_bad_input(fault: tuple, ds: Path, tmp_path: Path) -> None:
    _, setup, file, text = fault
    args = setup(ds, tmp_path)
    before = snapshot(tmp_path)
    assert_clean_error(run(["sheet"] + args), file, text)
    assert snapshot(tmp_path) == before


def test_resolve_device(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_device("cpu") == torch.device("cpu") and resolve_device(" CPU ") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for bad in ("meta", "hpu", "xla", f"cuda:{count}", "cuda:99", "cpu:1", "what"):
        with pytest.raises(ValueError, match="device"):
            resolve_device(bad)
    # On a (pretend) one-GPU machine: cuda and cuda:0 exist, cuda:1 names the count.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda:0") and resolve_device("auto") == torch.device("cuda")
    with pytest.raises(ValueError, match=r"this machine has 1 CUDA device\(s\): cuda:0..cuda:0"):
        resolve_device("cuda:1")


# ---------------------------------------------------------------------------------- read correctly


def test_16_bit_grey_person_is_read_not_white(ds: Path, tmp_path: Path) -> None:
    grey = write_png16(tmp_path / "p16.png", ds / "test_img/000001_0.jpg")
    (ds / "test_img/000001_0.jpg").unlink()
    shutil.move(tmp_path / "p16.png", ds / "test_img/000001_0.png")
    pairs = pairs_file(tmp_path, "000001_0.png 000001_1.jpg\n")
    assert run(["validate", str(ds), "--pairs", str(pairs)]).exit_code == 0
    image = TryOnDataset(ds, pairs=pairs)[0]["image"]
    expected = torch.from_numpy(grey).float() / 255 * 2 - 1
    assert torch.allclose(image, expected.expand(3, -1, -1), atol=1e-6)  # 16 -> 8 bits exactly
    assert image.min() < 0.5  # not the all-white image of a clipped convert


def test_16_bit_label_ids_and_mask(ds: Path) -> None:
    ids = np.asarray(Image.open(ds / "test_label/000002_0.png"), dtype=np.uint16)
    Image.fromarray(ids).save(ds / "test_label/000002_0.png")  # 16-bit grey ids
    mask = np.asarray(Image.open(ds / "test_edge/000002_1.jpg").convert("L"), dtype=np.uint16)
    Image.fromarray(mask * 257).save(ds / "test_edge/000002_1.png")
    (ds / "test_edge/000002_1.jpg").unlink()
    shutil.move(ds / "test_edge/000002_1.png", ds / "test_edge/000002_1.jpg")  # a PNG named .jpg
    sample = TryOnDataset(ds)[2]
    assert torch.equal(sample["label"][0], torch.from_numpy(ids.astype(np.float32)))
    assert torch.allclose(sample["product_mask"][0], torch.from_numpy(mask.astype(np.float32)) / 255)


def test_byte_order_mark_and_comments_in_pair_files(ds: Path, tmp_path: Path) -> None:
    pairs = pairs_file(tmp_path, "\ufeff000000_0.jpg 000001_1.jpg  # unpaired\n# a comment\n000001_0.jpg 000000_1.jpg\n")
    assert TryOnDataset(ds, pairs=pairs).pairs == [("000000_0.jpg", "000001_1.jpg"), ("000001_0.jpg", "000000_1.jpg")]
    assert run(["validate", str(ds), "--pairs", str(pairs)]).exit_code == 0
    (ds / "test_pairs_unpaired.txt").write_text("\ufeff# first row\n000002_0.jpg 000003_1.jpg\n")
    result = run(["sheet", str(ds), "--out", str(tmp_path / "s.png"), "--rows", "3"])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "s.png").height == 16 + 64  # one row: the comment is not a pair


# ---------------------------------------------------------------------------------- resume, files


def test_resume_cleans_temps_redoes_broken_outputs_and_writes_intermediates(ds: Path, tiny_ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["infer", "--data", str(ds), "--checkpoint", str(tiny_ckpt), "--device", "cpu", "--out", str(out)]
    result = run(args + ["--save-intermediates", "--batch-size", "3"])
    assert result.exit_code == 0 and "4 written, 0 already done, 4 pairs" in result.stdout, result.output
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == [f"{i:06d}_0__{i:06d}_1.png" for i in range(4)]
    inter = out / "intermediates" / "000001_0__000001_1"
    assert sorted(p.name for p in inter.iterdir()) == sorted(INTERMEDIATE_FILES)
    ids = Image.open(inter / "layout_ids.png")
    mask = Image.open(inter / "target_cloth_mask.png")
    assert ids.mode == "L" and ids.size == (48, 64) and set(np.unique(ids).tolist()) <= set(range(14))
    assert mask.mode == "L" and set(np.unique(mask).tolist()) <= {0, 255}

    # A killed writer's leftovers: temp files (current and old naming), a 0-byte and a wrong-size output.
    stale = [out / ".000000_0__000000_1.png.a1b2c3d4.tmp", out / ".000001_0__000001_1.png.k2j_x9aa.tmp.png",
             inter / ".alpha.png.0badbeef.tmp"]  # fmt: skip
    for path in stale:
        path.write_bytes(b"")
    (out / names[2]).write_bytes(b"")
    save_image(out / names[3], np.zeros((32, 48, 3), np.uint8))
    kept = (out / names[0]).stat().st_mtime_ns
    result = run(args + ["--save-intermediates"])
    assert result.exit_code == 0 and "2 written, 2 already done, 4 pairs" in result.stdout, result.output
    assert not any(p.exists() for p in stale) and (out / names[0]).stat().st_mtime_ns == kept
    for name in names[2:]:
        assert Image.open(out / name).size == (48, 64)
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]


def test_temp_names_hide_the_suffix_and_files_respect_the_umask(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "a.png") as tmp:
        assert tmp.name.startswith(".a.png.") and tmp.suffix == ".tmp"
        assert list(tmp_path.glob("*.png")) == []  # a temp file is never taken for an output
        tmp.write_bytes(b"x")
    old = os.umask(0o022)
    try:
        mode_022 = stat.S_IMODE(save_image(tmp_path / "b.png", np.zeros((2, 2), np.uint8)).stat().st_mode)
        ckpt = tiny_pipeline().save_pretrained(tmp_path / "ckpt")  # safetensors writes its own 0o600 file
        ckpt_modes = {stat.S_IMODE(p.stat().st_mode) for p in ckpt.iterdir()}
        os.umask(0o077)
        mode_077 = stat.S_IMODE(save_image(tmp_path / "c.png", np.zeros((2, 2), np.uint8)).stat().st_mode)
    finally:
        os.umask(old)
    assert (mode_022, mode_077, ckpt_modes) == (0o644, 0o600, {0o644})
