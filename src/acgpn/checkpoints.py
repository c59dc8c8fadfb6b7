"""Checkpoints: the released official ``.pth`` files and our own safetensors + JSON format.

Official: a folder with ``latest_net_{U,G1,G2,G}.pth`` (pickled state dicts, possibly saved from
GPU, possibly with ``module.`` prefixes) loaded with ``weights_only=True`` and a strict key/shape
check. Ours: a folder with ``model.safetensors`` (keys ``<net>.<official key>``) and
``config.json`` (constructor arguments of each net + pipeline options). Writes are atomic.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Final

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from acgpn.errors import InputError
from acgpn.fileio import atomic_path, save_text
from acgpn.nets import UNet, WarpNet

NET_NAMES: Final = ("g1", "g2", "u", "g")
OFFICIAL_FILES: Final = {"u": "latest_net_U.pth", "g1": "latest_net_G1.pth", "g2": "latest_net_G2.pth", "g": "latest_net_G.pth"}
#: Constructor arguments of the released nets.
OFFICIAL_CONFIG: Final[dict[str, dict[str, Any]]] = {
    "g1": {"class": "UNet", "in_channels": 37, "out_channels": 14},
    "g2": {"class": "UNet", "in_channels": 37, "out_channels": 1},
    "u": {"class": "WarpNet"},
    "g": {"class": "UNet", "in_channels": 24, "out_channels": 3},
}
FORMAT_VERSION: Final = 1
WEIGHTS_FILE: Final = "model.safetensors"
CONFIG_FILE: Final = "config.json"
_CLASSES: Final = {"UNet": UNet, "WarpNet": WarpNet}


def build_net(config: dict[str, Any]) -> nn.Module:
    """Instantiate a net from ``{"class": name, **kwargs}``."""
    kwargs = dict(config)
    cls = _CLASSES[kwargs.pop("class")]
    for key in ("loc_channels", "loc_input_size", "grid_shape"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    return cls(**kwargs)


def _describe(state: dict[str, Tensor]) -> str:
    first, last = state.get("conv1.0.weight"), None
    convs = sorted((k for k in state if k.startswith("conv") and k.endswith(".weight")), key=lambda k: int(k[4:].split(".")[0]))
    if convs:
        last = state[convs[-1]]
    if first is None or last is None or first.ndim != 4:
        return "a state dict without the U-Net's conv layers"
    guess = {(37, 14): "G1", (37, 1): "G2", (4, 4): "U", (24, 3): "G"}.get((first.shape[1], last.shape[0]))
    return f"a net with {first.shape[1]} input and {last.shape[0]} output channels" + (f" (looks like {guess})" if guess else "")


def check_state_dict(net: nn.Module, state: dict[str, Tensor], source: str, expected: str) -> None:
    """Strict key and shape check; raises one-line :class:`InputError` naming ``source``."""
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in own.items() if k in state and state[k].shape != v.shape]
    if not (missing or unexpected or wrong):
        return
    parts = []
    if wrong:
        parts.append(f"{len(wrong)} shape mismatches (first: {wrong[0]})")
    if missing:
        parts.append(f"{len(missing)} missing keys (first: {', '.join(missing[:3])})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys (first: {', '.join(unexpected[:3])})")
    raise InputError(f"expected the {expected} weights; found {_describe(state)}: " + "; ".join(parts), source)


def read_official_file(path: str | Path) -> dict[str, Tensor]:
    """Load one official ``.pth`` state dict on the CPU (``weights_only``), stripping ``module.``."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found (expected an official ACGPN .pth checkpoint)", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__
        raise InputError(f"not a readable PyTorch checkpoint (truncated or corrupt?): {reason}", path) from None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise InputError("expected a state dict (mapping of names to tensors)", path)
    return OrderedDict((k[7:] if k.startswith("module.") else k, v) for k, v in state.items())


def load_official(directory: str | Path) -> dict[str, nn.Module]:
    """Build the four official nets and load ``latest_net_{U,G1,G2,G}.pth`` from ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("not a directory (expected the folder holding latest_net_{U,G1,G2,G}.pth)", directory)
    nets: dict[str, nn.Module] = {}
    for name in NET_NAMES:
        path = directory / OFFICIAL_FILES[name]
        net = build_net(OFFICIAL_CONFIG[name])
        state = read_official_file(path)
        check_state_dict(net, state, str(path), name.upper())
        net.load_state_dict(state)
        nets[name] = net
    return nets


def save_official(directory: str | Path, nets: dict[str, nn.Module]) -> None:
    """Write nets as official-style ``latest_net_*.pth`` files (atomically)."""
    for name, net in nets.items():
        with atomic_path(Path(directory) / OFFICIAL_FILES[name]) as tmp:
            torch.save(net.state_dict(), tmp)


def net_config(net: nn.Module) -> dict[str, Any]:
    """Constructor arguments of a net, as stored in ``config.json``."""
    if isinstance(net, WarpNet):
        loc = net.stn.loc_net.cnn
        return {
            "class": "WarpNet",
            "cloth_channels": net.in_channels - 1,
            "base_channels": net.base_channels,
            "depth": net.depth,
            "dropout": net.dropout,
            "loc_channels": [m.out_channels for m in loc.model if isinstance(m, nn.Conv2d) and m.stride == (2, 2)],
            "loc_input_size": list(loc.input_size),
            "grid_shape": list(net.grid_shape),
        }
    if isinstance(net, UNet):
        return {"class": "UNet", "in_channels": net.in_channels, "out_channels": net.out_channels,
                "base_channels": net.base_channels, "depth": net.depth, "dropout": net.dropout}  # fmt: skip
    raise TypeError(f"cannot describe {type(net).__name__}")


def save_pretrained(directory: str | Path, nets: dict[str, nn.Module], options: dict[str, Any]) -> Path:
    """Write ``model.safetensors`` + ``config.json`` into ``directory`` (atomically, weights first)."""
    directory = Path(directory)
    tensors = {f"{name}.{k}": v.detach().cpu().contiguous() for name, net in nets.items() for k, v in net.state_dict().items()}
    config = {"format": "acgpn", "version": FORMAT_VERSION, "nets": {n: net_config(m) for n, m in nets.items()}, **options}
    with atomic_path(directory / WEIGHTS_FILE) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "acgpn", "version": str(FORMAT_VERSION)})
    save_text(directory / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
    return directory


def load_pretrained(directory: str | Path) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """Read a folder written by :func:`save_pretrained` -> (nets, pipeline options)."""
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    try:
        config = json.loads(config_path.read_text())
    except FileNotFoundError:
        raise InputError(f"no {CONFIG_FILE} (expected a folder written by save_pretrained / convert-official)", directory) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable JSON config ({exc.__class__.__name__})", config_path) from None
    if config.get("format") != "acgpn" or config.get("version") != FORMAT_VERSION:
        raise InputError(f"not an acgpn v{FORMAT_VERSION} config", config_path)
    try:
        tensors = load_file(str(weights_path))
    except FileNotFoundError:
        raise InputError("file not found (expected safetensors weights)", weights_path) from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"not a readable safetensors file ({str(exc)[:100]})", weights_path) from None
    nets: dict[str, nn.Module] = {}
    for name, net_cfg in config["nets"].items():
        net = build_net(net_cfg)
        prefix = f"{name}."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        check_state_dict(net, state, str(weights_path), name.upper())
        net.load_state_dict(state)
        nets[name] = net
    options = {k: v for k, v in config.items() if k not in ("format", "version", "nets")}
    return nets, options
