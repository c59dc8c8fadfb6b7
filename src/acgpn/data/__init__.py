"""Files -> samples: the sample structure, layout readers, pair files, validation."""

from acgpn.data.sample import SAMPLE_TENSOR_KEYS, Sample

__all__ = ["SAMPLE_TENSOR_KEYS", "Sample"]
