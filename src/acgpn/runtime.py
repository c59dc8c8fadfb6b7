"""Run-time choices outside the model: which device to run on, process-level CPU tuning, and
whether cuDNN may run float32 convolutions in TF32 (:func:`cudnn_tf32`).

:func:`resolve_device` turns a user's ``--device`` text into a checked :class:`torch.device`.
:func:`tune_cpu_allocator` is opt-in (the CLI and benchmarks call it on the CPU):

A 256x192 U-Net forward allocates and frees tensors of tens of MB. glibc serves such blocks with
fresh ``mmap`` calls and returns them to the OS on free, so every layer pays page faults (seen as
several seconds of system time per batch of 4). Raising the mmap and trim thresholds keeps them in
the heap for reuse: about 11% faster at batch 4 here, peak RSS up by ~0.1 GiB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import torch

from acgpn.errors import InputError

#: Device types the pipeline runs on (others, e.g. ``meta`` or ``hpu``, are refused up front).
DEVICE_TYPES: Final = ("cpu", "cuda", "mps")
_DEVICE_HELP: Final = "expected auto, cpu, cuda, cuda:N or mps"
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str | torch.device) -> torch.device:
    """``auto`` -> cuda, mps or cpu (first available); else the named device, checked to exist.

    Raises :class:`InputError` for an unknown or unsupported device type, for CUDA / MPS on a
    machine without it, and for ``cuda:N`` with N not below ``torch.cuda.device_count()``.
    """
    text = str(name).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise InputError(f"unknown device {name!r} ({_DEVICE_HELP})") from None
    if device.type not in DEVICE_TYPES:
        raise InputError(f"device {name!r} is not supported ({_DEVICE_HELP})")
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InputError(f"device {name!r} requested but CUDA is not available here (use cpu or auto)")
        if device.index is not None and device.index >= count:
            raise InputError(f"device {name!r} requested but this machine has {count} CUDA device(s): cuda:0..cuda:{count - 1}")
    if device.type == "mps":
        if not _mps_available():
            raise InputError(f"device {name!r} requested but MPS is not available here (use cpu or auto)")
        if device.index not in (None, 0):
            raise InputError(f"device {name!r}: MPS has one device, mps or mps:0")
    if device.type == "cpu" and device.index not in (None, 0):
        raise InputError(f"device {name!r}: the CPU is one device, cpu")
    return device


def tune_cpu_allocator(threshold_bytes: int = 1 << 30) -> bool:
    """Ask glibc malloc to keep blocks below ``threshold_bytes`` in the heap. Returns success.

    Affects the whole process; a no-op returning ``False`` off Linux/glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold_bytes)) and bool(mallopt(_M_TRIM_THRESHOLD, 2 * threshold_bytes))


def prefers_channels_last(device: torch.device) -> bool:
    """Whether the nets run faster in NHWC on ``device`` by default: CPUs whose ATen kernels are
    AVX2 or AVX-512 (``torch.backends.cpu.get_cpu_capability()``, which honours
    ``ATEN_CPU_CAPABILITY``; the portable ``default`` kernels stay NCHW).

    Measured: oneDNN's NHWC 3x3 convolutions at 1.4x NCHW on an AVX-512 EPYC (229 against 164
    GFLOP/s); on an AVX2-only EPYC the whole pipeline at batch 4 ran 1.02-1.07x faster in NHWC, as
    the median of rounds alternating the two layouts in one process (three runs; single runs in
    separate processes read 0.87-1.19x, this machine's drift). GPUs stay NCHW in float32
    (``acgpn.speed`` turns NHWC on with autocast).
    """
    if device.type != "cpu":
        return False
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: "")()
    return str(capability).upper().startswith(("AVX2", "AVX512"))


@contextmanager
def cudnn_tf32(device: torch.device, enabled: bool) -> Iterator[None]:
    """For the duration, cuDNN runs float32 convolutions in TF32 (``enabled``) or in full float32,
    on a CUDA ``device``; elsewhere nothing changes. The previous setting is restored.

    cuDNN's own default is TF32 on Ampere and later GPUs (10 mantissa bits). Measured on an H100
    with the parity recipe weights: TF32 moved G1's probabilities enough that parity step 7 fell
    to 11.8 dB (thousands of layout and cloth-mask pixels decided differently beyond the tie
    margin), while full float32 passed every step-7 check at 39.6 dB, at 2.8x TF32's time. So the
    float32 pipeline turns TF32 off unless asked (:attr:`acgpn.pipeline.TryOnPipeline.tf32`).
    """
    if device.type != "cuda":
        yield
        return
    saved = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = saved
