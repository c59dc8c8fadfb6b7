"""Try-on on your own photos, offline: person and product photos -> the model's inputs.

* :mod:`~acgpn.photos.frame`: the 3:4 portrait crop and its recorded transform (``--paste-back``);
* :mod:`~acgpn.photos.detect`: mediapipe pose, person segmentation and face landmarks -> COCO-18
  (the only module that imports mediapipe, and only when called: ``pip install 'acgpn[photos]'``);
* :mod:`~acgpn.photos.parse`: a given LIP/CIHP/ATR/ACGPN parse, or an approximate one;
* :mod:`~acgpn.photos.cloth`: product-photo cloth mask and framing;
* :mod:`~acgpn.photos.prepare`: both photos -> a Sample (via :func:`acgpn.data.build_sample`) or an
  ACGPN-VITON folder; :mod:`~acgpn.photos.tryon`: the model, the forward pass, the result.

The core package never imports this one; the CLI imports it only inside ``tryon``, ``prepare``
and ``demo``.
"""

from acgpn.photos.frame import CropTransform, paste_back, portrait_box
from acgpn.photos.prepare import PreparedCloth, PreparedPerson, prepare_cloth, prepare_dataset, prepare_person, to_sample, write_prepared

__all__ = [
    "CropTransform",
    "PreparedCloth",
    "PreparedPerson",
    "paste_back",
    "portrait_box",
    "prepare_cloth",
    "prepare_dataset",
    "prepare_person",
    "to_sample",
    "write_prepared",
]
