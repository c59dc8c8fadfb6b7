"""Files -> samples: the sample structure and its builder, layouts, pair files, sizes, validation."""

from acgpn.data.dataset import TryOnDataset
from acgpn.data.layouts import LAYOUTS, PARSE_SOURCES, DatasetLayout, get_layout, output_name
from acgpn.data.pairs import format_pairs, paired_list, read_pairs
from acgpn.data.sample import SAMPLE_TENSOR_KEYS, Sample, build_sample
from acgpn.data.size import MAX_WORKING_PIXELS, check_size, parse_size
from acgpn.data.validate import DatasetReport, inspect_dataset, validate_dataset

__all__ = [
    "LAYOUTS",
    "MAX_WORKING_PIXELS",
    "PARSE_SOURCES",
    "SAMPLE_TENSOR_KEYS",
    "DatasetReport",
    "DatasetLayout",
    "Sample",
    "TryOnDataset",
    "build_sample",
    "check_size",
    "format_pairs",
    "get_layout",
    "inspect_dataset",
    "output_name",
    "paired_list",
    "parse_size",
    "read_pairs",
    "validate_dataset",
]
