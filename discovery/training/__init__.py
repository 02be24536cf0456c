"""PROSE in the discovery pipeline: synthetic data (:mod:`.data`), ``eqdisco train prose`` (:mod:`.training`)
and ``eqdisco bench prose`` (:mod:`.evaluate`). The torch model itself lives in :mod:`models.prose`.

Nothing here imports torch at import time.
"""

from discovery.training.data import DataConfig, corrupt_system, generate_dataset, with_noise

__all__ = ["DataConfig", "corrupt_system", "generate_dataset", "with_noise"]
