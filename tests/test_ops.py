"""Pure tensor ops: TPS, warp, morphology, masks (shape checks, no value-dependent Python)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from acgpn.ops import tps
from acgpn.ops.masks import argmax_label, isin, one_hot, replace_ids
from acgpn.ops.morphology import cross_kernel, dilate, erode
from acgpn.ops.warp import warp


def test_tps_interpolates_its_control_points():
    control = tps.control_point_lattice()
    values = control[None] + 0.05 * torch.randn(2, 25, 2, generator=torch.Generator().manual_seed(0))
    coeffs = tps.coefficients(control, values)
    mapped = tps.features(control, control) @ coeffs
    assert torch.allclose(mapped, values, atol=1e-5)


def test_tps_grid_with_batched_control_points_matches_per_sample():
    control = tps.control_point_lattice()[None] + 0.05 * torch.rand(3, 25, 2)
    values = control + 0.05 * torch.rand(3, 25, 2)
    batched = tps.sampling_grid(control, values, 12, 8)
    for i in range(3):
        assert torch.allclose(batched[i : i + 1], tps.sampling_grid(control[i], values[i : i + 1], 12, 8), atol=1e-5)


def test_tps_identity_grid_and_solve_matches_inverse():
    control = tps.control_point_lattice(dtype=torch.float64)
    grid = tps.sampling_grid(control, control[None], 16, 12)
    ref = tps.reference_pixel_grid(16, 12, dtype=torch.float64).view(1, 16, 12, 2)
    assert torch.allclose(grid, ref, atol=1e-10)
    values = control[None] + 0.1 * torch.rand(1, 25, 2, dtype=torch.float64)
    inv = torch.inverse(tps.system_matrix(control))
    assert torch.allclose(tps.coefficients(control, values), tps.coefficients(control, values, inv), atol=1e-9)


def test_tps_affine_is_reproduced_exactly():
    control = tps.control_point_lattice(dtype=torch.float64)
    a = torch.tensor([[1.1, 0.2], [-0.1, 0.9]], dtype=torch.float64)
    values = (control @ a.T + torch.tensor([0.05, -0.02], dtype=torch.float64))[None]
    pts = torch.rand(50, 2, dtype=torch.float64) * 2 - 1
    out = tps.features(pts, control) @ tps.coefficients(control, values)
    assert torch.allclose(out[0], pts @ a.T + torch.tensor([0.05, -0.02], dtype=torch.float64), atol=1e-9)


def test_ordered_matmul_rounds_each_product_and_sum_in_index_order():
    """The TPS products sum term by term in float32 (each op rounded alone), the same bits on any
    CPU kernel set or GPU: checked against NumPy's float32 arithmetic, one op at a time. Another
    order (as other GEMM kernels take) gives other bits on such ill-conditioned sums."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(2, 7, 28, generator=g) * 30  # large terms that cancel, as L^-1's do
    b = torch.randn(28, 3, generator=g)
    out = tps.ordered_matmul(a, b)
    assert out.shape == (2, 7, 3) and out.dtype == torch.float32
    an, bn = a.numpy(), b.numpy()
    expected = an[..., :, 0:1] * bn[0:1, :]
    for k in range(1, 28):
        expected = expected + an[..., :, k : k + 1] * bn[k : k + 1, :]  # float32 ops, each rounded
    assert np.array_equal(out.numpy(), expected)
    backwards = an[..., :, 27:28] * bn[27:28, :]
    for k in range(26, -1, -1):
        backwards = backwards + an[..., :, k : k + 1] * bn[k : k + 1, :]
    assert not np.array_equal(backwards, expected)  # the order shows in these sums
    assert torch.allclose(out, a @ b, atol=1e-3)  # the same product, up to rounding
    with pytest.raises(ValueError, match="cannot multiply"):
        tps.ordered_matmul(a, b[:5])


def test_tps_is_differentiable():
    control = tps.control_point_lattice(3, 3, dtype=torch.float64)
    values = (control[None] + 0.05).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: tps.sampling_grid(control, v, 5, 4), (values,))


def test_warp_with_identity_points_and_align_corners_true_is_identity():
    x = torch.rand(1, 3, 32, 24)
    control = tps.control_point_lattice()
    grid = tps.sampling_grid(control, control[None], 32, 24)
    assert torch.allclose(warp(x, grid, align_corners=True), x, atol=1e-5)
    # align_corners=False: pixel (0, 0) samples at (-0.5, -0.5) px -> a quarter of x[0, 0] from the
    # bilinear footprint, times a quarter coverage of the canvas (spec §1.4).
    out = warp(x, grid, align_corners=False)
    assert torch.allclose(out[..., 0, 0], x[..., 0, 0] / 16, rtol=1e-4)


def test_dilate_cross_gives_l1_ball():
    x = torch.zeros(1, 1, 31, 31)
    x[0, 0, 15, 15] = 1
    rows, cols = torch.meshgrid(torch.arange(31), torch.arange(31), indexing="ij")
    for n in (1, 3, 10):
        ball = ((rows - 15).abs() + (cols - 15).abs() <= n).float()
        assert torch.equal(dilate(x, iterations=n)[0, 0], ball)


def test_dilate_ignores_outside_and_erode_keeps_border():
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 0, 0] = 1
    d = dilate(x)
    assert d.sum() == 3 and d[0, 0, 0, 1] == 1 and d[0, 0, 1, 0] == 1
    full = torch.ones(1, 1, 5, 5)
    assert torch.equal(erode(full), full)  # outside pixels never erode the border
    hole = full.clone()
    hole[0, 0, 2, 2] = 0
    assert erode(hole).sum() == 25 - 5


def test_dilate_with_square_element_equals_max_pool():
    x = torch.rand(2, 3, 9, 7)
    square = torch.ones(3, 3, dtype=torch.bool)
    assert torch.equal(dilate(x, square), F.max_pool2d(x, 3, 1, 1))
    assert cross_kernel().sum() == 5


def test_masks_one_hot_argmax_round_trip():
    label = torch.randint(0, 14, (2, 1, 8, 6)).float()
    oh = one_hot(label, 14)
    assert oh.shape == (2, 14, 8, 6) and torch.equal(argmax_label(oh), label)
    assert torch.equal(one_hot(label.long(), 14), oh) and one_hot(label.long(), 14).dtype == torch.float32
    # Ids are checked at the data boundary; here an id outside 0..C-1 gets no channel at all.
    outside = one_hot(torch.tensor([[[[14.0, -1.0, 3.0]]]]), 14)
    assert outside[..., :2].sum() == 0 and outside[0, 3, 0, 2] == 1
    assert torch.equal(isin(label, (3, 5)), ((label == 3) | (label == 5)).float())
    replaced = replace_ids(label, (7, 11, 13), 4)
    assert not isin(replaced, (7, 11, 13)).any() and (replaced == 4).sum() == isin(label, (4, 7, 11, 13)).sum()


def test_upsample_conv3x3_equals_upsample_then_conv():
    from acgpn.ops.upsample import upsample_conv3x3

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 6, 5, 7, generator=g, dtype=torch.float64)
    w, b = torch.randn(4, 6, 3, 3, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    ref = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), w, b, padding=1)
    assert torch.allclose(upsample_conv3x3(x, w, b), ref, atol=1e-12)
    xg, wg = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, k: upsample_conv3x3(a, k), (xg[:1, :2, :3, :3], wg[:2, :2]))


def test_strided_max_pool_equals_max_pool2d():
    from acgpn.nets.unet import max_pool2x2

    x = torch.randn(2, 3, 8, 6)
    assert torch.equal(max_pool2x2(x), F.max_pool2d(x, 2))
    odd = torch.randn(1, 1, 5, 7)
    assert torch.equal(max_pool2x2(odd), F.max_pool2d(odd, 2))


def test_dilate_with_a_given_element_matches_the_cross_and_rejects_even_sides():
    x = torch.rand(2, 3, 9, 7)
    for n in (1, 4):
        assert torch.equal(dilate(x, cross_kernel(), n), dilate(x, iterations=n))
        assert torch.equal(erode(x, cross_kernel().int(), n), erode(x, iterations=n))
    line = torch.tensor([[1, 1, 1]])  # 1x3: horizontal neighbours only
    assert torch.equal(dilate(x, line), F.max_pool2d(x, (1, 3), 1, (0, 1)))
    with pytest.raises(ValueError, match="odd"):
        dilate(x, torch.ones(2, 2))


def test_shape_checks_name_the_argument():
    control = tps.control_point_lattice()
    with pytest.raises(ValueError, match=r"values must have shape \(B,K,2\)"):
        tps.sampling_grid(control, control, 8, 6)  # unbatched values
    with pytest.raises(ValueError, match="one point per control point"):
        tps.sampling_grid(control, torch.zeros(1, 24, 2), 8, 6)
    with pytest.raises(ValueError, match=r"pixel_features must have shape \(48,28\)"):
        tps.sampling_grid(control, control[None], 8, 6, pixel_features=torch.zeros(47, 28))
    with pytest.raises(ValueError, match="grid batch 2 != image batch 1"):
        warp(torch.rand(1, 3, 8, 6), torch.zeros(2, 8, 6, 2))
    with pytest.raises(ValueError, match=r"label must have shape \(B,1,H,W\)"):
        one_hot(torch.zeros(1, 2, 4, 4), 14)
    with pytest.raises(ValueError, match=r"x must have shape \(B,C,H,W\)"):
        dilate(torch.zeros(4, 4))


def test_precomputed_pixel_features_give_the_same_grid():
    control = tps.control_point_lattice()
    values = control[None] + 0.05 * torch.rand(2, 25, 2, generator=torch.Generator().manual_seed(1))
    feats = tps.features(tps.reference_pixel_grid(16, 12), control)
    assert torch.equal(tps.sampling_grid(control, values, 16, 12, pixel_features=feats), tps.sampling_grid(control, values, 16, 12))


def test_ops_trace_without_graph_breaks():
    """No value-dependent Python (``int(x.min())``, ``.tolist()``): a full graph compiles."""

    def glue(label: torch.Tensor, mask: torch.Tensor, points: torch.Tensor, image: torch.Tensor):
        control = tps.control_point_lattice(dtype=image.dtype)
        grid = tps.sampling_grid(control, points, *image.shape[-2:])
        return one_hot(label, 14), dilate(mask, iterations=2), erode(mask, torch.ones(3, 3)), warp(image, grid)

    g = torch.Generator().manual_seed(0)
    args = (
        torch.randint(0, 14, (2, 1, 16, 12), generator=g).float(), torch.rand(2, 1, 16, 12, generator=g),
        tps.control_point_lattice()[None].repeat(2, 1, 1) + 0.01, torch.rand(2, 3, 16, 12, generator=g),
    )  # fmt: skip
    compiled = torch.compile(glue, backend="eager", fullgraph=True)
    for got, want in zip(compiled(*args), glue(*args)):
        assert torch.allclose(got, want, atol=1e-6)
