"""One try-on from prepared photos: the model to use, the forward pass, the result and its metadata.

The model is the one given (``--checkpoint``: official ``.pth`` files or a ``save_pretrained``
folder) or else the embedded synthetic-trained one, :func:`default_pipeline`. Noise is drawn per
pair exactly as ``acgpn infer`` does (:func:`acgpn.inference.pair_noise`), so a prepared folder run
through ``infer`` with the same seed gives the same image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
from PIL import Image
from torch.utils.data import default_collate

from acgpn.errors import InputError
from acgpn.fileio import save_image, save_text, to_uint8_image
from acgpn.inference import pair_noise
from acgpn.labels import colorize
from acgpn.ops.morphology import dilate
from acgpn.photos.frame import paste_back
from acgpn.photos.prepare import PreparedCloth, PreparedPerson, to_sample
from acgpn.pipeline import TryOnOutput, TryOnPipeline

EMBEDDED_NOTE: Final = "the embedded model (no --checkpoint given)"


CHECKPOINT_HINT: Final = ("pass --checkpoint DIR (the official latest_net_*.pth files, or a folder written by "
                          "save_pretrained / acgpn train)")  # fmt: skip


def default_pipeline(device: str | torch.device = "cpu") -> TryOnPipeline:
    """The embedded synthetic-trained model (``TryOnPipeline.from_pretrained()`` without a folder)."""
    try:
        return TryOnPipeline.from_pretrained(device=device)
    except InputError as exc:
        raise InputError(f"the embedded model could not be loaded ({exc.message}); {CHECKPOINT_HINT}", exc.path) from None


def load_pipeline(checkpoint: str | Path | None, device: str | torch.device = "cpu", preserve_content: bool | None = None) -> tuple[TryOnPipeline, str]:
    """The pipeline and a one-line description of where it came from (``preserve_content``:
    None keeps the model's setting, see :attr:`TryOnPipeline.preserve_content`)."""
    if checkpoint is None:
        from acgpn.assets import SYNTHETIC_NOTICE

        pipe, note = default_pipeline(device), f"{EMBEDDED_NOTE}; {SYNTHETIC_NOTICE}"
    else:
        pipe, note = TryOnPipeline.from_checkpoint(checkpoint, device=device), f"checkpoint {checkpoint}"
    if preserve_content is not None:
        pipe.preserve_content = preserve_content
    return pipe, note


def run_tryon(pipe: TryOnPipeline, person: PreparedPerson, cloth: PreparedCloth, seed: int = 0) -> tuple[dict, TryOnOutput]:
    """The batch (size 1) and the pipeline's outputs for one prepared pair."""
    batch = default_collate([to_sample(person, cloth)])
    h, w = batch["image"].shape[-2:]
    out = pipe(batch, noise=pair_noise(pipe, seed, [person.name], [cloth.name], h, w))
    return batch, out


def result_image(out: TryOnOutput) -> Image.Image:
    """The try-on result I^S of sample 0 as an RGB image."""
    return Image.fromarray(to_uint8_image(out.fake_image[0]), "RGB")


def person_region(batch: dict, out: TryOnOutput) -> np.ndarray:
    """(H, W) float mask of the person before or after try-on (label or G1 layout not background),
    grown by two cross dilations: what ``--paste-back`` replaces in the photo."""
    region = ((batch["label"][:1] > 0) | (out.layout_ids[:1].cpu() > 0)).float()
    return dilate(region, iterations=2)[0, 0].numpy()


def intermediate_images(batch: dict, out: TryOnOutput) -> dict[str, Image.Image]:
    """Pictures of the inputs and intermediates of sample 0 (for the demo and ``--keep-prepared``)."""
    def grey(x: torch.Tensor) -> Image.Image:
        return Image.fromarray((x[0, 0].detach().float().cpu().clamp(0, 1) * 255).round().byte().numpy(), "L")

    def rgb(x: torch.Tensor) -> Image.Image:
        return Image.fromarray(to_uint8_image(x[0]), "RGB")

    pose = (batch["pose"][0] > 0).any(dim=0).float()
    person = batch["image"][0].clone()
    person[:, pose > 0] = torch.tensor([1.0, -1.0, -1.0])[:, None]
    return {
        "person (prepared)": rgb(person[None]),
        "parse": Image.fromarray(colorize(batch["label"][0]), "RGB"),
        "cloth (prepared)": rgb(batch["cloth"]),
        "cloth mask": grey(batch["product_mask"]),
        "layout (G1)": Image.fromarray(colorize(out.layout_ids[0]), "RGB"),
        "warped cloth": rgb(out.warped_cloth),
        "composed cloth mask": grey(out.target_cloth_mask),
        "result": result_image(out),
    }


def tryon_record(person: PreparedPerson, cloth: PreparedCloth, model: str, seed: int, pasted: bool) -> dict[str, Any]:
    """The metadata written beside a result (``OUT.json``)."""
    return {"person": person.record() | {"name": person.name}, "cloth": cloth.record() | {"name": cloth.name},
            "model": model, "seed": seed, "size": list(person.transform.size), "pasted_back": pasted,
            "approximate_parse": person.approximate, "notes": person.notes}  # fmt: skip


def save_tryon(path: str | Path, batch: dict, out: TryOnOutput, person: PreparedPerson, cloth: PreparedCloth,
               model: str, seed: int, photo: Image.Image | None = None) -> tuple[Path, Path]:  # fmt: skip
    """Write the result (pasted back into ``photo`` if given) and ``<stem>.json`` beside it."""
    path = Path(path)
    image = result_image(out)
    if photo is not None:
        image = paste_back(photo, image, person.transform, person_region(batch, out))
    meta = path.with_suffix(".json")
    save_text(meta, json.dumps(tryon_record(person, cloth, model, seed, photo is not None), indent=1) + "\n")
    save_image(path, np.asarray(image))
    return path, meta
