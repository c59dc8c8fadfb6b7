"""Files -> samples: the sample structure, layout readers, pair files, validation."""

from acgpn.data.dataset import TryOnDataset, check_size, parse_size
from acgpn.data.layouts import LAYOUTS, PARSE_SOURCES, Layout, get_layout
from acgpn.data.pairs import paired_list, read_pairs
from acgpn.data.sample import SAMPLE_TENSOR_KEYS, Sample
from acgpn.data.validate import inspect_dataset, validate_dataset

__all__ = [
    "LAYOUTS",
    "PARSE_SOURCES",
    "SAMPLE_TENSOR_KEYS",
    "Layout",
    "Sample",
    "TryOnDataset",
    "check_size",
    "parse_size",
    "get_layout",
    "inspect_dataset",
    "paired_list",
    "read_pairs",
    "validate_dataset",
]
