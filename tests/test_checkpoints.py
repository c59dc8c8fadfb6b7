"""Loading official .pth files and our safetensors format; clear errors for bad files."""

from __future__ import annotations

import shutil

import pytest
import torch
from typer.testing import CliRunner

from acgpn import checkpoints
from acgpn.cli.main import app
from acgpn.errors import InputError
from acgpn.pipeline import TryOnPipeline


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
    net = checkpoints.build_net(checkpoints.OFFICIAL_CONFIG["g"])
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
    from test_pipeline import small_pipeline

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
