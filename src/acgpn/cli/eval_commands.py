"""Evaluation commands: ``eval`` (metrics overall and per difficulty level, JSON + markdown + HTML)
and ``difficulty`` (the paper's easy / medium / hard split by the C criterion)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from acgpn.errors import InputError
from acgpn.fileio import check_file_target

PROTOCOLS = ("paired", "unpaired")


def _thresholds(text: str) -> tuple[float, float]:
    from acgpn.evaluation.difficulty import check_thresholds

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"--thresholds must look like T1,T2 (e.g. 40,55), got {text!r}") from None
    return check_thresholds(values)


def _protocol_pairs(protocol: str, data: Path, dataset_layout: str, phase: str, pairs: Optional[Path]) -> Path | list[tuple[str, str]]:
    """The pairs of a protocol: paired -> every person with its own cloth; unpaired -> the pair file
    (on synthetic data ``<phase>_pairs_unpaired.txt`` by default)."""
    from acgpn.data import paired_list

    if pairs is not None:
        return pairs
    if protocol == "paired":
        return paired_list(data, dataset_layout, phase)
    default = data / f"{phase}_pairs_unpaired.txt"
    if default.is_file():
        return default
    raise InputError("the unpaired protocol needs --pairs (e.g. the dataset's test_pairs.txt)", data)


def register(app: typer.Typer) -> None:
    """Add ``eval`` and ``difficulty``."""

    @app.command("eval")
    def eval_command(
        data: Path = typer.Option(..., "--data", help="Dataset root."),
        pred: Optional[Path] = typer.Option(None, "--pred", help="acgpn infer output folder (<person>__<cloth>.png); with --checkpoint it is written first."),
        pairs: Optional[Path] = typer.Option(None, "--pairs", help="Pair file; default: every prediction in --pred (or the protocol's pairs)."),
        dataset_layout: str = typer.Option("viton", "--layout", help="viton | cpvton | vitonhd"),
        phase: str = typer.Option("test", "--phase"),
        metrics: Optional[str] = typer.Option(None, "--metrics", help="Comma list of ssim,l1,lpips,fid,kid,is,synthetic (or masked_l1,layout_miou,cloth_mask_iou,g2_cloth_mask_iou,warped_l1,tps). Default: ssim,l1 + those whose weights are given + synthetic scores on synthetic data."),
        out: Path = typer.Option(Path("report.json"), "--out", help="report.json path."),
        html_path: Optional[Path] = typer.Option(None, "--html", help="Also write a self-contained HTML report."),
        inception_weights: Optional[Path] = typer.Option(None, "--inception-weights", help="pt_inception-2015-12-05-6726825d.pth (FID/KID/IS)."),
        lpips_weights: Optional[Path] = typer.Option(None, "--lpips-weights", help="torchvision's alexnet-owt-7be5be79.pth (or vgg16-397923af.pth) for LPIPS."),
        levels: Optional[Path] = typer.Option(None, "--levels", help="acgpn difficulty output folder (default: <data>/<phase>_difficulty if present, else terciles)."),
        protocol: Optional[str] = typer.Option(None, "--protocol", help="paired (own cloth; SSIM) or unpaired (pair file; FID/KID/IS)."),
        checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Run acgpn infer with this checkpoint into --pred first (resumable)."),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N] | mps"),
        batch_size: int = typer.Option(8, "--batch-size", min=1),
        seed: int = typer.Option(0, "--seed", help="Noise seed of the inference run (with --checkpoint)."),
    ) -> None:
        """Score try-on outputs (overall and per difficulty level): report.json, a markdown table, --html."""
        from tqdm import tqdm

        from acgpn.runtime import resolve_device
        from acgpn.evaluation.evaluate import SET_METRICS, SYNTHETIC_METRICS, evaluate, parse_metrics
        from acgpn.evaluation.report import markdown_table, write_html, write_json
        from acgpn.synth.dataset import is_synth_dir

        for target in (out, html_path):  # before any work: no report.json left behind by a bad --html
            if target is not None:
                check_file_target(target)
        dev = resolve_device(device)
        chosen_pairs: Path | list[tuple[str, str]] | None = pairs
        names = parse_metrics(metrics) if metrics else None
        if protocol is not None:
            if protocol not in PROTOCOLS:
                raise InputError(f"--protocol must be paired or unpaired, got {protocol!r}")
            chosen_pairs = _protocol_pairs(protocol, data, dataset_layout, phase, pairs)
            if names is None:
                names = ["ssim", "l1"] + ["lpips"] * (lpips_weights is not None)
                if protocol == "unpaired":
                    names += list(SET_METRICS) if inception_weights is not None or not is_synth_dir(data) else []
                names += list(SYNTHETIC_METRICS) * is_synth_dir(data)
        if pred is None:
            if checkpoint is None:
                raise InputError("give --pred (an acgpn infer output folder) or --checkpoint to run inference")
            pred = out.parent / (protocol or "tryon")
        if checkpoint is not None:
            from acgpn.data import TryOnDataset
            from acgpn.inference import run_inference
            from acgpn.pipeline import TryOnPipeline

            dataset = TryOnDataset(data, dataset_layout=dataset_layout, phase=phase, pairs=chosen_pairs)
            pipe = TryOnPipeline.from_checkpoint(checkpoint, device=dev)
            done = run_inference(pipe, dataset, pred, batch_size=batch_size, seed=seed, intermediates=is_synth_dir(data),
                                 progress=lambda it: tqdm(it, desc="try-on", unit="batch", disable=None))  # fmt: skip
            typer.echo(f"inference: {done.written} written, {done.skipped} already done -> {pred}")
        wanted = names or []
        feature_net = lpips_net = None
        if inception_weights is not None or any(m in SET_METRICS for m in wanted):
            from acgpn.evaluation.inception import load_inception

            feature_net, standard = load_inception(inception_weights)
            feature_net = feature_net.to(dev)
            if not standard:
                typer.echo(f"warning: {inception_weights} has Inception's shapes but not the standard file's hash; "
                           "scores are not comparable with published ones", err=True)  # fmt: skip
        if lpips_weights is not None or "lpips" in wanted:
            from acgpn.evaluation.lpips import load_lpips

            lpips_net = load_lpips(lpips_weights).to(dev)
        result = evaluate(
            pred, data, dataset_layout=dataset_layout, phase=phase, pairs=chosen_pairs, metrics=names, feature_net=feature_net,
            lpips_net=lpips_net, levels_dir=levels, batch_size=batch_size, progress=lambda it: tqdm(it, desc="score", unit="pair", disable=None),
        )  # fmt: skip
        if feature_net is not None:
            result.report["protocol"]["inception_weights"] = {"path": str(inception_weights), "standard": standard}
        write_json(out, result.report)
        typer.echo(markdown_table(result.report))
        for note in result.report["notes"]:
            typer.echo(f"note: {note}")
        typer.echo(f"wrote {out}")
        if html_path is not None:
            write_html(html_path, result)
            typer.echo(f"wrote {html_path}")

    @app.command()
    def difficulty(
        data: Path = typer.Option(..., "--data", help="Dataset root."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: <data>/<phase>_difficulty, where acgpn eval looks)."),
        dataset_layout: str = typer.Option("viton", "--layout", help="viton | cpvton | vitonhd"),
        phase: str = typer.Option("test", "--phase"),
        thresholds: Optional[str] = typer.Option(None, "--thresholds", help="T1,T2: hard if C < T1, easy if C >= T2 (default: terciles)."),
    ) -> None:
        """Split the persons into easy / medium / hard by C (paper §4); writes easy.txt, medium.txt, hard.txt."""
        from acgpn.evaluation.difficulty import dataset_difficulty, default_levels_dir, write_levels

        levels = dataset_difficulty(data, dataset_layout, phase, _thresholds(thresholds) if thresholds else None)
        folder = out if out is not None else default_levels_dir(data, phase)
        write_levels(folder, levels)
        summary = levels.summary()
        t1, t2 = levels.thresholds
        counts = ", ".join(f"{k} {v}" for k, v in summary["counts"].items() if v or k != "undetermined")
        typer.echo(f"thresholds ({levels.source}): hard C < {t1:.2f} <= medium < {t2:.2f} <= easy; {counts}")
        missing = summary["missing_keypoints"]
        typer.echo((f"{summary['persons_with_missing_keypoints']} persons miss {missing} arm keypoints in all" if missing
                    else "every arm keypoint detected") + f" -> {folder}")  # fmt: skip
