"""``acgpn eval``: score an ``acgpn infer`` output folder against a dataset, overall and per
difficulty level (paper §4).

**Pairs.** From a pair file, or else every ``<person stem>__<cloth stem>.png`` in the prediction
folder (matched to the dataset's files by stem). A pair is *paired* when the cloth is the person's
own (the layout's naming rule); its reference is then the person image (the papers' SSIM
protocol: same-clothes reconstruction). An unpaired pair's reference is the synthetic ground truth
``<phase>_gt_unpaired/<person stem>__<cloth stem>.jpg`` when the dataset has it, else none.

**Metrics.** Per pair against the reference: ``ssim`` (:mod:`~acgpn.evaluation.ssim`), ``l1``
(mean |x − y| of RGB in [0, 1]) and ``lpips``. Per set: ``fid`` and ``kid`` of the try-on results
against the distinct person images of the same pairs, and ``is`` of the try-on results, from one
feature network pass (the FID Inception). On an ``acgpn synth`` dataset also the scores of
:mod:`~acgpn.evaluation.synthetic`. Every metric is reported overall and per level.

**Levels.** From ``levels_dir`` (``acgpn difficulty`` output), else from
``<data>/<phase>_difficulty`` when it exists, else computed from the pose files with the terciles
of the evaluated persons (the report says which).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from acgpn.data.files import as_grey, load_image, rgb_tensor, size_hw
from acgpn.data.layouts import get_layout, is_image_name, label_name, output_name
from acgpn.data.pairs import OwnCloths, read_pairs
from acgpn.data.size import format_size
from acgpn.errors import InputError
from acgpn.evaluation import difficulty as diff
from acgpn.evaluation.features import extract_features
from acgpn.evaluation.fid import frechet_distance
from acgpn.evaluation.inception_score import inception_score
from acgpn.evaluation.kid import kernel_inception_distance
from acgpn.evaluation.ssim import ssim
from acgpn.evaluation.synthetic import SyntheticPairScores, score_synthetic_pair, summarize_synthetic
from acgpn.fileio import read_text
from acgpn.labels import NUM_LABELS, PALETTE
from acgpn.synth.dataset import folder_paths, is_synth_dir

PAIR_METRICS: Final = ("ssim", "l1", "lpips")
SET_METRICS: Final = ("fid", "kid", "is")
SYNTHETIC_METRICS: Final = ("masked_l1", "layout_miou", "cloth_mask_iou", "g2_cloth_mask_iou", "warped_l1", "tps")
ALL_METRICS: Final = PAIR_METRICS + SET_METRICS + SYNTHETIC_METRICS
#: Keys of a per-pair record that are not metrics.
DESCRIPTIVE_KEYS: Final = frozenset({"person", "cloth", "prediction", "paired", "reference", "level", "c"})
#: Order of the metric keys in the report (others follow).
KEY_ORDER: Final = (
    "count", "ssim", "l1", "lpips", "fid", "kid", "kid_std", "is", "is_std", "masked_l1", "masked_l1_do_nothing",
    "masked_l1_ratio", "ssim_do_nothing", "layout_miou", "cloth_mask_iou", "g2_cloth_mask_iou", "warped_l1",
    "warped_l1_no_warp", "warped_l1_ratio", "tps_folded_cells", "tps_area_cv",
)  # fmt: skip
#: Per-pair ranking for the report's best / median / worst examples: (metric, higher is better).
RANKING: Final = (("ssim", True), ("lpips", False), ("l1", False), ("masked_l1", False))


@dataclass
class EvalPair:
    """One evaluated pair and the files that belong to it."""

    person: str
    cloth: str
    prediction: Path
    paired: bool
    reference: Path | None
    level: str | None = None


@dataclass
class Evaluation:
    """The report (JSON-ready) and the pairs it was computed from (for the HTML report)."""

    report: dict
    pairs: list[EvalPair]
    folders: dict[str, Path] = field(default_factory=dict)


def parse_metrics(text: str | Sequence[str]) -> list[str]:
    """``"ssim,lpips"`` (or a list) -> checked lower-case names; ``synthetic`` means all synthetic scores."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    out: list[str] = []
    for name in names:
        expanded = list(SYNTHETIC_METRICS) if name == "synthetic" else [name]
        for n in expanded:
            if n not in ALL_METRICS:
                raise InputError(f"unknown metric {n!r}; expected some of {', '.join(ALL_METRICS)} (or synthetic)")
            if n not in out:
                out.append(n)
    if not out:
        raise InputError("no metrics given")
    return out


def unit_rgb(img: Image.Image) -> Tensor:
    """A decoded image -> (3, H, W) float32 RGB in [0, 1] at its own size."""
    return (rgb_tensor(img, size_hw(img)) + 1) / 2


def read_rgb(path: Path, what: str) -> Tensor:
    return unit_rgb(load_image(path, what))


def read_mask(path: Path, what: str) -> Tensor:
    """A 0/255 (or probability) mask image -> (H, W) bool, threshold at one half."""
    return torch.from_numpy(np.asarray(as_grey(load_image(path, what))) >= 128)


def read_ids(path: Path, what: str) -> Tensor:
    """A label map -> (H, W) long ids 0..13: grey levels (mode L / P) or a :data:`PALETTE` picture (RGB)."""
    img = load_image(path, what)
    if img.mode in ("L", "P"):
        ids = np.asarray(img, dtype=np.int64)
    else:
        rgb = np.asarray(img.convert("RGB"), dtype=np.int64)
        codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        table = {int((r << 16) | (g << 8) | b): i for i, (r, g, b) in enumerate(PALETTE.astype(np.int64))}
        ids = np.full(codes.shape, -1, dtype=np.int64)
        for code, i in table.items():
            ids[codes == code] = i
    if ids.size and (ids.min() < 0 or ids.max() >= NUM_LABELS):
        raise InputError(f"expected {what}: ids 0..{NUM_LABELS - 1} as grey levels or palette colours", path)
    return torch.from_numpy(ids)


def _stems(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        raise InputError("folder not found", folder)
    return {Path(n).stem: n for n in sorted(p.name for p in folder.iterdir()) if is_image_name(n)}


def _own_cloth(own_cloths: OwnCloths, person: str) -> str | None:
    try:
        return own_cloths(person)
    except InputError:
        return None


def gt_unpaired_path(root: Path, phase: str, person: str, cloth: str) -> Path | None:
    """The synthetic ground truth of (person, cloth) if the dataset has it."""
    for suffix in (".jpg", ".png", ".jpeg"):
        path = folder_paths(root, phase)["gt_unpaired"] / output_name(person, cloth, suffix)
        if path.is_file():
            return path
    return None


def find_pairs(
    pred_dir: str | Path, data_root: str | Path, dataset_layout: str = "viton", phase: str = "test", pairs: str | Path | Sequence[tuple[str, str]] | None = None
) -> list[EvalPair]:
    """The pairs to evaluate (see the module docstring): ``pairs`` is a pair file, a list of
    ``(person, cloth)`` names, or None (every prediction in the folder). :class:`InputError` for a
    missing prediction, an empty folder or a name the dataset does not have."""
    pred_dir, root, spec = Path(pred_dir), Path(data_root), get_layout(dataset_layout)
    if not pred_dir.is_dir():
        raise InputError("prediction folder not found (expected acgpn infer output)", pred_dir)
    folders = spec.resolve(root, phase)
    persons, cloths = _stems(folders["image"]), _stems(folders["cloth"])
    if pairs is not None:
        named = read_pairs(pairs) if isinstance(pairs, (str, Path)) else [(str(p), str(c)) for p, c in pairs]
        for number, (p, c) in enumerate(named, start=1):
            if p not in persons.values():
                raise InputError(f"person image {p} of pair {number} not found", folders["image"] / p)
            if c not in cloths.values():
                raise InputError(f"cloth image {c} of pair {number} not found", folders["cloth"] / c)
    else:
        named = []
        for path in sorted(pred_dir.glob("*.png")):
            if "__" not in path.stem or path.name.startswith("."):
                continue
            p_stem, c_stem = path.stem.split("__", 1)
            if p_stem not in persons or c_stem not in cloths:
                missing = folders["image"] / p_stem if p_stem not in persons else folders["cloth"] / c_stem
                raise InputError(f"prediction {path.name} names no image of the dataset (expected {missing}.jpg)", path)
            named.append((persons[p_stem], cloths[c_stem]))
        if not named:
            raise InputError("no predictions found (expected <person>__<cloth>.png files written by acgpn infer)", pred_dir)
    out, own_cloths = [], OwnCloths(spec, folders["cloth"])
    for p, c in named:
        pred = pred_dir / output_name(p, c)
        if not pred.is_file():
            raise InputError(f"missing prediction for pair {p} {c} (expected acgpn infer output)", pred)
        paired = _own_cloth(own_cloths, p) == c
        ref = folders["image"] / p if paired else gt_unpaired_path(root, phase, p, c)
        out.append(EvalPair(p, c, pred, paired, ref))
    return out


@dataclass
class LevelInfo:
    """Difficulty levels for the evaluated persons and where they came from."""

    of: dict[str, str]
    info: dict


def resolve_levels(data_root: str | Path, dataset_layout: str, phase: str, persons: Iterable[str], levels_dir: str | Path | None = None) -> LevelInfo:
    """Levels from ``levels_dir``, else ``<data>/<phase>_difficulty``, else terciles of ``persons``."""
    folder = Path(levels_dir) if levels_dir is not None else diff.default_levels_dir(data_root, phase)
    if levels_dir is not None or (folder / "easy.txt").is_file():
        info: dict = {"source": str(folder)}
        summary = folder / diff.SUMMARY_FILE
        if summary.is_file():  # optional: level files written by hand have none
            try:
                stored = json.loads(read_text(summary, "the difficulty summary JSON written by acgpn difficulty"))
            except json.JSONDecodeError as exc:
                raise InputError(f"not valid JSON (line {exc.lineno}); expected the summary written by acgpn difficulty", summary) from None
            if not isinstance(stored, dict) or not all(isinstance(stored.get(k, {}), dict) for k in ("thresholds", "c")):
                raise InputError("expected a JSON object with 'thresholds' and 'c' objects (written by acgpn difficulty)", summary)
            info["thresholds"], info["c"] = stored.get("thresholds"), stored.get("c") or {}
        return LevelInfo(diff.read_levels(folder), info)
    try:
        levels = diff.dataset_difficulty(data_root, dataset_layout, phase, persons=sorted(set(persons)))
    except InputError as exc:
        return LevelInfo({}, {"source": f"none ({exc})"})
    t1, t2 = levels.thresholds
    return LevelInfo(levels.level_of(), {
        "source": "terciles of the evaluated persons (no acgpn difficulty output found)",
        "thresholds": {"t1": t1, "t2": t2, "source": levels.source},
        "c": {p: c for p, c in levels.c.items()},
    })  # fmt: skip


def _synthetic_pair(root: Path, phase: str, folders: dict[str, Path], pair: EvalPair, tryon: Tensor, reference: Tensor) -> SyntheticPairScores:
    """Read a pair's ground truth and intermediates and score it (:mod:`acgpn.evaluation.synthetic`)."""
    p_stem = Path(pair.person).stem
    person = read_rgb(folders["image"] / pair.person, "a person image")
    person_label = read_ids(folders["label"] / label_name(pair.person), f"the label map of {pair.person}")
    if pair.paired:
        reference_label = person_label
        warped_ref = None
        gt = folder_paths(root, phase)
        gt_cloth, gt_mask = gt["gt_warped_cloth"] / f"{p_stem}.jpg", gt["gt_warped_mask"] / f"{p_stem}.png"
        if gt_cloth.is_file() and gt_mask.is_file():
            warped_ref = (read_rgb(gt_cloth, "a ground-truth warped cloth"), read_mask(gt_mask, "a ground-truth warped mask"))
    else:
        assert pair.reference is not None
        label_path = folder_paths(root, phase)["gt_unpaired_label"] / (pair.reference.stem + ".png")
        reference_label = read_ids(label_path, "the ground-truth label of an unpaired pair")
        warped_ref = None
    cloth = read_rgb(folders["cloth"] / pair.cloth, "a cloth image")
    inter = pair.prediction.parent / "intermediates" / pair.prediction.stem

    def first(*names: str) -> Path | None:
        return next((inter / n for n in names if (inter / n).is_file()), None)

    layout_path = first("layout_ids.png", "layout.png")
    mask_path = first("target_cloth_mask.png", "cloth_mask.png")
    g2_path, warped_path, numbers = first("cloth_mask_prob.png"), first("warped_cloth.png"), first("numbers.json")
    points = None
    if numbers is not None:
        try:
            points = torch.tensor(json.loads(numbers.read_text())["control_points"], dtype=torch.float64).view(-1, 2)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):
            raise InputError("expected a JSON with 'control_points' (25 x 2) written by acgpn infer", numbers) from None
    shapes = {tryon.shape[-2:]}
    tensors = {
        "layout_ids": read_ids(layout_path, "a predicted layout (layout_ids.png)") if layout_path else None,
        "target_cloth_mask": read_mask(mask_path, "a cloth mask") if mask_path else None,
        "g2_cloth_mask": read_mask(g2_path, "G2's cloth mask probability") if g2_path else None,
        "warped_cloth": read_rgb(warped_path, "a warped cloth") if warped_path else None,
    }
    for name, t in [("person", person), ("person label", person_label), ("ground-truth label", reference_label), ("cloth", cloth), *tensors.items()]:
        if t is not None and t.shape[-2:] not in shapes:
            raise InputError(f"{name} is {format_size(tuple(t.shape[-2:]))} but the prediction is {format_size(tuple(tryon.shape[-2:]))}", pair.prediction)
    return score_synthetic_pair(
        tryon, person, person_label, reference, reference_label, pair.paired, cloth, warped_ref,
        control_points=points if points is not None and points.shape == (25, 2) else None, **tensors,
    )  # fmt: skip


def _ordered(record: dict) -> dict:
    """The record with metric keys in :data:`KEY_ORDER` (descriptive keys first, unknown ones last)."""
    rank = {k: i for i, k in enumerate(KEY_ORDER)}
    return dict(sorted(record.items(), key=lambda kv: -1 if kv[0] in DESCRIPTIVE_KEYS else rank.get(kv[0], len(rank))))


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _keep(name: str, metrics: Sequence[str]) -> bool:
    return any(name == m or name.startswith(m + "_") for m in metrics)


def _score_pair(
    pair: EvalPair, root: Path, phase: str, folders: dict[str, Path], metrics: Sequence[str], lpips_net: nn.Module | None, synthetic: bool
) -> tuple[dict, SyntheticPairScores | None]:
    """One pair's record (names and per-pair metrics) and its synthetic scores (None if not asked or no reference)."""
    tryon = read_rgb(pair.prediction, "a try-on output of acgpn infer")
    record: dict = {"person": pair.person, "cloth": pair.cloth, "prediction": pair.prediction.name, "paired": pair.paired,
                    "reference": str(pair.reference.relative_to(root)) if pair.reference else None, "level": pair.level}  # fmt: skip
    if pair.reference is None:
        return record, None
    reference = read_rgb(pair.reference, "a reference image")
    if reference.shape != tryon.shape:
        raise InputError(
            f"prediction is {format_size(tuple(tryon.shape[-2:]))} (HxW) but its reference {pair.reference} is "
            f"{format_size(tuple(reference.shape[-2:]))}; run acgpn infer at the dataset's size", pair.prediction)  # fmt: skip
    if "ssim" in metrics:
        record["ssim"] = float(ssim(tryon[None], reference[None])[0])
    if "l1" in metrics:
        record["l1"] = float((tryon - reference).abs().mean())
    if "lpips" in metrics and lpips_net is not None:
        param = next(lpips_net.parameters())
        record["lpips"] = float(lpips_net(tryon[None].to(param), reference[None].to(param))[0])
    if not synthetic:
        return record, None
    scores = _synthetic_pair(root, phase, folders, pair, tryon, reference)
    record.update({k: v for k, v in scores.values.items() if _keep(k, metrics)})
    return record, scores


def evaluate(
    pred_dir: str | Path,
    data_root: str | Path,
    dataset_layout: str = "viton",
    phase: str = "test",
    pairs: str | Path | Sequence[tuple[str, str]] | None = None,
    metrics: Sequence[str] | None = None,
    feature_net: nn.Module | None = None,
    lpips_net: nn.Module | None = None,
    levels_dir: str | Path | None = None,
    batch_size: int = 16,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> Evaluation:
    """Score ``pred_dir`` against ``data_root`` (see the module docstring).

    ``feature_net`` maps (B, 3, H, W) in [0, 1] to :class:`~acgpn.evaluation.features.ImageFeatures`
    (the FID Inception from :func:`~acgpn.evaluation.inception.load_inception`, or a stand-in);
    ``lpips_net`` maps two such batches to (B,) distances. ``metrics=None``: ssim and l1, plus
    lpips / fid, kid, is when their network is given, plus the synthetic scores on synthetic data.
    """
    root = Path(data_root)
    synthetic = is_synth_dir(root)
    if metrics is None:
        metrics = ["ssim", "l1"] + ["lpips"] * (lpips_net is not None) + list(SET_METRICS) * (feature_net is not None)
        metrics += list(SYNTHETIC_METRICS) * synthetic
    metrics = parse_metrics(metrics)
    if any(m in SET_METRICS for m in metrics) and feature_net is None:
        raise InputError("fid, kid and is need the FID Inception (pt_inception-2015-12-05-6726825d.pth); pass its path with --inception-weights")
    if "lpips" in metrics and lpips_net is None:
        raise InputError("lpips needs its weights; pass torchvision's alexnet-owt-7be5be79.pth with --lpips-weights")
    wants_synthetic = any(m in SYNTHETIC_METRICS for m in metrics)
    if wants_synthetic and not synthetic:
        raise InputError(f"{', '.join(m for m in metrics if m in SYNTHETIC_METRICS)} need a synthetic dataset (acgpn synth) with its ground truth", root)

    eval_pairs = find_pairs(pred_dir, root, dataset_layout, phase, pairs)
    folders = get_layout(dataset_layout).resolve(root, phase)
    levels = resolve_levels(root, dataset_layout, phase, [p.person for p in eval_pairs], levels_dir)
    c_values = levels.info.pop("c", {})
    for pair in eval_pairs:
        pair.level = levels.of.get(pair.person)
    unlisted = sorted({p.person for p in eval_pairs if p.level is None})
    if levels.of and unlisted:
        levels.info["persons_without_level"] = len(unlisted)

    per_pair: list[dict] = []
    synth_scores: list[SyntheticPairScores | None] = []
    notes: set[str] = set()
    for pair in progress(eval_pairs) if progress else eval_pairs:
        record, scores = _score_pair(pair, root, phase, folders, metrics, lpips_net, wants_synthetic)
        if pair.person in c_values:
            record["c"] = c_values[pair.person]
        if pair.reference is None and any(m in PAIR_METRICS for m in metrics):
            notes.add("unpaired pairs without ground truth get no ssim / l1 / lpips (only fid, kid, is)")
        synth_scores.append(scores)
        per_pair.append(_ordered(record))

    if wants_synthetic and not any(s is not None and "layout_miou" in s.values for s in synth_scores):
        notes.add("layout, mask, warp and tps scores need acgpn infer --save-intermediates outputs")

    features = fake_logits = real_features = None
    persons = sorted({p.person for p in eval_pairs})
    if any(m in SET_METRICS for m in metrics):
        assert feature_net is not None
        fake = extract_features(feature_net, (read_rgb(p.prediction, "a try-on output") for p in eval_pairs), batch_size)
        real = extract_features(feature_net, (read_rgb(folders["image"] / p, "a person image") for p in persons), batch_size)
        features, fake_logits, real_features = fake.pool, fake.logits, real.pool
        if "is" in metrics and fake_logits is None:
            notes.add("is: the feature network gives no class logits")

    def summarize(index: list[int]) -> dict:
        out: dict = {"count": len(index)}
        names = [n for n in dict.fromkeys(k for i in index for k in per_pair[i]) if n not in DESCRIPTIVE_KEYS]
        for name in names:
            if not (wants_synthetic and name in _SYNTH_KEYS):
                out[name] = _mean(per_pair[i].get(name) for i in index)
        if wants_synthetic:
            chosen = [s for i in index if (s := synth_scores[i]) is not None]
            out.update({k: v for k, v in summarize_synthetic(chosen).items() if _keep(k, metrics)})
        if features is not None and real_features is not None:
            fake_rows = torch.tensor(index, dtype=torch.long)
            group_persons = {eval_pairs[i].person for i in index}
            real_rows = torch.tensor([j for j, p in enumerate(persons) if p in group_persons], dtype=torch.long)
            f, r = features[fake_rows], real_features[real_rows]
            enough = len(f) >= 2 and len(r) >= 2
            if "fid" in metrics:
                out["fid"] = frechet_distance(r, f) if enough else None
            if "kid" in metrics:
                out["kid"], out["kid_std"] = kernel_inception_distance(r, f) if enough else (None, None)
            if "is" in metrics and fake_logits is not None and index:
                out["is"], out["is_std"] = inception_score(fake_logits[fake_rows])
        return _ordered(out)

    overall = summarize(list(range(len(eval_pairs))))
    by_level = {}
    for name in (*diff.LEVELS, diff.UNDETERMINED):
        index = [i for i, p in enumerate(eval_pairs) if p.level == name]
        if index or name in diff.LEVELS and levels.of:
            by_level[name] = summarize(index)
    if features is not None and len(eval_pairs) < 2048:
        notes.add(f"fid / kid on {len(eval_pairs)} images are biased upwards (the standard uses thousands); compare only like with like")
    report = {
        "count": len(eval_pairs),
        "overall": overall,
        "by_level": by_level,
        "per_pair": per_pair,
        "metrics": list(metrics),
        "protocol": {
            "data": str(root), "predictions": str(Path(pred_dir)), "layout": dataset_layout, "phase": phase,
            "pairs": str(pairs) if isinstance(pairs, (str, Path)) else "given list" if pairs else "every <person>__<cloth>.png of the prediction folder",
            "paired": sum(p.paired for p in eval_pairs), "unpaired": sum(not p.paired for p in eval_pairs),
            "ssim": "RGB in [0, 1], Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, valid window, mean over images",
            "fid_real_set": "the distinct person images of the evaluated pairs",
            "levels": levels.info,
        },
        "notes": sorted(notes),
    }  # fmt: skip
    return Evaluation(report, eval_pairs, dict(folders))


#: Per-pair synthetic keys whose set value is not a plain mean (see summarize_synthetic).
_SYNTH_KEYS: Final = frozenset({
    "masked_l1", "masked_l1_do_nothing", "ssim_do_nothing", "layout_miou", "cloth_mask_iou", "g2_cloth_mask_iou",
    "warped_l1", "warped_l1_no_warp", "tps_folded_cells", "tps_area_cv",
})  # fmt: skip


def ranking_metric(per_pair: list[dict]) -> tuple[str, bool] | None:
    """The metric that orders examples (first of :data:`RANKING` the pairs have), with its direction."""
    return next(((m, up) for m, up in RANKING if any(r.get(m) is not None for r in per_pair)), None)


def examples(evaluation: Evaluation) -> dict[str, list[tuple[str, int]]]:
    """Per level (or ``all`` without levels): the best, median and worst pairs as (tag, pair index)."""
    per_pair = evaluation.report["per_pair"]
    rank = ranking_metric(per_pair)
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(per_pair):
        groups.setdefault(r["level"] or "all", []).append(i)
    order = [g for g in (*diff.LEVELS, diff.UNDETERMINED, "all") if g in groups]
    out: dict[str, list[tuple[str, int]]] = {}
    for g in order:
        index = groups[g]
        if rank is not None:
            m, higher = rank
            index = sorted((i for i in index if per_pair[i].get(m) is not None), key=lambda i: per_pair[i][m], reverse=higher)
        if not index:
            continue
        picks = [("best", index[0]), ("median", index[len(index) // 2]), ("worst", index[-1])] if rank else [("example", i) for i in index[:3]]
        out[g] = []
        for tag, i in picks:  # a group of one or two pairs shows each once
            if all(i != j for _, j in out[g]):
                out[g].append((tag, i))
    return out

