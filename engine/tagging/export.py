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


SAMPLE_TEXTS = [
    "Cystic fibrosis is the most common fatal recessive disorder in Caucasian populations .",
    "Mutations in BRCA1 raise the risk of breast cancer and ovarian cancer .",
    "The customer was charged twice for the 12 kg parcel sent to Lyon on 3 May .",
    " ".join(["The patient had no sign of colon carcinoma or of any other tumour ."] * 40),  # longer than one window
]
#: Held-back texts of the run added to the fixed ones, so the check covers names the model really marks.
HELD_OUT_SAMPLES = 12


def verify_tagger(source, fmt: str, folder: Path) -> dict:
    """The export job's check (engine/export/verify.py): the exported folder or ONNX file, read back with
    transformers or ONNX Runtime, marks the same names as the run's model on sample texts."""
    from transformers import AutoTokenizer

    from engine.protocol import message

    names = source.labels or [source.model.config.id2label[i] for i in range(source.model.config.num_labels)]
    limit = min(int(getattr(source.model.config, "max_position_embeddings", 512) or 512), 512)
    max_length = min(source.config.max_length or 256, limit)
    app = Tagger(source.merged(), source.tokenizer, names, max_length)
    if fmt == "onnx":
        copy, reader = Tagger(_OnnxModel(folder / "model.onnx"), AutoTokenizer.from_pretrained(folder), names, max_length), "ONNX Runtime"
    else:
        copy, reader = Tagger.load(folder), "transformers"
        copy.max_length = max_length
    texts = SAMPLE_TEXTS + _held_out_texts(source)
    ours, theirs = app(texts), copy(texts)
    difference = next((_describe(text, a, b) for text, a, b in zip(texts, ours, theirs) if not _same(a, b)), "")
    marked = sum(map(len, ours))
    verdict = {"reader": reader, "texts": len(texts), "names": marked}
    if difference:
        summary = message("export.tagger_differs", reader=reader, difference=difference)[1]
        return {"passed": False, "summary": summary, "problems": [summary], **verdict}
    summary = message("export.tagger_same", reader=reader, names=marked, texts=len(texts))[1]
    return {"passed": True, "summary": summary, "problems": [], **verdict}


def _held_out_texts(source) -> list[str]:
    from engine.data.spans import read_tagged
    from engine.data.errors import DataError
    from engine.tagging.steps import HELD_OUT_FILE

    path = Path(source.run.get("run_dir") or "") / HELD_OUT_FILE
    try:
        return [d.text for d in read_tagged(path).documents[:HELD_OUT_SAMPLES]] if path.is_file() else []
    except DataError:
        return []


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


__all__ = ["Checked", "export_tagger", "tag_texts", "verify_tagger"]
