"""Run the official ACGPN forward on the CPU (or its own CUDA code on a GPU), imported from a user's checkout and patched at run time.

    from official import OfficialForward
    fwd = OfficialForward("path/to/DeepFashion_Try_On", seed=1)    # recipe weights of case `seed`
    fwd(batch)                                                       # one official forward

Nothing of the official code is copied here: its ``ACGPN_inference`` folder is put on ``sys.path``
and imported, and only the process-wide names it needs to run without CUDA on current libraries are
replaced, for the lifetime of this (benchmark worker) process:

* ``Tensor.cuda`` / ``Module.cuda`` return the object itself (the code calls ``.cuda()`` everywhere);
* ``torch.cuda.FloatTensor(size)`` makes a CPU float tensor (it only ever calls ``.zero_()`` on it);
* ``numpy.float`` / ``numpy.int`` (removed in NumPy 1.24) are the builtins again;
* without torchvision, an empty stand-in module (``networks.py`` imports it for its VGG loss only).

The nets are the official classes (``Refine`` for G1, G2, G; ``UnetMask`` for U), filled with the
parity recipe weights through their state dicts, whose keys are ours (spec §1.5). The forward timed
is ``Pix2PixHDModel.forward`` (the inference graph of the official ``test.py``, including its
NumPy/OpenCV glue and the two training losses it computes on the way); it needs OpenCV
(``cv2``, installed with the ``photos`` extra). It hard-codes 256x192 and mixes samples of a batch
(spec §5), so a batch of B runs as B calls of batch 1, as the README's benchmark states.
"""

from __future__ import annotations

import sys
import types
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

#: The size the official inference code is hard-wired to.
OFFICIAL_SIZE = (256, 192)


def _patch_for_cpu(on_gpu: bool = False) -> None:
    """Let CUDA-only code of the PyTorch 0.4 era run on the CPU (or, ``on_gpu``, on its own CUDA
    calls) with current torch and NumPy."""
    if not on_gpu:
        torch.Tensor.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign]
        nn.Module.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign]
        torch.cuda.FloatTensor = lambda *size: torch.empty(*size, dtype=torch.float32)  # type: ignore[attr-defined]
    for name, value in (("float", float), ("int", int)):
        if not hasattr(np, name):
            setattr(np, name, value)
    warnings.filterwarnings("ignore")  # grid_sample's align_corners and size_average notices
    try:
        import torchvision  # noqa: F401  (networks.py imports it for the VGG loss, unused at inference)
    except ImportError:
        stub, stub_models = types.ModuleType("torchvision"), types.ModuleType("torchvision.models")
        stub.models = stub_models  # type: ignore[attr-defined]
        sys.modules.setdefault("torchvision", stub)
        sys.modules.setdefault("torchvision.models", stub_models)


def _find_inference_dir(checkout: str | Path) -> Path:
    root = Path(checkout)
    for candidate in (root / "ACGPN_inference", root):
        if (candidate / "models" / "pix2pixHD_model.py").is_file() and (candidate / "tps_grid_gen.py").is_file():
            return candidate
    raise FileNotFoundError(f"{root}: expected a DeepFashion_Try_On checkout (with ACGPN_inference/models/pix2pixHD_model.py)")


class OfficialForward:
    """The official model with recipe weights; call it on an acgpn batch of size 1."""

    def __init__(self, checkout: str | Path, seed: int = 1, device: str = "cpu") -> None:
        from acgpn.parity import recipe_nets

        folder = _find_inference_dir(checkout)
        self.device = torch.device(device)
        _patch_for_cpu(on_gpu=self.device.type == "cuda")
        sys.path.insert(0, str(folder))
        from models import networks  # type: ignore[import-not-found]
        from models.pix2pixHD_model import Pix2PixHDModel  # type: ignore[import-not-found]

        ours = recipe_nets(seed)
        model = Pix2PixHDModel()
        model.G1, model.G2, model.G = networks.Refine(37, 14), networks.Refine(37, 1), networks.Refine(24, 3)
        model.Unet = networks.UnetMask(4, output_nc=4)
        for official, name in ((model.G1, "g1"), (model.G2, "g2"), (model.G, "g"), (model.Unet, "u")):
            official.load_state_dict(ours[name].state_dict(), strict=True)
            official.to(self.device).eval()
        model.sigmoid, model.tanh, model.BCE = nn.Sigmoid(), nn.Tanh(), nn.BCEWithLogitsLoss()
        model.loss_filter = model.init_loss_filter(True, True)
        self.model = model.eval()

    @torch.no_grad()
    def __call__(self, batch: dict[str, Tensor]) -> Tensor:
        """One official forward (batch size 1, 256x192) from our batch keys; returns its fake image.

        The inputs are prepared as the official ``test.py`` prepares them: cloth-region and
        foreground masks from the label, the foreground image, the label with arms and noise
        merged into the cloth id (``all_clothes_label``).
        """
        batch = {k: v.to(self.device) for k, v in batch.items()}
        label, image = batch["label"], batch["image"]
        if tuple(label.shape[-2:]) != OFFICIAL_SIZE or label.shape[0] != 1:
            raise ValueError(f"the official forward runs one 256x192 sample per call, got {tuple(label.shape)}")
        cloth_region = (label == 4).float()
        foreground = (label > 0).float()
        merged = torch.where((label == 11) | (label == 13) | (label == 7), torch.full_like(label, 4.0), label)
        outputs = self.model(
            label, batch["product_mask"], image * foreground, cloth_region, batch["cloth"], merged, image, batch["pose"], image, foreground
        )  # fmt: skip
        return outputs[1]
