"""Synthetic try-on data with exact ground truth (procedural people, flat product clothes).

``generate_dataset(out, num, size, seed, phase)`` writes an ACGPN/VITON-layout dataset (see
:mod:`acgpn.synth.dataset` for the files); ``contact_sheet(dataset_dir, out_png)`` draws a
picture of one. Modules: ``raster`` (distance fields, compositing), ``person`` (bodies and
poses), ``garment`` (product clothes), ``wear`` (TPS dressing and layered render), ``dataset``
(files), ``sheet`` (contact sheet).
"""

from acgpn.data.dataset import parse_size
from acgpn.synth.dataset import generate_dataset, make_sample
from acgpn.synth.sheet import contact_sheet

__all__ = ["contact_sheet", "generate_dataset", "make_sample", "parse_size"]
