"""Models shipped inside the package.

``synthetic/``: a small ACGPN (all four nets, reduced widths) trained at 128x96 on procedural
people from :mod:`acgpn.synth` only — never on photos. It is what
``TryOnPipeline.from_pretrained()`` and ``acgpn infer`` without ``--checkpoint`` load, so the
package runs end to end on a fresh install with nothing downloaded; its ``config.json`` records
``"working_size": [128, 96]`` and the pipeline resizes other inputs in and out
(:mod:`acgpn.working_size`). ``synthetic/MODEL_CARD.md`` gives the command that trained it, the
time it took and its held-out scores. Weights are stored in float16 and load as float32.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: Names of the embedded models -> their folders (``model.safetensors`` + ``config.json``).
EMBEDDED: Final = {"synthetic": Path(__file__).resolve().parent / "synthetic"}
#: What ``from_pretrained()`` loads without an argument.
DEFAULT_MODEL: Final = "synthetic"
#: Said wherever the embedded model is used.
SYNTHETIC_NOTICE: Final = (
    "the embedded model was trained on synthetic people only (acgpn synth, 128x96): "
    "it shows the pipeline working, not photo-quality try-on"
)


def resolve_pretrained(name_or_path: str | Path) -> Path:
    """The folder of an embedded model's name (a ``str`` such as ``"synthetic"``), else the path
    itself. A ``Path`` is always a folder, so ``Path("synthetic")`` is a local folder of that name."""
    if isinstance(name_or_path, str) and name_or_path in EMBEDDED:
        return EMBEDDED[name_or_path]
    return Path(name_or_path)
