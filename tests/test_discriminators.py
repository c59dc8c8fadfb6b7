"""Multi-scale PatchGAN discriminators: official keys, scale order, shapes, and that they learn."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from model_fixtures import shared_reference

from acgpn import losses
from acgpn.nets.discriminator import D1_CHANNELS, D2_CHANNELS, D3_CHANNELS, D_CHANNELS, MultiscaleDiscriminator

MANIFEST = shared_reference() / "official_train_discriminators_manifest.json"


@pytest.mark.skipif(not MANIFEST.is_file(), reason=f"manifest not found at {MANIFEST}")
def test_default_widths_match_the_official_manifest():
    manifest = json.loads(MANIFEST.read_text())
    for name, channels in (("D1", D1_CHANNELS), ("D2", D2_CHANNELS), ("D3", D3_CHANNELS), ("D", D_CHANNELS)):
        state = MultiscaleDiscriminator(channels).state_dict()
        assert [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in state.items()] == manifest[name], name


def test_scales_layers_and_shapes():
    d = MultiscaleDiscriminator(5, ndf=8, n_layers=3, num_D=3)
    assert sorted({k.split("_")[0] for k in d.state_dict()}) == ["scale0", "scale1", "scale2"]
    x = torch.randn(2, 5, 64, 48)
    out = d(x)
    assert len(out) == 3 and all(len(scale) == 5 for scale in out)
    # 64x48 -> 33x25 -> 17x13 -> 9x7 -> (s1, p2) 10x8 -> 11x9 patch scores, one channel
    assert out[0][-1].shape == (2, 1, 11, 9)
    assert [f.shape[1] for f in out[0]] == [8, 16, 32, 64, 1]
    # the full-resolution input goes through the highest-numbered scale, each lower one sees it pooled once more
    manual = x
    for j in range(5):
        manual = getattr(d, f"scale2_layer{j}")(manual)
    assert torch.allclose(out[0][-1], manual, atol=1e-6)
    pooled = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
    manual = pooled
    for j in range(5):
        manual = getattr(d, f"scale1_layer{j}")(manual)
    assert torch.allclose(out[1][-1], manual, atol=1e-6)
    # no norm parameters (affine-free IN), samples independent
    assert all(k.endswith((".0.weight", ".0.bias")) for k in d.state_dict())
    single = d(x[1:])
    assert torch.allclose(out[2][-1][1:], single[2][-1], atol=1e-5)


def test_discriminator_learns_to_separate_real_from_fake():
    torch.manual_seed(0)
    d = MultiscaleDiscriminator(3, ndf=8, n_layers=2, num_D=2)
    opt = torch.optim.Adam(d.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real = torch.rand(2, 3, 16, 16) * 0.2 + 0.8  # bright
    fake = torch.rand(2, 3, 16, 16) * 0.2 - 1.0  # dark
    first = None
    for _ in range(15):
        loss = losses.gan_discriminator_loss(d(real), d(fake))
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
