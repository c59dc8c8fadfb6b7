"""Checkpoints: the released official ``.pth`` files and our own safetensors + JSON format.

Official: a folder with ``latest_net_{U,G1,G2,G}.pth`` (pickled state dicts, possibly saved from
GPU, possibly with ``module.`` prefixes) loaded with ``weights_only=True`` and a strict key/shape
check into :func:`acgpn.nets.official_net` architectures.

Ours (format version 1): a folder with ``model.safetensors`` (keys ``<name>.<state-dict key>``)
and ``config.json``::

    {"format": "acgpn", "version": 1,
     "nets": {"g1": {"class": "UNet", "in_channels": 37, ...}, "u": {"class": "WarpNet", ...}, ...},
     "align_corners": false, "noise_probability": 0.15913, "preserve_content": false}

Each net entry is the net's class name plus its recorded constructor arguments
(:class:`acgpn.nets.config.ConfigMixin`), and loading rebuilds the net from it. The folder may hold
more nets than the pipeline's four (e.g. discriminators saved by training); loaders pick theirs
by name. Everything read is checked before any large allocation (the architecture is built on the
``meta`` device and compared with the stored shapes first); every fault is an
:class:`~acgpn.errors.InputError` naming the file. Writes are atomic.
"""

from __future__ import annotations

import json
import pickle
import pickletools
import re
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from acgpn.errors import InputError
from acgpn.fileio import atomic_path, read_text, save_text
from acgpn.nets import OFFICIAL_NET_NAMES, ConfigMixin, official_net, without_init

#: The pipeline's components, by name.
NET_NAMES: Final = OFFICIAL_NET_NAMES
OFFICIAL_FILES: Final = {"u": "latest_net_U.pth", "g1": "latest_net_G1.pth", "g2": "latest_net_G2.pth", "g": "latest_net_G.pth"}
FORMAT_VERSION: Final = 1
WEIGHTS_FILE: Final = "model.safetensors"
CONFIG_FILE: Final = "config.json"
#: Pipeline options stored at the top level of ``config.json``, with their types.
PIPELINE_OPTIONS: Final = {"align_corners": bool, "noise_probability": float, "preserve_content": bool}
#: Constructor arguments that fix how a pipeline component connects to the others.
_INTERFACE_ARGS: Final = ("in_channels", "out_channels", "cloth_channels")


# ----------------------------------------------------------------------------- net <-> config
def net_spec(net: nn.Module) -> dict[str, Any]:
    """``{"class": <class name>, **net.config}``: the ``config.json`` entry of a net."""
    if not isinstance(net, ConfigMixin):
        raise TypeError(f"{type(net).__name__} does not record its config (derive it from acgpn.nets.ConfigMixin)")
    return {"class": type(net).__name__, **net.config}


def build_net(spec: Mapping[str, Any]) -> nn.Module:
    """Instantiate a net from a :func:`net_spec` entry; ``ValueError`` says what is wrong with it."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"expected an object with a \"class\" and constructor arguments, got {type(spec).__name__}")
    name = spec.get("class")
    if not isinstance(name, str):
        raise ValueError("missing \"class\" (the net's class name, e.g. \"UNet\")")
    cls = ConfigMixin.config_class(name)
    if not issubclass(cls, nn.Module):
        raise ValueError(f"unknown net class {name!r}")
    return cls.from_config({k: v for k, v in spec.items() if k != "class"})  # type: ignore[return-value]


# ----------------------------------------------------------------------------- state dicts
def _describe(state: dict[str, Tensor]) -> str:
    first, last = state.get("conv1.0.weight"), None
    convs = sorted(
        (k for k in state if re.fullmatch(r"conv\d+\.\d+\.weight", k)), key=lambda k: int(k[4:].split(".")[0])
    )
    if convs:
        last = state[convs[-1]]
    if first is None or last is None or first.ndim != 4:
        return "a state dict without the U-Net's conv layers"
    guess = {(37, 14): "G1", (37, 1): "G2", (4, 4): "U", (24, 3): "G"}.get((first.shape[1], last.shape[0]))
    return f"a net with {first.shape[1]} input and {last.shape[0]} output channels" + (f" (looks like {guess})" if guess else "")


def check_state_dict(net: nn.Module, state: dict[str, Tensor], source: str, expected: str, detail: str = "") -> None:
    """Strict key, shape and finiteness check; raises one-line :class:`InputError` naming ``source``:
    ``expected the <expected> weights<detail>; found ...``.

    ``net`` may live on the ``meta`` device (only its keys and shapes are compared).
    """
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in own.items() if k in state and state[k].shape != v.shape]
    if not (missing or unexpected or wrong):
        bad = next((k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)
        if bad is not None:  # NaN weights run silently to black images
            raise InputError(f"tensor {bad} of the {expected} weights holds NaN or infinite values (expected finite weights)", source)
        return
    parts = []
    if wrong:
        parts.append(f"{len(wrong)} shape mismatches (first: {wrong[0]})")
    if missing:
        parts.append(f"{len(missing)} missing keys (first: {', '.join(missing[:3])})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys (first: {', '.join(unexpected[:3])})")
    raise InputError(f"expected the {expected} weights{detail}; found {_describe(state)}: " + "; ".join(parts), source)


# ----------------------------------------------------------------------------- official .pth
def _is_pickled_module(path: Path) -> bool:
    """Whether a zip-format ``torch.save`` file holds a pickled ``nn.Module`` (inspected, never run)."""
    try:
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist() if n.endswith("/data.pkl")), None)
            if name is None or archive.getinfo(name).file_size > 64 << 20:
                return False
            data = archive.read(name)
        strings = {arg for _, arg, _ in pickletools.genops(data) if isinstance(arg, str)}
    except Exception:  # noqa: BLE001 - any parse failure just means "not recognisably a module"
        return False
    return {"_modules", "_parameters"} <= strings or any(s.startswith("torch.nn.modules") for s in strings)


def _sniff(path: Path) -> str | None:
    """Why ``path`` cannot be a ``torch.save`` file, from its first bytes; ``None`` if it might be."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if not head:
        return "an empty file"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80"):  # zip archive / legacy pickle
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut by the 64-byte window is fine
        text = head[: exc.start].decode("utf-8") if exc.start >= len(head) - 3 else "\x00"
    return "a text file" if all(c.isprintable() or c.isspace() for c in text) else "an unknown binary file"


def read_state_dict(path: str | Path, expected: str = "an official ACGPN .pth state dict") -> dict[str, Tensor]:
    """Load a ``.pth`` state dict on the CPU (``weights_only``: no code runs), stripping ``module.``;
    a ``.safetensors`` file is read as it is.

    Every way a file can be wrong (missing, text, truncated, a pickled model, other objects) is one
    :class:`InputError` naming ``path`` and ``expected``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found (expected {expected})", path)
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise _unreadable_safetensors(path, exc, expected) from None
    kind = _sniff(path)
    if kind is not None:
        raise InputError(f"{kind}, not a PyTorch checkpoint (expected {expected})", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if _is_pickled_module(path):
            raise InputError("a pickled model, not a state dict: save `model.state_dict()`", path) from None
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        what = f" (it needs the Python object {found.group(1)})" if found else ""
        raise InputError(f"not a plain state dict of tensors{what}; refused without running it (expected {expected})", path) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError, IndexError, TypeError, AttributeError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__
        raise InputError(f"not a readable PyTorch checkpoint (truncated or corrupt?): {reason} (expected {expected})", path) from None
    if isinstance(state, nn.Module):
        raise InputError("a pickled model, not a state dict: save `model.state_dict()`", path)
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()):
        raise InputError(f"expected a state dict (mapping of names to tensors): {expected}", path)
    return OrderedDict((k[7:] if k.startswith("module.") else k, v) for k, v in state.items())


def read_official_file(path: str | Path) -> dict[str, Tensor]:
    """One released ``latest_net_*.pth`` file (see :func:`read_state_dict`)."""
    return read_state_dict(path, "an official ACGPN .pth state dict")


def load_official(directory: str | Path) -> dict[str, nn.Module]:
    """Build the four official nets and load ``latest_net_{U,G1,G2,G}.pth`` from ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("not a directory (expected the folder holding latest_net_{U,G1,G2,G}.pth)", directory)
    nets: dict[str, nn.Module] = {}
    for name in NET_NAMES:
        path = directory / OFFICIAL_FILES[name]
        state = read_official_file(path)
        with torch.device("meta"):
            check_state_dict(official_net(name), state, str(path), name.upper())
        net = without_init(lambda: official_net(name))  # the random init would be overwritten
        net.load_state_dict(state)
        nets[name] = net
    return nets


def save_official(directory: str | Path, nets: dict[str, nn.Module]) -> None:
    """Write nets as official-style ``latest_net_*.pth`` files (atomically)."""
    for name, net in nets.items():
        with atomic_path(Path(directory) / OFFICIAL_FILES[name]) as tmp:
            torch.save({k: v.contiguous() for k, v in net.state_dict().items()}, tmp)  # NCHW even from channels_last nets


# ----------------------------------------------------------------------------- our format
def save_pretrained(directory: str | Path, nets: Mapping[str, nn.Module], options: Mapping[str, Any]) -> Path:
    """Write ``model.safetensors`` + ``config.json`` into ``directory`` (atomically, weights first).

    ``nets`` may hold any named nets that record their config (the pipeline's four, discriminators).
    """
    directory = Path(directory)
    specs = {name: net_spec(net) for name, net in nets.items()}
    text = json.dumps({"format": "acgpn", "version": FORMAT_VERSION, "nets": specs, **options}, indent=2) + "\n"
    tensors = {f"{name}.{k}": v.detach().cpu().contiguous() for name, net in nets.items() for k, v in net.state_dict().items()}
    with atomic_path(directory / WEIGHTS_FILE) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "acgpn", "version": str(FORMAT_VERSION)})
    save_text(directory / CONFIG_FILE, text)
    return directory


def read_config(directory: str | Path) -> dict[str, Any]:
    """The checked ``config.json`` of a :func:`save_pretrained` folder (format, version, ``nets``)."""
    directory = Path(directory)
    path = directory / CONFIG_FILE
    if not path.exists() and not path.is_symlink():
        raise InputError(f"no {CONFIG_FILE} (expected a folder written by save_pretrained / convert-official)", directory)
    text = read_text(path, f"an acgpn {CONFIG_FILE}")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", path) from None
    if not isinstance(config, dict):
        raise InputError(f"expected a JSON object, found {type(config).__name__}", path)
    if config.get("format") != "acgpn" or config.get("version") != FORMAT_VERSION:
        raise InputError(f"not an acgpn v{FORMAT_VERSION} config (expected \"format\": \"acgpn\", \"version\": {FORMAT_VERSION})", path)
    if not isinstance(config.get("nets"), dict):
        raise InputError("expected \"nets\": an object mapping net names to their class and arguments", path)
    return config


def _check_interface(name: str, net: nn.Module, source: Path) -> None:
    """A pipeline component must plug into the others: same class and channel counts as official."""
    with torch.device("meta"):
        reference = official_net(name)
    expected = {k: v for k, v in reference.config.items() if k in _INTERFACE_ARGS}
    found = {k: v for k, v in getattr(net, "config", {}).items() if k in _INTERFACE_ARGS}
    if type(net) is not type(reference) or found != expected:
        args = ", ".join(f"{k}={v}" for k, v in expected.items())
        raise InputError(
            f"nets.{name}: the pipeline needs a {type(reference).__name__} with {args}; "
            f"found {type(net).__name__} with {', '.join(f'{k}={v}' for k, v in found.items()) or 'other arguments'}",
            source,
        )


def _read_weights(path: Path, prefixes: Iterable[str]) -> dict[str, dict[str, Tensor]]:
    """The tensors under each ``<prefix>.`` of a safetensors file (only those are read)."""
    try:
        with safe_open(str(path), "pt") as f:
            keys = list(f.keys())
            return {p: {k[len(p) + 1 :]: f.get_tensor(k) for k in keys if k.startswith(f"{p}.")} for p in prefixes}
    except FileNotFoundError:
        raise InputError("file not found (expected safetensors weights)", path) from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _unreadable_safetensors(path, exc) from None


def _unreadable_safetensors(path: Path, exc: Exception, expected: str = "") -> InputError:
    reason = str(exc).splitlines()[0][:100] if str(exc) else exc.__class__.__name__
    return InputError(f"not a readable safetensors file ({reason})" + (f"; expected {expected}" if expected else ""), path)


def load_pretrained(
    directory: str | Path, names: Iterable[str] = NET_NAMES
) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """Read the nets ``names`` from a :func:`save_pretrained` folder -> (nets, pipeline options).

    Other nets in the folder are ignored. A name of the pipeline (``g1``, ``g2``, ``u``, ``g``)
    must have its class and channel counts; widths and depths are free.
    """
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    config = read_config(directory)
    names = tuple(names)
    probes: dict[str, nn.Module] = {}
    for name in names:
        if name not in config["nets"]:
            raise InputError(f"no net {name!r} in \"nets\" (expected {', '.join(names)})", config_path)
        try:
            with torch.device("meta"):  # shapes only: no memory for weights yet
                probes[name] = build_net(config["nets"][name])
        except ValueError as exc:
            raise InputError(f"nets.{name}: {exc}", config_path) from None
        if name in NET_NAMES:
            _check_interface(name, probes[name], config_path)
    options: dict[str, Any] = {}
    for key, kind in PIPELINE_OPTIONS.items():
        if key in config:
            value = config[key]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or (key == "noise_probability" and not 0.0 <= value <= 1.0):
                expected = "true or false" if kind is bool else "a number in [0, 1]"
                raise InputError(f"{key}: expected {expected}, got {config[key]!r}", config_path)
            options[key] = value
    states = _read_weights(weights_path, names)
    nets: dict[str, nn.Module] = {}
    for name in names:
        check_state_dict(probes[name], states[name], str(weights_path), name.upper(), f" that {CONFIG_FILE} describes")
        net = without_init(lambda: build_net(config["nets"][name]))  # the random init would be overwritten
        net.load_state_dict(states[name])
        nets[name] = net
    return nets, options
