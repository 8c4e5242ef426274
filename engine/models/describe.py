"""What a model folder holds, read without loading its weights: task, size, context, licence, safety.

Torch-free (the window lists models with it). The parameter count is exact where the weight files say it:
the safetensors headers and a GGUF's tensor table carry every tensor's shape, read here without the data.
Otherwise it is estimated from config.json with the usual transformer formula, and says so.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.protocol import message
from engine.tasks import CAUSAL, ENCODER, TASKS

SAFETENSORS = "safetensors"
GGUF = "gguf"
PICKLE = "pickle"
NO_WEIGHTS = "none"
#: A plain state dict read with torch.load(weights_only=True): tensors only, no code runs (the bundled image model)
TENSORS_ONLY = "tensors only"

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
# Integer tensors in a weight file are buffers (BERT's position_ids), not parameters.
FLOAT_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}

COUNTED = "counted from the weight files"
ESTIMATED = "estimated from config.json"

# Encoders read a whole text at once: the models Tunewright sorts texts with.
ENCODER_TYPES = {
    "bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra", "albert", "deberta", "deberta-v2",
    "mpnet", "modernbert", "xlm", "ernie", "nomic_bert", "megatron-bert", "mobilebert", "luke", "eurobert",
}
# RoBERTa's position table starts counting after its padding index, so two of its rows are never used.
POSITION_OFFSET_TYPES = {"roberta", "xlm-roberta", "camembert", "luke"}
CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")
ENCODER_SUFFIXES = ("ForMaskedLM", "ForSequenceClassification", "ForTokenClassification", "ForPreTraining")
# The config.json default for `tie_word_embeddings` differs by family; these untie unless told otherwise.
UNTIED_BY_DEFAULT = {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "phi3", "olmo", "olmo2"}


@dataclass
class ModelInfo:
    """One model of the catalog, as the Models page shows it."""

    name: str
    ref: str  # what a job's `model` setting takes: demo:minilm, a folder, or a Hugging Face name
    source: str  # "bundled", "folder", "hub cache" or "hub download"
    path: str
    task: str = ""  # the task (engine/tasks) that trains this kind of model, or "" when none does
    #: every task it can learn: the one it already does, or each that trains its family of model
    tasks: tuple[str, ...] = ()
    architecture: str = ""
    model_type: str = ""
    parameters: int | None = None
    parameters_how: str = ""  # COUNTED or ESTIMATED
    context_length: int | None = None
    licence: str = ""
    disk_size: int = 0
    weights: str = NO_WEIGHTS  # SAFETENSORS, GGUF, PICKLE or NO_WEIGHTS
    custom_code: bool = False
    problem: str = ""  # one sentence when it cannot be used as it is
    about: str = ""

    @property
    def usable(self) -> bool:
        return not self.problem

    @property
    def safe(self) -> bool:
        """Loading it runs no code from the model's authors."""
        return self.weights in (SAFETENSORS, GGUF, TENSORS_ONLY) and not self.custom_code

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"usable": self.usable, "safe": self.safe}


# ---------------------------------------------------------------- reading a folder


def describe_folder(folder: Path, *, name: str = "", ref: str = "", source: str = "folder", disk_size: int | None = None) -> ModelInfo:
    """Everything the catalog shows about a Hugging Face style model folder (config.json and weights)."""
    folder = Path(folder)
    info = ModelInfo(name=name or folder.name, ref=ref or str(folder), source=source, path=str(folder))
    if not folder.is_dir():
        info.problem = message("model.folder_missing", path=folder)[1]
        return info
    info.disk_size = folder_size(folder) if disk_size is None else disk_size
    info.licence = card_licence(folder)
    info.weights = weights_format(folder)
    config = read_config(folder)
    if config is None:
        info.problem = _no_config_problem(folder, info.name)
        return info
    info.model_type = str(config.get("model_type") or "")
    info.architecture = architecture(config)
    info.tasks = tasks_for(config)
    info.task = info.tasks[0] if info.tasks else ""
    info.context_length = context_length(config)
    info.custom_code = bool(config.get("auto_map"))
    counted = count_safetensors(folder) if info.weights == SAFETENSORS else None
    if counted:
        info.parameters, info.parameters_how = counted, COUNTED
    else:
        estimate = estimate_parameters(config)
        if estimate:
            info.parameters, info.parameters_how = estimate, ESTIMATED
    info.problem = usability_problem(info, info.name)
    missing, shards = missing_shards(folder)
    if missing and not info.problem:
        info.problem = message("model.missing_shards", name=info.name, missing=missing, shards=shards)[1]
    return info


def describe_gguf(path: Path, *, name: str = "", ref: str = "", source: str = "folder") -> ModelInfo:
    """A single GGUF file: its tensor table and metadata say the size, architecture, context and licence."""
    fields, elements = read_gguf_header(path)
    arch = str(fields.get("general.architecture") or "")
    return ModelInfo(
        name=name or path.stem, ref=ref or str(path), source=source, path=str(path), model_type=arch,
        architecture=f"{arch} (GGUF)" if arch else "GGUF", weights=GGUF, disk_size=path.stat().st_size,
        parameters=elements, parameters_how=COUNTED, context_length=_int(fields.get(f"{arch}.context_length")),
        licence=str(fields.get("general.license") or ""),
        # GGUF files are written for text generation; Tunewright de-quantises them into a chat model.
        task=task_of_family(ENCODER if arch in ENCODER_TYPES else CAUSAL),
    )


# GGUF value types (gguf.GGUFValueType) and the struct codes of the scalar ones.
_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def read_gguf_header(path: Path) -> tuple[dict[str, Any], int]:
    """The scalar and string metadata of a GGUF file and the number of elements of all its tensors.

    Written by hand, not with gguf.GGUFReader: the reader turns every tokenizer entry into Python objects
    (3 s for the bundled SmolLM2 here), while this walks past the arrays and reads the header in ~0.1 s."""
    import mmap
    import struct

    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if data[:4] != b"GGUF":
            raise ValueError(f"{path.name} is not a GGUF file.")
        position = 8  # magic and version

        def take(code: str) -> Any:
            nonlocal position
            value = struct.unpack_from("<" + code, data, position)[0]
            position += struct.calcsize(code)
            return value

        def text() -> str:
            nonlocal position
            length = take("Q")
            position += length
            return bytes(data[position - length : position]).decode("utf-8", "replace")

        def value(kind: int) -> Any:
            nonlocal position
            if kind == _GGUF_STRING:
                return text()
            if kind == _GGUF_ARRAY:
                item_kind, count = take("I"), take("Q")
                if item_kind in _GGUF_SCALARS:
                    position += count * struct.calcsize(_GGUF_SCALARS[item_kind])
                else:
                    for _ in range(count):
                        value(item_kind)
                return None
            return take(_GGUF_SCALARS[kind])

        tensor_count, field_count = take("Q"), take("Q")
        fields = {}
        for _ in range(field_count):
            key = text()
            fields[key] = value(take("I"))
        elements = 0
        for _ in range(tensor_count):
            text()  # the tensor's name
            dims = take("I")
            elements += math.prod(take("Q") for _ in range(dims))
            position += 4 + 8  # its type and offset
    return fields, elements


def read_config(folder: Path) -> dict[str, Any] | None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def weights_format(folder: Path) -> str:
    names = [entry.name for entry in os.scandir(folder) if entry.is_file()]
    if any(name.endswith(".safetensors") for name in names):
        return SAFETENSORS
    if any(name.endswith(".gguf") for name in names):
        return GGUF
    if any(name.endswith(PICKLE_SUFFIXES) for name in names):
        return PICKLE
    return NO_WEIGHTS


def folder_size(folder: Path) -> int:
    """Bytes of every file under `folder` (links followed: a Hugging Face snapshot links to its blobs)."""
    total = 0
    for root, _, files in os.walk(folder):
        for file in files:
            try:
                total += os.stat(os.path.join(root, file)).st_size
            except OSError:
                pass
    return total


def card_licence(folder: Path) -> str:
    """The licence in the model card's front matter (README.md), e.g. 'apache-2.0'; '' if none is stated."""
    readme = folder / "README.md"
    if not readme.is_file():
        return ""
    from huggingface_hub.repocard import metadata_load

    try:
        front = metadata_load(readme) or {}
    except Exception:  # noqa: BLE001 - a malformed card only means the licence is unknown
        return ""
    licence = front.get("license")
    if isinstance(licence, list):
        licence = ", ".join(str(item) for item in licence)
    if licence == "other" and front.get("license_name"):
        licence = str(front["license_name"])
    return str(licence or "")


# ---------------------------------------------------------------- what kind of model


def architecture(config: dict[str, Any]) -> str:
    architectures = config.get("architectures") or []
    return str(architectures[0]) if architectures else str(config.get("model_type") or "")


def tasks_for(config: dict[str, Any]) -> tuple[str, ...]:
    """The tasks a model can be trained for: the one it already does (a trained tagger tags), else every task
    in the table that trains its family of model (a bare encoder can learn to sort texts or to tag names)."""
    from engine.tasks import task_of_architectures

    family = model_family(config)
    done = task_of_architectures(list(config.get("architectures") or []))
    if done is not None and done.model_family == family:
        return (done.name,)
    return tuple(name for name, task in TASKS.items() if family and task.model_family == family)


def task_for(config: dict[str, Any]) -> str:
    """The name of the first task in the table that trains this family of model; '' for none."""
    return task_of_family(model_family(config))


def task_of_family(family: str) -> str:
    return next((name for name, task in TASKS.items() if family and task.model_family == family), "")


def model_family(config: dict[str, Any]) -> str:
    """ENCODER, CAUSAL (a language model that writes text), or '' for a model Tunewright does not train."""
    model_type = str(config.get("model_type") or "")
    for name in config.get("architectures") or []:
        if name.endswith(CAUSAL_SUFFIXES):
            return CAUSAL
        if name.endswith(ENCODER_SUFFIXES) or model_type in ENCODER_TYPES:
            return ENCODER
    if model_type in ENCODER_TYPES:
        return ENCODER
    if not config.get("architectures") and model_type in UNTIED_BY_DEFAULT | {"gpt2", "gemma", "gemma2", "smollm3", "granite"}:
        return CAUSAL
    return ""


def context_length(config: dict[str, Any]) -> int | None:
    """The longest text, in tokens, the model was built to read."""
    config = config.get("text_config") or config
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx"):
        value = _int(config.get(key))
        if value:
            return value - 2 if config.get("model_type") in POSITION_OFFSET_TYPES and value > 2 else value
    return None


def usability_problem(info: ModelInfo, name: str) -> str:
    """The one sentence that says why this folder cannot be trained as it is; '' when it can."""
    if info.weights == NO_WEIGHTS:
        return message("model.no_weights", name=name)[1]
    if info.weights == PICKLE:
        return message("model.pickle_only", name=name)[1]
    if info.custom_code:
        return message("model.custom_code", name=name)[1]
    if not info.task:
        return message("model.unsupported", name=name, architecture=info.architecture or "unknown")[1]
    return ""


def _no_config_problem(folder: Path, name: str) -> str:
    inside = sorted(child.name for child in folder.iterdir() if (child / "config.json").is_file()) if folder.is_dir() else []
    if inside:
        return message("model.in_subfolder", name=name, inner=inside[0])[1]
    return message("model.no_config", name=name)[1]


# ---------------------------------------------------------------- parameter counts


def count_safetensors(folder: Path) -> int | None:
    """The exact number of parameters, summed over the tensor shapes in the safetensors headers."""
    from safetensors import safe_open  # reads the header only; with numpy, no torch is needed

    files = _weight_files(folder)
    if not files:
        return None
    total = 0
    try:
        for file in files:
            with safe_open(str(file), framework="numpy") as weights:
                for key in weights.keys():
                    tensor = weights.get_slice(key)
                    if tensor.get_dtype() in FLOAT_DTYPES:
                        total += math.prod(tensor.get_shape())
    except Exception:  # noqa: BLE001 - an unreadable header falls back to the estimate
        return None
    return total


def _index_shards(folder: Path) -> list[str]:
    """The shard files model.safetensors.index.json names; [] without an index."""
    try:
        index = json.loads((folder / "model.safetensors.index.json").read_text(encoding="utf-8"))
        return sorted(set(index["weight_map"].values()))
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return []


def missing_shards(folder: Path) -> tuple[int, int]:
    """How many of the index's shards are not in the folder (a download that stopped half-way), of how many."""
    shards = _index_shards(folder)
    return sum(not (folder / shard).is_file() for shard in shards), len(shards)


def _weight_files(folder: Path) -> list[Path]:
    """The files of one copy of the weights: the index's shards, or model.safetensors, or the lone file.

    Some repositories carry the same weights twice (consolidated.safetensors beside the shards)."""
    shards = _index_shards(folder)
    if shards:
        files = [folder / shard for shard in shards]
        return files if all(file.is_file() for file in files) else []  # a partial count would pass for exact
    if (folder / "model.safetensors").is_file():
        return [folder / "model.safetensors"]
    files = sorted(folder.glob("*.safetensors"))
    return files if len(files) == 1 else [file for file in files if file.name.startswith("model")] or files[:1]


def estimate_parameters(config: dict[str, Any]) -> int | None:
    """Parameters from the shapes config.json implies (exact for the standard BERT and Llama layouts)."""
    config = config.get("text_config") or config
    hidden = _first(config, "hidden_size", "d_model", "n_embd", "dim")
    layers = _first(config, "num_hidden_layers", "n_layer", "n_layers", "num_layers")
    vocab = _first(config, "vocab_size")
    if not (hidden and layers and vocab):
        return None
    model_type = str(config.get("model_type") or "")
    if model_type in ENCODER_TYPES:
        return _encoder_parameters(config, hidden, layers, vocab)
    if model_type == "gpt2":
        return _gpt2_parameters(config, hidden, layers, vocab)
    return _decoder_parameters(config, hidden, layers, vocab)


def _encoder_parameters(config: dict[str, Any], hidden: int, layers: int, vocab: int) -> int:
    """BERT's layout: embeddings (words, positions, segments) with a LayerNorm, then per layer the attention
    (q, k, v, out with biases), two LayerNorms and the feed-forward pair; then BERT's pooler."""
    inner = _first(config, "intermediate_size", "hidden_dim") or 4 * hidden
    positions = _first(config, "max_position_embeddings") or 512
    segments = config.get("type_vocab_size", 2) if config.get("model_type") != "distilbert" else 0
    embeddings = (vocab + positions + segments) * hidden + 2 * hidden
    per_layer = 4 * (hidden * hidden + hidden) + (hidden * inner + inner) + (inner * hidden + hidden) + 4 * hidden
    pooler = hidden * hidden + hidden if config.get("model_type") in ("bert", "roberta", "xlm-roberta", "camembert") else 0
    return embeddings + layers * per_layer + pooler


def _gpt2_parameters(config: dict[str, Any], hidden: int, layers: int, vocab: int) -> int:
    inner = config.get("n_inner") or 4 * hidden
    positions = _first(config, "n_positions", "max_position_embeddings") or 1024
    per_layer = 4 * hidden + (hidden * 3 * hidden + 3 * hidden) + (hidden * hidden + hidden) + (hidden * inner + inner) + (inner * hidden + hidden)
    return (vocab + positions) * hidden + layers * per_layer + 2 * hidden


def _decoder_parameters(config: dict[str, Any], hidden: int, layers: int, vocab: int) -> int:
    """The Llama layout most chat models share: grouped-query attention, a gated MLP, RMSNorms."""
    heads = _first(config, "num_attention_heads", "n_head") or 1
    kv_heads = _first(config, "num_key_value_heads") or heads
    head_dim = _first(config, "head_dim") or hidden // heads
    inner = _first(config, "intermediate_size") or 4 * hidden
    model_type = str(config.get("model_type") or "")
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    if config.get("attention_bias"):
        attention += heads * head_dim + 2 * kv_heads * head_dim + hidden
    elif model_type.startswith("qwen2"):  # Qwen2 has q, k, v biases without saying so in the config
        attention += heads * head_dim + 2 * kv_heads * head_dim
    if model_type.startswith("qwen3"):  # per-head norms of queries and keys
        attention += 2 * head_dim
    mlp = 3 * hidden * inner + (2 * inner + hidden if config.get("mlp_bias") else 0)
    experts = _first(config, "num_local_experts", "num_experts")
    if experts:
        expert_inner = _first(config, "moe_intermediate_size") or inner
        mlp = experts * 3 * hidden * expert_inner + hidden * experts
    norms = (4 if model_type.startswith(("gemma2", "gemma3")) else 2) * hidden
    tied = config.get("tie_word_embeddings", model_type not in UNTIED_BY_DEFAULT)
    return vocab * hidden * (1 if tied else 2) + layers * (attention + mlp + norms) + hidden


def _first(config: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = _int(config.get(key))
        if value:
            return value
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None
