"""Speed options for a :class:`~acgpn.pipeline.TryOnPipeline`: channels_last, ``torch.compile``, autocast.

    notes = apply_speed_options(pipe, channels_last=True, autocast="bf16")   # notes: what fell back

Each option changes how the four nets run, never what the glue computes (decisions, composition
and warps stay float32), and none adds a host synchronisation to the forward:

* ``channels_last`` — the nets' conv weights in NHWC, so oneDNN / cuDNN keep activations NHWC.
  Already the default with ``fast_math`` on CPUs with AVX2 or AVX-512 kernels
  (:func:`acgpn.runtime.prefers_channels_last`); this forces it elsewhere (the portable CPU
  kernels, and GPUs, where it helps mostly under autocast).
* ``compile`` — :meth:`torch.nn.Module.compile` on each net (inductor; the first call of each
  batch size compiles, which takes minutes on a CPU).
* ``autocast`` — ``"bf16"`` or ``"fp16"``: each net runs under :func:`torch.autocast` and returns
  float32 logits. bf16 runs on CPUs with AVX512-BF16 or AMX (:func:`cpu_supports_bf16`) and on
  CUDA GPUs that support it; fp16 on CUDA only. Elsewhere the pipeline stays float32 and the
  returned note says why.

Tolerances against float32 eager (checked with the tie-aware comparison of parity step 7,
:class:`~acgpn.modules.decisions.TieAwareDecisions`): channels_last and compile keep the parity
tolerances (tie margin 1e-4, no decision differing beyond it, fake image PSNR >= 35 dB);
autocast: tie margin :data:`AUTOCAST_TIE_MARGIN`, fake image PSNR >= :data:`AUTOCAST_MIN_PSNR` dB.
bf16 keeps these on the embedded (trained) model (``tests/test_embedded_model.py``), not on
random official-width weights (README, Benchmarks: bf16 numerics).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Final

import torch
from torch import Tensor, nn

from acgpn.errors import InputError
from acgpn.parity import MIN_PSNR, TIE_MARGIN  # the parity-step-7 tolerances that channels_last and compile keep

#: Autocast dtypes by name.
AUTOCAST_DTYPES: Final = {"bf16": torch.bfloat16, "fp16": torch.float16}
#: Tie margin of the decisions under autocast (bf16 keeps ~3 significant digits of each logit).
AUTOCAST_TIE_MARGIN: Final = 0.05
#: Minimum PSNR (dB) of the try-on image under autocast against float32 eager, decisions tie-aware.
AUTOCAST_MIN_PSNR: Final = 25.0


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bf16 dot products (AVX512-BF16 or AMX-BF16), read from
    ``/proc/cpuinfo`` (Linux); elsewhere oneDNN's own check, when this torch exposes it."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                flags = next((line for line in f if line.startswith("flags")), "").split()
            return "avx512_bf16" in flags or "amx_bf16" in flags
        except OSError:
            pass
    check = getattr(getattr(torch.ops, "mkldnn", None), "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


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
            return None, "this CPU has neither AVX512-BF16 nor AMX (bf16 would be emulated, slower than float32): running float32"
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
    pipe: nn.Module, channels_last: bool = False, compile: bool = False, autocast: str | None = None, force_autocast: bool = False
) -> list[str]:
    """Switch the options on ``pipe`` (in place). Returns notes on what fell back to float32.

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
    if channels_last:
        pipe.set_channels_last(True)  # kept by every later .to()
    for net in nets_of(pipe):
        if dtype is not None:
            net.forward = _autocast_forward(net.forward, device.type, dtype)  # type: ignore[method-assign]
        if compile:
            net.compile()
    return notes
