"""Evaluation: SSIM against scikit-image, FID / KID / IS / LPIPS against torchmetrics, difficulty
levels, the synthetic scorer and ``acgpn eval`` / ``acgpn difficulty`` end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from typer.testing import CliRunner

from acgpn.cli.main import app
from acgpn.evaluation import difficulty as diff
from acgpn.evaluation.features import ImageFeatures, extract_features
from acgpn.evaluation.fid import frechet_distance
from acgpn.evaluation.inception_score import inception_score
from acgpn.evaluation.kid import kernel_inception_distance
from acgpn.evaluation.ssim import ssim
from acgpn.evaluation.synthetic import label_iou_counts, mean_iou, tps_distortion
from acgpn.labels import UPPER_CLOTHES, colorize

runner = CliRunner()


class StandIn(nn.Module):
    """A small feature network with the FID Inception's interface (pool features and logits)."""

    num_features = 16

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2), nn.ReLU())
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> ImageFeatures:
        pool = self.body(x).mean(dim=(2, 3)) * 20
        return ImageFeatures(pool, self.fc(pool))


class Head(nn.Module):
    """One output of the stand-in as a plain tensor (torchmetrics' ``feature=`` hook)."""

    def __init__(self, net: StandIn, which: str) -> None:
        super().__init__()
        self.net, self.which = net, which
        self.num_features = 16 if which == "pool" else 10

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.net(x), self.which)


def smooth_images(n: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    """Real-valued test images: upsampled noise plus fine noise, in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.nn.functional.interpolate(torch.rand(n, 3, 6, 5, generator=g), size=(48, 40), mode="bilinear")
    return (coarse * 0.8 + 0.2 * torch.rand(n, 3, 48, 40, generator=g) + shift).clamp(0, 1)


# ----------------------------------------------------------------------------- metric parity
def test_ssim_matches_scikit_image_to_1e4():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    x = smooth_images(3, 1)
    y = (x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2))).clamp(0, 1)
    y[1] = smooth_images(1, 7)[0]  # an unrelated image: low SSIM
    ours = ssim(x, y)
    for i in range(3):
        ref = skimage_metrics.structural_similarity(
            x[i].permute(1, 2, 0).double().numpy(), y[i].permute(1, 2, 0).double().numpy(),
            gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=2,
        )  # fmt: skip
        assert abs(float(ours[i]) - ref) < 1e-4, (i, float(ours[i]), ref)
    assert float(ours[1]) < float(ours[0]) < 1
    assert torch.allclose(ssim(x, x), torch.ones(3), atol=1e-6)


@pytest.mark.filterwarnings("ignore::UserWarning:torchmetrics")  # its notes on feature buffers and a 1-sample std
def test_fid_kid_is_match_torchmetrics_on_stand_in_features():
    fid_mod = pytest.importorskip("torchmetrics.image.fid")
    kid_mod = pytest.importorskip("torchmetrics.image.kid")
    is_mod = pytest.importorskip("torchmetrics.image.inception")
    net = StandIn().eval()
    real, fake = smooth_images(24, 3), smooth_images(20, 4, shift=0.15)
    f_real = extract_features(net, list(real), batch_size=7)
    f_fake = extract_features(net, list(fake), batch_size=7)
    assert f_real.pool.shape == (24, 16) and f_fake.logits.shape == (20, 10)

    ours = frechet_distance(f_real.pool, f_fake.pool)
    metric = fid_mod.FrechetInceptionDistance(feature=Head(net, "pool"), normalize=True)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    assert ours > 0.1 and abs(ours - float(metric.compute())) < 1e-3
    assert abs(frechet_distance(f_real.pool, f_real.pool)) < 1e-6

    kid, kid_std = kernel_inception_distance(f_real.pool, f_fake.pool, subsets=3, subset_size=20)
    metric = kid_mod.KernelInceptionDistance(feature=Head(net, "pool"), subsets=1, subset_size=20, normalize=True)
    metric.update(real[:20], real=True)
    metric.update(fake, real=False)
    # With the whole set as the subset the MMD is draw-independent: both must agree up to float32
    # rounding (torchmetrics runs the stand-in net again; other CPU kernels round its convs apart).
    full, _ = kernel_inception_distance(f_real.pool[:20], f_fake.pool, subsets=1, subset_size=20)
    reference = float(metric.compute()[0])
    assert abs(full - reference) < 1e-5 + 1e-4 * abs(reference) and kid > 0 and kid_std >= 0

    score, _ = inception_score(f_fake.logits, splits=1)
    metric = is_mod.InceptionScore(feature=Head(net, "logits"), splits=1)
    metric.update(fake)
    assert abs(score - float(metric.compute()[0])) < 1e-5
    assert inception_score(torch.zeros(8, 10))[0] == pytest.approx(1.0)  # uniform predictions


def test_lpips_matches_torchmetrics_with_the_same_backbone(tmp_path, monkeypatch):
    tl = pytest.importorskip("torchmetrics.functional.image.lpips")
    from acgpn.evaluation.lpips import LPIPS, load_lpips

    torch.manual_seed(0)
    model = LPIPS("alex")
    for p in model.features.parameters():
        p.data.normal_(0, 0.05)
    torch.save({f"features.{k}": v for k, v in model.features.state_dict().items()} | {"classifier.1.weight": torch.zeros(2)}, tmp_path / "alexnet-owt-7be5be79.pth")
    ours = load_lpips(tmp_path / "alexnet-owt-7be5be79.pth")  # linear layers: torchmetrics' packaged file
    monkeypatch.setattr(tl, "_get_tv_model_features", lambda name, pretrained=False: ours.features)
    ref = tl._LPIPS(pretrained=True, net="alex", pnet_rand=True)
    x, y = smooth_images(2, 5), smooth_images(2, 6)
    assert torch.allclose(ours(x, y), ref(x * 2 - 1, y * 2 - 1).flatten(), atol=1e-6)
    assert float(ours(x, x).abs().max()) < 1e-7


# ----------------------------------------------------------------------------- difficulty
def body(arms: str, scale: float = 1.0) -> torch.Tensor:
    """Hand-placed COCO-18 keypoints at 256x192 (x, y, confidence), scaled by ``scale``."""
    kp = torch.zeros(18, 3)
    kp[0] = torch.tensor([96, 40, 1])
    kp[1] = torch.tensor([96, 70, 1])
    kp[2], kp[5] = torch.tensor([70, 72, 1]), torch.tensor([122, 72, 1])
    arm = {  # (elbow, wrist) of the right arm; the left arm mirrors it
        "down": ((62, 110), (58, 150)),  # arms hanging at the sides
        "hips": ((48, 100), (74, 128)),  # hands on the hips
        "crossed": ((72, 110), (110, 100)),  # forearms across the torso
    }[arms]
    (ex, ey), (wx, wy) = arm
    kp[3], kp[4] = torch.tensor([ex, ey, 1.0]), torch.tensor([wx, wy, 1.0])
    kp[6], kp[7] = torch.tensor([192 - ex, ey, 1.0]), torch.tensor([192 - wx, wy, 1.0])
    kp[:, :2] *= scale
    return kp


def test_difficulty_orders_hand_placed_poses_and_counts_missing_keypoints():
    c, count = diff.difficulty_c(torch.stack([body("down"), body("hips"), body("crossed")]), 256)
    assert count.tolist() == [7, 7, 7]
    assert c[0] > c[1] > c[2] > 0  # arms at the sides: easy ... crossed over the body: hard
    c2, _ = diff.difficulty_c(body("hips", 2.0), 512)  # C is measured at 256 rows: size-independent
    assert float(c2) == pytest.approx(float(c[1]))
    # By hand for "down": |dx| + |dy| to the centroid, averaged over the seven points.
    xs, ys = [96, 70, 62, 58, 122, 130, 134], [70, 72, 110, 150, 72, 110, 150]
    cx, cy = sum(xs) / 7, sum(ys) / 7
    assert float(c[0]) == pytest.approx(sum(abs(x - cx) + abs(y - cy) for x, y in zip(xs, ys)) / 7)

    missing = body("down")
    missing[4] = 0  # right wrist not detected: C from the other six
    c_missing, n = diff.difficulty_c(missing, 256)
    assert int(n) == 6 and 0 < float(c_missing) < float(c[0])
    few = torch.zeros(18, 3)
    few[1] = torch.tensor([96, 70, 1])
    few[2] = torch.tensor([70, 72, 1])
    c_few, n_few = diff.difficulty_c(few, 256)
    assert int(n_few) == 2 and torch.isnan(c_few)

    values = {"a.jpg": float(c[0]), "b.jpg": float(c[1]), "c.jpg": float(c[2]), "d.jpg": None}
    levels = diff.assign_levels(values, {"a.jpg": 7, "b.jpg": 7, "c.jpg": 7, "d.jpg": 2})
    assert levels.source == "terciles" and levels.level_of() == {"a.jpg": "easy", "b.jpg": "medium", "c.jpg": "hard", "d.jpg": "undetermined"}
    given = diff.assign_levels(values, {}, thresholds=(0, 1))
    assert given.levels["easy"] == ["a.jpg", "b.jpg", "c.jpg"] and given.thresholds == (0.0, 1.0)
    assert levels.summary()["persons_with_missing_keypoints"] == 1 and levels.summary()["missing_keypoints"] == 5


def test_difficulty_cli_writes_levels_with_thresholds(tmp_path, small_synth_dir):
    out = tmp_path / "levels"
    res = runner.invoke(app, ["difficulty", "--data", str(small_synth_dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "terciles" in res.output
    of = diff.read_levels(out)
    assert sorted(of) == sorted(p.name for p in (small_synth_dir / "test_img").iterdir())
    summary = json.loads((out / "difficulty.json").read_text())
    t1, t2 = summary["thresholds"]["t1"], summary["thresholds"]["t2"]
    for person, level in of.items():
        c = summary["c"][person]
        assert level == ("hard" if c < t1 else "medium" if c < t2 else "easy")
    assert (out / "hard.txt").read_text().startswith("# acgpn difficulty level hard: C < ")
    res = runner.invoke(app, ["difficulty", "--data", str(small_synth_dir), "--out", str(out), "--thresholds", "0,1000"])
    assert res.exit_code == 0 and set(diff.read_levels(out).values()) == {"medium"}
    res = runner.invoke(app, ["difficulty", "--data", str(small_synth_dir), "--out", str(out), "--thresholds", "5,2"])
    assert res.exit_code == 2 and "t1 <= t2" in res.output


# ----------------------------------------------------------------------------- synthetic scorer
def test_synthetic_scores_on_simple_cases():
    a = torch.tensor([[0, 0, 4], [4, 4, 11]])
    b = torch.tensor([[0, 4, 4], [4, 4, 13]])
    inter, union = label_iou_counts(a, b)
    assert inter[0] == 1 and union[0] == 2 and inter[4] == 3 and union[4] == 4 and union[11] == 1 and union[13] == 1
    assert mean_iou(inter, union) == pytest.approx((0.5 + 0.75 + 0 + 0) / 4)
    lattice = torch.stack(torch.meshgrid(torch.linspace(-0.9, 0.9, 5), torch.linspace(-0.9, 0.9, 5), indexing="ij")[::-1], -1).view(25, 2)
    assert tps_distortion(lattice) == (0, pytest.approx(0.0, abs=1e-9))
    folded = lattice.clone()
    folded[12, 0] = 0.9  # the centre point pushed past its right neighbours
    n_folded, cv = tps_distortion(folded)
    assert n_folded >= 1 and cv > 0.1


# ----------------------------------------------------------------------------- acgpn eval
def fake_outputs(data: Path, out: Path, kind: str) -> list[str]:
    """Write 'predictions' for the unpaired pairs: ``perfect`` (the ground truth and its layout,
    mask and warp) or ``nothing`` (the person image, the do-nothing output)."""
    names = []
    for line in (data / "test_pairs_unpaired.txt").read_text().split("\n"):
        if not line.strip():
            continue
        person, cloth = line.split()
        stem = f"{Path(person).stem}__{Path(cloth).stem}"
        names.append(stem + ".png")
        src = data / "test_gt_unpaired" / f"{stem}.jpg" if kind == "perfect" else data / "test_img" / person
        out.mkdir(parents=True, exist_ok=True)
        Image.open(src).save(out / f"{stem}.png")
        if kind == "perfect":
            inter = out / "intermediates" / stem
            inter.mkdir(parents=True)
            label = np.asarray(Image.open(data / "test_gt_unpaired_label" / f"{stem}.png"))
            if len(names) == 1:  # the first pair: only the colour picture of the layout (palette decoded)
                Image.fromarray(colorize(label)).save(inter / "layout.png")
            else:
                Image.fromarray(label).save(inter / "layout_ids.png")
            Image.fromarray(((label == UPPER_CLOTHES) * 255).astype(np.uint8)).save(inter / "target_cloth_mask.png")
            Image.open(src).save(inter / "warped_cloth.png")
            grid = torch.stack(torch.meshgrid(torch.linspace(-0.9, 0.9, 5), torch.linspace(-0.9, 0.9, 5), indexing="ij")[::-1], -1)
            (inter / "numbers.json").write_text(json.dumps({"control_points": grid.view(25, 2).tolist()}))
    return names


@pytest.fixture(scope="module")
def eval_data(tmp_path_factory, small_synth_dir) -> Path:
    """A private copy of the small synthetic set (tests write difficulty levels into it)."""
    return Path(shutil.copytree(small_synth_dir, tmp_path_factory.mktemp("eval") / "data"))


def test_eval_scores_perfect_and_do_nothing_outputs_and_writes_reports(tmp_path, eval_data):
    perfect, nothing = tmp_path / "perfect", tmp_path / "nothing"
    names = fake_outputs(eval_data, perfect, "perfect")
    fake_outputs(eval_data, nothing, "nothing")
    res = runner.invoke(app, ["eval", "--pred", str(perfect), "--data", str(eval_data), "--out", str(tmp_path / "p.json"), "--html", str(tmp_path / "p.html")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["count"] == len(names) == 4 and report["protocol"]["unpaired"] == 4
    assert set(report) >= {"count", "overall", "by_level", "per_pair"}
    o = report["overall"]
    # The ground truth itself as the prediction: the PNG of a JPEG, so exact.
    assert o["ssim"] == pytest.approx(1.0, abs=1e-6) and o["l1"] == pytest.approx(0.0, abs=1e-7)
    assert o["layout_miou"] == 1.0 and o["cloth_mask_iou"] == 1.0
    assert o["warped_l1"] < 1e-7 < o["warped_l1_no_warp"] and o["warped_l1_ratio"] < 1e-6
    assert o["masked_l1_ratio"] < 1e-6 and o["ssim_do_nothing"] < 1 and o["tps_folded_cells"] == 0
    assert set(report["by_level"]) == {"easy", "medium", "hard"}  # terciles computed on the fly
    assert sum(v["count"] for v in report["by_level"].values()) == 4
    assert "terciles" in report["protocol"]["levels"]["source"]
    assert "| metric | all (4) | easy" in res.output and "| ssim | 1.0000 |" in res.output
    page = (tmp_path / "p.html").read_text()
    assert page.count("data:image/png;base64,") >= 4 * 3 and "best" in page and "<table>" in page

    (tmp_path / "file").write_text("x")  # an --html under a file: refused before anything is written
    res = runner.invoke(app, ["eval", "--pred", str(nothing), "--data", str(eval_data), "--out", str(tmp_path / "bad.json"), "--html", str(tmp_path / "file" / "r.html")])
    assert res.exit_code == 2 and "exists and is not a folder" in res.output and not (tmp_path / "bad.json").exists(), res.output

    res = runner.invoke(app, ["eval", "--pred", str(nothing), "--data", str(eval_data), "--out", str(tmp_path / "n.json"), "--metrics", "ssim,l1,masked_l1"])
    assert res.exit_code == 0, res.output
    n = json.loads((tmp_path / "n.json").read_text())["overall"]
    assert n["masked_l1_ratio"] == pytest.approx(1.0) and n["ssim"] == pytest.approx(n["ssim_do_nothing"])
    assert n["l1"] > 0.01 and "layout_miou" not in n


def test_eval_uses_difficulty_output_and_stand_in_features(tmp_path, eval_data):
    from acgpn.evaluation.evaluate import evaluate

    pred = tmp_path / "pred"
    fake_outputs(eval_data, pred, "nothing")
    res = runner.invoke(app, ["difficulty", "--data", str(eval_data), "--thresholds", "0,1000"])
    assert res.exit_code == 0, res.output
    result = evaluate(pred, eval_data, metrics=["ssim", "fid", "kid", "is"], feature_net=StandIn().eval())
    report = result.report
    assert report["protocol"]["levels"]["source"] == str(eval_data / "test_difficulty")
    assert report["by_level"]["medium"]["count"] == 4 and report["by_level"]["easy"]["count"] == 0
    o = report["overall"]
    assert abs(o["fid"]) < 1e-6 and o["kid"] is not None  # the person images themselves: same features
    assert o["is"] >= 1.0 and o["is_std"] >= 0 and report["by_level"]["easy"]["fid"] is None
    fake_outputs(eval_data, tmp_path / "perfect", "perfect")
    other = evaluate(tmp_path / "perfect", eval_data, metrics=["fid", "kid"], feature_net=StandIn().eval()).report
    assert other["overall"]["fid"] > 1e-3 and other["by_level"]["medium"]["fid"] == pytest.approx(other["overall"]["fid"])
    shutil.rmtree(eval_data / "test_difficulty")


def test_eval_with_inception_weights_file(tmp_path, eval_data, monkeypatch):
    from acgpn.evaluation import inception

    net = inception.FIDInceptionV3()
    torch.manual_seed(0)
    for m in net.modules():  # activations of O(1) all the way (default init fades into denormals: slow)
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
    weights = tmp_path / "inception.pth"
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}, weights)
    monkeypatch.setattr(inception, "INPUT_SIZE", 75)  # the smallest input the net takes: 16x fewer FLOPs
    pred = tmp_path / "pred"
    fake_outputs(eval_data, pred, "perfect")
    out = tmp_path / "r.json"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # ~200 small convs: one thread is several times faster on a busy machine
    try:
        res = runner.invoke(app, ["eval", "--pred", str(pred), "--data", str(eval_data), "--out", str(out), "--metrics", "fid,kid,is", "--inception-weights", str(weights), "--device", "cpu"])
    finally:
        torch.set_num_threads(threads)
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["overall"]["fid"] > 0 and report["overall"]["is"] >= 1.0 and "ssim" not in report["overall"]
    assert report["protocol"]["inception_weights"]["standard"] is False and "not the standard file" in res.output


def test_eval_bad_inputs_exit_2_with_one_line(tmp_path, eval_data):
    pred = tmp_path / "pred"
    names = fake_outputs(eval_data, pred, "nothing")
    base = ["eval", "--data", str(eval_data), "--out", str(tmp_path / "r.json")]

    def fails(args: list[str], *needles: str) -> None:
        res = runner.invoke(app, base + args)
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output and res.output.startswith("error: ") and len(res.output.strip().splitlines()) == 1
        for needle in needles:
            assert needle in res.output, res.output

    pairs = tmp_path / "pairs.txt"
    pairs.write_text("000000_0.jpg 000002_1.jpg\n")
    fails(["--pred", str(pred), "--pairs", str(pairs)], "missing prediction", "000000_0__000002_1.png")
    (tmp_path / "empty").mkdir()
    fails(["--pred", str(tmp_path / "empty")], "no predictions found")
    Image.open(pred / names[0]).resize((32, 48)).save(pred / names[0])
    fails(["--pred", str(pred)], "prediction is 48x32", "64x48")
    fake_outputs(eval_data, tmp_path / "ok", "nothing")
    fails(["--pred", str(tmp_path / "ok"), "--metrics", "fid"], "pt_inception-2015-12-05-6726825d.pth", "--inception-weights")
    fails(["--pred", str(tmp_path / "ok"), "--inception-weights", str(tmp_path / "nope.pth")], "nope.pth: file not found", "pt_inception")
    torch.save({"conv.weight": torch.zeros(3)}, tmp_path / "other.pth")
    fails(["--pred", str(tmp_path / "ok"), "--inception-weights", str(tmp_path / "other.pth")], "not Inception weights")
    fails(["--pred", str(tmp_path / "ok"), "--lpips-weights", str(tmp_path / "other.pth")], "not an AlexNet / VGG16")
    fails(["--pred", str(tmp_path / "ok"), "--metrics", "ssim,psnr"], "unknown metric 'psnr'")
    assert not (tmp_path / "r.json").exists()


def test_eval_protocol_runs_inference_then_scores(tmp_path, small_synth_dir):
    from acgpn.nets import UNet, WarpNet
    from acgpn.pipeline import TryOnPipeline

    torch.manual_seed(0)
    u = WarpNet(base_channels=4, depth=3, loc_input_size=(64, 48), loc_channels=(4, 8, 8, 8))
    u.init_identity()
    pipe = TryOnPipeline(UNet(37, 14, base_channels=4, depth=3), UNet(37, 1, base_channels=4, depth=3), u, UNet(24, 3, base_channels=4, depth=3))
    pipe.save_pretrained(tmp_path / "ckpt")
    out = tmp_path / "paired" / "report.json"
    args = ["eval", "--protocol", "paired", "--data", str(small_synth_dir), "--checkpoint", str(tmp_path / "ckpt"), "--out", str(out), "--device", "cpu"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["count"] == 4 and report["protocol"]["paired"] == 4  # each person with its own cloth
    assert sorted(p.name for p in (tmp_path / "paired" / "paired").glob("*.png")) == [f"{i:06d}_0__{i:06d}_1.png" for i in range(4)]
    o = report["overall"]
    assert 0 < o["ssim"] < 1 and o["layout_miou"] is not None and "masked_l1_ratio" not in o  # paired: no do-nothing ratio
    res = runner.invoke(app, args)  # resumable: nothing to recompute, same scores
    assert res.exit_code == 0 and "0 written, 4 already done" in res.output
    assert json.loads(out.read_text())["overall"]["ssim"] == pytest.approx(o["ssim"])


def test_read_mask_scales_16_bit_like_the_data_reader(tmp_path):
    from acgpn.data.files import load_image, mask_tensor, size_hw
    from acgpn.evaluation.evaluate import read_mask

    values = np.array([[0, 20000, 40000, 65535]], dtype=np.uint16)  # probabilities 0, 0.31, 0.61, 1
    path = tmp_path / "mask16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    got = read_mask(path, "a cloth mask")
    assert got.tolist() == [[False, False, True, True]]  # clipped to 8 bits, 20000 would read as 255
    img = load_image(path, "a cloth mask")
    assert torch.equal(got, mask_tensor(img, size_hw(img))[0] >= 0.5)


def test_eval_levels_folder_with_bad_files_exits_2_with_one_line(tmp_path, eval_data):
    pred = tmp_path / "pred"
    names = fake_outputs(eval_data, pred, "nothing")
    persons = sorted(p.name for p in (eval_data / "test_img").iterdir())
    levels = tmp_path / "levels"
    levels.mkdir()
    for name in diff.LEVELS:
        (levels / f"{name}.txt").write_text("")
    (levels / "medium.txt").write_text("".join(p + "\n" for p in persons))
    args = ["eval", "--pred", str(pred), "--data", str(eval_data), "--out", str(tmp_path / "r.json"), "--metrics", "ssim", "--levels", str(levels)]

    def fails(*needles: str) -> None:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output and res.output.startswith("error: ") and len(res.output.strip().splitlines()) == 1, res.output
        for needle in needles:
            assert needle in res.output, res.output
        assert not (tmp_path / "r.json").exists()

    (levels / "hard.txt").write_bytes(b"caf\xe9.jpg\n")  # Latin-1, not UTF-8
    fails("hard.txt", "not UTF-8")
    (levels / "hard.txt").write_text("")
    (levels / diff.SUMMARY_FILE).write_text('{"thresholds": {"t1": 1')  # torn
    fails(diff.SUMMARY_FILE, "not valid JSON")
    (levels / diff.SUMMARY_FILE).write_text('{"thresholds": [1, 2], "c": {}}')  # wrong shape
    fails(diff.SUMMARY_FILE, "'thresholds'")
    (levels / diff.SUMMARY_FILE).unlink()  # optional: level files alone are fine
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["by_level"]["medium"]["count"] == len(names) and report["protocol"]["levels"]["source"] == str(levels)
