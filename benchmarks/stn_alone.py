"""How far does the STN get when it trains alone, for many more steps than the recipe gives it?

    python benchmarks/stn_alone.py                      # 4,000 steps on the recipe's splits (~5 min, one thread)
    python benchmarks/stn_alone.py --steps 800 --lr 3e-3

The recipe's warp scores near the identity warp (``warped_l1_ratio`` 0.94-0.96 against 0.92), while
per-pair fits of the same TPS reach far lower (``benchmarks/warp_bound.py``). This takes the rest
of ACGPN out: a fresh warp net of the recipe (widths, loc-net sized for 128x96, identity start)
trains only its loc-net, on the trainer's STN terms (eq. 5's L1 of the warped cloth to the
person's cloth, the L1 of the warped product mask to the person's cloth mask, and the second-order
constraint, eqs. 3-4, at the recipe's weight), with the ground-truth cloth mask as the STN's
target mask (teacher forcing, as the trainer's ``cwm`` stage). Every quarter of the run it prints
the warped-cloth ratio of the recipe's score on the first 64 training pairs (paired) and on the
held-out unpaired pairs, the STN again given the ground-truth mask (an ideal G2). Without
``--train``/``--held-out`` the recipe's splits are synthesised into a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", type=Path, help="A synthetic train split (phase train); default: the recipe's.")
    p.add_argument("--held-out", type=Path, help="A synthetic test split (phase test); default: the recipe's.")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--tps-weight", type=float, default=None, help="Default: the recipe's (0.1).")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if args.steps < 4 or args.batch_size < 1 or not args.lr > 0 or args.threads < 1:
        p.error("--steps >= 4, --batch-size >= 1, --lr > 0 and --threads >= 1")

    from acgpn import losses
    from acgpn.modules import cwm
    from acgpn.recipes import HELD_OUT_SEED, TRAIN_SEED, RecipeConfig, initial_nets
    from acgpn.synth import generate_dataset

    sys.path.insert(0, str(HERE))
    from warp_bound import ScoredPairs, load_pairs

    torch.set_num_threads(args.threads)
    cfg = RecipeConfig()
    tps_weight = cfg.tps_weight if args.tps_weight is None else args.tps_weight
    with tempfile.TemporaryDirectory(prefix="acgpn-stn-alone-") as temp:  # the pairs are read into memory
        train_root = args.train or generate_dataset(Path(temp) / "train", cfg.train_num, cfg.size, TRAIN_SEED, "train")
        held_root = args.held_out or generate_dataset(Path(temp) / "held_out", cfg.held_out_num, cfg.size, HELD_OUT_SEED, "test")
        train = load_pairs(train_root, "train", False, 10**9)
        held = load_pairs(held_root, "test", True, 64)
    u = initial_nets(cfg.widths, cfg.loc_channels, cfg.size, cfg.seed)["u"]
    loc = u.stn.loc_net.cnn
    opt = torch.optim.Adam(loc.parameters(), lr=args.lr, betas=(0.5, 0.999))  # the trainer's betas

    def ratio(pairs: ScoredPairs, limit: int = 64) -> float:
        """Warped / no-warp L1 inside the cloth pixels, summed over the first ``limit`` pairs."""
        pairs = pairs.first(limit)
        with torch.no_grad():
            points = u.control_points(pairs.masked_cloth, pairs.product_mask, pairs.region)
            warped = cwm.warp_cloth(u, pairs.masked_cloth, points)
        return float(pairs.region_l1(warped).sum() / pairs.region_l1(pairs.cloth).sum())

    print(f"{len(train.cloth)} training pairs, {len(held.cloth)} held-out pairs at {cfg.size[0]}x{cfg.size[1]}; "
          f"batch {args.batch_size}, lr {args.lr:g}, constraint weight {tps_weight:g}")  # fmt: skip
    print("| steps | s | ratio, training pairs | ratio, held-out pairs |\n| --- | --- | --- | --- |")
    print(f"| 0 (identity) | 0 | {ratio(train):.3f} | {ratio(held):.3f} |")
    generator = torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        idx = torch.randint(0, len(train.cloth), (args.batch_size,), generator=generator)
        masked_cloth, product_mask, cloth_mask = train.masked_cloth[idx], train.product_mask[idx], train.region[idx]
        points = u.control_points(masked_cloth, product_mask, cloth_mask)
        loss = (losses.warp_l1(cwm.warp_cloth(u, masked_cloth, points), train.reference[idx] * cloth_mask)
                + losses.warp_l1(cwm.warp_cloth(u, product_mask, points), cloth_mask))  # fmt: skip
        if tps_weight:
            loss = loss + tps_weight * losses.second_order_constraint(points, u.grid_shape)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % (args.steps // 4) == 0:
            print(f"| {step} | {time.perf_counter() - start:.0f} | {ratio(train):.3f} | {ratio(held):.3f} |", flush=True)


if __name__ == "__main__":
    main()
