"""Training settings: one dataclass for the loss weights (paper defaults, official preset) and one
for the run. ``RUN/config.json`` records both; ``--config FILE`` (JSON or TOML) overrides fields.

Where the paper gives a value it is the default (eq. 2: λ1 = 1 for the cGAN term, λ2 = 10 for the
cross-entropies); where the paper is silent the official training code's weight is used
(spec §4), and the preset ``official`` switches the remaining *form* choices to the official code's
(per-axis TPS constraint with floors, VGG without ImageNet normalisation and only relu5_1 on the
warped/refined cloth, D3 on the refinement net's own RGB, the GT cloth pasted back before D and VGG,
dropout 0.5 in U, feature-matching weight 5). The official bugs are fixed in both (README).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final

from acgpn.errors import InputError

STAGES: Final = ("sgm", "cwm", "cfm", "all")
#: Nets trained (generators) per stage.
STAGE_NETS: Final = {"sgm": ("g1", "g2"), "cwm": ("u",), "cfm": ("g",), "all": ("g1", "g2", "u", "g")}
#: Discriminators trained per stage.
STAGE_DISCRIMINATORS: Final = {"sgm": ("d1", "d2"), "cwm": ("d3",), "cfm": ("d",), "all": ("d1", "d2", "d3", "d")}
INPUT_MODES: Final = ("teacher", "predicted")
AMP_MODES: Final = ("off", "bf16", "fp16")


@dataclass
class LossConfig:
    """Weights and forms of every loss term (defaults: the paper, else the official value)."""

    gan: float = 1.0  # λ1 of eq. 2, also the GAN weight of D3 and D
    layout_ce: float = 10.0  # λ2 of eq. 2 for G1 (pixel-wise cross-entropy)
    cloth_mask_bce: float = 10.0  # λ2 of eq. 2 for G2
    feature_matching: float = 10.0  # pix2pixHD λ_feat (D3 and D); official 5 (-> 2.5 per term)
    tps_form: str = "paper"  # "paper" (eqs. 3-4, hinge Δ) or "official" (per-axis, floors)
    tps_weight: float = 1.0  # weight of the constraint (official: 0.1 on the sum of its 6 terms)
    tps_lambda_r: float = 0.1  # λ_r of eq. 3 (distance term)
    tps_lambda_s: float = 0.1  # λ_s of eq. 3 (slope term, eq. 4)
    tps_delta: float = 0.0  # Δ of the hinge max(L3 - Δ, 0)
    warp_l1: float = 1.0  # eq. 5 L_4: ||T^W_c - I_c||_1
    warp_mask_l1: float = 1.0  # official: ||warp(E) - M_c||_1
    refine_l1: float = 10.0  # eq. 6: ||T^R_c - I_c||_1
    rendered_l1: float = 0.2  # official: L1 of the refinement net's own RGB (before the blend)
    alpha_reg: float = 1.0  # eq. 6 α regulariser ||α - M||_1 (CP-VTON)
    vgg_warped: float = 1.0  # VGG(T^W_c, I_c)
    vgg_refined: float = 10.0  # VGG(T^R_c, I_c)
    vgg_rendered: float = 20.0  # VGG(refinement RGB, I_c)
    vgg_fusion: float = 5.0  # VGG(I^S, I)
    vgg_normalize: bool = True  # ImageNet normalisation (official: feeds [-1, 1])
    vgg_cwm_last_only: bool = False  # official: only relu5_1 for the three CWM VGG terms
    fusion_l1: float = 10.0  # ||I^S - I||_1
    fusion_l1_generated: bool = False  # that L1 only outside the pixels preserved content pastes back (cfm.paste_preserved)
    d3_on_rendered: bool = False  # official: D3 judges the refinement RGB, not T^R_c
    paste_back: bool = False  # official: D and VGG see I^S with the GT cloth pasted back
    wash_noise_label: bool = True  # official training: label 7 -> 4 before everything


@dataclass
class TrainConfig:
    """Everything a run depends on (``RUN/config.json``)."""

    data: str = ""
    out: str = ""
    dataset_layout: str = "viton"
    phase: str = "train"
    pairs: str | None = None
    parse_source: str | None = None
    stage: str = "all"
    inputs: str = "teacher"  # between stages: "teacher" (ground truth) or "predicted" (own outputs)
    size: tuple[int, int] | None = None  # (H, W); None: the dataset's own size
    batch_size: int = 1
    steps: int | None = None
    epochs: int | None = None
    ngf: int = 64  # generator widths (G1, G2, G, U's U-Net)
    ndf: int | None = None  # discriminator width; None: = ngf
    num_d: int = 2
    n_layers_d: int = 3
    u_dropout: float = 0.0  # dropout of U (official training: 0.5)
    init: str | None = None  # start from a save_pretrained folder (e.g. an earlier stage's run)
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.01  # AdamW (the official G and D optimisers' default)
    decay_start: float = 0.5  # fraction of the steps after which the lr decays linearly to 0 (official: 100 + 100 epochs)
    grad_clip: float = 10.0  # max gradient norm per optimiser; 0: off
    seed: int = 0
    device: str = "auto"
    amp: str = "off"
    fast_math: bool = True
    vgg_weights: str | None = None
    save_every: int = 1000
    log_every: int = 10
    image_every: int = 500
    workers: int = 0
    preset: str = "paper"
    losses: LossConfig = field(default_factory=LossConfig)

    @property
    def discriminator_width(self) -> int:
        return self.ndf if self.ndf is not None else self.ngf

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["size"] = list(self.size) if self.size else None
        return d


#: Settings that define the models and the data order; a ``--resume`` must not change them.
RESUME_FIXED: Final = ("stage", "inputs", "size", "batch_size", "ngf", "ndf", "num_d", "n_layers_d", "u_dropout", "seed", "preset", "dataset_layout", "phase")


def _official_losses() -> LossConfig:
    return LossConfig(
        feature_matching=5.0, tps_form="official", tps_weight=0.1, vgg_normalize=False,
        vgg_cwm_last_only=True, d3_on_rendered=True, paste_back=True,
    )  # fmt: skip


PRESETS: Final = ("paper", "official")


def preset_config(name: str = "paper") -> TrainConfig:
    """``paper`` (defaults) or ``official`` (the official training code's weights and forms)."""
    if name == "paper":
        return TrainConfig(preset="paper")
    if name == "official":
        return TrainConfig(preset="official", u_dropout=0.5, losses=_official_losses())
    raise InputError(f"unknown preset {name!r} (expected one of {', '.join(PRESETS)})")


def _apply(obj: Any, values: dict[str, Any], source: str) -> Any:
    known = {f.name: f for f in fields(obj)}
    updates: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise InputError(f"unknown setting {key!r} (expected one of: {', '.join(sorted(known))})", source)
        if key == "losses":
            if not isinstance(value, dict):
                raise InputError("'losses' must be a table of loss settings", source)
            value = _apply(getattr(obj, "losses"), value, source)
        elif key == "size" and value is not None:
            value = tuple(int(v) for v in value)
        updates[key] = value
    return replace(obj, **updates)


def load_config_file(path: str | Path, base: TrainConfig) -> TrainConfig:
    """Override ``base`` with the fields of a JSON or TOML file (``losses`` as a nested table)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError("config file not found", path) from None
    except OSError as exc:
        raise InputError(f"unreadable config file ({exc.__class__.__name__})", path) from None
    try:
        values = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"not valid {'TOML' if path.suffix == '.toml' else 'JSON'} ({exc})", path) from None
    if not isinstance(values, dict):
        raise InputError("expected a table of settings", path)
    values.pop("format", None)
    return _apply(base, values, str(path))


def from_dict(values: dict[str, Any]) -> TrainConfig:
    """Rebuild a config from :meth:`TrainConfig.to_dict` output (e.g. ``RUN/config.json``)."""
    values = {k: v for k, v in values.items() if k not in ("format", "run")}  # "run": facts about the run, not settings
    return _apply(TrainConfig(), values, "config")


def check(config: TrainConfig) -> TrainConfig:
    """Validate values that the CLI cannot type-check; raises :class:`InputError`."""
    if config.stage not in STAGES:
        raise InputError(f"unknown stage {config.stage!r} (expected one of {', '.join(STAGES)})")
    if config.inputs not in INPUT_MODES:
        raise InputError(f"unknown input mode {config.inputs!r} (expected teacher or predicted)")
    if config.amp not in AMP_MODES:
        raise InputError(f"unknown AMP mode {config.amp!r} (expected off, bf16 or fp16)")
    if config.losses.tps_form not in ("paper", "official"):
        raise InputError(f"unknown TPS constraint form {config.losses.tps_form!r} (expected paper or official)")
    if (config.steps is None) == (config.epochs is None):
        raise InputError("give exactly one of --steps and --epochs")
    for name in ("batch_size", "ngf", "num_d", "n_layers_d", "save_every", "log_every", "image_every"):
        if int(getattr(config, name)) < 1:
            raise InputError(f"{name} must be at least 1")
    if (config.steps is not None and config.steps < 1) or (config.epochs is not None and config.epochs < 1):
        raise InputError("--steps / --epochs must be at least 1")
    if config.ndf is not None and config.ndf < 1:
        raise InputError("ndf must be at least 1")
    if config.size is not None:
        from acgpn.data.size import check_size

        config.size = check_size(config.size)
    return config
