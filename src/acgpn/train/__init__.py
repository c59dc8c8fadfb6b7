"""Training of every ACGPN module with the paper's losses (``acgpn train``).

* :mod:`acgpn.train.config` — :class:`TrainConfig`, :class:`LossConfig`, presets ``paper`` / ``official``;
* :mod:`acgpn.train.stages` — one step of each module (inputs, forward, generator losses);
* :mod:`acgpn.train.holes` — procedural irregular hole masks for G;
* :mod:`acgpn.train.trainer` — the loop: seeding, updates, checkpoints, signals, NaN stop;
* :mod:`acgpn.train.state` — checkpoint folders and the training state;
* :mod:`acgpn.train.distributed` — torchrun / DDP;
* :mod:`acgpn.train.monitor` — metrics.jsonl, TensorBoard, image grids.
"""

from acgpn.train.config import LossConfig, TrainConfig, preset_config
from acgpn.train.trainer import Trainer, TrainingDiverged, TrainResult, train

__all__ = ["LossConfig", "TrainConfig", "TrainResult", "Trainer", "TrainingDiverged", "preset_config", "train"]
