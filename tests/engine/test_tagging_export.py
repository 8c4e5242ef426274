"""A tagger exported as a Hugging Face folder and as ONNX marks the same names as the app's model."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.tagging.export import export_tagger
from engine.tagging.predict import Tagger

TEXTS = [
    "Cystic fibrosis is a recessive disorder .",
    "Mutations in BRCA1 raise the risk of breast cancer and ovarian cancer .",
    " ".join(["The patient had no sign of colon carcinoma ."] * 30),  # longer than one window
]


@pytest.fixture(scope="module")
def random_tagger(tiny_encoder, tmp_path_factory) -> Path:
    """A token classifier with random weights: it marks names all over the place, which is what a comparison
    of two copies needs (an untrained head that marks nothing would agree with anything)."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    torch.manual_seed(1)
    names = ["O", "B-Disease", "I-Disease"]
    model = AutoModelForTokenClassification.from_pretrained(
        tiny_encoder, num_labels=3, id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)},
    )
    folder = tmp_path_factory.mktemp("tagger")
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_encoder).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("fmt", ["merged", "onnx"])
def test_an_exported_tagger_marks_the_same_names(random_tagger, tmp_path, fmt):
    pytest.importorskip("onnxruntime")
    checked = export_tagger(random_tagger, fmt, tmp_path / fmt, TEXTS)
    assert checked.same, checked.difference
    assert checked.names > 3  # there was something to compare
    assert checked.path.exists()


def test_predictions_carry_types_offsets_and_confidence(random_tagger):
    tagger = Tagger.load(random_tagger)
    (spans,) = tagger([TEXTS[1]])
    for span in spans:
        assert span.type == "Disease" and 0 <= span.start < span.end <= len(TEXTS[1])
        assert TEXTS[1][span.start : span.end] == TEXTS[1][span.start : span.end].strip()
        assert 0.0 < span.confidence <= 1.0
