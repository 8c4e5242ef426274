"""A trained tagger written as a Hugging Face folder or as ONNX, each proved by reading it back: the copy must
mark the same names in the same places as the app's own model does on sample texts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from engine.data.spans.model import ScoredSpan
from engine.export.job import write_onnx
from engine.tagging.predict import Tagger, tag_texts

#: Confidences of the copy may differ from the app's in the last digits (ONNX Runtime's own kernels).
CONFIDENCE_TOLERANCE = 1e-3


@dataclass
class Checked:
    path: Path
    texts: int
    names: int  # names the app's model marks in the sample texts
    same: bool
    difference: str = ""  # the first text whose marks differ, and how


def export_tagger(model_folder: Path, fmt: str, out: Path, sample_texts: list[str]) -> Checked:
    """fmt: "merged" (a Hugging Face folder, LoRA folded in) or "onnx"."""
    tagger = Tagger.load(model_folder)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "onnx":
        path = write_onnx(tagger.model, tagger.tokenizer, out)
        copy = Tagger(_OnnxModel(path), tagger.tokenizer, tagger.names, tagger.max_length)
    else:
        tagger.model.save_pretrained(out, safe_serialization=True)
        tagger.tokenizer.save_pretrained(out)
        path, copy = out, Tagger.load(out)
    ours, theirs = tagger(sample_texts), copy(sample_texts)
    difference = next((_describe(text, a, b) for text, a, b in zip(sample_texts, ours, theirs) if not _same(a, b)), "")
    return Checked(path, len(sample_texts), sum(map(len, ours)), not difference, difference)


class _OnnxModel:
    """ONNX Runtime behind the call a transformers model answers, so the copy is read by the very code that
    reads the app's model (windows, word alignment, spans)."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        (logits,) = self.session.run(
            ["logits"], {"input_ids": input_ids.numpy().astype(np.int64), "attention_mask": attention_mask.numpy().astype(np.int64)}
        )
        return SimpleNamespace(logits=torch.from_numpy(logits))


def _same(ours: list[ScoredSpan], theirs: list[ScoredSpan]) -> bool:
    return [(s.start, s.end, s.type) for s in ours] == [(s.start, s.end, s.type) for s in theirs] and all(
        abs(a.confidence - b.confidence) <= CONFIDENCE_TOLERANCE for a, b in zip(ours, theirs)
    )


def _describe(text: str, ours: list[ScoredSpan], theirs: list[ScoredSpan]) -> str:
    def show(spans):
        return ", ".join(f"'{text[s.start:s.end]}' {s.type} {s.confidence:.3f}" for s in spans) or "nothing"

    return f"in '{text[:60]}': the app marks {show(ours)}; the copy marks {show(theirs)}"


__all__ = ["Checked", "export_tagger", "tag_texts"]
