"""Running a token-classification model over texts: windows in, spans with a confidence out.

Shared by training (the evaluation at each check), evaluation, the Playground and exports' read-back, so every
place that shows a tagged text tags it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from engine.data.spans.model import ScoredSpan
from engine.tagging.align import IGNORED, Window, Words, best_window_per_piece, decode_words, split_words, windows

BATCH = 64
LABELS_FILE = "labels.json"


def pad(windows_: list[Window], pad_id: int, device) -> dict[str, torch.Tensor]:
    longest = max(len(w.input_ids) for w in windows_)
    ids = torch.full((len(windows_), longest), pad_id, dtype=torch.long)
    labels = torch.full((len(windows_), longest), IGNORED, dtype=torch.long)
    mask = torch.zeros((len(windows_), longest), dtype=torch.long)
    for row, window in enumerate(windows_):
        ids[row, : len(window.input_ids)] = torch.tensor(window.input_ids)
        labels[row, : len(window.labels)] = torch.tensor(window.labels)
        mask[row, : len(window.input_ids)] = 1
    return {
        "input_ids": ids.to(device, non_blocking=True), "attention_mask": mask.to(device, non_blocking=True),
        "labels": labels.to(device, non_blocking=True), "count": int((labels != IGNORED).sum()),
    }


def window_probabilities(model, all_windows: list[Window], pad_id: int, device) -> tuple[list[torch.Tensor], float, int]:
    """Each window's label probabilities per position (on the CPU), the summed loss over labelled pieces and
    their number. Windows are run longest first in batches, so padding stays small."""
    order = sorted(range(len(all_windows)), key=lambda i: -len(all_windows[i].input_ids))
    probabilities: list[torch.Tensor | None] = [None] * len(all_windows)
    loss, count = 0.0, 0
    for start in range(0, len(order), BATCH):
        rows = order[start : start + BATCH]
        batch = pad([all_windows[i] for i in rows], pad_id, device)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        if batch["count"]:
            loss += float(torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=IGNORED, reduction="sum"))
            count += batch["count"]
        soft = logits.softmax(dim=-1).cpu()
        for row, index in enumerate(rows):
            probabilities[index] = soft[row, : len(all_windows[index].input_ids)]
    return probabilities, loss, count  # type: ignore[return-value]


def spans_from(words: Words, document_windows: list[Window], probabilities: list[torch.Tensor], names: list[str]) -> list[ScoredSpan]:
    """One text's spans: each word's label from its first piece, in the window where that piece is most
    central."""
    choice = best_window_per_piece(document_windows, len(words.ids))
    labels, confidences = [], []
    for piece in words.first_piece:
        window, position = choice[piece]
        probs = probabilities[window][position]
        best = int(probs.argmax())
        labels.append(best)
        confidences.append(float(probs[best]))
    return decode_words(words, labels, confidences, names)


def tag_texts(model, tokenizer, texts: list[str], names: list[str], max_length: int, device) -> list[list[ScoredSpan]]:
    words = split_words(tokenizer, texts)
    per_text = [windows(tokenizer, i, w, None, max_length) for i, w in enumerate(words)]
    flat = [window for group in per_text for window in group]
    with torch.no_grad():
        probabilities, _, _ = window_probabilities(model, flat, tokenizer.pad_token_id or 0, device)
    result, at = [], 0
    for text_words, group in zip(words, per_text):
        result.append(spans_from(text_words, group, probabilities[at : at + len(group)], names))
        at += len(group)
    return result


@dataclass
class Tagger:
    """A trained tagger loaded from its folder, ready to mark names in texts."""

    model: torch.nn.Module
    tokenizer: object
    names: list[str]
    max_length: int = 512
    device: torch.device = torch.device("cpu")

    @classmethod
    def load(cls, folder: Path | str, device: str = "cpu") -> Tagger:
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        folder = Path(folder)
        if (folder / "adapter_config.json").exists():
            import json

            from peft import PeftConfig, PeftModel

            # An adapter folder holds no model config, so the label names travel in labels.json beside it.
            names = json.loads((folder / LABELS_FILE).read_text(encoding="utf-8"))
            base = AutoModelForTokenClassification.from_pretrained(
                PeftConfig.from_pretrained(folder).base_model_name_or_path, num_labels=len(names),
                id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)}, use_safetensors=True,
            )
            model = PeftModel.from_pretrained(base, folder).merge_and_unload()
        else:
            model = AutoModelForTokenClassification.from_pretrained(folder, use_safetensors=True)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        names = [model.config.id2label[i] for i in range(len(model.config.id2label))]
        limit = min(int(getattr(model.config, "max_position_embeddings", 512)), 512)
        return cls(model.eval().to(device), tokenizer, names, limit, torch.device(device))

    def __call__(self, texts: list[str]) -> list[list[ScoredSpan]]:
        return tag_texts(self.model, self.tokenizer, texts, self.names, self.max_length, self.device)
