"""Training settings: one dataclass for the loss weights (paper defaults, official preset) and one
for the run. ``RUN/config.json`` records both; ``--config FILE`` (JSON or TOML) overrides fields.

Where the paper gives a value it is the default (eq. 2: λ1 = 1 for the cGAN term, λ2 = 10 for the
cross-entropies); where the paper is silent the official training code's weight is used
(spec §4), and the preset ``official`` switches the remaining *form* choices to the official code's
(per-axis TPS constraint with floors, VGG without ImageNet normalisation and only relu5_1 on the
warped/refined cloth, D3 on the refinement net's own RGB, the GT cloth pasted back before D and VGG,
dropout 0.5 in U, feature-matching weight 5). The official bugs are fixed in both (README).

Every value is checked once, before a run writes anything (:func:`check`; a config file's values
already on loading): its type from the field's annotation, its range and its choices. A bad one
is an :class:`~acgpn.errors.InputError` naming the file or CLI option and the field.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final, get_args, get_origin, get_type_hints

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


# ----------------------------------------------------------------------------- checking
@dataclass(frozen=True)
class _Range:
    """The numbers a setting allows (a closed interval unless told otherwise)."""

    low: float
    high: float = math.inf
    open_low: bool = False
    open_high: bool = False

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below

    def __str__(self) -> str:
        low, high = (int(x) if float(x).is_integer() else x for x in (self.low, self.high))
        if self.high == math.inf:
            return f"{'>' if self.open_low else '>='} {low}"
        return f"in {'(' if self.open_low else '['}{low}, {high}{')' if self.open_high else ']'}"


#: Allowed ranges of the numeric settings (every float must also be finite).
_RANGES: Final = {
    **dict.fromkeys(("batch_size", "steps", "epochs", "save_every", "log_every", "image_every"), _Range(1)),
    # upper limits far above any useful value, so that a typo is refused rather than exhausting the memory
    "ngf": _Range(1, 256),  # official 64; the four generators hold ~140M parameters at 64, x16 at 256
    "ndf": _Range(1, 512),  # the discriminators' widths stop growing at 512
    "num_d": _Range(1, 8),
    "n_layers_d": _Range(1, 8),
    "workers": _Range(0, 128),
    "seed": _Range(0, 2**63 - 1),
    "u_dropout": _Range(0, 1),
    "lr": _Range(0, open_low=True),
    "beta1": _Range(0, 1, open_high=True),
    "beta2": _Range(0, 1, open_high=True),
    "weight_decay": _Range(0),
    "decay_start": _Range(0, 1),
    "grad_clip": _Range(0),  # 0: off
}
#: Every number of :class:`LossConfig` (weights, λ_r, λ_s, Δ).
_LOSS_RANGE: Final = _Range(0)
#: Settings with a fixed set of values (layouts and parse sources are matched case-insensitively).
_CHOICES: Final = {"stage": STAGES, "inputs": INPUT_MODES, "amp": AMP_MODES, "preset": PRESETS, "tps_form": ("paper", "official")}
_SIZE_TEXT: Final = "two positive integers like [256, 192]"
#: The evaluated field annotations of both config classes.
_HINTS: Final = {TrainConfig: get_type_hints(TrainConfig), LossConfig: get_type_hints(LossConfig)}


def _shown(value: Any) -> str:
    """A value as the user wrote it (JSON spelling where possible)."""
    try:
        return json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range
        return False


def _choices(name: str) -> tuple[str, ...] | None:
    if name == "dataset_layout":
        from acgpn.data.layouts import LAYOUTS

        return tuple(LAYOUTS)
    if name == "parse_source":
        from acgpn.data.layouts import PARSE_SOURCES

        return tuple(PARSE_SOURCES)
    return _CHOICES.get(name)


def _checked(owner: type, name: str, value: Any, where: str | Path | None, label: str | None = None) -> Any:
    """One setting of ``owner`` (TrainConfig / LossConfig) checked against its annotation and range,
    and normalised (ints given for floats -> float, a size list -> tuple); :class:`InputError`
    ``"<label>" must be <what> (found <value>)`` naming ``where`` otherwise."""
    hint = _HINTS[owner][name]
    label = label or name
    args = get_args(hint)
    if type(None) in args:  # X | None
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
    numeric = hint in (int, float)
    rng = _RANGES.get(name, _LOSS_RANGE if owner is LossConfig else None) if numeric else None
    choices = _choices(name)
    found = _shown(value)
    if get_origin(hint) is tuple:  # size: (H, W)
        ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        if not ok:
            raise InputError(f'"{label}" must be {_SIZE_TEXT} (found {found})', where)
        from acgpn.data.size import check_size

        return check_size(value, where)
    if hint is bool:
        ok, what = isinstance(value, bool), "true or false"
    elif hint is int:
        ok, what = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and _finite(value)
        what = "a finite number" if rng is None or rng.high == math.inf else "a number"
        value = float(value) if ok else value
    elif hint is str:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        ok, what = isinstance(value, str), "a string"
        if ok and choices is not None:
            ok, what = value.lower() in choices if name in ("dataset_layout", "parse_source") else value in choices, f"one of {', '.join(choices)}"
        elif ok and name == "phase":
            ok, what = bool(value.strip()), "a non-empty string"
    else:  # pragma: no cover - a new field type needs a rule here
        raise TypeError(f"no check for {owner.__name__}.{name}: {hint}")
    if ok and rng is not None and value not in rng:
        ok = False
    if not ok:
        what = f"{what} {rng}" if rng is not None else what
        raise InputError(f'"{label}" must be {what} (found {found})', where)
    return value


def _apply(obj: Any, values: dict[str, Any], source: str | Path) -> Any:
    """``obj`` with the fields in ``values`` replaced, each checked (:func:`_checked`)."""
    known = {f.name for f in fields(obj)}
    updates: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise InputError(f"unknown setting {key!r} (expected one of: {', '.join(sorted(known))})", source)
        if key == "losses":
            if not isinstance(value, dict):
                raise InputError(f'"losses" must be a table of loss settings (found {_shown(value)})', source)
            known_losses = {f.name for f in fields(LossConfig)}
            unknown = [k for k in value if k not in known_losses]
            if unknown:
                raise InputError(f"unknown loss setting {unknown[0]!r} (expected one of: {', '.join(sorted(known_losses))})", source)
            value = replace(obj.losses, **{k: _checked(LossConfig, k, v, source, f"losses.{k}") for k, v in value.items()})
        else:
            value = _checked(type(obj), key, value, source)
        updates[key] = value
    return replace(obj, **updates)


def load_config_file(path: str | Path, base: TrainConfig) -> TrainConfig:
    """Override ``base`` with the fields of a JSON or TOML file (``losses`` as a nested table);
    every value is checked here, so a bad one is an :class:`InputError` naming the file."""
    from acgpn.fileio import read_text

    path = Path(path)
    kind = "TOML" if path.suffix == ".toml" else "JSON"
    text = read_text(path, f"a {kind} file of training settings")
    try:
        values = tomllib.loads(text) if kind == "TOML" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"not valid {kind} ({exc})", path) from None
    if not isinstance(values, dict):
        raise InputError(f"expected a table of settings (found {type(values).__name__})", path)
    values.pop("format", None)
    return _apply(base, values, path)


def from_dict(values: dict[str, Any], source: str | Path = "config") -> TrainConfig:
    """Rebuild a config from :meth:`TrainConfig.to_dict` output (e.g. ``RUN/config.json``, named by ``source``)."""
    if not isinstance(values, dict):
        raise InputError(f"expected a JSON object of training settings (found {type(values).__name__})", source)
    values = {k: v for k, v in values.items() if k not in ("format", "run")}  # "run": facts about the run, not settings
    return _apply(TrainConfig(), values, source)


def check(config: TrainConfig, origins: Mapping[str, str | Path] | None = None) -> TrainConfig:
    """Validate every setting (type from the annotations, range, choices) and the rules between
    them; returns the normalised config (ints -> floats where floats are due, size as a tuple).

    ``origins`` maps a field name (``"losses"`` for every loss setting) to where its value came
    from (a config file, a CLI option such as ``--lr``): the :class:`InputError` names it.
    """
    origins = origins or {}
    if not isinstance(config, TrainConfig):
        raise TypeError(f"expected a TrainConfig, got {type(config).__name__}")
    updates: dict[str, Any] = {}
    for f in fields(TrainConfig):
        value = getattr(config, f.name)
        if f.name != "losses":
            updates[f.name] = _checked(TrainConfig, f.name, value, origins.get(f.name))
        elif not isinstance(value, LossConfig):
            raise InputError(f'"losses" must be a table of loss settings (found {_shown(value)})', origins.get("losses"))
        else:
            where = origins.get("losses")
            updates["losses"] = replace(value, **{g.name: _checked(LossConfig, g.name, getattr(value, g.name), where, f"losses.{g.name}") for g in fields(LossConfig)})
    config = replace(config, **updates)
    if not config.data:
        raise InputError("no dataset given (expected --data, the dataset root holding the train_* folders)")
    if not config.out:
        raise InputError("no run folder given (expected --out)")
    if (config.steps is None) == (config.epochs is None):
        same = origins.get("steps") == origins.get("epochs")  # both from one config file: name it
        raise InputError("give exactly one of --steps and --epochs", origins.get("steps") if same else None)
    return config
