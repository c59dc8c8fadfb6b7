"""acgpn: ACGPN virtual try-on (Yang et al., CVPR 2020) in modern, device-agnostic PyTorch.

DatasetLayout follows the paper's Figure 2: ``modules.sgm`` (step I), ``modules.cwm`` (step II),
``modules.cfm`` (steps III and IV), chained by ``pipeline.TryOnPipeline``.
"""

from acgpn.errors import InputError

__version__ = "0.1.0"

__all__ = ["InputError", "__version__"]
