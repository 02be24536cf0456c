"""PROSE (Liu, Sun, Schaeffer 2023): a multimodal transformer that reads trajectory data and an optional equation
guess, and writes both the symbolic equations and the trajectory at any query time.

Examples
--------
>>> from models.prose import ProseConfig, ProseModel
>>> model = ProseModel(ProseConfig.small(vocab_size=64))
>>> model.config.d_model
128
"""

from models.prose.config import MAX_STATE_DIM, PRESETS, ProseConfig, TrainConfig, preset
from models.prose.generation import Hypothesis, beam_search, greedy_decode
from models.prose.inference import DecodedSystem, ProsePredictor
from models.prose.io import export_half, from_pretrained, load_model, save_pretrained
from models.prose.model import ProseModel, SampleScales
from models.prose.train import evaluate, lr_factor, train

__all__ = [
    "MAX_STATE_DIM",
    "PRESETS",
    "DecodedSystem",
    "Hypothesis",
    "ProseConfig",
    "ProseModel",
    "ProsePredictor",
    "SampleScales",
    "TrainConfig",
    "beam_search",
    "evaluate",
    "export_half",
    "from_pretrained",
    "greedy_decode",
    "load_model",
    "lr_factor",
    "preset",
    "save_pretrained",
    "train",
]
