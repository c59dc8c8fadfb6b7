"""ONNX export of the whole try-on pipeline (Figure 2: steps I-IV in one graph), and a runner.

    acgpn export --checkpoint ckpt/ --onnx tryon.onnx          # any checkpoint format
    acgpn infer --backend onnxruntime --checkpoint tryon.onnx ...

The graph has a dynamic batch dimension and a fixed H x W (the model's working size, or the one
asked for: the TPS features and the loc-net's resize are specialised to it). Its inputs are the
pipeline's batch keys (:data:`~acgpn.pipeline.INPUT_KEYS`), the three binary noise channels and two
*decision maps*: ``given_layout_ids`` and ``given_cloth_mask``, (B, 1, H, W), hold per pixel a
forced decision (a layout id 0..13, a mask value 0/1) or ``-1`` to let G1 / G2 decide as the
official rules do (:class:`PartialDecisions`). All ``-1`` is the plain pipeline; parity tests force
the reference's decision at rounding ties (tie-aware, parity step 7). Its outputs are every field
of :class:`~acgpn.pipeline.TryOnOutput`, in order. Ops: ONNX opset 18 (``GridSample`` for the
warp, ``ConvTranspose`` for the folded up-convs), run by onnxruntime's CPU and CUDA providers. The
graph is traced by torch's TorchScript-based exporter, which converts the ~1,500 ops in seconds.

:class:`OnnxPipeline` runs such a file with the calling convention of
:class:`~acgpn.pipeline.TryOnPipeline` (``pipe(batch, noise=...)``, ``sample_noise``,
``working_size``), so :func:`acgpn.inference.run_inference` takes either. Needs the ``onnx`` extra
(``pip install 'acgpn[onnx]'``: onnx, onnxruntime, and onnxscript for torch's newer exporter);
the core imports without it.
"""

from __future__ import annotations

import inspect
import io
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

import torch
from torch import Tensor, nn

from acgpn.data.size import Size, check_size
from acgpn.errors import InputError
from acgpn.fileio import atomic_path
from acgpn.modules.decisions import Decisions, GivenDecisions, ThresholdDecisions, TieAwareDecisions
from acgpn.nets import UNet
from acgpn.pipeline import INPUT_KEYS, NOISE_KEYS, NOISE_PROBABILITY, TryOnOutput, TryOnPipeline, WorkingSizeRunner

#: Opset of the exported graph (GridSample needs >= 16).
OPSET: Final = 18
#: Graph inputs, in order: the batch keys, the noise channels, the two decision maps.
NOISE_INPUTS: Final = tuple(f"noise_{k}" for k in NOISE_KEYS)
DECISION_INPUTS: Final = ("given_layout_ids", "given_cloth_mask")
GRAPH_INPUTS: Final = (*INPUT_KEYS, *NOISE_INPUTS, *DECISION_INPUTS)
#: Graph outputs: every field of TryOnOutput, in order.
GRAPH_OUTPUTS: Final = tuple(f.name for f in fields(TryOnOutput))
#: ONNX metadata key of the JSON record written by :func:`export_onnx`.
METADATA_KEY: Final = "acgpn"
FORMAT_VERSION: Final = 1
#: Value of a decision-map pixel that lets the net decide.
UNDECIDED: Final = -1.0
#: Tie margin for comparing onnxruntime's decisions with torch's at the released widths:
#: onnxruntime's CPU kernels round differently (G1 probabilities within ~3e-4 of torch's at
#: 256x192 with recipe weights, 1.4e-4 at width 8, where the parity margin 1e-4 holds).
ONNX_TIE_MARGIN: Final = 1e-3
_INSTALL_HINT: Final = "pip install 'acgpn[onnx]'"


@dataclass
class PartialDecisions(ThresholdDecisions):
    """Per-pixel forced decisions: where a given map is >= 0 its value is the decision, elsewhere
    the official rule decides (argmax of G1, ``> 0.5`` on G2). Branch-free, so it exports."""

    given_layout_ids: Tensor  # (B, 1, H, W) ids 0..13, or -1
    given_cloth_mask: Tensor  # (B, 1, H, W) 0 / 1, or -1

    def layout_ids(self, layout_prob: Tensor) -> Tensor:
        own = super().layout_ids(layout_prob)
        given = self.given_layout_ids.to(own.dtype)
        return torch.where(given >= 0, given, own)

    def predicted_cloth_mask(self, cloth_mask_prob: Tensor) -> Tensor:
        own = super().predicted_cloth_mask(cloth_mask_prob)
        given = self.given_cloth_mask.to(own.dtype)
        return torch.where(given >= 0, given, own)


class _Graph(nn.Module):
    """The pipeline as a function of positional tensors (:data:`GRAPH_INPUTS` -> :data:`GRAPH_OUTPUTS`)."""

    def __init__(self, pipe: TryOnPipeline) -> None:
        super().__init__()
        self.pipe = pipe

    def forward(
        self, image: Tensor, label: Tensor, cloth: Tensor, product_mask: Tensor, pose: Tensor,
        noise_g1: Tensor, noise_g2: Tensor, noise_g: Tensor, given_layout_ids: Tensor, given_cloth_mask: Tensor,
    ) -> tuple[Tensor, ...]:  # fmt: skip
        batch = {"image": image, "label": label, "cloth": cloth, "product_mask": product_mask, "pose": pose}
        noise = {"g1": noise_g1, "g2": noise_g2, "g": noise_g}
        out = self.pipe.run_steps(batch, noise=noise, decisions=PartialDecisions(given_layout_ids, given_cloth_mask))
        return tuple(getattr(out, name) for name in GRAPH_OUTPUTS)


def _require(module: str) -> Any:
    """Import an optional dependency of the ``onnx`` extra, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"{module} is not installed; ONNX export and the onnxruntime backend need the onnx extra ({_INSTALL_HINT})") from None


def example_inputs(batch: int, height: int, width: int, device: torch.device | str = "cpu", seed: int = 0) -> tuple[Tensor, ...]:
    """Random inputs of the graph's shapes (ids, masks and noise with realistic values), undecided maps."""
    g = torch.Generator().manual_seed(seed)

    def rand(c: int) -> Tensor:
        return torch.rand(batch, c, height, width, generator=g)

    tensors = {
        "image": rand(3) * 2 - 1, "label": torch.randint(0, 14, (batch, 1, height, width), generator=g).float(),
        "cloth": rand(3) * 2 - 1, "product_mask": (rand(1) > 0.3).float(), "pose": torch.where(rand(18) > 0.98, 1.0, -1.0),
        **{n: (rand(1) < NOISE_PROBABILITY).float() for n in NOISE_INPUTS},
        **{n: torch.full((batch, 1, height, width), UNDECIDED) for n in DECISION_INPUTS},
    }  # fmt: skip
    return tuple(tensors[k].to(device) for k in GRAPH_INPUTS)


def _export_size(pipe: TryOnPipeline, size: Size | None) -> Size:
    """The graph's (H, W): the model's working size if it has one, else ``size`` or the loc-net's input size."""
    if pipe.working_size is not None:
        working = tuple(pipe.working_size)
        if size is not None and tuple(size) != working:
            raise InputError(f"this model runs at its working size {working[0]}x{working[1]}; export it at that size "
                             "(the onnxruntime backend resizes inputs of other sizes, as the torch pipeline does)")  # fmt: skip
        return working  # type: ignore[return-value]
    if size is not None:
        return check_size(size, None, max_pixels=None)
    return tuple(pipe.u.stn.tps.size)  # type: ignore[return-value]  # the loc-net's input size (256x192 official)


def export_module(
    module: nn.Module, inputs: tuple[Tensor, ...], input_names: Sequence[str], output_names: Sequence[str], opset: int = OPSET
) -> Any:
    """Trace ``module`` on ``inputs`` into an ``onnx.ModelProto`` with a dynamic dim 0 on every input and output.

    Uses the TorchScript-based exporter: it turns the pipeline's ~1,500 ops into ONNX in seconds
    (the dynamo-based one took minutes here). The module must be free of data-dependent Python
    and host synchronisations, which :mod:`acgpn.ops` and :mod:`acgpn.modules` guarantee.
    """
    onnx = _require("onnx")
    buffer = io.BytesIO()
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
        torch.onnx.export(
            module, inputs, buffer, input_names=list(input_names), output_names=list(output_names),
            dynamic_axes={k: {0: "batch"} for k in (*input_names, *output_names)}, opset_version=opset, **legacy,
        )  # fmt: skip
    return onnx.load_model_from_string(buffer.getvalue())


def export_onnx(pipe: TryOnPipeline, path: str | Path, size: Size | None = None, opset: int = OPSET) -> Path:
    """Write ``pipe`` (float32, its current ``fast_math`` setting) as one ONNX graph, atomically.

    The graph's image size is the pipeline's working size if it has one (the runner resizes other
    inputs, like the pipeline), else ``size`` (H, W), by default the loc-net's input size
    (256x192 for the released weights). The batch stays dynamic. The trace runs on the CPU in
    float32 with every U-Net level batched (the CPU schedule is Python on the batch size; it does
    not change the maths); ``pipe`` is returned to its device, dtype and schedule afterwards.
    """
    onnx = _require("onnx")
    height, width = _export_size(pipe, size)
    device, dtype = pipe.device, pipe.dtype
    pipe = pipe.to("cpu", torch.float32)
    schedules = {m: m.per_sample_pixels for m in pipe.modules() if isinstance(m, UNet)}
    try:
        for m in schedules:
            m.per_sample_pixels = None
        model = export_module(_Graph(pipe).eval(), example_inputs(2, height, width), GRAPH_INPUTS, GRAPH_OUTPUTS, opset)
    finally:
        pipe.to(device, dtype)  # re-applies the device's schedule
    record = {
        "format": FORMAT_VERSION, "size": [height, width], "noise_probability": pipe.noise_probability,
        "align_corners": pipe.align_corners, "preserve_content": pipe.preserve_content,
        "inputs": list(GRAPH_INPUTS), "outputs": list(GRAPH_OUTPUTS), "opset": opset,
    }  # fmt: skip
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(record)
    path = Path(path)
    with atomic_path(path) as tmp:
        onnx.save_model(model, str(tmp))
    return path


# --------------------------------------------------------------------------------- runtime
def _providers(device: torch.device, available: list[str]) -> list[str]:
    if device.type == "cuda":
        if "CUDAExecutionProvider" not in available:
            raise InputError("device cuda requested for the onnxruntime backend, but this onnxruntime has no CUDA provider "
                             "(install onnxruntime-gpu, or use --device cpu)")  # fmt: skip
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device.type != "cpu":
        raise InputError(f"the onnxruntime backend runs on cpu or cuda, not {device.type}")
    return ["CPUExecutionProvider"]


class OnnxPipeline(WorkingSizeRunner):
    """An exported pipeline run by onnxruntime, called like :class:`~acgpn.pipeline.TryOnPipeline`.

    Inputs of another size than the graph's are resized in and the outputs back
    (:mod:`acgpn.working_size`), as the torch pipeline does for its working size. Outputs are
    returned on the CPU, float32.
    """

    dtype: torch.dtype = torch.float32

    def __init__(self, path: str | Path, device: str | torch.device = "cpu", threads: int | None = None) -> None:
        ort = _require("onnxruntime")
        path = Path(path)
        if path.is_dir():
            raise InputError("is a folder; the onnxruntime backend expects an .onnx file written by acgpn export", path)
        if not path.is_file():
            raise InputError("file not found (expected an ONNX model written by acgpn export)", path)
        self.device = torch.device(device)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=_providers(self.device, ort.get_available_providers()))
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise InputError(f"not an ONNX model onnxruntime can load ({first})", path) from None
        raw = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        try:
            record = json.loads(raw) if raw else None
        except ValueError:
            record = None
        if not isinstance(record, dict) or record.get("format") != FORMAT_VERSION:
            raise InputError(f"an ONNX model, but not one written by acgpn export (no '{METADATA_KEY}' metadata of format {FORMAT_VERSION})", path)
        names = [i.name for i in self.session.get_inputs()], [o.name for o in self.session.get_outputs()]
        if names != (list(GRAPH_INPUTS), list(GRAPH_OUTPUTS)):
            raise InputError("the model's inputs/outputs are not those of this acgpn version; export it again", path)
        size = record.get("size")
        shapes = {tuple(i.shape[-2:]) for i in self.session.get_inputs() if len(i.shape) == 4}  # every map input: (H, W)
        if not (isinstance(size, list) and len(size) == 2 and shapes == {tuple(size)}):
            found = ", ".join("x".join(map(str, s)) for s in sorted(shapes, key=str))
            raise InputError(f"its metadata says size {size}, but the graph's inputs are {found} (H x W); export it again", path)
        self.path = path
        self.working_size: Size = tuple(size)  # type: ignore[assignment]
        self.noise_probability = float(record["noise_probability"])
        self.align_corners = bool(record["align_corners"])
        self.preserve_content = bool(record.get("preserve_content", False))

    def sample_noise(self, batch: int, height: int, width: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """The same binary noise as :meth:`TryOnPipeline.sample_noise` (same draws for the same generator)."""
        return TryOnPipeline.sample_noise(self, batch, height, width, generator)  # type: ignore[arg-type]

    __call__ = WorkingSizeRunner.forward  # resize, run_steps, preserved content: as TryOnPipeline

    def run_steps(
        self,
        batch: Mapping[str, Tensor],
        generator: torch.Generator | None = None,
        noise: Mapping[str, Tensor] | None = None,
        decisions: Decisions | None = None,
    ) -> TryOnOutput:
        """The graph at its own size (see :meth:`TryOnPipeline.run_steps`); ``decisions``: see :func:`decision_maps`."""
        b, _, h, w = batch["image"].shape
        z = dict(noise) if noise is not None else self.sample_noise(b, h, w, generator)
        tensors = [batch[k] for k in INPUT_KEYS] + [z[k] for k in NOISE_KEYS] + list(decision_maps(decisions, b, h, w))
        feed = {name: t.detach().to("cpu", torch.float32).contiguous().numpy() for name, t in zip(GRAPH_INPUTS, tensors)}
        outputs = self.session.run(list(GRAPH_OUTPUTS), feed)
        out = TryOnOutput(**{name: torch.from_numpy(o) for name, o in zip(GRAPH_OUTPUTS, outputs)})
        if isinstance(decisions, TieAwareDecisions):  # count ties / violations on the graph's own probabilities
            decisions.layout_ids(out.layout_prob)
            decisions.predicted_cloth_mask(out.cloth_mask_prob)
        return out


def decision_maps(decisions: Decisions | None, batch: int, height: int, width: int) -> tuple[Tensor, Tensor]:
    """The graph's two decision inputs for a :class:`~acgpn.modules.decisions.Decisions` policy.

    The graph decides by the official rules where a map is ``-1``. :class:`PartialDecisions` and
    :class:`~acgpn.modules.decisions.GivenDecisions` pass their maps; a
    :class:`~acgpn.modules.decisions.TieAwareDecisions` forces its reference decisions everywhere,
    and the runner then lets it compare them with the graph's own probabilities (ties resolved,
    violations counted), which gives the same outputs as deciding tie-aware inside the graph
    whenever no decision differs beyond the tie margin.
    """
    undecided = torch.full((batch, 1, height, width), UNDECIDED)
    if decisions is None or type(decisions) is ThresholdDecisions:
        return undecided, undecided
    if isinstance(decisions, PartialDecisions):
        return decisions.given_layout_ids.cpu(), decisions.given_cloth_mask.cpu()
    if isinstance(decisions, GivenDecisions):
        given = decisions.given_layout_ids, decisions.given_predicted_cloth_mask
    elif isinstance(decisions, TieAwareDecisions):
        given = decisions.reference_layout_ids, decisions.reference_predicted_cloth_mask
    else:
        raise TypeError(f"the onnxruntime backend cannot run decisions of type {type(decisions).__name__}")
    return tuple(undecided if g is None else g.to("cpu", torch.float32) for g in given)  # type: ignore[return-value]
