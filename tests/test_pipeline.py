"""TryOnPipeline behaviour with small nets: noise, determinism, dtype, intermediates."""

from __future__ import annotations

import pytest
import torch

from acgpn.modules.decisions import GivenDecisions, TieAwareDecisions
from acgpn.nets import UNet, WarpNet
from acgpn.parity import psnr
from acgpn.pipeline import NOISE_PROBABILITY, TryOnPipeline


def small_pipeline(seed: int = 0) -> TryOnPipeline:
    torch.manual_seed(seed)
    return TryOnPipeline(
        g1=UNet(37, 14, base_channels=4), g2=UNet(37, 1, base_channels=4),
        u=WarpNet(base_channels=4, loc_channels=(4, 4, 4, 4, 4, 8)), g=UNet(24, 3, base_channels=4),
    )  # fmt: skip


def random_batch(b: int, h: int = 64, w: int = 48, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    label = torch.randint(0, 14, (b, 1, h, w), generator=g).float()
    return {
        "image": torch.rand(b, 3, h, w, generator=g) * 2 - 1, "label": label,
        "cloth": torch.rand(b, 3, h, w, generator=g) * 2 - 1, "product_mask": torch.rand(b, 1, h, w, generator=g),
        "pose": torch.where(torch.rand(b, 18, h, w, generator=g) > 0.9, 1.0, -1.0),
    }  # fmt: skip


def test_noise_is_binary_with_the_official_probability():
    pipe = small_pipeline()
    z = pipe.sample_noise(4, 128, 96, torch.Generator().manual_seed(0))
    assert set(z) == {"g1", "g2", "g"}
    for v in z.values():
        assert set(v.unique().tolist()) <= {0.0, 1.0}
        assert abs(float(v.mean()) - NOISE_PROBABILITY) < 0.005
    assert not torch.equal(z["g1"], z["g2"])


def test_same_generator_seed_same_output_and_every_intermediate_present():
    pipe, batch = small_pipeline(), random_batch(2)
    a = pipe(batch, generator=torch.Generator().manual_seed(3))
    b = pipe(batch, generator=torch.Generator().manual_seed(3))
    c = pipe(batch, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a.fake_image, b.fake_image) and not torch.equal(a.fake_image, c.fake_image)
    assert a.layout_prob.shape == (2, 14, 64, 48) and a.control_points.shape == (2, 25, 2)
    assert a.skin_color.shape == (2, 3) and a.fake_image.abs().max() <= 1
    assert set(a.target_cloth_mask.unique().tolist()) <= {0.0, 1.0}
    assert (a.final_label * a.target_cloth_mask).abs().sum() == 0  # the cloth region is zeroed (spec §2.5)
    assert a.select(1).fake_image.shape == (1, 3, 64, 48)


def test_float64_matches_float32_with_the_same_decisions():
    """float64 rounds differently, so near-tie pixels may decide differently: compare with the
    float32 run's decisions forced, and check that any differing decision was a near-tie."""
    pipe, batch = small_pipeline(), random_batch(1)
    noise = pipe.sample_noise(1, 64, 48, torch.Generator().manual_seed(0))
    out32 = pipe(batch, noise=noise)
    free64 = pipe.to(torch.float64)(batch, noise=noise)
    tie_aware = TieAwareDecisions(out32.layout_ids, out32.predicted_cloth_mask, tie_margin=1e-4)
    forced = pipe(batch, noise=noise, decisions=GivenDecisions(out32.layout_ids, out32.predicted_cloth_mask))
    pipe(batch, noise=noise, decisions=tie_aware)
    assert tie_aware.violations == 0  # every decision float64 makes differently is a rounding tie
    assert free64.fake_image.dtype == forced.fake_image.dtype == torch.float64
    assert torch.equal(forced.layout_ids.float(), out32.layout_ids)
    assert torch.equal(forced.target_cloth_mask.float(), out32.target_cloth_mask)
    assert torch.allclose(out32.control_points.double(), forced.control_points, atol=1e-6)
    # Random small nets amplify rounding through the warp (up to ~1e-2 at a few pixels): PSNR bound.
    assert psnr(out32.fake_image.double(), forced.fake_image) >= 40
    assert not torch.equal(out32.fake_image.double(), forced.fake_image)  # really computed in float64


def test_given_decisions_are_used_and_change_the_result():
    """A forced layout reaches step III: the composed label follows it, not G1's argmax."""
    pipe, batch = small_pipeline(), random_batch(1)
    noise = pipe.sample_noise(1, 64, 48, torch.Generator().manual_seed(0))
    free = pipe(batch, noise=noise)
    layout = torch.zeros(1, 1, 64, 48)
    layout[..., 20:44, 12:36] = 4.0
    forced = pipe(batch, noise=noise, decisions=GivenDecisions(given_layout_ids=layout))
    assert torch.equal(forced.layout_ids, layout) and not torch.equal(free.layout_ids, layout)
    assert torch.equal(forced.predicted_cloth_mask, (forced.cloth_mask_prob > 0.5).float())
    assert not torch.equal(forced.fake_image, free.fake_image)
    with pytest.raises(ValueError, match=r"given_layout_ids has shape \(1, 1, 128, 96\), expected \(1, 1, 64, 48\)"):
        pipe(batch, noise=noise, decisions=GivenDecisions(given_layout_ids=torch.zeros(1, 1, 128, 96)))


def test_bad_size_is_rejected():
    with pytest.raises(ValueError, match="multiples of 16"):
        small_pipeline()(random_batch(1, 40, 48))


def blocky_person(h: int = 64, w: int = 48) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """A batch of one person made of label blocks (face, old cloth, arms, pants, background), and a
    new layout (G1 ids, cloth region 0) with its cloth mask, narrower than the old cloth."""
    batch = random_batch(1, h, w, seed=1)
    label = torch.zeros(1, 1, h, w)
    label[..., 4:12, 18:30] = 12  # face
    label[..., 12:36, 14:34] = 4  # old cloth
    label[..., 12:36, 8:14] = 11
    label[..., 12:36, 34:40] = 13
    label[..., 36:60, 16:32] = 8  # pants
    batch["label"] = label
    layout = label.clone()
    layout[label == 4] = 0  # G1's ids leave the cloth region 0
    layout[..., 12:36, 14:17] = 11  # the new, narrower cloth shows more arm
    cloth_mask = torch.zeros(1, 1, h, w)
    cloth_mask[..., 13:35, 18:32] = 1
    return batch, layout, cloth_mask


def test_preserved_mask_keeps_face_pants_and_background_not_the_cloth_or_new_arms():
    from acgpn.modules import cfm

    batch, layout, cloth_mask = blocky_person()
    comp = cfm.compose(batch["image"], batch["label"], layout, cloth_mask)
    p = comp.preserved_mask[0, 0]
    assert set(p.unique().tolist()) == {0.0, 1.0}
    assert p[6:10, 20:28].all() and p[40:56, 18:30].all() and p[0:3, 0:6].all()  # face, pants, background
    assert p[0, :].all() and p[-1, :].all()  # the image border is not eroded away
    assert not (p * comp.target_cloth_mask[0, 0]).any()  # the new cloth is generated
    assert not p[12:36, 14:34].any()  # nor anything where the old cloth was
    assert not p[11:37, 13].any() and not p[11:37, 34].any()  # a margin next to the regenerated region
    kept = (comp.body_image.abs().sum(1)[0] > 0) | (batch["label"][0, 0] == 0)
    assert not (p.bool() & ~kept).any()  # nothing outside I_w and the background is pasted


def test_preserve_content_pastes_the_person_at_the_input_size():
    pipe, (batch, layout, cloth_mask) = small_pipeline(), blocky_person()
    decisions = GivenDecisions(layout, cloth_mask)
    noise = pipe.sample_noise(1, 64, 48, torch.Generator().manual_seed(0))
    raw = pipe(batch, noise=noise, decisions=decisions)
    pipe.preserve_content = True
    out = pipe(batch, noise=noise, decisions=decisions)
    keep = out.preserved_mask.expand_as(out.fake_image).bool()
    assert keep.any() and (~keep).any()
    assert torch.equal(out.fake_image[keep], batch["image"][keep])
    assert torch.equal(out.fake_image[~keep], raw.fake_image[~keep])
    assert torch.equal(out.layout_prob, raw.layout_prob)  # only the result changes

    # with a working size the nets run small and the person is pasted at the input's resolution
    pipe.working_size = (48, 32)
    small = pipe(batch, noise=noise)
    keep = small.preserved_mask.expand_as(small.fake_image).bool()
    assert small.fake_image.shape == (1, 3, 64, 48) and keep.any()
    assert torch.equal(small.fake_image[keep], batch["image"][keep])


def test_preserve_content_is_saved_in_the_config(tmp_path):
    pipe = small_pipeline()
    assert not pipe.preserve_content  # the official behaviour by default
    pipe.preserve_content = True
    pipe.save_pretrained(tmp_path / "m")
    assert TryOnPipeline.from_pretrained(tmp_path / "m").preserve_content
