"""`acgpn train`: stages, hole masks, config, bad input, NaN stop, signals, exact resume after SIGKILL, DDP.

Everything at 64x48 with ngf 8 on a 4-sample synthetic training set; subprocesses run with one
thread each so that runs compare bit for bit and do not fight over the cores.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch.utils.data import default_collate
from typer.testing import CliRunner

from acgpn import losses
from acgpn.cli.main import app
from acgpn.data import TryOnDataset
from acgpn.errors import InputError
from acgpn.pipeline import TryOnPipeline
from acgpn.synth import generate_dataset
from acgpn.train import LossConfig, TrainConfig, Trainer, TrainingDiverged, preset_config, train
from acgpn.train.config import check, load_config_file
from acgpn.nets.unet import UNet
from acgpn.train import state
from acgpn.train.holes import random_hole_masks
from acgpn.train.stages import GeneratorStep, build_discriminators
from acgpn.train.trainer import build_generators

SMALL = ["--size", "64x48", "--ngf", "8", "--device", "cpu", "--no-progress", "--seed", "3"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 synthetic samples at 64x48, phase "train"."""
    return generate_dataset(tmp_path_factory.mktemp("synth_train") / "data", 4, (64, 48), seed=0, phase="train")


def small_config(data: Path, out: Path, **kw) -> TrainConfig:
    base = replace(preset_config(kw.pop("preset", "paper")), data=str(data), out=str(out), size=(64, 48), ngf=8, device="cpu", steps=2)
    return replace(base, **kw)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "acgpn.cli.main", "train", *args]


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "checkpoints" / "latest" / "model.safetensors"))


# ----------------------------------------------------------------------------- pieces
def test_hole_masks_are_reproducible_irregular_and_any_size():
    a = random_hole_masks(3, 64, 48, torch.Generator().manual_seed(1))
    b = random_hole_masks(3, 64, 48, torch.Generator().manual_seed(1))
    c = random_hole_masks(3, 64, 48, torch.Generator().manual_seed(2))
    assert a.shape == (3, 1, 64, 48) and set(a.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(a, b) and not torch.equal(a, c)
    cover = a.mean(dim=(1, 2, 3))
    assert (cover > 0.005).all() and (cover < 0.9).all()
    assert random_hole_masks(1, 32, 80, torch.Generator().manual_seed(0)).shape == (1, 1, 32, 80)


def test_presets_and_config_files(tmp_path):
    paper, official = preset_config("paper"), preset_config("official")
    assert (paper.losses.gan, paper.losses.layout_ce, paper.losses.tps_form) == (1.0, 10.0, "paper")
    assert (official.losses.tps_form, official.losses.feature_matching, official.losses.vgg_normalize, official.u_dropout) == ("official", 5.0, False, 0.5)
    (tmp_path / "c.toml").write_text('ngf = 16\n[losses]\nfusion_l1 = 3.5\n')
    cfg = load_config_file(tmp_path / "c.toml", official)
    assert cfg.ngf == 16 and cfg.losses.fusion_l1 == 3.5 and cfg.losses.tps_form == "official"
    (tmp_path / "bad.json").write_text('{"losses": {"no_such_term": 1}}')
    with pytest.raises(InputError, match="no_such_term"):
        load_config_file(tmp_path / "bad.json", paper)
    with pytest.raises(InputError, match="preset"):
        preset_config("nope")


@pytest.mark.parametrize("stage,inputs", [("sgm", "teacher"), ("cwm", "predicted"), ("cfm", "predicted"), ("all", "teacher")])
def test_stage_terms_and_gradients_reach_only_the_trained_nets(train_dir, stage, inputs):
    config = small_config(train_dir, "unused", stage=stage, inputs=inputs)
    nets = build_generators(config)
    step = GeneratorStep(nets, config)
    step.aux["discriminators"] = build_discriminators(config)
    trained = {"sgm": {"g1", "g2"}, "cwm": {"u"}, "cfm": {"g"}, "all": {"g1", "g2", "u", "g"}}[stage]
    for name, net in nets.items():
        net.requires_grad_(name in trained)
    batch = default_collate([TryOnDataset(train_dir, phase="train")[i] for i in range(2)])
    noise = {k: torch.zeros(2, 1, 64, 48) for k in ("g1", "g2", "g")}
    total, terms, triples = step(batch, noise, torch.zeros(2, 1, 64, 48))
    expected = {
        "sgm": {"g1_ce", "g1_gan", "g2_bce", "g2_gan"},
        "cwm": {"tps", "warp_l1", "warp_mask_l1", "refine_l1", "rendered_l1", "alpha_reg", "d3_gan", "d3_fm"},
        "cfm": {"fusion_l1", "g_gan", "g_fm"},
    }
    want = set().union(*expected.values()) if stage == "all" else expected[stage]
    assert set(terms) == want and torch.isfinite(total)
    assert set(triples) == {"sgm": {"d1", "d2"}, "cwm": {"d3"}, "cfm": {"d"}, "all": {"d1", "d2", "d3", "d"}}[stage]
    total.backward()
    for name, net in nets.items():
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        assert bool(grads) == (name in trained), name


@pytest.mark.parametrize("inputs", ["teacher", "predicted"])
def test_fusion_l1_on_generated_pixels_only(train_dir, inputs):
    """With fusion_l1_generated (for preserved content), G's L1 covers only the pixels it generates:
    a different, finite term that still reaches G."""
    batch = default_collate([TryOnDataset(train_dir, phase="train")[i] for i in range(2)])
    noise = {k: torch.zeros(2, 1, 64, 48) for k in ("g1", "g2", "g")}
    values = []
    for generated in (False, True):
        config = small_config(train_dir, "unused", stage="cfm", inputs=inputs)
        config = replace(config, losses=replace(config.losses, fusion_l1_generated=generated))
        torch.manual_seed(0)
        nets = build_generators(config)
        step = GeneratorStep(nets, config)
        step.aux["discriminators"] = build_discriminators(config)
        total, terms, _ = step(batch, noise, torch.zeros(2, 1, 64, 48))
        values.append(float(terms["fusion_l1"]))
        total.backward()
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in nets["g"].parameters())
    assert all(v > 0 for v in values) and values[0] != pytest.approx(values[1])


def test_training_lowers_the_losses_of_its_stage(train_dir, tmp_path):
    config = small_config(train_dir, tmp_path / "run", stage="sgm", steps=8, batch_size=2, lr=2e-3, decay_start=1.0, save_every=100, log_every=4)
    result = train(config, progress=False)
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [4, 8]
    assert lines[-1]["g1_ce"] < 0.9 * lines[0]["g1_ce"] and lines[-1]["g2_bce"] < 0.9 * lines[0]["g2_bce"]
    assert result.step == 8 and result.latest == tmp_path / "run" / "checkpoints" / "latest"
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["stage"] == "sgm" and saved["losses"]["layout_ce"] == 10.0 and saved["run"]["total_steps"] == 8


# ----------------------------------------------------------------------------- failures
def test_bad_input_gives_one_error_line_and_exit_2(train_dir, small_synth_dir, tmp_path):
    runner = CliRunner()
    cases = [
        (["--out", str(tmp_path / "a"), "--steps", "1"], "--data is required"),
        (["--data", str(small_synth_dir), "--out", str(tmp_path / "b"), "--steps", "1"], "train_"),  # only test_* folders
        (["--data", str(train_dir), "--out", str(tmp_path / "c"), "--steps", "1", "--size", "60x48"], "multiples of 16"),
        (["--data", str(train_dir), "--out", str(tmp_path / "d"), "--steps", "1", "--stage", "warp"], "\"stage\" must be one of sgm"),
        (["--data", str(train_dir), "--out", str(tmp_path / "e"), "--resume", "--steps", "1"], "no checkpoint to resume"),
    ]
    for args, needle in cases:
        res = runner.invoke(app, ["train", *args, "--device", "cpu", "--no-progress"])
        lines = [x for x in res.output.splitlines() if x.strip()]
        assert res.exit_code == 2, (args, res.output)
        assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], (args, res.output)
        assert not (tmp_path / "c" / "checkpoints").exists()


BAD_SETTINGS = [  # (file name, contents, field named by the error)
    ("size.json", '{"size": "abc"}', '"size" must be two positive integers'),
    ("size5.json", '{"size": 5}', '"size"'),
    ("size60.json", '{"size": [60, 48]}', "multiple of 16"),
    ("bs.json", '{"batch_size": "2"}', '"batch_size" must be an integer >= 1'),
    ("ngf.json", '{"ngf": 2.5}', '"ngf"'),
    ("huge.json", '{"ngf": 100000}', '"ngf" must be an integer in [1, 256] (found 100000)'),  # not a memory blow-up
    ("flag.json", '{"fast_math": 1}', '"fast_math" must be true or false'),
    ("beta.json", '{"beta1": 2}', '"beta1" must be a number in [0, 1)'),
    ("lr.json", '{"lr": -1}', '"lr" must be a finite number > 0'),
    ("nan.json", '{"lr": NaN}', '"lr"'),
    ("drop.json", '{"u_dropout": 5}', '"u_dropout"'),
    ("workers.json", '{"workers": -1}', '"workers" must be an integer in [0, 128]'),
    ("clip.json", '{"grad_clip": -1}', '"grad_clip"'),
    ("decay.json", '{"decay_start": 5}', '"decay_start" must be a number in [0, 1]'),
    ("stage.json", '{"stage": 3}', '"stage" must be a string'),
    ("gan.json", '{"losses": {"gan": "x"}}', '"losses.gan" must be a finite number >= 0'),
    ("weight.json", '{"losses": {"vgg_fusion": -2}}', '"losses.vgg_fusion"'),
    ("steps.toml", 'steps = "x"\n', '"steps" must be an integer >= 1'),
    ("utf.json", b'\xff\xfe{"lr": 1}', "not UTF-8"),
]


def test_config_file_values_are_type_and_range_checked(tmp_path):
    """Every field of a config file is checked against its annotation and range on loading; the
    error names the file and the field."""
    paper = preset_config("paper")
    for name, text, needle in BAD_SETTINGS:
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(InputError) as info:
            load_config_file(path, paper)
        assert info.value.path == str(path) and needle in info.value.message, (name, str(info.value))
    # good values are normalised: ints where floats are due, the size list as a tuple
    (tmp_path / "ok.json").write_text('{"lr": 1, "size": [64, 48], "losses": {"gan": 2}, "ndf": null}')
    cfg = load_config_file(tmp_path / "ok.json", paper)
    assert (cfg.lr, cfg.size, cfg.losses.gan, cfg.ndf) == (1.0, (64, 48), 2.0, None) and isinstance(cfg.lr, float)
    # library use: check() covers configs built in code as well
    with pytest.raises(InputError, match='"workers" must be an integer in'):
        check(small_config("data", tmp_path / "run", workers=-1))
    with pytest.raises(InputError, match='"losses.tps_form" must be one of paper, official'):
        check(small_config("data", tmp_path / "run", losses=replace(LossConfig(), tps_form="both")))


def test_bad_settings_refused_by_the_cli_before_anything_is_written(train_dir, tmp_path):
    runner = CliRunner()
    base = ["train", "--data", str(train_dir), "--steps", "1", "--ngf", "8", "--device", "cpu", "--no-progress"]
    cases = [(["--config", str(tmp_path / n)], f"error: {tmp_path / n}: {needle}") for n, _, needle in BAD_SETTINGS if n in ("size.json", "workers.json", "gan.json", "steps.toml", "utf.json")]
    for name, text, _ in BAD_SETTINGS:
        (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    cases += [
        (["--lr", "-1"], 'error: --lr: "lr" must be a finite number > 0 (found -1'),
        (["--lr", "nan"], 'error: --lr: "lr" must be a finite number > 0 (found NaN)'),
        (["--batch-size", "0"], "error: --batch-size:"),
        (["--layout", "nope"], 'error: --layout: "dataset_layout" must be one of viton'),
        (["--size", "60x48"], "error: --size: size 60x48"),
        (["--epochs", "2"], "error: give exactly one of --steps and --epochs"),
    ]
    for i, (args, start) in enumerate(cases):
        out = tmp_path / f"run{i}"
        res = runner.invoke(app, [*base, "--out", str(out), *args])
        lines = [x for x in res.output.splitlines() if x.strip()]
        assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith(start), (args, res.output)
        assert not out.exists(), args


def test_unreadable_vgg_weights_are_refused_naming_the_file(train_dir, tmp_path):
    random_bytes = tmp_path / "rnd2.pth"
    random_bytes.write_bytes(random.Random(2).randbytes(4096))
    torch.save({"features.0.weight": 1}, tmp_path / "vgg_int.pth")
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, tmp_path / "vgg_partial.pth")
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    runner = CliRunner()
    for name, needle in [("rnd2.pth", "not a PyTorch checkpoint"), ("vgg_int.pth", "expected a state dict"),
                         ("vgg_partial.pth", "25 keys missing"), ("bad.safetensors", "not a readable safetensors file")]:  # fmt: skip
        out = tmp_path / f"run_{name}"
        res = runner.invoke(app, ["train", "--data", str(train_dir), "--out", str(out), *SMALL, "--steps", "1", "--vgg-weights", str(tmp_path / name)])
        lines = [x for x in res.output.splitlines() if x.strip() and not x.startswith("VGG19")]
        assert res.exit_code == 2 and len(lines) == 1, (name, res.output)
        assert lines[0].startswith(f"error: {tmp_path / name}: ") and needle in lines[0] and "VGG19" in lines[0], (name, res.output)
        assert not out.exists()


def test_a_corrupt_training_state_is_named_and_still_counts_as_a_run(train_dir, tmp_path):
    run = tmp_path / "run"
    state_file = run / "checkpoints" / "latest" / "training_state.pt"
    state_file.parent.mkdir(parents=True)
    buffer = io.BytesIO()
    torch.save({"step": 3, "optimizer_g": {}}, buffer)
    state_file.write_bytes(buffer.getvalue()[:200])  # truncated
    args = ["train", "--data", str(train_dir), "--out", str(run), *SMALL, "--steps", "2"]
    res = CliRunner().invoke(app, [*args, "--resume"])
    assert res.exit_code == 2 and res.output.strip().splitlines()[-1] == f"error: {state_file}: not a readable training state (truncated or corrupt?)", res.output
    res = CliRunner().invoke(app, args)  # without --resume: refused, the old run is not overwritten
    assert res.exit_code == 2 and "already holds a training run (pass --resume" in res.output, res.output
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints"]
    # readable but not a training state of ours
    torch.save({"step": 3}, state_file)
    with pytest.raises(InputError, match="not a training state of acgpn train .missing optimizer_g") as info:
        state.load_training_state(state_file.parent)
    assert info.value.path == str(state_file)


def test_input_refused_during_the_run_leaves_no_half_made_run_folder(train_dir, tmp_path, monkeypatch):
    """A bad sample met only when training starts: the fresh run's files are removed again, and a
    folder that existed keeps what it held."""

    def corrupt(self, index):
        raise InputError("unreadable or truncated image, expected a person image", "person.jpg")

    monkeypatch.setattr(TryOnDataset, "__getitem__", corrupt)
    with pytest.raises(InputError, match="person.jpg"):
        train(small_config(train_dir, tmp_path / "new" / "run", stage="cfm"), progress=False)
    assert not (tmp_path / "new").exists()
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "notes.txt").write_text("mine")
    with pytest.raises(InputError) as info:
        train(small_config(train_dir, tmp_path / "old", stage="cfm", workers=1), progress=False)  # from a worker: still one line
    assert str(info.value) == "person.jpg: unreadable or truncated image, expected a person image"
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["notes.txt"]


def test_nan_loss_stops_and_leaves_the_last_good_checkpoint(train_dir, tmp_path, monkeypatch):
    config = small_config(train_dir, tmp_path / "run", stage="cfm", steps=4, save_every=2)
    real = losses.fusion_l1
    calls = {"n": 0}

    def poisoned(fake, image, region=None):
        calls["n"] += 1
        value = real(fake, image, region)
        return value * float("nan") if calls["n"] == 3 else value

    monkeypatch.setattr(losses, "fusion_l1", poisoned)
    with pytest.raises(TrainingDiverged, match="fusion_l1"):
        train(config, progress=False)
    latest = tmp_path / "run" / "checkpoints" / "latest"
    assert torch.load(latest / "training_state.pt", weights_only=True)["step"] == 2
    assert all(torch.isfinite(v).all() for v in weights(tmp_path / "run").values())
    assert not [p for p in (tmp_path / "run" / "checkpoints").iterdir() if p.name.startswith(".")]  # no half-written folder


def test_sigint_saves_latest_and_stops_cleanly(train_dir, tmp_path, monkeypatch):
    config = small_config(train_dir, tmp_path / "run", stage="cfm", steps=50, save_every=100)
    original = Trainer.train_step

    def step_then_interrupt(self, batch):
        terms = original(self, batch)
        if self.step == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return terms

    monkeypatch.setattr(Trainer, "train_step", step_then_interrupt)
    result = train(config, progress=False)
    assert result.interrupted == "SIGINT" and result.step == 2
    assert torch.load(result.latest / "training_state.pt", weights_only=True)["step"] == 2
    assert TryOnPipeline.from_pretrained(result.latest).g.base_channels == 8


# ----------------------------------------------------------------------------- resume and scale-out
@pytest.mark.slow
def test_resume_after_sigkill_is_bit_exact_and_checkpoints_load(train_dir, tmp_path, one_thread):
    """The uninterrupted run and the resume run in this process on one thread, the killed run in a
    subprocess with OMP_NUM_THREADS=1: the same kernels on the same thread count."""
    args = ["--data", str(train_dir), *SMALL, "--batch-size", "2", "--steps", "4", "--save-every", "2", "--preset", "official", "--log-every", "1"]
    once = CliRunner().invoke(app, ["train", *args, "--out", str(tmp_path / "once")])
    assert once.exit_code == 0, once.output

    proc = subprocess.Popen(cli(*args, "--out", str(tmp_path / "killed")), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = tmp_path / "killed" / "checkpoints" / "step_2" / "training_state.pt"
    deadline = time.monotonic() + 300
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # killed at any moment after step_2 was renamed into place (possibly before `latest` was): the
    # newest complete checkpoint is step 2's
    latest = state.find_latest(tmp_path / "killed")
    assert latest is not None and torch.load(latest / "training_state.pt", weights_only=True)["step"] == 2
    resumed = CliRunner().invoke(app, ["train", *args, "--out", str(tmp_path / "killed"), "--resume"])
    assert resumed.exit_code == 0, resumed.output

    a, b = weights(tmp_path / "once"), weights(tmp_path / "killed")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(x)["step"] for x in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]

    # the checkpoint is an ordinary pretrained folder: the pipeline and `acgpn infer` load it
    pipe = TryOnPipeline.from_pretrained(tmp_path / "once" / "checkpoints" / "step_4")
    batch = default_collate([TryOnDataset(train_dir, phase="train")[0]])
    assert pipe(batch, generator=torch.Generator().manual_seed(0)).fake_image.shape == (1, 3, 64, 48)
    res = CliRunner().invoke(app, ["infer", "--data", str(train_dir), "--phase", "train", "--checkpoint", str(latest),
                                   "--out", str(tmp_path / "infer"), "--device", "cpu"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "infer").glob("*.png"))) == 4


@pytest.mark.slow
def test_ddp_two_processes_then_resume_in_one(train_dir, tmp_path, one_thread):
    run = tmp_path / "ddp"
    args = ["--data", str(train_dir), *SMALL, "--stage", "cfm", "--out", str(run), "--save-every", "100"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "acgpn.cli.main", "train", *args, "--steps", "2"]  # fmt: skip
    res = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    saved = json.loads((run / "config.json").read_text())
    assert saved["run"]["world_size"] == 2 and saved["run"]["steps_per_epoch"] == 2  # 4 samples / (1 x 2 processes)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1  # rank 0 only (log_every 10 -> the final step)
    saved_state = torch.load(run / "checkpoints" / "latest" / "training_state.pt", weights_only=True)
    assert saved_state["step"] == 2 and saved_state["world_size"] == 2
    before = weights(run)
    res = CliRunner().invoke(app, ["train", *args, "--steps", "3", "--resume"])  # one process: this one
    assert res.exit_code == 0, res.output
    after = weights(run)
    assert torch.load(run / "checkpoints" / "latest" / "training_state.pt", weights_only=True)["step"] == 3
    changed = [k for k in before if k.startswith("g.") and not torch.equal(before[k], after[k])]
    assert changed and all(torch.equal(before[k], after[k]) for k in before if not k.startswith("g."))


def test_bf16_autocast_step_is_finite(train_dir, tmp_path):
    result = train(small_config(train_dir, tmp_path / "run", stage="cfm", steps=1, amp="bf16", log_every=1), progress=False)
    line = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert result.step == 1 and all(isinstance(line[k], float) for k in ("fusion_l1", "g_gan", "d_loss"))
    with pytest.raises(InputError, match="fp16"):
        train(small_config(train_dir, tmp_path / "run16", stage="cfm", steps=1, amp="fp16"), progress=False)


def test_find_latest_picks_the_newest_complete_checkpoint_after_a_crash_between_renames(tmp_path):
    nets = {"g1": UNet(3, 2, base_channels=4, depth=2)}
    for step in (2, 4):
        state.save_checkpoint(tmp_path, step, nets, {}, {}, {"step": step}, keep_step=True)
    root = tmp_path / "checkpoints"
    assert state.find_latest(tmp_path) == root / "latest"
    # the crash: step_4 was renamed into place, `latest` still holds step 2
    shutil.rmtree(root / "latest")
    shutil.copytree(root / "step_2", root / "latest")
    assert state.find_latest(tmp_path) == root / "step_4"
    # the crash mid-swap: only the set-aside copy is left
    shutil.rmtree(root / "step_4")
    (root / "latest").rename(root / ".latest-previous")
    assert state.find_latest(tmp_path) == root / ".latest-previous"
    (root / ".latest-previous" / "training_state.pt").write_bytes(b"torn")
    assert state.find_latest(tmp_path) == root / "step_2"


@pytest.mark.parametrize(("env", "needle"), [
    ({"WORLD_SIZE": "two"}, "WORLD_SIZE must be an integer, got 'two'"),
    ({"WORLD_SIZE": "2", "RANK": "x"}, "RANK must be an integer, got 'x'"),
    ({"WORLD_SIZE": "2", "LOCAL_RANK": "0.5", "RANK": "0"}, "LOCAL_RANK must be an integer"),
    ({"WORLD_SIZE": "2"}, "RANK must be set"),
])  # fmt: skip
def test_a_bad_torchrun_environment_is_one_input_error(monkeypatch, env, needle):
    from acgpn.train import distributed

    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match=needle):
        distributed.init("cpu")
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert distributed.init("cpu") == distributed.DistInfo()
