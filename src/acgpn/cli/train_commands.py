"""``acgpn train``: train G1/G2 (sgm), U (cwm), G (cfm) or all four with the paper's losses.

Settings are layered: the preset (``--preset paper|official``), then ``--config FILE`` (JSON or
TOML, any :class:`~acgpn.train.TrainConfig` field, ``losses`` as a table), then the flags given
on the command line. Exit codes: 0 done, 2 bad input, 3 a loss became NaN/inf, 130 / 143 stopped by
SIGINT / SIGTERM (after saving ``checkpoints/latest``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from acgpn.errors import InputError

#: Exit codes after a signal (128 + signal number, the shell convention).
SIGNAL_EXIT = {"SIGINT": 130, "SIGTERM": 143}
#: Options whose name is not ``--`` + the config field with dashes.
OPTION_NAMES = {"dataset_layout": "--layout"}


def train(
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset root (needs the <phase>_* folders, phase 'train')."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder: config.json, metrics.jsonl, checkpoints/, images/, tensorboard/."),
    dataset_layout: Optional[str] = typer.Option(None, "--layout", help="viton | cpvton | vitonhd"),
    stage: Optional[str] = typer.Option(None, "--stage", help="sgm (G1+G2) | cwm (U) | cfm (G) | all (joint)."),
    inputs: Optional[str] = typer.Option(None, "--inputs", help="Between stages: teacher (ground truth, official) | predicted (own outputs)."),
    size: Optional[str] = typer.Option(None, "--size", help="Working size HxW, multiples of 16 (default: the images' own)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Samples per step and process."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Optimiser steps (or --epochs)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Passes over the data (or --steps)."),
    ngf: Optional[int] = typer.Option(None, "--ngf", help="Generator base width (official 64; 8-16 for CPU)."),
    ndf: Optional[int] = typer.Option(None, "--ndf", help="Discriminator base width (default: --ngf)."),
    preset: str = typer.Option("paper", "--preset", help="paper (defaults) | official (the official code's weights and forms)."),
    config_file: Optional[Path] = typer.Option(None, "--config", help="JSON or TOML file of settings."),
    init: Optional[Path] = typer.Option(None, "--init", help="Start from a save_pretrained folder (e.g. an earlier stage's checkpoints/latest)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from checkpoints/latest."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda | mps"),
    amp: Optional[str] = typer.Option(None, "--amp", help="bf16 | fp16 | off"),
    vgg_weights: Optional[Path] = typer.Option(None, "--vgg-weights", help="torchvision VGG19 ImageNet weights; without it the perceptual loss is off."),
    lr: Optional[float] = typer.Option(None, "--lr"),
    save_every: Optional[int] = typer.Option(None, "--save-every", help="Also keep checkpoints/step_N every K steps."),
    log_every: Optional[int] = typer.Option(None, "--log-every", help="One metrics.jsonl line every K steps."),
    image_every: Optional[int] = typer.Option(None, "--image-every", help="An image grid every K steps."),
    workers: Optional[int] = typer.Option(None, "--workers", help="DataLoader worker processes."),
    phase: Optional[str] = typer.Option(None, "--phase", help="Folder prefix of the training data (default train)."),
    pairs: Optional[Path] = typer.Option(None, "--pairs", help="Pair file (default: each person with its own cloth)."),
    parse_source: Optional[str] = typer.Option(None, "--parse-source", help="Label ids stored as acgpn | lip | cihp | atr."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="tqdm bar."),
) -> None:
    """Train ACGPN's modules per stage or jointly, with exact resume (see README, Training)."""
    from acgpn.data.size import parse_size
    from acgpn.train import TrainingDiverged, preset_config, train as run_training
    from acgpn.train.config import check, load_config_file

    if data is None:
        raise InputError("--data is required (the dataset root holding the train_* folders)")
    if out is None:
        raise InputError("--out is required (the run folder)")
    if not data.is_dir():
        raise InputError("dataset folder not found", data)
    config = preset_config(preset)
    origins: dict[str, str] = {}  # field -> the file or option that set it (named by errors)
    if config_file is not None:
        config = load_config_file(config_file, config)  # checks the values it sets
        origins.update(dict.fromkeys(config.to_dict(), str(config_file)))  # overridden below by the flags given
    try:
        parsed_size = parse_size(size) if size else None
    except InputError as exc:
        raise InputError(exc.message, "--size") from None
    flags = {
        "data": str(data), "out": str(out), "dataset_layout": dataset_layout, "stage": stage, "inputs": inputs,
        "size": parsed_size, "batch_size": batch_size, "steps": steps, "epochs": epochs,
        "ngf": ngf, "ndf": ndf, "init": str(init) if init else None, "seed": seed, "device": device, "amp": amp,
        "vgg_weights": str(vgg_weights) if vgg_weights else None, "lr": lr, "save_every": save_every,
        "log_every": log_every, "image_every": image_every, "workers": workers, "phase": phase,
        "pairs": str(pairs) if pairs else None, "parse_source": parse_source,
    }  # fmt: skip
    given = {k: v for k, v in flags.items() if v is not None}
    config = replace(config, **given)
    origins.update({k: OPTION_NAMES.get(k, "--" + k.replace("_", "-")) for k in given})
    if steps is not None and epochs is None:
        config.epochs = None
    elif epochs is not None and steps is None:
        config.steps = None
    elif config.steps is None and config.epochs is None:
        raise InputError("give --steps N or --epochs N")
    config = check(config, origins)  # every value, before anything is written
    try:
        result = run_training(config, resume=resume, progress=progress, log=lambda m: typer.echo(m, err=True))
    except TrainingDiverged as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from None
    if result.interrupted:
        typer.echo(f"stopped by {result.interrupted} at step {result.step}/{result.total_steps}; saved {result.latest} (continue with --resume)", err=True)
        raise typer.Exit(SIGNAL_EXIT.get(result.interrupted, 1))
    if result.latest is not None:
        typer.echo(f"trained {result.step} steps -> {result.latest}")


def register(app: typer.Typer) -> None:
    """Add ``train``."""
    app.command("train")(train)
