"""Networks: official keys/shapes, configurable widths and sizes."""

from __future__ import annotations

import json

import pytest
import torch

from acgpn.checkpoints import OFFICIAL_CONFIG, build_net
from acgpn.nets import UNet, WarpNet
from model_fixtures import shared_reference

MANIFEST = shared_reference() / "official_state_dict_manifest.json"


@pytest.mark.skipif(not MANIFEST.is_file(), reason="official manifest not found")
def test_state_dict_keys_and_shapes_match_the_official_manifest():
    manifest = json.loads(MANIFEST.read_text())
    for official, ours in (("U", "u"), ("G1", "g1"), ("G2", "g2"), ("G", "g")):
        state = build_net(OFFICIAL_CONFIG[ours]).state_dict()
        assert [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in state.items()] == manifest[official]


def test_parameter_counts_match_the_spec():
    counts = {n: sum(p.numel() for p in build_net(c).parameters()) for n, c in OFFICIAL_CONFIG.items()}
    assert counts == {"g1": 34_540_942, "g2": 34_533_441, "u": 36_467_950, "g": 34_527_107}


@pytest.mark.parametrize("size", [(64, 48), (128, 96), (32, 32)])
def test_small_unet_runs_at_other_sizes(size):
    net = UNet(5, 3, base_channels=4, depth=5).eval()
    assert net(torch.randn(2, 5, *size)).shape == (2, 3, *size)


def test_unet_depth_is_configurable_and_rejects_bad_sizes():
    net = UNet(2, 1, base_channels=4, depth=3)
    assert net(torch.randn(1, 2, 12, 8)).shape == (1, 1, 12, 8)
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.randn(1, 2, 10, 8))


def test_warp_net_other_size_resizes_only_the_loc_net_input():
    net = WarpNet(base_channels=4, loc_channels=(4, 4, 4, 4, 4, 8), loc_input_size=(256, 192)).eval()
    for size in ((256, 192), (512, 384), (128, 96)):
        cloth, mask = torch.rand(1, 3, *size), torch.ones(1, 1, *size)
        logits, warped, points = net(cloth, mask, mask)
        assert logits.shape == (1, 4, *size) and warped.shape == (1, 3, *size) and points.shape == (1, 25, 2)


def test_unet_is_per_sample_independent():
    net = UNet(3, 2, base_channels=4).eval()
    x = torch.randn(3, 3, 256, 192)
    with torch.no_grad():
        batched = net(x)  # CPU schedule: full-resolution levels per sample, deeper levels batched
        net.cpu_per_sample_pixels = None  # every level batched (the GPU schedule)
        plain = net(x)
        single = torch.cat([net(x[i : i + 1]) for i in range(3)])
    assert torch.allclose(batched, single, atol=1e-4) and torch.allclose(plain, single, atol=1e-4)


def test_fast_math_changes_only_rounding():
    torch.manual_seed(0)
    net = UNet(6, 3, base_channels=16).eval()
    x = torch.randn(2, 6, 128, 96)
    with torch.no_grad():
        exact = net(x)
        fast = net.set_fast_math(True)(x)
        again = net.set_fast_math(False)(x)
    assert torch.equal(exact, again)
    assert not torch.equal(exact, fast) and torch.allclose(exact, fast, atol=1e-4)
