"""Proof that an export works: read it back with a reader that is not the app's own loading code, run it
on fixed inputs, and compare with the model as the app runs it.

Readers: transformers from the exported folder (merged); peft on the base named in the exported
adapter_config.json (adapter); transformers' GGUF loader (GGUF); ONNX Runtime with the `tokenizers` library
reading the exported tokenizer.json (ONNX). Compared: the token ids the exported tokenizer gives, the
largest logit difference, the predicted labels (classifiers) and the greedy continuation (language models).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

from engine.data.chat import tokenize_prompt
from engine.data.conversations import Turn, with_system_prompt
from engine.export.gguf import GGUF_TYPES, default_system_prompt, gguf_file_name, modelfile_problems
from engine.tasks import task as task_named

# The largest logit difference allowed, as a share of the largest logit's size (at least 1): float32 folders
# and ONNX only differ by summation order; f16 rounds every weight to 11 significant bits; Q8_0 keeps 8 bits
# per weight with a scale per block of 32.
TOLERANCE = {"merged": 1e-3, "adapter": 1e-3, "onnx": 1e-3, "gguf-f16": 0.02, "gguf-q8_0": 0.06}

PROMPTS = ["Who are you?", "What is the capital of France?", "Give me three tips for sleeping well."]
GREEDY_TOKENS = 12
FIXED_TEXTS = [
    "I would like a refund for my last invoice.",
    "Where is my parcel? The tracking has not changed in days.",
    "hello!",
    "I forgot my password and cannot log in to my account",
]


def verify_export(source, fmt: str, folder: Path) -> dict[str, Any]:
    """The verdict: {"passed", "summary", "problems", "max_logit_difference", "tolerance", ...}."""
    check = task_named(source.task).export
    try:
        return check(source, fmt, folder)
    except Exception as error:  # noqa: BLE001 - an export that cannot be read back is a failed check, said plainly
        summary = f"The exported files could not be read back ({type(error).__name__}: {error})."
        return {"passed": False, "summary": summary, "problems": [summary]}


# ---------------------------------------------------------------- language models


def _read_language_model(source, fmt: str, folder: Path):
    if fmt in GGUF_TYPES:
        name = gguf_file_name(fmt)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        return model.eval(), AutoTokenizer.from_pretrained(folder, gguf_file=name), "transformers' GGUF loader"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if fmt == "adapter":
        return _adapter_on_its_base(folder, AutoModelForCausalLM, {}), tokenizer, "peft on the base model"
    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval(), tokenizer, "transformers"


def verify_language_model(source, fmt: str, folder: Path) -> dict[str, Any]:
    model, tokenizer, reader = _read_language_model(source, fmt, folder)
    system_prompt = getattr(source.config, "system_prompt", "")
    problems: list[str] = []
    largest_difference, largest_logit, greedy = 0.0, 1.0, []
    for prompt in PROMPTS:
        turns = with_system_prompt([Turn("user", prompt, train=False)], system_prompt)
        ids = tokenize_prompt(source.tokenizer, turns)
        try:
            exported_ids = tokenize_prompt(tokenizer, turns)
        except Exception as error:  # noqa: BLE001 - e.g. no chat template in the export
            exported_ids = []
            problems.append(f"The exported tokenizer could not write the prompt '{prompt}' ({error}).")
        if exported_ids and exported_ids != ids:
            problems.append(_token_difference(prompt, ids, exported_ids, source.tokenizer))
        batch = torch.tensor([ids])
        with torch.no_grad():
            ours = source.model(input_ids=batch).logits[0].float()
            theirs = model(input_ids=batch).logits[0].float()
        if ours.shape != theirs.shape:
            problems.append(f"The export scores {theirs.shape[-1]} possible tokens where the model scores {ours.shape[-1]}.")
            continue
        largest_difference = max(largest_difference, float((ours - theirs).abs().max()))
        largest_logit = max(largest_logit, float(ours.abs().max()))
        greedy.append({"prompt": prompt, **_greedy_pair(source, model, ids)})

    modelfile = folder / "Modelfile"
    if fmt in GGUF_TYPES and modelfile.exists():
        problems += modelfile_problems(modelfile, system_prompt or default_system_prompt(source.tokenizer))
    tolerance = TOLERANCE[fmt] * largest_logit
    if largest_difference > tolerance:
        problems.append(
            f"The export's scores for the next token differ from the model's by up to {largest_difference:.3g} "
            f"(allowed for {fmt}: {tolerance:.3g})."
        )
    for pair in greedy:
        if pair["same"] or pair["near_tie"] <= tolerance:
            continue
        problems.append(
            f"Asked '{pair['prompt']}', the export answers {pair['exported']!r} where the model answers {pair['in_app']!r}."
        )
    agreeing = sum(pair["same"] for pair in greedy)
    verdict = {
        "reader": reader, "max_logit_difference": largest_difference, "largest_logit": largest_logit,
        "tolerance": tolerance, "greedy_same": agreeing, "greedy_total": len(PROMPTS), "greedy": greedy,
    }
    if problems:
        return {"passed": False, "summary": "The check found differences: " + " ".join(problems), "problems": problems, **verdict}
    ties = len(greedy) - agreeing
    tie_words = (f" (the other {ties} took another word where two were almost equally likely, as the smaller "
                 f"numbers of {fmt} allow)") if ties else ""
    summary = (
        f"Checked with {reader}: the export reads every test question as the model does, answers "
        f"{agreeing} of {len(PROMPTS)} exactly as the model does{tie_words}, and its scores agree with the model's."
    )
    detail = (f"Largest difference in next-token scores: {largest_difference:.3g} (allowed {tolerance:.3g}); "
              f"the same greedy answer to {agreeing} of {len(PROMPTS)} prompts.")
    return {"passed": True, "summary": summary, "detail": detail, "problems": [], **verdict}


def _greedy_pair(source, model, ids: list[int]) -> dict[str, Any]:
    """Both models' greedy continuations; where they part, how close the app's model was to the export's
    choice (a near tie is rounding, not a broken export)."""
    batch = torch.tensor([ids])
    settings = {"max_new_tokens": GREEDY_TOKENS, "do_sample": False, "pad_token_id": source.tokenizer.pad_token_id}
    with torch.no_grad():
        ours = source.model.generate(input_ids=batch, attention_mask=torch.ones_like(batch), **settings)[0, len(ids) :].tolist()
        theirs = model.generate(input_ids=batch, attention_mask=torch.ones_like(batch), **settings)[0, len(ids) :].tolist()
    near_tie = 0.0
    if ours != theirs:
        at = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
        near_tie = float("inf")
        if at < min(len(ours), len(theirs)):
            with torch.no_grad():
                logits = source.model(input_ids=torch.tensor([ids + ours[:at]])).logits[0, -1].float()
            near_tie = float(logits[ours[at]] - logits[theirs[at]])
    decode = source.tokenizer.decode
    return {"in_app": decode(ours), "exported": decode(theirs), "same": ours == theirs, "near_tie": near_tie}


def _token_difference(text: str, ours: list[int], theirs: list[int], tokenizer) -> str:
    at = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    expected = tokenizer.convert_ids_to_tokens(ours[at]) if at < len(ours) else "(the end)"
    return (
        f"The exported tokenizer splits '{text[:60]}' differently from the model's own: {len(theirs)} tokens "
        f"instead of {len(ours)}, first differing at token {at + 1} (id {theirs[at] if at < len(theirs) else '-'} "
        f"instead of {ours[at] if at < len(ours) else '-'} '{expected}'). The tokenizer files in the export "
        "do not belong to this model."
    )


def _adapter_on_its_base(folder: Path, model_class, extra: dict):
    """How a user applies the adapter: the base model that adapter_config.json names, then peft."""
    from peft import PeftModel

    base_path = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))["base_model_name_or_path"]
    base = model_class.from_pretrained(base_path, dtype=torch.float32, **extra)
    return PeftModel.from_pretrained(base, folder).eval()


# ---------------------------------------------------------------- classifiers


def _texts(source) -> list[str]:
    """Fixed texts, and the first rows of the run's own data (inputs it predicts with some confidence)."""
    from engine.data.classification import load_classification

    try:
        data = load_classification(source.config.data, source.config.text_column, source.config.label_column)
        return FIXED_TEXTS + data.texts[:6]
    except Exception:  # noqa: BLE001 - the training file may have moved since; the fixed texts still check
        return FIXED_TEXTS


def verify_classifier(source, fmt: str, folder: Path) -> dict[str, Any]:
    texts = _texts(source)
    settings = {"padding": True, "truncation": True, "max_length": source.config.max_length}
    encoded = source.tokenizer(texts, return_tensors="pt", **settings)
    with torch.no_grad():
        ours = source.model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).logits.float().numpy()
    problems: list[str] = []

    if fmt == "onnx":
        reader = "ONNX Runtime"
        ids_per_text, theirs = _run_onnx(folder, texts, source.config.max_length)
    else:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        if fmt == "adapter":
            model, reader = _adapter_on_its_base(folder, AutoModelForSequenceClassification, {"num_labels": len(source.labels)}), "peft on the base model"
        else:
            model, reader = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32).eval(), "transformers"
        theirs_encoded = tokenizer(texts, return_tensors="pt", **settings)
        ids_per_text = [row[mask.bool()].tolist() for row, mask in zip(theirs_encoded["input_ids"], theirs_encoded["attention_mask"])]
        with torch.no_grad():
            try:
                theirs = model(input_ids=theirs_encoded["input_ids"], attention_mask=theirs_encoded["attention_mask"]).logits.float().numpy()
            except (IndexError, RuntimeError) as error:  # token ids the model has no row for
                theirs = None
                problems.append(f"The exported model could not read the exported tokenizer's output ({error}).")

    for text, row, mask in zip(texts, encoded["input_ids"], encoded["attention_mask"]):
        own = row[mask.bool()].tolist()
        exported = ids_per_text[texts.index(text)]
        if own != exported:
            problems.append(_token_difference(text, own, exported, source.tokenizer))
            break  # one example is enough to say the tokenizer is wrong

    largest_logit = max(1.0, float(np.abs(ours).max()))
    tolerance = TOLERANCE[fmt] * largest_logit
    largest_difference, same_labels = float("inf"), 0
    if theirs is not None and theirs.shape == ours.shape:
        largest_difference = float(np.abs(ours - theirs).max())
        ours_labels, theirs_labels = _labels(ours, source), _labels(theirs, source)
        same_labels = sum(a == b for a, b in zip(ours_labels, theirs_labels))
        if largest_difference > tolerance:
            problems.append(
                f"The export's category scores differ from the model's by up to {largest_difference:.3g} (allowed {tolerance:.3g})."
            )
        if same_labels < len(texts):
            first = next(i for i, (a, b) in enumerate(zip(ours_labels, theirs_labels)) if a != b)
            problems.append(
                f"The export gives {len(texts) - same_labels} of {len(texts)} test texts a different category, e.g. "
                f"'{texts[first][:60]}': {theirs_labels[first]} instead of {ours_labels[first]}."
            )
    elif theirs is not None:
        problems.append(f"The export gives {theirs.shape[-1]} category scores where the model gives {ours.shape[-1]}.")
    verdict = {
        "reader": reader, "max_logit_difference": largest_difference, "largest_logit": largest_logit,
        "tolerance": tolerance, "same_labels": same_labels, "texts": len(texts),
    }
    if problems:
        return {"passed": False, "summary": "The check found differences: " + " ".join(problems), "problems": problems, **verdict}
    summary = (
        f"Checked with {reader}: the export gives the same category as the model to all {len(texts)} test texts, "
        "and its scores agree with the model's."
    )
    detail = f"Largest difference in category scores: {largest_difference:.3g} (allowed {tolerance:.3g})."
    return {"passed": True, "summary": summary, "detail": detail, "problems": [], **verdict}


def _labels(logits: np.ndarray, source) -> list[str]:
    if source.multi_label:
        chosen = 1 / (1 + np.exp(-logits)) > source.config.threshold
        return [", ".join(label for label, on in zip(source.labels, row) if on) or "(none)" for row in chosen]
    return [source.labels[i] for i in logits.argmax(axis=-1)]


def _run_onnx(folder: Path, texts: list[str], max_length: int) -> tuple[list[list[int]], np.ndarray]:
    """ONNX Runtime on the exported model, fed by the `tokenizers` library from the exported tokenizer.json:
    what a program without torch or transformers would do."""
    import onnxruntime
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    ids = [encoding.ids for encoding in tokenizer.encode_batch(texts)]
    width = max(len(row) for row in ids)
    input_ids = np.zeros((len(ids), width), dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, token_ids in enumerate(ids):
        input_ids[row, : len(token_ids)], mask[row, : len(token_ids)] = token_ids, 1
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input_ids": input_ids, "attention_mask": mask})
    return ids, logits.astype(np.float32)
