"""Speed options for a :class:`~acgpn.pipeline.TryOnPipeline`: channels_last, ``torch.compile``,
autocast, TF32, and CUDA graphs (:class:`CudaGraphPipeline`).

    notes = apply_speed_options(pipe, channels_last=True, autocast="bf16")   # notes: what fell back

Each option changes how the four nets run, never what the glue computes (decisions, composition
and warps stay float32), and none adds a host synchronisation to the forward:

* ``channels_last`` — the nets' conv weights in NHWC, so oneDNN / cuDNN keep activations NHWC.
  Already the default with ``fast_math`` on CPUs with AVX2 or AVX-512 kernels
  (:func:`acgpn.runtime.prefers_channels_last`); this forces it elsewhere (the portable CPU
  kernels, and GPUs in float32). With autocast on a GPU it is on unless a layout was chosen.
* ``compile`` — :meth:`torch.nn.Module.compile` on each net (inductor; the first call of each
  batch size compiles). It pays on GPUs (2.3x in bf16 at batch 32 on an H100); on the CPU it
  gained nothing (0.98x at batch 4: oneDNN's convolutions are the time either way).
* ``autocast`` — ``"bf16"`` or ``"fp16"``: each net runs under :func:`torch.autocast` and returns
  float32 logits. bf16 runs on CPUs with AVX512-BF16 or AMX (:func:`cpu_supports_bf16`) and on
  CUDA GPUs that support it; fp16 on CUDA only. Elsewhere the pipeline stays float32 and the
  returned note says why.
* ``tf32`` — on CUDA, cuDNN's TF32 float32 convolutions (2.8x faster on an H100, but they move
  near-threshold decisions: :func:`acgpn.runtime.cudnn_tf32`). Off by default.
* :class:`CudaGraphPipeline` — wraps a CUDA pipeline and replays its whole forward as one CUDA
  graph per input shape (2.6x at batch 1 on an H100, a few % at batch 32).

Tolerances against float32 eager (checked with the tie-aware comparison of parity step 7,
:class:`~acgpn.modules.decisions.TieAwareDecisions`): channels_last and compile keep the parity
tolerances (tie margin 1e-4, no decision differing beyond it, fake image PSNR >= 35 dB);
autocast: tie margin :data:`AUTOCAST_TIE_MARGIN`, fake image PSNR >= :data:`AUTOCAST_MIN_PSNR` dB.
Each keeps its tolerance on the embedded (trained) model (``tests/test_embedded_model.py``;
compile on the CPU at 122 dB, on an H100 at 142 dB). On the parity recipe's random
official-width weights, which amplify rounding through 23 untrained layers, channels_last still
does (52 dB), but bf16 (12 dB) and compile on the CPU do not: inductor's fused norms round
differently, which moves G1's logits by 1.3e-3 (channels_last: 9e-5) and end to end 1,172 near-tie
decisions beyond the margin (15 dB; README, Benchmarks).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Final

import torch
from torch import Tensor, nn

from acgpn.errors import InputError
from acgpn.parity import MIN_PSNR, TIE_MARGIN  # the parity-step-7 tolerances that channels_last keeps
from acgpn.modules.decisions import Decisions
from acgpn.pipeline import INPUT_KEYS, NOISE_KEYS, TryOnOutput, TryOnPipeline

#: Autocast dtypes by name.
AUTOCAST_DTYPES: Final = {"bf16": torch.bfloat16, "fp16": torch.float16}
#: Tie margin of the decisions under autocast (bf16 keeps ~3 significant digits of each logit).
AUTOCAST_TIE_MARGIN: Final = 0.05
#: Minimum PSNR (dB) of the try-on image under autocast against float32 eager, decisions tie-aware.
AUTOCAST_MIN_PSNR: Final = 25.0


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bf16 dot products (AVX512-BF16 or AMX-BF16, read from
    ``/proc/cpuinfo`` on Linux) and oneDNN may use them: its own check, when this torch exposes
    it, says no under an ISA cap such as ``ONEDNN_MAX_CPU_ISA=AVX2`` (bf16 would then run emulated).
    Without ``/proc/cpuinfo``, oneDNN's check alone."""
    check = getattr(getattr(torch.ops, "mkldnn", None), "_is_mkldnn_bf16_supported", None)
    try:
        onednn: bool | None = bool(check()) if check is not None else None
    except RuntimeError:
        onednn = None
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                flags = next((line for line in f if line.startswith("flags")), "").split()
            return ("avx512_bf16" in flags or "amx_bf16" in flags) and onednn is not False
        except OSError:
            pass
    return bool(onednn)


def resolve_autocast(name: str | None, device: torch.device) -> tuple[torch.dtype | None, str | None]:
    """``(dtype to autocast to, or None for float32; a note when the request falls back)``."""
    if name is None or name in ("fp32", "none"):
        return None, None
    if name not in AUTOCAST_DTYPES:
        raise InputError(f"autocast must be bf16, fp16 or fp32, got {name!r}")
    dtype = AUTOCAST_DTYPES[name]
    if device.type == "cuda":
        if dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
            return None, "this GPU has no bf16 support: running float32"
        return dtype, None
    if device.type == "cpu":
        if dtype == torch.float16:
            return None, "fp16 autocast is for GPUs: running float32 on the CPU"
        if not cpu_supports_bf16():
            return None, ("no native bf16 here (the CPU has neither AVX512-BF16 nor AMX, or ONEDNN_MAX_CPU_ISA caps oneDNN below them; "
                          "bf16 would be emulated, slower than float32): running float32")
        return dtype, None
    return None, f"autocast is not enabled on {device.type}: running float32"


def _autocast_forward(forward: Callable[[Tensor], Tensor], device_type: str, dtype: torch.dtype) -> Callable[[Tensor], Tensor]:
    def run(x: Tensor) -> Tensor:
        with torch.autocast(device_type, dtype=dtype):
            y = forward(x)
        return y.float()  # the glue, sigmoid/argmax decisions and warps stay float32

    return run


def nets_of(pipe: nn.Module) -> list[nn.Module]:
    """The four nets whose convolutions dominate the cost (the warp net as a whole: its U-Net is its forward)."""
    return [pipe.g1, pipe.g2, pipe.u, pipe.g]


def apply_speed_options(
    pipe: nn.Module,
    channels_last: bool = False,
    compile: bool = False,
    autocast: str | None = None,
    force_autocast: bool = False,
    tf32: bool = False,
) -> list[str]:
    """Switch the options on ``pipe`` (in place). Returns notes on what fell back to float32.

    With autocast on CUDA the nets go NHWC unless the pipeline's layout was chosen
    (``pipe.channels_last`` not None): bf16 at batch 32 on an H100 took 2.82 ms/image in NHWC
    against 3.55 in NCHW.

    ``tf32`` lets cuDNN run the float32 convolutions in TF32 on CUDA (:attr:`TryOnPipeline.tf32`;
    off by default for parity); elsewhere it is noted and ignored.

    ``force_autocast`` skips the hardware check (for numerical tests of bf16 on any CPU, where it
    runs emulated and slowly).
    """
    notes: list[str] = []
    device = next(pipe.parameters()).device
    if force_autocast and autocast in AUTOCAST_DTYPES:
        dtype: torch.dtype | None = AUTOCAST_DTYPES[autocast]
    else:
        dtype, note = resolve_autocast(autocast, device)
        if note:
            notes.append(note)
    if tf32:
        if device.type == "cuda":
            pipe.tf32 = True
        else:
            notes.append(f"TF32 is for CUDA GPUs: ignored on {device.type}")
    if channels_last or (dtype is not None and device.type == "cuda" and pipe.channels_last is None):
        pipe.set_channels_last(True)  # kept by every later .to(); on GPUs autocast's default layout (unless chosen)
    for net in nets_of(pipe):
        if dtype is not None:
            net.forward = _autocast_forward(net.forward, device.type, dtype)  # type: ignore[method-assign]
        if compile:
            net.compile()
    return notes


class CudaGraphPipeline:
    """A :class:`~acgpn.pipeline.TryOnPipeline` replayed as one CUDA graph per input shape.

        graphed = CudaGraphPipeline(pipe)          # pipe on a CUDA device, speed options already applied
        out = graphed(batch, noise=noise)          # same call and outputs as pipe(batch, noise=noise)

    The whole forward (steps I-IV, decisions, warps, composition) is captured once per
    ``(batch, channels, height, width)`` of the inputs, after ``warmup`` eager runs on a side
    stream, and replayed: one launch instead of ~1,000 kernels, which matters at small batches,
    where the GPU otherwise waits on Python. The capture itself proves the forward free of host
    synchronisation (a synchronising op fails it). Inputs and noise are copied into the graph's
    static buffers; outputs are cloned out of it unless ``clone=False`` (then they are overwritten
    by the next call of the same shape). Calls with ``decisions`` run eagerly; the noise is drawn
    outside the graph (on ``generator``'s device, as the eager call draws it) and copied in.
    """

    def __init__(self, pipe: TryOnPipeline, warmup: int = 2, clone: bool = True) -> None:
        device = pipe.device
        if device.type != "cuda":
            raise InputError(f"CUDA graphs need the pipeline on a CUDA device, it is on {device}")
        self.pipe, self.warmup, self.clone = pipe, warmup, clone
        self._graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, dict[str, Tensor], dict[str, Tensor], TryOnOutput]] = {}

    def sample_noise(self, batch: int, height: int, width: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """The wrapped pipeline's noise draw."""
        return self.pipe.sample_noise(batch, height, width, generator)

    def __call__(
        self,
        batch: Mapping[str, Tensor],
        generator: torch.Generator | None = None,
        noise: Mapping[str, Tensor] | None = None,
        decisions: Decisions | None = None,
    ) -> TryOnOutput:
        if decisions is not None:
            return self.pipe(batch, generator=generator, noise=noise, decisions=decisions)
        b, _, h, w = batch["image"].shape
        if noise is None:
            noise = self.sample_noise(b, h, w, generator)
        key = tuple(tuple(batch[k].shape) for k in INPUT_KEYS)
        if key not in self._graphs:
            self._graphs[key] = self._capture(batch, noise)
        graph, static_in, static_noise, static_out = self._graphs[key]
        for k in INPUT_KEYS:
            static_in[k].copy_(batch[k], non_blocking=True)
        for k in NOISE_KEYS:
            static_noise[k].copy_(noise[k], non_blocking=True)
        graph.replay()
        if not self.clone:
            return static_out
        return TryOnOutput(**{f.name: getattr(static_out, f.name).clone() for f in fields(static_out)})

    def _capture(self, batch: Mapping[str, Tensor], noise: Mapping[str, Tensor]) -> tuple:
        device, dtype = self.pipe.device, self.pipe.dtype
        static_in = {k: batch[k].to(device, dtype).clone() for k in INPUT_KEYS}
        static_noise = {k: noise[k].to(device, dtype).clone() for k in NOISE_KEYS}
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side), torch.no_grad():
            for _ in range(self.warmup):  # cuDNN autotuning and allocator growth happen outside the capture
                self.pipe(static_in, noise=static_noise)
        torch.cuda.current_stream(device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.no_grad():
            static_out = self.pipe(static_in, noise=static_noise)
        return graph, static_in, static_noise, static_out
