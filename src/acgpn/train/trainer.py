"""The training loop: data order, per-step seeding, G then D updates, checkpoints, signals, NaN stop.

Exact resume: everything random in a step is drawn from generators seeded by ``(seed, step,
rank)`` (noise channels, hole masks, dropout through the global RNG), the data order of epoch e
is the ``DistributedSampler`` permutation of ``(seed, e)`` and a resumed run skips the batches
already seen, and optimiser / scheduler / scaler states are restored from the checkpoint. The
global RNG states are saved and restored as well. On the CPU, N steps in one go and N/2 + resume
+ N/2 therefore give bit-identical weights.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, DistributedSampler

from acgpn import checkpoints
from acgpn.data import TryOnDataset
from acgpn.data.guarded import GuardedDataset, collate_or_failure, raise_failure
from acgpn.errors import InputError
from acgpn.fileio import read_text, save_text
from acgpn.nets import OFFICIAL_UNET_CHANNELS, UNet, WarpNet
from acgpn.nets.discriminator import init_weights
from acgpn.nets.vgg import VGG19Features
from acgpn.pipeline import NOISE_PROBABILITY, TryOnPipeline, draw_noise
from acgpn.runtime import resolve_device
from acgpn.train import distributed, state
from acgpn.train.config import RESUME_FIXED, STAGE_NETS, TrainConfig, check, from_dict
from acgpn.train.holes import random_hole_masks
from acgpn.train.monitor import METRICS_FILE, MetricsLog, image_grid
from acgpn.train.stages import TRAIN_KEYS, DiscriminatorStep, GeneratorStep, build_discriminators

RUN_CONFIG = "config.json"
#: What a run writes into its folder.
RUN_OUTPUTS = (RUN_CONFIG, METRICS_FILE, "tensorboard", "images", state.CHECKPOINTS_DIR)
#: Pipeline options stored with the generators (what TryOnPipeline.from_pretrained reads).
PIPELINE_OPTIONS = {"align_corners": False, "noise_probability": NOISE_PROBABILITY}


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left untouched."""


@dataclass
class TrainResult:
    step: int
    total_steps: int
    latest: Path | None
    interrupted: str | None  # signal name when stopped by SIGINT / SIGTERM
    last_metrics: dict[str, float]


# ----------------------------------------------------------------------------- building
def build_generators(config: TrainConfig) -> dict[str, nn.Module]:
    """Fresh G1, G2, U, G with ``ngf`` widths: convs ~ N(0, 0.02) (official init), the STN starting
    at the identity warp (fc2 weight 0, bias atanh of the lattice)."""
    nets: dict[str, nn.Module] = {name: UNet(*OFFICIAL_UNET_CHANNELS[name], base_channels=config.ngf) for name in ("g1", "g2", "g")}
    nets["u"] = WarpNet(base_channels=config.ngf, dropout=config.u_dropout)
    for net in nets.values():
        init_weights(net)
    nets["u"].init_identity()
    return nets


def _mixed_seed(*parts: int) -> int:
    """A well-mixed 63-bit seed from integers (NumPy's SeedSequence)."""
    return int(np.random.SeedSequence([p & 0xFFFFFFFF for p in parts]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def _lr_lambda(total_steps: int, decay_start: float) -> Callable[[int], float]:
    """Official schedule: constant, then linear decay to 0 over the last ``1 - decay_start`` of the run."""
    start = int(total_steps * decay_start)

    def factor(step: int) -> float:
        if step < start:
            return 1.0
        return max(0.0, (total_steps - step) / max(1, total_steps - start))

    return factor


class _Signals:
    """SIGINT / SIGTERM set a flag; the loop saves and exits at the end of the step."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.received = signal.Signals(signum).name

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


# ----------------------------------------------------------------------------- trainer
class Trainer:
    """Builds everything from a :class:`TrainConfig` and runs it (see the module docstring)."""

    def __init__(self, config: TrainConfig, resume: bool = False, log: Callable[[str], None] | None = None) -> None:
        self.config = config = check(config)
        self.run_dir = Path(config.out)
        device = resolve_device(config.device)
        self.dist = distributed.init(device.type)
        self.device = distributed.device_for(self.dist, device)
        self.log = log if (log is not None and self.dist.is_main) else (lambda _msg: None)
        if config.amp != "off" and self.device.type == "cpu" and config.amp == "fp16":
            raise InputError("--amp fp16 needs a GPU (use bf16 or off on the CPU)")
        torch.manual_seed(config.seed)

        self.dataset = TryOnDataset(config.data, dataset_layout=config.dataset_layout, phase=config.phase, pairs=config.pairs,
                                    size=config.size, parse_source=config.parse_source)  # fmt: skip
        self.size = self.dataset.size
        self.sampler = DistributedSampler(self.dataset, num_replicas=self.dist.world_size, rank=self.dist.rank,
                                          shuffle=True, seed=config.seed, drop_last=True)  # fmt: skip
        self.steps_per_epoch = len(self.sampler) // config.batch_size
        if self.steps_per_epoch == 0:
            raise InputError(
                f"{len(self.dataset)} training pairs are fewer than --batch-size {config.batch_size} x "
                f"{self.dist.world_size} process(es)", self.dataset.root,
            )  # fmt: skip
        self.total_steps = config.steps if config.steps is not None else config.epochs * self.steps_per_epoch  # type: ignore[operator]

        found = state.scan(self.run_dir)
        latest = found.latest
        if not resume and found.holds_run:
            raise InputError("already holds a training run (pass --resume to continue it, or choose another --out)", self.run_dir)
        if resume and latest is None:
            if found.unreadable:
                raise InputError(state.UNREADABLE_STATE, found.unreadable[0])
            raise InputError("--resume: no checkpoint to resume (expected checkpoints/latest)", self.run_dir)
        if resume:
            for path in found.unreadable:
                self.log(f"warning: {path}: {state.UNREADABLE_STATE}; resuming from {latest} instead")
            self._check_resume_config()

        # ------------------------------------------------------------ models
        vgg = VGG19Features.from_file(config.vgg_weights, config.losses.vgg_normalize).to(self.device) if config.vgg_weights else None
        if resume:
            nets, _ = checkpoints.load_pretrained(latest)
            discriminators = state.load_discriminators(latest)
        else:
            nets = checkpoints.load_pretrained(config.init)[0] if config.init else build_generators(config)
            discriminators = build_discriminators(config)
        self.nets = {k: v.to(self.device) for k, v in nets.items()}
        self.discriminators = {k: v.to(self.device) for k, v in discriminators.items()}
        self.trained = STAGE_NETS[config.stage]
        for name, net in self.nets.items():
            net.requires_grad_(name in self.trained)
            net.train(name in self.trained)
            if hasattr(net, "set_fast_math"):
                net.set_fast_math(config.fast_math)
        for d in self.discriminators.values():
            d.set_fast_math(config.fast_math)
        if vgg is None:
            self.log("VGG19 perceptual loss off: no --vgg-weights given (torchvision's vgg19-dcbb9e9d.pth)")
        self.gen_step = GeneratorStep(self.nets, config)
        self.gen_step.aux["discriminators"] = self.discriminators
        self.gen_step.aux["vgg"] = vgg
        self.disc_step = DiscriminatorStep(self.discriminators)
        g_params = [p for n in self.trained for p in self.nets[n].parameters()]
        d_params = list(self.disc_step.parameters())
        adam = {"lr": config.lr, "betas": (config.beta1, config.beta2), "weight_decay": config.weight_decay}
        self.opt_g = torch.optim.AdamW(g_params, **adam)
        self.opt_d = torch.optim.AdamW(d_params, **adam)
        schedule = _lr_lambda(self.total_steps, config.decay_start)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, schedule)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, schedule)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=config.amp == "fp16")
        self.step = 0
        if resume:
            saved = state.load_training_state(latest)
            try:
                self._load_state(saved)
            except (KeyError, IndexError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
                reason = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:100]}" if str(exc) else exc.__class__.__name__
                raise InputError(f"a training state that does not fit this run ({reason})", latest / state.STATE_FILE) from None
        self.gen_model = distributed.wrap(self.gen_step, self.dist)
        self.disc_model = distributed.wrap(self.disc_step, self.dist)
        self.resumed_from = self.step if resume else None

    # ------------------------------------------------------------ config / state
    def _check_resume_config(self) -> None:
        path = self.run_dir / RUN_CONFIG
        try:
            saved = from_dict(json.loads(read_text(path, "the run's config.json")), path)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc}); expected the run's config.json", path) from None
        now = self.config
        for key in RESUME_FIXED:
            a, b = getattr(saved, key), getattr(now, key)
            if key == "size":
                a, b = tuple(a) if a else None, tuple(b) if b else None
            if a != b:
                raise InputError(f"--resume with a different {key} ({b!r}; the run used {a!r})", path)
        if saved.losses != now.losses:
            raise InputError("--resume with different loss settings than the run used", path)

    def _state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
            "data_position": self.step % self.steps_per_epoch,
            "world_size": self.dist.world_size,
            "optimizer_g": self.opt_g.state_dict(),
            "optimizer_d": self.opt_d.state_dict(),
            "scheduler_g": self.sched_g.state_dict(),
            "scheduler_d": self.sched_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": state.rng_state(),
        }

    def _load_state(self, saved: dict[str, Any]) -> None:
        self.step = int(saved["step"])
        self.opt_g.load_state_dict(saved["optimizer_g"])
        self.opt_d.load_state_dict(saved["optimizer_d"])
        self.sched_g.load_state_dict(saved["scheduler_g"])
        self.sched_d.load_state_dict(saved["scheduler_d"])
        # a longer or shorter run than the interrupted one: the schedule follows this run's length
        for sched in (self.sched_g, self.sched_d):
            sched.lr_lambdas = [_lr_lambda(self.total_steps, self.config.decay_start)] * len(sched.optimizer.param_groups)
            for group, base, lam in zip(sched.optimizer.param_groups, sched.base_lrs, sched.lr_lambdas):
                group["lr"] = base * lam(sched.last_epoch)
            sched._last_lr = [g["lr"] for g in sched.optimizer.param_groups]
        if saved["scaler"]:
            self.scaler.load_state_dict(saved["scaler"])
        state.set_rng_state(saved["rng"])

    def save(self, keep_step: bool) -> Path | None:
        """Checkpoint (rank 0 writes; every rank waits)."""
        latest = None
        if self.dist.is_main:
            latest = state.save_checkpoint(self.run_dir, self.step, self.nets, PIPELINE_OPTIONS, self.discriminators, self._state(), keep_step)
        distributed.barrier(self.dist)
        return latest

    # ------------------------------------------------------------ data
    def batches(self) -> Iterator[dict[str, Tensor]]:
        """Batches from the current step on, epoch after epoch (deterministic order)."""
        bs = self.config.batch_size
        guarded = GuardedDataset(self.dataset, range(len(self.dataset)))  # a bad sample: one-line InputError, workers or not
        while True:
            epoch, position = divmod(self.step, self.steps_per_epoch)
            self.sampler.set_epoch(epoch)
            indices = list(self.sampler)[: self.steps_per_epoch * bs]
            batches = [indices[i : i + bs] for i in range(position * bs, len(indices), bs)]
            loader = DataLoader(guarded, batch_sampler=batches, num_workers=self.config.workers, collate_fn=collate_or_failure)
            for batch in loader:
                raise_failure(batch)
                yield {k: batch[k].to(self.device, non_blocking=True) for k in TRAIN_KEYS}

    def _randomness(self, batch: int) -> tuple[dict[str, Tensor], Tensor]:
        """Noise channels and hole masks of this step; reseeds the global RNG (dropout)."""
        seed = _mixed_seed(self.config.seed, self.step, self.dist.rank)
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        h, w = self.size
        noise = draw_noise(batch, h, w, generator=gen, device=self.device)
        holes = random_hole_masks(batch, h, w, gen, device=self.device)
        return noise, holes

    def _autocast(self) -> Any:
        if self.config.amp == "off":
            return nullcontext()
        dtype = torch.bfloat16 if self.config.amp == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    # ------------------------------------------------------------ one step
    def train_step(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """G update then D update on one batch; raises :class:`TrainingDiverged` on a non-finite loss."""
        noise, holes = self._randomness(batch["image"].shape[0])
        for d in self.discriminators.values():
            d.requires_grad_(False)
        with self._autocast():
            loss_g, terms, triples = self.gen_model(batch, noise, holes)
        for d in self.discriminators.values():
            d.requires_grad_(True)
        with self._autocast():
            loss_d, d_terms = self.disc_model(triples)
        terms = {**terms, **d_terms, "g_total": loss_g.detach().float(), "d_total": loss_d.detach().float()}
        bad = [k for k, v in terms.items() if not torch.isfinite(v).all()]
        if distributed.any_flag(bool(bad), self.dist, self.device):
            raise TrainingDiverged(
                f"step {self.step + 1}: loss {', '.join(bad) or 'on another process'} is not finite "
                f"(NaN or inf); stopped without saving. The last good checkpoint is "
                f"{self.run_dir / state.CHECKPOINTS_DIR / state.LATEST} (lower --lr or check the data)"
            )
        for opt, loss, params_of in ((self.opt_g, loss_g, self.opt_g), (self.opt_d, loss_d, self.opt_d)):
            opt.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if self.config.grad_clip > 0:
                self.scaler.unscale_(opt)
                nn.utils.clip_grad_norm_([p for g in params_of.param_groups for p in g["params"]], self.config.grad_clip)
            self.scaler.step(opt)
        self.scaler.update()
        self.sched_g.step()
        self.sched_d.step()
        self.step += 1
        return terms

    # ------------------------------------------------------------ loop
    def run(self, progress: bool = True) -> TrainResult:
        """Train to ``total_steps`` (or until a signal). Input refused before a fresh run's first
        checkpoint (e.g. a corrupt image met in the data) leaves no half-made run folder: what the
        run wrote is removed again."""
        made = self._new_outputs() if self.dist.is_main and self.resumed_from is None else []
        try:
            return self._run(progress)
        except InputError:
            if made and not state.scan(self.run_dir).holds_run:
                for path in made:
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink(missing_ok=True)
            raise

    def _new_outputs(self) -> list[Path]:
        """What a run would create: the top folder of ``--out`` that does not exist yet, else the
        outputs in the existing folder that do not exist yet."""
        top = self.run_dir.absolute()
        if not top.exists():
            while not top.parent.exists():
                top = top.parent
            return [top]
        return [top / name for name in RUN_OUTPUTS if not (top / name).exists()]

    def _run(self, progress: bool) -> TrainResult:
        cfg = self.config
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            run = {"world_size": self.dist.world_size, "total_steps": self.total_steps, "steps_per_epoch": self.steps_per_epoch,
                   "resumed_from": self.resumed_from, "torch": torch.__version__}  # fmt: skip
            record = {**cfg.to_dict(), "run": run}
            save_text(self.run_dir / RUN_CONFIG, json.dumps(record, indent=2) + "\n")
        metrics = MetricsLog(self.run_dir, self.resumed_from, tensorboard=True) if self.dist.is_main else None
        if metrics is not None and metrics.message:
            self.log(metrics.message)
        try:
            return self._loop(metrics, progress)
        finally:
            if metrics is not None:
                metrics.close()

    def _loop(self, metrics: MetricsLog | None, progress: bool) -> TrainResult:
        cfg = self.config
        bar = None
        if progress and self.dist.is_main:
            from tqdm import tqdm

            bar = tqdm(total=self.total_steps, initial=self.step, desc=f"train {cfg.stage}", unit="step", file=sys.stderr)
        try:
            grid_batch = None
            latest, saved_at, last = None, -1, {}
            t0, n0 = time.perf_counter(), self.step
            with _Signals() as signals:
                data = self.batches()
                while self.step < self.total_steps:
                    batch = next(data)
                    if grid_batch is None:
                        grid_batch = {k: v[:4] for k, v in batch.items()}
                    terms = self.train_step(batch)
                    if metrics is not None:
                        metrics.add(terms)
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix({k: f"{float(terms[k]):.3f}" for k in ("g_total", "d_total")})
                    if metrics is not None and (self.step % cfg.log_every == 0 or self.step == self.total_steps):
                        elapsed = time.perf_counter() - t0
                        rate = (self.step - n0) * cfg.batch_size * self.dist.world_size / max(elapsed, 1e-9)
                        extra = {"epoch": self.step // self.steps_per_epoch, "lr": self.sched_g.get_last_lr()[0], "samples_per_s": round(rate, 3)}
                        last = metrics.write(self.step, extra)
                        t0, n0 = time.perf_counter(), self.step
                    if self.dist.is_main and self.step % cfg.image_every == 0:
                        self._save_grid(grid_batch)
                    if self.step % cfg.save_every == 0:
                        latest, saved_at = self.save(keep_step=True), self.step
                    if distributed.any_flag(signals.received is not None, self.dist, self.device):
                        break
                if saved_at != self.step:
                    latest = self.save(keep_step=False)
        finally:
            if bar is not None:
                bar.close()
        return TrainResult(self.step, self.total_steps, latest, signals.received, last)

    def _save_grid(self, batch: dict[str, Tensor]) -> None:
        from acgpn.fileio import save_image

        pipe = TryOnPipeline(self.nets["g1"], self.nets["g2"], self.nets["u"], self.nets["g"], channels_last=False)  # keep the training layout
        grid = image_grid(pipe, batch, torch.Generator().manual_seed(self.config.seed))
        save_image(self.run_dir / "images" / f"step_{self.step}.png", grid)
        for name, net in self.nets.items():  # the pipeline switched them to eval / official ops
            net.train(name in self.trained)
            if hasattr(net, "set_fast_math"):
                net.set_fast_math(self.config.fast_math)

    def close(self) -> None:
        distributed.shutdown(self.dist)


def train(config: TrainConfig, resume: bool = False, progress: bool = True, log: Callable[[str], None] | None = None) -> TrainResult:
    """Build a :class:`Trainer` and run it (then leave the process group)."""
    trainer = Trainer(config, resume=resume, log=log)
    try:
        return trainer.run(progress)
    finally:
        trainer.close()
