"""How low can one 5x5 TPS bring the warped-cloth ratio of the learning recipe? A per-pair bound.

    python benchmarks/warp_bound.py                          # 16 held-out pairs of the recipe's split
    python benchmarks/warp_bound.py --data outputs/train-synthetic/data/held_out --limit 64

The recipe scores the warped cloth T^W_c by its L1 inside the ground-truth cloth pixels of the
unpaired reference, divided by the same for the unwarped product image (``warped_l1_ratio``,
target <= 0.5). Here no network predicts the control points: for every pair, the 25 points of the
warp (the pipeline's TPS grid and warp op) are fitted by Adam directly against that pair's
ground truth, from several starting zooms of the lattice, and the best fit per pair is kept. The
fit minimises the scored L1 plus half the L1 between the warped product mask and the ground-truth
cloth mask (without it the fit stalls where a plain colour gives no gradient). The result bounds
from below what any STN with this warp can score on these pairs (up to the optimiser finding the
global optimum). The points are free by default; ``--bound B`` keeps them in [-B, B] as
``B * tanh(q)``, the form of the STN head (the official one: B = 1).
Without ``--data`` the recipe's held-out split (64 samples at 128x96, seed 2) is synthesised into
a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass
class ScoredPairs:
    """Pairs of a synthetic split with what the warped-cloth score needs (tensors in [-1, 1])."""

    cloth: torch.Tensor  # (B, 3, H, W) the product image T_c
    product_mask: torch.Tensor  # (B, 1, H, W) E, binarised
    masked_cloth: torch.Tensor  # (B, 3, H, W) T_c * E
    reference: torch.Tensor  # (B, 3, H, W) the person wearing that cloth (R, or the image when paired)
    region: torch.Tensor  # (B, 1, H, W) its cloth pixels (id 4): the scored pixels

    def first(self, n: int) -> ScoredPairs:
        """The first ``n`` pairs."""
        return ScoredPairs(*(t[:n] for t in (self.cloth, self.product_mask, self.masked_cloth, self.reference, self.region)))

    def region_l1(self, image: torch.Tensor) -> torch.Tensor:
        """Per pair: mean |image - reference| over the cloth pixels and channels, in [0, 1] units."""
        area = self.region.sum((1, 2, 3)).clamp_min(1)
        return ((image - self.reference).abs() * self.region).sum((1, 2, 3)) / (3 * area) / 2


def load_pairs(root: Path, phase: str, unpaired: bool, limit: int) -> ScoredPairs:
    """The first ``limit`` pairs of a synthetic split: unpaired ones against their ground-truth
    try-on R (``<phase>_gt_unpaired``), paired ones against the person image itself."""
    from torch.utils.data import default_collate

    from acgpn.data import TryOnDataset
    from acgpn.data.layouts import output_name
    from acgpn.evaluation.evaluate import read_ids, read_rgb
    from acgpn.labels import UPPER_CLOTHES
    from acgpn.modules import sgm
    from acgpn.synth.dataset import folder_paths

    pairs = root / f"{phase}_pairs_unpaired.txt" if unpaired else None
    dataset = TryOnDataset(root, dataset_layout="viton", phase=phase, pairs=pairs)
    batch = default_collate([dataset[i] for i in range(min(limit, len(dataset)))])
    if unpaired:
        folders = folder_paths(root, phase)
        references, cloth_pixels = [], []
        for person, cloth in zip(batch["person"], batch["cloth_name"]):
            name = output_name(person, cloth, "")
            references.append(read_rgb(folders["gt_unpaired"] / f"{name}.jpg", "a ground-truth try-on image") * 2 - 1)
            cloth_pixels.append(read_ids(folders["gt_unpaired_label"] / f"{name}.png", "a ground-truth label map") == UPPER_CLOTHES)
        reference, region = torch.stack(references), torch.stack(cloth_pixels)[:, None].float()
    else:
        reference, region = batch["image"], (batch["label"] == UPPER_CLOTHES).float()
    product_mask, masked_cloth = sgm.masked_cloth(batch["cloth"], batch["product_mask"])
    return ScoredPairs(batch["cloth"], product_mask, masked_cloth, reference, region)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, help="A synthetic split (acgpn synth, phase test); default: the recipe's held-out split.")
    p.add_argument("--limit", type=int, default=16, help="Pairs to fit (the first N unpaired pairs).")
    p.add_argument("--steps", type=int, default=1000, help="Adam steps per fit.")
    p.add_argument("--zooms", type=float, nargs="+", default=[1.0, 1.6, 2.2], help="Starting points: the lattice times each zoom.")
    p.add_argument("--bound", type=float, default=0.0,
                   help="Keep the points in [-B, B] (B * tanh, as the STN head; the official head is 1). 0: free points.")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, help="Also write the results here.")
    args = p.parse_args()
    if args.bound < 0:
        p.error("--bound must be >= 0 (0: free points)")

    from acgpn.evaluation.ssim import ssim
    from acgpn.nets.warp import TPSGridGenerator
    from acgpn.ops.warp import warp
    from acgpn.recipes import HELD_OUT_SEED, RecipeConfig
    from acgpn.synth import generate_dataset

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="acgpn-warp-bound-") as temp:  # the pairs are read into memory
        root = args.data
        if root is None:
            cfg = RecipeConfig()
            root = generate_dataset(Path(temp) / "held_out", cfg.held_out_num, cfg.size, HELD_OUT_SEED, "test")
        pairs = load_pairs(root, "test", True, args.limit)
    reference, region, product_mask, masked_cloth = pairs.reference, pairs.region, pairs.product_mask, pairs.masked_cloth
    region_l1 = pairs.region_l1
    h, w = reference.shape[-2:]
    tps = TPSGridGenerator(size=(h, w))

    def to_points(q: torch.Tensor) -> torch.Tensor:
        """The fitted parameters -> control points (free, or ``bound * tanh``)."""
        return args.bound * torch.tanh(q) if args.bound else q

    def fit(zoom: float) -> tuple[torch.Tensor, torch.Tensor]:
        start = tps.lattice(torch.float32) * zoom
        if args.bound:  # a zoom beyond the bound starts just inside it
            start = torch.atanh((start / args.bound).clamp(-0.999, 0.999))
        q = start.expand(len(reference), -1, -1).clone().requires_grad_(True)
        opt = torch.optim.Adam([q], lr=0.02)
        for step in range(args.steps):
            if step == int(0.6 * args.steps):
                opt.param_groups[0]["lr"] = 0.005
            grid = tps(to_points(q), h, w)
            loss = 2 * region_l1(warp(masked_cloth, grid)) + 0.5 * (warp(product_mask, grid) - region).abs().mean((1, 2, 3))
            opt.zero_grad()
            loss.sum().backward()
            opt.step()
        with torch.no_grad():
            points = to_points(q)
            return region_l1(warp(masked_cloth, tps(points, h, w))), points

    start = time.perf_counter()
    no_warp = region_l1(pairs.cloth)
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
    for name, cloth_source in (("best-fit warped cloth", warped), ("unwarped product image", pairs.cloth)):
        pasted = reference * (1 - region) + cloth_source * region
        ceilings[name] = float(ssim((pasted + 1) / 2, (reference + 1) / 2).mean())
    bound = f"points in [-{args.bound:g}, {args.bound:g}]" if args.bound else "free points"
    print(f"{len(reference)} unpaired pairs at {h}x{w} from {root}; {bound}; {args.steps} Adam steps per fit; {time.perf_counter() - start:.0f} s")
    print("| warp | warped / no-warp L1 ratio |\n| --- | --- |")
    for name, ratio in result.items():
        print(f"| {name} | {ratio:.3f} |")
    print("\n| ground truth with its cloth pixels from | try-on SSIM |\n| --- | --- |")
    for name, value in ceilings.items():
        print(f"| {name} | {value:.3f} |")
    if args.json:
        record = {"pairs": len(reference), "size": [h, w], "steps": args.steps, "bound": args.bound or None, "ratios": result,
                  "ssim_ceilings": ceilings}  # fmt: skip
        args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
