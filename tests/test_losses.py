"""Every loss of acgpn.losses against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from acgpn import losses
from acgpn.errors import InputError
from acgpn.nets.vgg import VGG19Features
from acgpn.ops.tps import control_point_lattice


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def test_lsgan_generator_and_discriminator_hand_values():
    # two scales; only the last entry of each (the patch scores) counts
    fake = [[t(9.0), t(0.5).view(1, 1, 1, 1)], [t(9.0), t(1.0, 0.0).view(1, 1, 1, 2)]]
    real = [[t(9.0), t(0.0).view(1, 1, 1, 1)], [t(9.0), t(2.0, 1.0).view(1, 1, 1, 2)]]
    # G: (0.5-1)^2 + mean((1-1)^2, (0-1)^2) = 0.25 + 0.5
    assert losses.gan_generator_loss(fake).item() == pytest.approx(0.75)
    # D: 0.5 * ([(0-1)^2 + mean(1, 0)] + [0.5^2 + mean(1, 0)]) = 0.5 * (1.5 + 0.75)
    assert losses.gan_discriminator_loss(real, fake).item() == pytest.approx(1.125)


def test_feature_matching_weights_and_detached_targets():
    fake = [[torch.ones(1, 2, 2, 2, requires_grad=True), torch.full((1, 1, 2, 2), 3.0), t(7.0)] for _ in range(2)]
    real = [[torch.zeros(1, 2, 2, 2, requires_grad=True), torch.ones(1, 1, 2, 2), t(0.0)] for _ in range(2)]
    # per term (1/num_D) * (4 / (n_layers + 1)) = 0.5 * 4/2 = 1; terms: |1-0| = 1 and |3-1| = 2, per scale
    value = losses.feature_matching_loss(fake, real)
    assert value.item() == pytest.approx(2 * (1 + 2))
    value.backward()
    assert fake[0][0].grad is not None and real[0][0].grad is None


def test_layout_cross_entropy_and_cloth_mask_bce_hand_values():
    logits = torch.tensor([0.0, math.log(3.0)]).view(1, 2, 1, 1)
    assert losses.layout_cross_entropy(logits, torch.ones(1, 1, 1, 1)).item() == pytest.approx(math.log(4 / 3))
    assert losses.layout_cross_entropy(logits, torch.zeros(1, 1, 1, 1)).item() == pytest.approx(math.log(4))
    # BCE on logits (no double sigmoid): logit 0 -> p = 0.5 -> log 2 for either target
    assert losses.cloth_mask_bce(torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)).item() == pytest.approx(math.log(2))
    assert losses.cloth_mask_bce(torch.full((1, 1, 1, 1), 2.0), torch.zeros(1, 1, 1, 1)).item() == pytest.approx(math.log1p(math.exp(2.0)))


def _affine(points: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.eye(2) + 0.3 * torch.randn(2, 2, generator=g)
    return points @ a.T + 0.2 * torch.randn(2, generator=g)


def test_second_order_constraint_zero_on_affine_grids():
    lattice = control_point_lattice(5, 5, extent=0.9)
    batch = torch.stack([_affine(lattice, s) for s in range(4)])
    assert losses.second_order_constraint(batch, (5, 5), 1.0, 1.0).item() == pytest.approx(0.0, abs=1e-5)
    # the official form sits exactly at its floors there (4 * 0.08 + 2 * 0.02) with zero gradient
    batch.requires_grad_(True)
    official = losses.second_order_constraint_official(batch, (5, 5))
    assert official.item() == pytest.approx(0.36, abs=1e-6)
    official.backward()
    assert batch.grad.abs().max().item() == 0


def test_second_order_constraint_bent_grid_hand_value_hinge_and_gradient():
    # 3x3 lattice on {-1, 0, 1}^2, centre moved to (0.1, 0):
    # middle row: |p p_left| - |p p_right| = 1.1 - 0.9 = 0.2, collinear;
    # middle column: equal distances, cross product (-1)(-0.1) - (1)(-0.1) = 0.2
    lattice = control_point_lattice(3, 3, extent=1.0)
    bent = lattice.clone()
    bent[4, 0] = 0.1
    bent = bent[None].requires_grad_(True)
    value = losses.second_order_constraint(bent, (3, 3), lambda_r=1.0, lambda_s=1.0)
    assert value.item() == pytest.approx(0.4, abs=1e-5)
    assert losses.second_order_constraint(bent, (3, 3), 1.0, 2.0).item() == pytest.approx(0.6, abs=1e-5)
    assert losses.second_order_constraint(bent, (3, 3), 1.0, 1.0, delta=0.1).item() == pytest.approx(0.3, abs=1e-5)
    assert losses.second_order_constraint(bent, (3, 3), 1.0, 1.0, delta=1.0).item() == 0
    value.backward()
    assert bent.grad[0, 4].abs().sum() > 0  # the bent point is pulled back
    assert torch.isfinite(bent.grad).all()
    # official form: |1.1^2 - 0.9^2| = 0.4 on the middle row (x), over 3 row triples -> mean (0.4 + 2*0.08) / 3 ...
    official = losses.second_order_constraint_official(bent.detach(), (3, 3))
    rx = (0.4 + 0.08 + 0.08) / 3
    cx = 0.08  # column intervals in x: |0.1^2 - 0.1^2| = 0 -> floor
    rg = 0.02  # collinear rows (floor); columns: mean(0, 0.2, 0) = 0.0667 per sample
    cg = 0.2 / 3
    assert official.item() == pytest.approx(rx + 0.08 + cx + 0.08 + rg + cg, abs=1e-5)


def test_warp_refinement_and_fusion_terms():
    assert losses.warp_l1(torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)).item() == pytest.approx(1.0)
    terms = losses.refinement_losses(
        refined_cloth=torch.full((2, 3, 2, 2), 0.5), rendered_cloth=torch.full((2, 3, 2, 2), -1.0),
        raw_alpha=torch.full((2, 1, 2, 2), 0.25), target=torch.zeros(2, 3, 2, 2), target_cloth_mask=torch.ones(2, 1, 2, 2),
    )  # fmt: skip
    assert terms["refine_l1"].item() == pytest.approx(0.5)
    assert terms["rendered_l1"].item() == pytest.approx(1.0)
    assert terms["alpha_reg"].item() == pytest.approx(0.75)
    with pytest.raises(ValueError):  # the official (B, H, W) vs (B, 1, H, W) broadcast is refused
        losses.refinement_losses(torch.zeros(2, 3, 2, 2), torch.zeros(2, 3, 2, 2), torch.zeros(2, 2, 2), torch.zeros(2, 3, 2, 2), torch.ones(2, 1, 2, 2))
    assert losses.fusion_l1(torch.full((1, 3, 2, 2), 0.25), torch.zeros(1, 3, 2, 2)).item() == pytest.approx(0.25)
    fake = torch.cat([torch.full((2, 3, 2, 1), 0.5), torch.full((2, 3, 2, 1), 2.0)], dim=3)  # left 0.5, right 2
    right = torch.cat([torch.zeros(2, 1, 2, 1), torch.ones(2, 1, 2, 1)], dim=3)
    assert losses.fusion_l1(fake, torch.zeros_like(fake), right).item() == pytest.approx(2.0)  # the region's mean only
    assert losses.fusion_l1(fake, torch.zeros_like(fake), 1 - right).item() == pytest.approx(0.5)
    assert losses.fusion_l1(fake, torch.zeros_like(fake), torch.zeros_like(right)).item() == 0.0  # empty region


class _TwoFeatures(nn.Module):
    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x, 2 * x]


def test_perceptual_loss_weights_layers():
    x, y = torch.ones(1, 3, 2, 2, requires_grad=True), torch.zeros(1, 3, 2, 2)
    value = losses.perceptual_loss(_TwoFeatures(), x, y, weights=(1.0, 0.5))
    assert value.item() == pytest.approx(1.0 * 1 + 0.5 * 2)
    value.backward()
    assert x.grad is not None


def test_vgg19_torchvision_keys_load_and_errors(tmp_path):
    vgg = VGG19Features(normalize=False)
    convs = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28]
    assert list(vgg.state_dict()) == [f"features.{i}.{p}" for i in convs for p in ("weight", "bias")]
    assert not any(p.requires_grad for p in vgg.parameters())
    # a torchvision-style file: deeper features and the classifier are ignored
    state = {k: torch.randn_like(v) for k, v in vgg.state_dict().items()}
    state["features.30.weight"] = torch.zeros(512, 512, 3, 3)
    state["classifier.0.weight"] = torch.zeros(4, 8)
    torch.save(state, tmp_path / "vgg19.pth")
    loaded = VGG19Features.from_file(tmp_path / "vgg19.pth", normalize=True)
    assert torch.equal(loaded.features[28].weight, state["features.28.weight"])
    feats = loaded(torch.zeros(1, 3, 32, 32))
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512, 512] and [f.shape[-1] for f in feats] == [32, 16, 8, 4, 2]
    del state["features.0.weight"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(InputError, match="features.0.weight"):
        VGG19Features.from_file(tmp_path / "broken.pth")
    with pytest.raises(InputError, match="not found"):
        VGG19Features.from_file(tmp_path / "absent.pth")
