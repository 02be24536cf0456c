"""PROSE in the ``transformers`` format: PreTrainedModel + registered PretrainedConfig, the library's own folder."""

import json
from pathlib import Path

import pytest
import torch

from grammar.tokenizer import ExpressionTokenizer
from models.prose import ProseConfig, ProseModel, load_model, save_pretrained
from models.prose.io import from_pretrained

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "checkpoints" / "prose-small"


@pytest.fixture(scope="module")
def tok() -> ExpressionTokenizer:
    return ExpressionTokenizer()


def tiny(tok: ExpressionTokenizer) -> ProseModel:
    torch.manual_seed(0)
    config = ProseConfig(vocab_size=tok.vocab_size, pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id,
                         d_model=32, n_heads=2, d_ff=64, max_symbol_len=32)
    return ProseModel(config).eval()


def batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    B, T, D = 2, 12, 5
    return {"t_in": torch.linspace(0, 1, T).repeat(B, 1), "x_in": torch.randn(B, T, D, generator=g),
            "in_pad": torch.zeros(B, T, dtype=torch.bool),
            "dim_mask": torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 0, 0]], dtype=torch.bool),
            "t_query": torch.linspace(0, 2, 5).repeat(B, 1), "target": torch.tensor([[1, 7, 52, 2]] * B)}


def test_model_and_config_are_the_librarys_classes():
    from transformers import PretrainedConfig, PreTrainedModel

    assert issubclass(ProseConfig, PretrainedConfig) and issubclass(ProseModel, PreTrainedModel)
    assert ProseModel.config_class is ProseConfig and ProseConfig.model_type == "eqdisco-prose"


def test_auto_classes_read_a_saved_folder(tok, tmp_path):
    from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedTokenizerFast

    model = tiny(tok)
    save_pretrained(model, tmp_path, tok)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "eqdisco-prose" and config["architectures"] == ["ProseModel"]
    assert "transformers_version" in config and config["tie_word_embeddings"] is True
    assert isinstance(AutoConfig.from_pretrained(tmp_path), ProseConfig)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert isinstance(loaded, ProseModel) and loaded.config == model.config
    assert loaded.symbol_decoder.head.weight is loaded.symbol_decoder.tok.weight  # tied again after loading
    with torch.no_grad():
        a, _ = model(batch())
        b, _ = loaded.eval()(batch())
    torch.testing.assert_close(a["x_query"], b["x_query"], rtol=0, atol=0)
    torch.testing.assert_close(a["logits"], b["logits"], rtol=0, atol=0)
    hf_tok = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(hf_tok, PreTrainedTokenizerFast)
    assert hf_tok.get_vocab() == tok.vocab and hf_tok.pad_token_id == tok.pad_id


def test_folder_written_before_the_library_format_still_loads(tok, tmp_path):
    """The first checkpoints: eqdisco's config.json and weights saved by safetensors under the head's name."""
    from safetensors.torch import save_model

    model = tiny(tok)
    old = {"model_type": "eqdisco-prose", **model.config.architecture()}
    (tmp_path / "config.json").write_text(json.dumps(old))
    save_model(model, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    loaded = load_model(tmp_path)
    for name, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[name]), name


def test_unknown_config_keys_and_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="unknown keys"):
        ProseConfig.from_dict({"vocab_size": 40, "width": 3})
    with pytest.raises(ValueError, match="multiple of n_heads"):
        ProseConfig(vocab_size=40, d_model=30, n_heads=4)


def test_shipped_checkpoint_is_in_the_library_layout_and_small():
    from transformers import AutoModel

    config = json.loads((SHIPPED / "config.json").read_text())
    assert config["architectures"] == ["ProseModel"] and "transformers_version" in config
    assert (SHIPPED / "tokenizer_config.json").is_file()
    size = sum(p.stat().st_size for p in SHIPPED.iterdir() if p.is_file())
    assert size < 50e6
    model = AutoModel.from_pretrained(SHIPPED)
    ours, tokenizer = from_pretrained(SHIPPED)
    assert isinstance(model, ProseModel) and model.config == ours.config
    assert tokenizer.vocab_size == model.config.vocab_size
