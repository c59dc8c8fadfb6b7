"""Networks: official keys/shapes, configurable widths and sizes, recorded configs, step-II seams."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from acgpn import checkpoints
from acgpn.modules import cwm
from acgpn.nets import OFFICIAL_NET_NAMES, UNet, VGG19Features, WarpNet, official_net, without_init
from acgpn.nets.warp import TPSGridGenerator
from acgpn.ops import tps
from acgpn.pipeline import CPU_PER_SAMPLE_PIXELS, TryOnPipeline
from model_fixtures import shared_reference

MANIFEST = shared_reference() / "official_state_dict_manifest.json"
SMALL_LOC = (4, 4, 4, 4, 4, 8)


@pytest.mark.skipif(not MANIFEST.is_file(), reason="official manifest not found")
def test_state_dict_keys_and_shapes_match_the_official_manifest():
    manifest = json.loads(MANIFEST.read_text())
    for official, ours in (("U", "u"), ("G1", "g1"), ("G2", "g2"), ("G", "g")):
        with torch.device("meta"):
            state = official_net(ours).state_dict()
        assert [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in state.items()] == manifest[official]


def test_parameter_counts_match_the_spec():
    with torch.device("meta"):
        counts = {n: sum(p.numel() for p in official_net(n).parameters()) for n in OFFICIAL_NET_NAMES}
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
    net = WarpNet(base_channels=4, loc_channels=(4, 4), loc_input_size=(64, 48)).eval()
    for size in ((64, 48), (128, 96), (32, 32)):
        cloth, mask = torch.rand(1, 3, *size), torch.ones(1, 1, *size)
        with torch.no_grad():
            out = cwm.clothes_warping(net, cloth, mask, mask)
        assert out.warped_cloth.shape == out.refined_cloth.shape == out.rendered_cloth.shape == (1, 3, *size)
        assert out.alpha.shape == out.raw_alpha.shape == (1, 1, *size) and out.control_points.shape == (1, 25, 2)


def test_unet_batch_schedule_is_a_runtime_policy_of_the_pipeline():
    net = UNet(3, 2, base_channels=4).eval()
    assert net.per_sample_pixels is None  # the architecture itself always runs batched
    x = torch.randn(3, 3, 128, 96)
    with torch.no_grad():
        plain = net(x)
        net.per_sample_pixels = CPU_PER_SAMPLE_PIXELS  # full-resolution levels one sample at a time
        split = net(x)
        single = torch.cat([net(x[i : i + 1]) for i in range(3)])
    assert torch.allclose(split, single, atol=1e-4) and torch.allclose(plain, single, atol=1e-4)

    pipe = TryOnPipeline(UNet(37, 14, 4), UNet(37, 1, 4), WarpNet(base_channels=4, loc_channels=SMALL_LOC), UNet(24, 3, 4))
    unets = [m for m in pipe.modules() if isinstance(m, UNet)]
    assert len(unets) == 4 and all(m.per_sample_pixels == CPU_PER_SAMPLE_PIXELS for m in unets)
    pipe.to("meta")  # any non-CPU device: every level batched
    assert all(m.per_sample_pixels is None for m in unets)
    pipe.to_empty(device="cpu")
    assert all(m.per_sample_pixels == CPU_PER_SAMPLE_PIXELS for m in unets)


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


def test_fast_math_in_channels_last_keeps_outputs_and_gradients():
    """NHWC fast_math (two-pass instance norm, split skip convs) against the official op sequence
    in float64, forward and backward: no further from it than the float32 official ops are (the
    in-place steps of the fast path must not break autograd either)."""
    torch.manual_seed(0)
    net = UNet(6, 3, base_channels=8, depth=4).train()
    x = torch.randn(2, 6, 64, 48)

    def run(model: UNet, inp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        model.zero_grad()
        out = model(inp)
        out.square().mean().backward()
        return out.detach().double(), torch.cat([p.grad.flatten().double() for p in model.parameters()])

    out64, grad64 = run(copy.deepcopy(net).double(), x.double())
    _, grad32 = run(net, x)
    fast_net = copy.deepcopy(net).set_fast_math(True).to(memory_format=torch.channels_last)
    fast, grad_fast = run(fast_net, x.contiguous(memory_format=torch.channels_last))
    assert (fast - out64).abs().max() < 1e-4
    official_error = float((grad32 - grad64).norm() / grad64.norm())  # ~4e-3 here: float32 rounding
    assert float((grad_fast - grad64).norm() / grad64.norm()) <= max(2 * official_error, 1e-4)
    with torch.inference_mode():  # the in-place path
        assert (fast_net(x.contiguous(memory_format=torch.channels_last)).double() - out64).abs().max() < 1e-4


@pytest.mark.parametrize("size", [(32, 32), (31, 33)])  # at and just below unet.GROUP_NORM_MIN_PIXELS
def test_bf16_channels_last_instance_norm_is_a_norm_of_its_input(size, monkeypatch):
    """bf16 NHWC maps on the CPU: group_norm from GROUP_NORM_MIN_PIXELS pixels up, the two-pass
    path below; either way the bf16 output is the float64 instance norm of the same bf16 input
    to within a few bf16 steps, also for a channel whose mean is 30 standard deviations."""
    from acgpn.nets import unet

    calls = []
    real_group_norm = unet.F.group_norm
    monkeypatch.setattr(unet.F, "group_norm", lambda *a, **k: calls.append(1) or real_group_norm(*a, **k))
    torch.manual_seed(0)
    x = torch.randn(2, 8, *size) * torch.linspace(0.5, 3, 8).view(1, 8, 1, 1) + torch.linspace(-2, 30, 8).view(1, 8, 1, 1)
    x = x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    norm = unet.InstanceNorm(8, inplace=True)
    norm.fast_math = True
    reference = torch.nn.functional.instance_norm(x.double(), eps=norm.eps)
    with torch.inference_mode():
        y = norm(x.clone())
    assert len(calls) == (size[0] * size[1] >= unet.GROUP_NORM_MIN_PIXELS)
    assert y.dtype == torch.bfloat16 and y.is_contiguous(memory_format=torch.channels_last)
    # a bf16 step at |y| <= 4 is 2 ** -6; the two-pass path rounds the mean, the centred map and the scale
    assert (y.double() - reference).abs().max() <= 4 * 2.0**-6  # measured 0.011 (group_norm), 0.036 (two-pass)


def test_up_conv_keeps_its_folded_kernel_only_while_the_weight_is_unchanged(monkeypatch):
    """Inference reuses the folded transposed-conv kernel; any change of the weight (an optimiser
    step, a loaded state dict, a layout or dtype switch) refolds it, and autograd never sees it."""
    import acgpn.nets.unet as unet

    folds = []
    real_fold = unet.fold_upsample_conv3x3
    monkeypatch.setattr(unet, "fold_upsample_conv3x3", lambda w: folds.append(w.shape) or real_fold(w))
    torch.manual_seed(0)
    up = unet.UpConv(6, 4)
    up.fast_math = True
    x = torch.randn(2, 6, 5, 7)

    def exact() -> torch.Tensor:
        with torch.no_grad():
            return up[3](up[2](up[1](torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest"))))

    with torch.inference_mode():
        first, second = up(x), up(x)
    assert len(folds) == 1 and torch.equal(first, second) and torch.allclose(first, exact(), atol=1e-5)
    with torch.no_grad():
        up[1].weight.mul_(-2.0)  # an in-place update (an optimiser step)
        assert torch.allclose(up(x), exact(), atol=1e-5) and len(folds) == 2
        up.load_state_dict({k: torch.randn_like(v) for k, v in up.state_dict().items()})
        assert torch.allclose(up(x), exact(), atol=1e-5) and len(folds) == 3
        up.to(memory_format=torch.channels_last)
        assert torch.allclose(up(x), exact(), atol=1e-5) and len(folds) == 4
        up.double()
        assert up(x.double()).dtype == torch.float64 and len(folds) == 5
    up.float()
    y = up(x)  # autograd: folded in the call, differentiable, nothing kept
    y.sum().backward()
    assert y.requires_grad and up[1].weight.grad is not None and len(folds) == 5


def test_nets_record_their_config_and_rebuild_from_it():
    nets = [UNet(7, 2, base_channels=4, depth=3, dropout=0.5), WarpNet(base_channels=4, depth=4, loc_channels=(4, 8), loc_input_size=(64, 48), grid_shape=(3, 4))]
    for net in nets:
        spec = json.loads(json.dumps(checkpoints.net_spec(net)))  # what config.json holds
        assert spec["class"] == type(net).__name__
        again = checkpoints.build_net(spec)
        assert type(again) is type(net) and again.config == net.config
        assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in net.state_dict().items()}
    assert nets[1].config["loc_channels"] == [4, 8] and nets[1].config["grid_shape"] == [3, 4]
    assert official_net("g1").config == {"in_channels": 37, "out_channels": 14, "base_channels": 64, "depth": 5, "dropout": 0.0}
    with pytest.raises(ValueError, match=r"UNet\.base_channels: expected int, got '4'"):
        UNet.from_config({"in_channels": 7, "out_channels": 2, "base_channels": "4"})
    with pytest.raises(ValueError, match=r"WarpNet\.grid_shape: expected tuple\[int, int\], got \[5\]"):
        WarpNet.from_config({"grid_shape": [5]})
    with pytest.raises(ValueError, match="unknown argument 'width'"):
        UNet.from_config({"in_channels": 7, "out_channels": 2, "width": 4})


def test_a_new_warp_net_starts_at_the_identity_warp():
    net = WarpNet(base_channels=4, loc_channels=(4, 4), loc_input_size=(64, 48)).eval()
    lattice = tps.control_point_lattice()
    g = torch.Generator().manual_seed(0)
    cloth, masks = torch.rand(2, 3, 64, 48, generator=g), torch.rand(2, 2, 64, 48, generator=g)
    with torch.no_grad():
        points = net.control_points(cloth, masks[:, :1], masks[:, 1:])
        warped = cwm.warp_cloth(net, cloth, points, align_corners=True)
    assert torch.allclose(points, lattice.expand(2, -1, -1), atol=1e-6)
    assert torch.allclose(net.grid(points, 64, 48), tps.reference_pixel_grid(64, 48).view(1, 64, 48, 2), atol=1e-5)
    assert torch.allclose(warped, cloth, atol=1e-3)
    assert not net.stn.loc_net.cnn.fc2.weight.any()


def test_a_net_built_without_init_loads_into_the_same_net():
    """without_init (the checkpoint loaders) skips the random init, not the derived TPS buffers:
    loaded, it is the normally built net, buffers and outputs alike (a NaN in uninitialised
    storage left unloaded would show)."""
    def build() -> WarpNet:
        return WarpNet(base_channels=4, loc_channels=(4, 4), loc_input_size=(64, 48))

    torch.manual_seed(0)
    reference = build().eval()
    fresh = without_init(build)
    assert torch.equal(fresh.stn.tps.lattice_points, reference.stn.tps.lattice_points)  # not in the state dict
    fresh.load_state_dict(reference.state_dict())
    fresh.eval()
    for (key, a), (_, b) in zip(reference.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(a, b), key
    g = torch.Generator().manual_seed(1)
    cloth, masks = torch.rand(2, 3, 64, 48, generator=g), torch.rand(2, 2, 64, 48, generator=g)
    with torch.no_grad():
        assert torch.equal(fresh.control_points(cloth, masks[:, :1], masks[:, 1:]), reference.control_points(cloth, masks[:, :1], masks[:, 1:]))
    with pytest.raises(TypeError, match="reset_buffers"):  # a buffer no load fills and nothing recomputes
        without_init(lambda: VGG19Features())


def test_tps_grid_generator_calls_the_ops_and_uses_its_stored_features():
    gen = TPSGridGenerator(size=(32, 24))
    control = tps.control_point_lattice()
    points = control[None] + 0.05 * torch.rand(2, 25, 2, generator=torch.Generator().manual_seed(0))
    stored = tps.sampling_grid(control, points, 32, 24, gen.inverse_kernel, gen.target_coordinate_repr)
    assert torch.equal(gen(points, 32, 24), stored)
    assert torch.equal(gen(points, 16, 12), tps.sampling_grid(control, points, 16, 12, gen.inverse_kernel))  # computed on the fly
    assert torch.allclose(stored, tps.sampling_grid(control, points, 32, 24, gen.inverse_kernel), atol=1e-6)  # float64-made vs float32
    assert torch.allclose(gen(points, 32, 24), tps.sampling_grid(control, points, 32, 24), atol=1e-5)
    gen.target_coordinate_repr.zero_()  # loaded buffers are used as they are, like the official net
    assert not gen(points, 32, 24).any()


def test_refine_cloth_returns_eq6_and_its_parts():
    torch.manual_seed(0)
    net = WarpNet(base_channels=4, loc_channels=SMALL_LOC).eval()
    warped = torch.rand(2, 3, 64, 48) * 2 - 1
    mask = (torch.rand(2, 1, 64, 48) > 0.5).float()
    with torch.no_grad():
        out = cwm.refine_cloth(net, warped, mask)
        logits = net.refine(mask, warped)
    assert torch.equal(out.rendered_cloth, torch.tanh(logits[:, :3]))
    assert torch.equal(out.raw_alpha, torch.sigmoid(logits[:, 3:]))
    assert torch.equal(out.alpha, out.raw_alpha * mask) and not out.alpha[mask == 0].any()
    assert torch.equal(out.refined_cloth, out.rendered_cloth * (1 - out.alpha) + out.alpha * warped)
    outside = (mask == 0).expand_as(warped)
    assert torch.equal(out.refined_cloth[outside], out.rendered_cloth[outside])  # off M: only the render


def test_tps_inverse_kernel_is_a_float64_inverse_on_any_machine():
    """L^-1 is the float64 inverse of the float32 system matrix, rounded (one result whatever the
    LAPACK; a float32 inverse is 1e-5 off): equal, to float32 rounding, to NumPy's float64 inverse;
    the pixel features are float32 values of the same function."""
    np = pytest.importorskip("numpy")
    gen = TPSGridGenerator(size=(64, 48))
    control = tps.control_point_lattice(dtype=torch.float32).double().numpy()

    def phi(d2):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d2 > 0, 0.5 * d2 * np.log(d2), 0.0)

    def rows(q):
        d2 = ((q[:, None, :] - control[None]) ** 2).sum(-1)
        return np.concatenate([phi(d2), np.ones((len(q), 1)), q], axis=1)

    system = tps.system_matrix(torch.from_numpy(control).float()).double().numpy()  # float32 L, as the official code builds it
    inverse = torch.from_numpy(np.linalg.inv(system)).float()
    features = torch.from_numpy(rows(tps.reference_pixel_grid(64, 48).double().numpy())).float()
    assert (gen.inverse_kernel - inverse).abs().max() <= 1e-6  # a float32 LAPACK inverse is 1e-5 off
    assert (gen.target_coordinate_repr - features).abs().max() <= 1e-6
