"""TryOnPipeline: ACGPN's Figure 2 as code — SGM (step I) -> CWM (step II) -> CFM (steps III, IV).

    pipe = TryOnPipeline.from_official("checkpoints/")     # latest_net_{U,G1,G2,G}.pth
    out = pipe(batch)                                        # batch: Sample dict with a batch dim
    out.fake_image                                           # (B, 3, H, W) in [-1, 1]

The pipeline owns device, dtype and noise. Every sample of a batch is computed independently.
Noise: the official code feeds a binary channel with P(1) = 0.15913 (spec §2.9), drawn here from a
``torch.Generator`` or passed in explicitly (keys ``g1``, ``g2``, ``g``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Final

import torch
from torch import Tensor, nn

from acgpn import checkpoints
from acgpn.modules import cfm, cwm, sgm
from acgpn.errors import InputError
from acgpn.modules.decisions import Decisions, ThresholdDecisions
from acgpn.nets import UNet, WarpNet
from acgpn.runtime import cudnn_tf32, prefers_channels_last
from acgpn.working_size import CONFIG_KEY, read_working_size, resize_batch, resize_noise, resize_output

#: P(1) of the official binary noise channel: 1 - Phi(254.5 / 255).
NOISE_PROBABILITY: Final = 0.15913
NOISE_KEYS: Final = ("g1", "g2", "g")
INPUT_KEYS: Final = ("image", "label", "cloth", "product_mask", "pose")
#: Run-time schedule on the CPU: U-Net levels whose maps have at least this many pixels run one
#: sample of a batch at a time (:attr:`acgpn.nets.UNet.per_sample_pixels`); measured on 2 AVX2
#: cores, where 128x96 and 256x192 maps gain from it. Other devices run every level batched.
CPU_PER_SAMPLE_PIXELS: Final = 128 * 96


def draw_noise(
    batch: int,
    height: int,
    width: int,
    probability: float = NOISE_PROBABILITY,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> dict[str, Tensor]:
    """The noise channels z of G1, G2 and G (:data:`NOISE_KEYS`, drawn in that order), each
    (B, 1, H, W) Bernoulli(``probability``) in {0, 1}: drawn on ``generator``'s device (else
    ``device``), returned on ``device`` in ``dtype``."""
    draw_on = generator.device if generator is not None else device
    return {
        key: (torch.rand(batch, 1, height, width, generator=generator, device=draw_on) < probability).to(device, dtype)
        for key in NOISE_KEYS
    }


@dataclass
class TryOnOutput:
    """Every intermediate of one forward pass (batched, on the pipeline's device)."""

    layout_prob: Tensor  # step I: sigmoid(G1), (B, 14, H, W)
    layout_ids: Tensor  # step I: G1 layout ids M^S_w (argmax decision), (B, 1, H, W)
    cloth_mask_prob: Tensor  # step I: sigmoid(G2) = M^S_c, (B, 1, H, W)
    predicted_cloth_mask: Tensor  # step I: G2's binary decision (M^S_c > 0.5), (B, 1, H, W)
    target_cloth_mask: Tensor  # step III: final composed cloth mask M, (B, 1, H, W)
    final_label: Tensor  # step III: composited label M^C_w fed to G, (B, 1, H, W)
    control_points: Tensor  # step II: TPS control points (B, 25, 2)
    warped_cloth: Tensor  # step II: T^W_c (B, 3, H, W)
    refined_cloth: Tensor  # step II: T^R_c (B, 3, H, W), eq. 6
    alpha: Tensor  # step II: weight of the warped cloth in eq. 6, (B, 1, H, W)
    skin_color: Tensor  # step IV input: (B, 3)
    body_image: Tensor  # step III: I_w, (B, 3, H, W)
    preserved_mask: Tensor  # step III: 1 on the person pixels kept as they are (I_w's, background), (B, 1, H, W)
    fake_image: Tensor  # step IV: try-on result I^S, (B, 3, H, W) in [-1, 1]

    def select(self, index: int) -> TryOnOutput:
        """The outputs of sample ``index`` (batch dim kept, size 1)."""
        return TryOnOutput(**{f.name: getattr(self, f.name)[index : index + 1] for f in fields(self)})

    def with_preserved(self, image: Tensor) -> TryOnOutput:
        """The try-on with the preserved pixels copied from ``image`` (the person, (B, 3, H, W) at
        the outputs' size): :func:`acgpn.modules.cfm.paste_preserved`."""
        image = image.to(self.fake_image.device, self.fake_image.dtype)
        return replace(self, fake_image=cfm.paste_preserved(self.fake_image, image, self.preserved_mask))


class WorkingSizeRunner:
    """The call both backends share (:class:`TryOnPipeline`, :class:`acgpn.export.OnnxPipeline`):
    their ``run_steps(batch, generator, noise, decisions)`` at :attr:`working_size`, then the
    preserved pixels (:attr:`preserve_content`)."""

    #: (H, W) the nets run at, inputs of another size being resized in and out
    #: (:mod:`acgpn.working_size`); None: the input's own size. Set from ``config.json``.
    working_size: tuple[int, int] | None = None
    #: Copy step III's preserved pixels (face, background, ...) from the person into the result
    #: at the input's resolution (:meth:`TryOnOutput.with_preserved`); False: G's image as it is,
    #: as the official code outputs it. Saved in ``config.json``.
    preserve_content: bool = False
    run_steps: Callable[..., TryOnOutput]  # steps I-IV at the batch's own size

    @torch.no_grad()
    def forward(
        self,
        batch: Mapping[str, Tensor],
        generator: torch.Generator | None = None,
        noise: Mapping[str, Tensor] | None = None,
        decisions: Decisions | None = None,
    ) -> TryOnOutput:
        """Try the cloth of each sample on its person. ``batch`` holds :data:`INPUT_KEYS` with a batch dim.

        ``decisions`` makes step I's argmax / threshold decisions (default: the official rules); pass
        :class:`~acgpn.modules.decisions.GivenDecisions` to force a layout or cloth mask (at the
        :attr:`working_size` when one is set). Inputs of another size than :attr:`working_size`
        (noise included) are resized to it, and every output back to the input's size; then, with
        :attr:`preserve_content`, the preserved pixels are copied from the person at that size.
        """
        size = tuple(batch["image"].shape[-2:])
        if self.working_size is not None and size != tuple(self.working_size):
            small = self.run_steps(resize_batch(batch, self.working_size), generator, resize_noise(noise, self.working_size), decisions)
            out = resize_output(small, size)
        else:
            out = self.run_steps(batch, generator, noise, decisions)
        return out.with_preserved(batch["image"]) if self.preserve_content else out


class TryOnPipeline(WorkingSizeRunner, nn.Module):
    """The four nets (G1, G2, U, G) and the glue between them; called as
    :meth:`WorkingSizeRunner.forward`."""

    #: On CUDA, let cuDNN run the float32 convolutions in TF32 (faster, ~1e-3 relative error;
    #: :func:`acgpn.runtime.cudnn_tf32`). False: full float32, as parity needs. Ignored elsewhere
    #: and by autocast's bf16 / fp16 convolutions. Set by ``apply_speed_options(pipe, tf32=True)``.
    tf32: bool = False

    def __init__(
        self,
        g1: UNet,
        g2: UNet,
        u: WarpNet,
        g: UNet,
        align_corners: bool = False,
        noise_probability: float = NOISE_PROBABILITY,
        fast_math: bool = True,
        channels_last: bool | None = None,
        preserve_content: bool = False,
    ) -> None:
        super().__init__()
        self.g1, self.g2, self.u, self.g = g1, g2, u, g
        self.align_corners = align_corners
        self.noise_probability = noise_probability
        self.preserve_content = preserve_content
        #: Nets in NHWC layout: True, False, or None (the default): :func:`acgpn.runtime.prefers_channels_last` with fast_math.
        self.channels_last = channels_last
        self.set_fast_math(fast_math)
        self.eval()

    def apply_schedule(self) -> TryOnPipeline:
        """Set how the nets run on the pipeline's device (re-applied by every ``.to()`` and
        :meth:`set_fast_math`); only speed and memory change, the outputs stay within rounding:

        * the U-Nets' batch schedule: per-sample large levels on the CPU
          (:data:`CPU_PER_SAMPLE_PIXELS`), else all batched;
        * the memory format (:attr:`channels_last`): by default NHWC with ``fast_math`` on CPUs
          with AVX2 or AVX-512 kernels (:func:`acgpn.runtime.prefers_channels_last`: oneDNN's
          NHWC 3x3 convolutions are faster there), NCHW elsewhere and with the official ops
          (``--exact`` stays bit-identical).
        """
        cpu = self.device.type == "cpu"
        pixels = CPU_PER_SAMPLE_PIXELS if cpu else None
        for module in self.modules():
            if isinstance(module, UNet):
                module.per_sample_pixels = pixels
        nhwc = self.channels_last if self.channels_last is not None else self.fast_math and prefers_channels_last(self.device)
        for net in (self.g1, self.g2, self.u, self.g):  # no copy where a weight already has the layout
            net.to(memory_format=torch.channels_last if nhwc else torch.contiguous_format)
        return self

    def set_channels_last(self, enabled: bool | None) -> TryOnPipeline:
        """Nets in NHWC (True), NCHW (False) or the device's default (None); see :meth:`apply_schedule`."""
        self.channels_last = enabled
        return self.apply_schedule()

    def _apply(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Every device or dtype move of the module (``.to()``, ``.half()``, ...), then :meth:`apply_schedule`."""
        result = super()._apply(fn, *args, **kwargs)
        self.apply_schedule()
        return result

    def set_fast_math(self, enabled: bool) -> TryOnPipeline:
        """Faster op sequences (:meth:`UNet.set_fast_math`) in all four nets, or the official ones.

        Outputs move by about 2e-5; near-tie G1/G2 pixels may then decide differently, which is
        why parity step 7 is tie-aware (on parity_seed1: every check passes, 3 ties resolved in NCHW,
        4 in channels_last)."""
        for net in (self.g1, self.g2, self.u, self.g):
            net.set_fast_math(enabled)
        self.fast_math = enabled
        return self.apply_schedule()

    # ----------------------------------------------------------------------------- loading
    @classmethod
    def from_official(
        cls, directory: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, align_corners: bool = False
    ) -> TryOnPipeline:
        """Load the released ``latest_net_{U,G1,G2,G}.pth`` files from ``directory``."""
        nets = checkpoints.load_official(directory)
        return cls(**nets, align_corners=align_corners).to(device=device, dtype=dtype)

    @classmethod
    def from_pretrained(cls, directory: str | Path = "synthetic", device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> TryOnPipeline:
        """Load a folder written by :meth:`save_pretrained` (safetensors + config.json); without an
        argument (or ``"synthetic"``) the small model embedded in the package, trained on synthetic
        people only (:mod:`acgpn.assets`).

        Only the four components ``g1``, ``g2``, ``u``, ``g`` are read; other nets saved in the same
        folder (e.g. training's discriminators) are left alone.
        """
        from acgpn.assets import resolve_pretrained

        directory = resolve_pretrained(directory)
        nets, options = checkpoints.load_pretrained(directory, names=checkpoints.NET_NAMES)
        pipe = cls(**nets, **options).to(device=device, dtype=dtype)
        pipe.working_size = read_working_size(checkpoints.read_config(directory), Path(directory) / checkpoints.CONFIG_FILE)
        return pipe

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, align_corners: bool | None = None) -> TryOnPipeline:
        """Either format: a folder with ``config.json`` (ours) or with ``latest_net_*.pth`` (official)."""
        config = Path(path) / checkpoints.CONFIG_FILE
        if config.exists() or config.is_symlink():
            pipe = cls.from_pretrained(path, device, dtype)
            if align_corners is not None:
                pipe.align_corners = align_corners
            return pipe
        weights = Path(path) / checkpoints.WEIGHTS_FILE
        if weights.exists() and not any((Path(path) / name).exists() for name in checkpoints.OFFICIAL_FILES.values()):
            raise InputError(f"{checkpoints.WEIGHTS_FILE} without its {checkpoints.CONFIG_FILE} (expected a save_pretrained folder holding both)", path)
        return cls.from_official(path, device, dtype, bool(align_corners))

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``model.safetensors`` + ``config.json`` (atomic)."""
        nets = {"g1": self.g1, "g2": self.g2, "u": self.u, "g": self.g}
        options = {"align_corners": self.align_corners, "noise_probability": self.noise_probability, "preserve_content": self.preserve_content}
        if self.working_size is not None:
            options[CONFIG_KEY] = list(self.working_size)
        return checkpoints.save_pretrained(directory, nets, options)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    # ----------------------------------------------------------------------------- noise
    def sample_noise(self, batch: int, height: int, width: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Binary noise channels for G1, G2, G (:func:`draw_noise`) on the pipeline's device and dtype."""
        return draw_noise(batch, height, width, self.noise_probability, generator, self.device, self.dtype)

    # ----------------------------------------------------------------------------- forward
    @torch.no_grad()
    def run_steps(
        self,
        batch: Mapping[str, Tensor],
        generator: torch.Generator | None = None,
        noise: Mapping[str, Tensor] | None = None,
        decisions: Decisions | None = None,
    ) -> TryOnOutput:
        """Steps I-IV at the batch's own size: G's image as it is (no resizing, no pasting)."""
        with cudnn_tf32(self.device, self.tf32):
            return self._steps(batch, generator, noise, decisions)

    def _steps(
        self, batch: Mapping[str, Tensor], generator: torch.Generator | None, noise: Mapping[str, Tensor] | None, decisions: Decisions | None
    ) -> TryOnOutput:
        image, label, cloth, product_mask, pose = (batch[k].to(self.device, self.dtype) for k in INPUT_KEYS)
        b, _, h, w = image.shape
        z = dict(noise) if noise is not None else self.sample_noise(b, h, w, generator)
        z = {k: z[k].to(self.device, self.dtype) for k in NOISE_KEYS}
        decisions = decisions or ThresholdDecisions()

        # Step I — SGM: body-part layout (G1), then warped-cloth mask (G2), each with its decision.
        product_mask, masked_cloth = sgm.masked_cloth(cloth, product_mask)
        semantic = sgm.semantic_generation(self.g1, self.g2, product_mask, masked_cloth, label, pose, z["g1"], z["g2"], decisions)
        predicted_cloth_mask = decisions.predicted_cloth_mask(semantic.cloth_mask_prob)

        # Step III (first half) — composition decides the target cloth mask M that CWM fits to.
        comp = cfm.compose(image, label, semantic.layout_ids, predicted_cloth_mask)

        # Step II — CWM: TPS warp onto M, refinement with alpha (eq. 6).
        warped = cwm.clothes_warping(self.u, masked_cloth, product_mask, comp.target_cloth_mask, self.align_corners)

        # Step IV — CFM: inpainting fusion generator.
        skin = cfm.skin_color(image, label)
        fake = cfm.content_fusion(self.g, comp.body_image, comp.final_label, warped.refined_cloth, skin, z["g"])

        return TryOnOutput(
            layout_prob=semantic.layout_prob,
            layout_ids=semantic.layout_ids,
            cloth_mask_prob=semantic.cloth_mask_prob,
            predicted_cloth_mask=predicted_cloth_mask,
            target_cloth_mask=comp.target_cloth_mask,
            final_label=comp.final_label,
            control_points=warped.control_points,
            warped_cloth=warped.warped_cloth,
            refined_cloth=warped.refined_cloth,
            alpha=warped.alpha,
            skin_color=skin,
            body_image=comp.body_image,
            preserved_mask=comp.preserved_mask,
            fake_image=fake,
        )
