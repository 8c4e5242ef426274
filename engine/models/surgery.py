"""Making a student from a teacher by keeping some of its layers (as DistilBERT and Minitron do).

The student is built from the teacher's own config with fewer layers, then given the teacher's weights:
the kept layers renumbered, the embeddings, final norm and head copied as they are. Building a fresh model
(rather than deleting layers from the teacher in place) keeps every per-layer setting transformers
derives from the config correct (cache indices, per-layer attention types), for BERT-like encoders and
Llama-like decoders alike. The result is a normal transformers model that saves as a normal folder.
"""

from __future__ import annotations

import copy

import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoModelForTokenClassification, PreTrainedModel

from engine.config import ConfigError
from engine.models.students import LAYER_TENSOR, Cut, spread_layers


def layer_count(model: PreTrainedModel) -> int:
    return int(model.config.num_hidden_layers)


HEADS = {
    "ForCausalLM": AutoModelForCausalLM,
    "ForSequenceClassification": AutoModelForSequenceClassification,
    "ForTokenClassification": AutoModelForTokenClassification,
}


def keep_layers(teacher: PreTrainedModel, layers: int) -> tuple[PreTrainedModel, list[int]]:
    """A copy of `teacher` with `layers` of its layers (evenly spread, first and last kept), and which."""
    kept = spread_layers(layer_count(teacher), layers)
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(kept)
    if getattr(config, "layer_types", None):  # models that mix attention kinds per layer
        config.layer_types = [config.layer_types[i] for i in kept]
    # the teacher's own kind of head: a classifier's, a tagger's (one answer per word) or a language model's
    auto = next((auto for ending, auto in HEADS.items() if type(teacher).__name__.endswith(ending)), None)
    if auto is None:
        raise ConfigError("A student can be made from a text classifier, a name tagger or a chat model; this teacher is none of them.")
    student = auto.from_config(config, dtype=torch.float32)

    new_index = {old: new for new, old in enumerate(kept)}
    state = {}
    for name, value in teacher.state_dict().items():
        match = LAYER_TENSOR.search(name)
        if match is None:
            state[name] = value
        elif int(match.group(1)) in new_index:
            start, end = match.span(1)
            state[name[:start] + str(new_index[int(match.group(1))]) + name[end:]] = value
    missing, unexpected = student.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    # Tied output layers share the embedding matrix and may be absent from the state; nothing else may be.
    missing = [m for m in missing if m not in _tied_names(student)]
    if missing or unexpected:
        raise ConfigError(
            f"Tunewright could not map this teacher's layers onto a smaller copy ({len(missing)} weights missing, "
            f"{len(unexpected)} left over); choose a smaller compatible model as the student instead."
        )
    return student, kept


def cut_layers(teacher: PreTrainedModel, layers: int | None) -> Cut:
    """A student of `layers` of the teacher's layers (None: half of them), as the distillation recipe takes it."""
    student, kept = keep_layers(teacher, layers or max(1, layer_count(teacher) // 2))
    return Cut(student, len(kept), layer_count(teacher), "layers", f"made of its layers {', '.join(str(i + 1) for i in kept)}",
               matmul_work(teacher) / matmul_work(student))


def matmul_work(model: torch.nn.Module) -> int:
    """Multiplications per token: the weights of every linear layer (the output layer included); embedding
    look-ups cost next to nothing. The expected speed-up is the teacher's work over the student's."""
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def _tied_names(model: PreTrainedModel) -> set[str]:
    tied = getattr(model, "_tied_weights_keys", None) or []
    return set(tied.keys() if isinstance(tied, dict) else tied)


def parameter_count(model: torch.nn.Module) -> int:
    """Distinct parameters (a tied embedding and output layer count once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
