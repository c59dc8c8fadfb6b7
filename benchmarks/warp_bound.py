"""How low can one 5x5 TPS bring the warped-cloth ratio of the learning recipe? A per-pair bound.

    python benchmarks/warp_bound.py                          # 16 held-out pairs of the recipe's split
    python benchmarks/warp_bound.py --data outputs/train-synthetic/data/held_out --limit 64

The recipe scores the warped cloth T^W_c by its L1 inside the ground-truth cloth pixels of the
unpaired reference, divided by the same for the unwarped product image (``warped_l1_ratio``,
target <= 0.5). Here no network predicts the control points: for every pair, the 25 points of the
warp (the pipeline's TPS grid and warp op, points not bounded by a tanh) are fitted by Adam
directly against that pair's ground truth, from several starting zooms of the lattice, and the
best fit per pair is kept. The fit minimises the scored L1 plus half the L1 between the warped
product mask and the ground-truth cloth mask (without it the fit stalls where a plain colour gives
no gradient). The result bounds from below what any STN with this warp can score on these pairs
(up to the optimiser finding the global optimum). Without ``--data`` the recipe's held-out split
(64 samples at 128x96, seed 2) is synthesised into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, help="A synthetic split (acgpn synth, phase test); default: the recipe's held-out split.")
    p.add_argument("--limit", type=int, default=16, help="Pairs to fit (the first N unpaired pairs).")
    p.add_argument("--steps", type=int, default=1000, help="Adam steps per fit.")
    p.add_argument("--zooms", type=float, nargs="+", default=[1.0, 1.6, 2.2], help="Starting points: the lattice times each zoom.")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, help="Also write the results here.")
    args = p.parse_args()

    from torch.utils.data import default_collate

    from acgpn.data import TryOnDataset
    from acgpn.data.layouts import output_name
    from acgpn.evaluation.evaluate import read_ids, read_rgb
    from acgpn.evaluation.ssim import ssim
    from acgpn.labels import UPPER_CLOTHES
    from acgpn.modules import sgm
    from acgpn.nets.warp import TPSGridGenerator
    from acgpn.ops.warp import warp
    from acgpn.recipes import HELD_OUT_SEED, RecipeConfig
    from acgpn.synth import generate_dataset
    from acgpn.synth.dataset import folder_paths

    if args.threads:
        torch.set_num_threads(args.threads)
    root = args.data
    if root is None:
        cfg = RecipeConfig()
        root = generate_dataset(Path(tempfile.mkdtemp()) / "held_out", cfg.held_out_num, cfg.size, HELD_OUT_SEED, "test")
    dataset = TryOnDataset(root, dataset_layout="viton", phase="test", pairs=root / "test_pairs_unpaired.txt")
    batch = default_collate([dataset[i] for i in range(min(args.limit, len(dataset)))])
    folders = folder_paths(root, "test")
    references, cloth_pixels = [], []
    for person, cloth in zip(batch["person"], batch["cloth_name"]):
        name = output_name(person, cloth, "")
        references.append(read_rgb(folders["gt_unpaired"] / f"{name}.jpg", "a ground-truth try-on image") * 2 - 1)
        cloth_pixels.append(read_ids(folders["gt_unpaired_label"] / f"{name}.png", "a ground-truth label map") == UPPER_CLOTHES)
    reference = torch.stack(references)  # (B, 3, H, W) in [-1, 1]
    region = torch.stack(cloth_pixels)[:, None].float()  # (B, 1, H, W) the scored pixels
    product_mask, masked_cloth = sgm.masked_cloth(batch["cloth"], batch["product_mask"])
    h, w = reference.shape[-2:]
    tps = TPSGridGenerator(size=(h, w))
    area = region.sum((1, 2, 3)).clamp_min(1)

    def region_l1(image: torch.Tensor) -> torch.Tensor:
        """Per pair: mean |image - R| over the cloth pixels and channels, in [0, 1] units."""
        return ((image - reference).abs() * region).sum((1, 2, 3)) / (3 * area) / 2

    def fit(zoom: float) -> tuple[torch.Tensor, torch.Tensor]:
        points = (tps.lattice(torch.float32) * zoom).expand(len(reference), -1, -1).clone().requires_grad_(True)
        opt = torch.optim.Adam([points], lr=0.02)
        for step in range(args.steps):
            if step == int(0.6 * args.steps):
                opt.param_groups[0]["lr"] = 0.005
            grid = tps(points, h, w)
            loss = 2 * region_l1(warp(masked_cloth, grid)) + 0.5 * (warp(product_mask, grid) - region).abs().mean((1, 2, 3))
            opt.zero_grad()
            loss.sum().backward()
            opt.step()
        with torch.no_grad():
            return region_l1(warp(masked_cloth, tps(points, h, w))), points.detach()

    start = time.perf_counter()
    no_warp = region_l1(batch["cloth"])
    with torch.no_grad():
        identity = region_l1(warp(masked_cloth, tps(tps.lattice(torch.float32).expand(len(reference), -1, -1), h, w)))
    rows = {"identity warp": identity}
    fits = {z: fit(z) for z in args.zooms}
    for zoom, (l1, _) in fits.items():
        rows[f"fit from zoom {zoom:g}"] = l1
    rows["best fit per pair"], best = torch.stack([l1 for l1, _ in fits.values()]).min(0)  # best: (B,) each pair's zoom
    result = {name: float(v.sum() / no_warp.sum()) for name, v in rows.items()}
    # SSIM ceiling: a try-on equal to the ground truth except on its cloth pixels, which hold the
    # best-fit warped cloth (or the unwarped product image), as a try-on that copies its cloth
    # from this warp could at best be.
    points = torch.stack([l1_points[1] for l1_points in fits.values()])[best, torch.arange(len(best))]
    with torch.no_grad():
        warped = warp(masked_cloth, tps(points, h, w))
    ceilings = {}
    for name, cloth_source in (("best-fit warped cloth", warped), ("unwarped product image", batch["cloth"])):
        pasted = reference * (1 - region) + cloth_source * region
        ceilings[name] = float(ssim((pasted + 1) / 2, (reference + 1) / 2).mean())
    print(f"{len(reference)} unpaired pairs at {h}x{w} from {root}; {args.steps} Adam steps per fit; {time.perf_counter() - start:.0f} s")
    print("| warp | warped / no-warp L1 ratio |\n| --- | --- |")
    for name, ratio in result.items():
        print(f"| {name} | {ratio:.3f} |")
    print("\n| ground truth with its cloth pixels from | try-on SSIM |\n| --- | --- |")
    for name, value in ceilings.items():
        print(f"| {name} | {value:.3f} |")
    if args.json:
        record = {"pairs": len(reference), "size": [h, w], "steps": args.steps, "ratios": result, "ssim_ceilings": ceilings}
        args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
