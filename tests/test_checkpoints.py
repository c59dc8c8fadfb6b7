"""Loading official .pth files and our safetensors format; clear errors for bad files."""

from __future__ import annotations

import datetime
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from acgpn import checkpoints
from acgpn.cli.main import app
from acgpn.errors import InputError
from acgpn.nets import UNet, official_net
from acgpn.pipeline import TryOnPipeline
from test_pipeline import small_pipeline


def test_official_round_trip_is_exact(official_dir, recipe_seed1):
    nets = checkpoints.load_official(official_dir)
    for name, net in nets.items():
        ref = recipe_seed1[name].state_dict()
        assert all(torch.equal(v, ref[k]) for k, v in net.state_dict().items()), name


def test_module_prefix_is_stripped(tmp_path, official_dir):
    state = torch.load(official_dir / "latest_net_G.pth", weights_only=True)
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "g.pth")
    loaded = checkpoints.read_official_file(tmp_path / "g.pth")
    assert list(loaded) == list(state) and all(torch.equal(loaded[k], state[k]) for k in state)


def copy_official(src, dst):
    for name in checkpoints.OFFICIAL_FILES.values():
        (dst / name).symlink_to(src / name)


def test_truncated_file_is_rejected_naming_it(tmp_path, official_dir):
    copy_official(official_dir, tmp_path)
    (tmp_path / "latest_net_G2.pth").unlink()
    data = (official_dir / "latest_net_G2.pth").read_bytes()
    (tmp_path / "latest_net_G2.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"latest_net_G2\.pth.*not a readable PyTorch checkpoint"):
        checkpoints.load_official(tmp_path)


def test_wrong_nets_file_is_rejected_with_a_guess(tmp_path, official_dir):
    copy_official(official_dir, tmp_path)
    (tmp_path / "latest_net_G.pth").unlink()
    (tmp_path / "latest_net_G.pth").symlink_to(official_dir / "latest_net_G1.pth")
    with pytest.raises(InputError, match=r"latest_net_G\.pth: expected the G weights; found a net with 37 input and 14 output channels \(looks like G1\)"):
        checkpoints.load_official(tmp_path)


def test_shape_mismatch_and_missing_keys_are_reported(tmp_path, official_dir):
    state = torch.load(official_dir / "latest_net_G.pth", weights_only=True)
    state["conv9.6.weight"] = torch.zeros(3, 64, 1, 1)
    del state["conv9.6.bias"]
    torch.save(state, tmp_path / "g.pth")
    net = official_net("g")
    with pytest.raises(InputError, match=r"1 shape mismatches \(first: conv9\.6\.weight \(3, 64, 1, 1\) != \(3, 64, 3, 3\)\); 1 missing keys \(first: conv9\.6\.bias\)"):
        checkpoints.check_state_dict(net, checkpoints.read_official_file(tmp_path / "g.pth"), "g.pth", "G")


def test_missing_file_and_folder(tmp_path, official_dir):
    copy_official(official_dir, tmp_path)
    (tmp_path / "latest_net_U.pth").unlink()
    with pytest.raises(InputError, match=r"latest_net_U\.pth: file not found"):
        checkpoints.load_official(tmp_path)
    with pytest.raises(InputError, match="not a directory"):
        checkpoints.load_official(tmp_path / "nope")


def test_convert_official_cli_round_trip_and_errors(tmp_path, official_dir, recipe_seed1):
    runner = CliRunner()
    res = runner.invoke(app, ["convert-official", str(official_dir), str(tmp_path / "conv")])
    assert res.exit_code == 0, res.output
    pipe = TryOnPipeline.from_pretrained(tmp_path / "conv")
    for name in ("g1", "g2", "u", "g"):
        ref = recipe_seed1[name].state_dict()
        assert all(torch.equal(v, ref[k]) for k, v in getattr(pipe, name).state_dict().items())
    assert not list((tmp_path / "conv").glob("*.tmp*"))  # atomic writes leave no temp files
    bad = runner.invoke(app, ["convert-official", str(tmp_path / "missing"), str(tmp_path / "x")])
    assert bad.exit_code == 2 and "not a directory" in bad.output and "Traceback" not in bad.output


def test_pretrained_format_detects_corruption(tmp_path):
    pipe = small_pipeline()
    pipe.align_corners = True
    pipe.save_pretrained(tmp_path / "p")
    again = TryOnPipeline.from_checkpoint(tmp_path / "p")
    assert again.align_corners is True and again.u.stn.loc_net.cnn.fc2.weight.shape == (50, 128)
    assert torch.equal(again.g.conv1[0].weight, pipe.g.conv1[0].weight)
    shutil.copy(tmp_path / "p" / "config.json", tmp_path / "config.json")
    (tmp_path / "p" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(InputError, match=r"model\.safetensors: not a readable safetensors file"):
        TryOnPipeline.from_pretrained(tmp_path / "p")
    with pytest.raises(InputError, match="no config.json"):
        TryOnPipeline.from_pretrained(tmp_path / "nothing")


# ----------------------------------------------------------------------------- self-describing folders
def test_from_pretrained_picks_its_four_nets_and_leaves_others_alone(tmp_path):
    pipe = small_pipeline()
    extra = UNet(51, 1, base_channels=4, depth=2)  # e.g. a discriminator saved by training
    nets = {"g1": pipe.g1, "g2": pipe.g2, "u": pipe.u, "g": pipe.g, "d1": extra}
    checkpoints.save_pretrained(tmp_path, nets, {"align_corners": False, "noise_probability": 0.2})
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["version"] == 1 and set(config["nets"]) == set(nets)
    assert config["nets"]["u"] == {"class": "WarpNet", **pipe.u.config}
    again = TryOnPipeline.from_pretrained(tmp_path)
    assert again.noise_probability == 0.2 and torch.equal(again.u.stn.loc_net.cnn.fc2.bias, pipe.u.stn.loc_net.cnn.fc2.bias)
    loaded, _ = checkpoints.load_pretrained(tmp_path, names=("d1",))
    assert set(loaded) == {"d1"} and loaded["d1"].config == extra.config
    assert torch.equal(loaded["d1"].conv1[0].weight, extra.conv1[0].weight)


def test_version_1_folders_of_earlier_releases_still_load(tmp_path):
    """The config.json an earlier release wrote (class + constructor arguments per net)."""
    pipe = small_pipeline()
    pipe.save_pretrained(tmp_path)
    unet = {"class": "UNet", "base_channels": 4, "depth": 5, "dropout": 0.0}
    old = {
        "format": "acgpn", "version": 1,
        "nets": {
            "g1": {**unet, "in_channels": 37, "out_channels": 14}, "g2": {**unet, "in_channels": 37, "out_channels": 1},
            "u": {"class": "WarpNet", "cloth_channels": 3, "base_channels": 4, "depth": 5, "dropout": 0.0,
                  "loc_channels": [4, 4, 4, 4, 4, 8], "loc_input_size": [256, 192], "grid_shape": [5, 5]},
            "g": {**unet, "in_channels": 24, "out_channels": 3},
        },
        "align_corners": True, "noise_probability": 0.15913,
    }  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(old))
    again = TryOnPipeline.from_pretrained(tmp_path)
    assert again.align_corners is True and torch.equal(again.g2.conv9[6].weight, pipe.g2.conv9[6].weight)


# ----------------------------------------------------------------------------- bad-input table
def _edit(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        change(config)
        (folder / "config.json").write_text(json.dumps(config))

    return damage


def _text(text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / "config.json").write_text(text)


def _poison(key: str) -> Callable[[Path], None]:
    """One weight tensor set to NaN (a diverged training run saved anyway)."""

    def damage(folder: Path) -> None:
        from safetensors.torch import load_file, save_file

        weights = load_file(folder / "model.safetensors")
        weights[key][..., 0] = float("nan")
        save_file(weights, str(folder / "model.safetensors"))

    return damage


#: Damaged config.json of our format -> (file named, what the message says), via `acgpn infer`.
BAD_CONFIGS = {
    "bad JSON": (_text('{"format": "acgpn", "version": 1,'), "config.json", r"not valid JSON \(line 1"),
    "not an object": (_text("[1, 2]"), "config.json", "expected a JSON object, found list"),
    "empty file": (_text(""), "config.json", "not valid JSON"),
    "other format": (_edit(lambda c: c.update(version=99)), "config.json", "not an acgpn v1 config"),
    "no nets": (_edit(lambda c: c.pop("nets")), "config.json", 'expected "nets"'),
    "net missing": (_edit(lambda c: c["nets"].pop("g")), "config.json", "no net 'g' in \"nets\""),
    "net not an object": (_edit(lambda c: c["nets"].update(g1=[1])), "config.json", "nets.g1: expected an object"),
    "no class": (_edit(lambda c: c["nets"]["g"].pop("class")), "config.json", 'nets.g: missing "class"'),
    "unknown class": (_edit(lambda c: c["nets"]["g"].update({"class": "os.system"})), "config.json", "unknown net class 'os.system'"),
    "missing argument": (_edit(lambda c: c["nets"]["g1"].pop("in_channels")), "config.json", "UNet: missing argument 'in_channels'"),
    "unknown argument": (_edit(lambda c: c["nets"]["g1"].update(width=3)), "config.json", "UNet: unknown argument 'width'"),
    "wrong type": (_edit(lambda c: c["nets"]["g1"].update(base_channels="4")), "config.json", "UNet.base_channels: expected int, got '4'"),
    "bool for int": (_edit(lambda c: c["nets"]["g1"].update(depth=True)), "config.json", "UNet.depth: expected int, got True"),
    "wrong list type": (_edit(lambda c: c["nets"]["u"].update(loc_channels=4)), "config.json", r"WarpNet.loc_channels: expected tuple\[int, ...\]"),
    "bad value": (_edit(lambda c: c["nets"]["g"].update(depth=1)), "config.json", "depth must be at least 2"),
    "negative width": (_edit(lambda c: c["nets"]["g"].update(base_channels=-4)), "config.json", "channel counts must be positive"),
    "wrong option": (_edit(lambda c: c.update(align_corners="yes")), "config.json", "align_corners: expected true or false"),
    "nets swapped": (_edit(lambda c: c["nets"].update(u=c["nets"]["g"])), "config.json", "nets.u: the pipeline needs a WarpNet with cloth_channels=3"),
    "wrong channels": (_edit(lambda c: c["nets"]["g"].update(in_channels=20)), "config.json", "nets.g: the pipeline needs a UNet with in_channels=24, out_channels=3"),
    "wrong widths": (_edit(lambda c: c["nets"]["g1"].update(base_channels=8)), "model.safetensors",
                     r"expected the G1 weights that config.json describes; found .*shape mismatches"),
    "huge widths": (_edit(lambda c: c["nets"]["g"].update(base_channels=1 << 20)), "model.safetensors", "expected the G weights"),
    "NaN weights": (_poison("g.conv1.0.bias"), "model.safetensors", "tensor conv1.0.bias of the G weights holds NaN or infinite values"),
    "no config.json": (lambda folder: (folder / "config.json").unlink(), "", "model.safetensors without its config.json"),
}  # fmt: skip


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("small") / "ckpt"
    small_pipeline().save_pretrained(folder)
    return folder


def assert_one_error_line(output: str, path: Path, pattern: str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), output
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in output


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_damaged_config_is_one_error_line_naming_the_file(case, tmp_path, small_folder, small_synth_dir):
    damage, name, pattern = BAD_CONFIGS[case]
    folder = tmp_path / "ckpt"
    shutil.copytree(small_folder, folder)
    damage(folder)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["infer", "--data", str(small_synth_dir), "--checkpoint", str(folder), "--out", str(out), "--device", "cpu"])
    assert res.exit_code == 2, res.output
    assert_one_error_line(res.output, folder / name, pattern)
    assert not out.exists() or not list(out.rglob("*.png"))  # nothing written


def test_the_undamaged_small_folder_runs(tmp_path, small_folder, small_synth_dir):
    """The control row of the table above: the same command on the intact folder succeeds."""
    res = CliRunner().invoke(app, ["infer", "--data", str(small_synth_dir), "--checkpoint", str(small_folder), "--out", str(tmp_path / "out"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "out").glob("*.png"))) == 4


def _save(obj) -> Callable[[Path], None]:
    return lambda path: torch.save(obj, path)


#: Bad latest_net_G1.pth files (G1 is read first) -> what the message says, via `acgpn convert-official`.
BAD_OFFICIAL = {
    "text file": (lambda p: p.write_text("these are not weights\n" * 20), "a text file, not a PyTorch checkpoint"),
    "empty file": (lambda p: p.write_bytes(b""), "an empty file, not a PyTorch checkpoint"),
    "random bytes": (lambda p: p.write_bytes(bytes(range(256)) * 4), "an unknown binary file, not a PyTorch checkpoint"),
    "whole model": (_save(UNet(3, 2, base_channels=2, depth=2)), r"a pickled model, not a state dict: save `model\.state_dict\(\)`"),
    "other object": (_save(datetime.date(2020, 1, 1)), r"not a plain state dict of tensors \(it needs the Python object datetime\.date\)"),
    "training checkpoint": (_save({"model": {"w": torch.zeros(1)}, "epoch": 3}), r"expected a state dict \(mapping of names to tensors\)"),
    "truncated zip": (lambda p: p.write_bytes(b"PK\x03\x04" + bytes(100)), "not a readable PyTorch checkpoint"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_OFFICIAL))
def test_bad_official_file_is_one_error_line(case, tmp_path):
    write, pattern = BAD_OFFICIAL[case]
    (tmp_path / "ckpt").mkdir()
    bad = tmp_path / "ckpt" / "latest_net_G1.pth"
    write(bad)
    res = CliRunner().invoke(app, ["convert-official", str(tmp_path / "ckpt"), str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert_one_error_line(res.output, bad, pattern)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
