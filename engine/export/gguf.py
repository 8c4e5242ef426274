"""GGUF for llama.cpp and Ollama: one file holding a Llama-family model, its tokenizer and chat template.

Why the file is written here, with the `gguf` package's GGUFWriter, rather than by llama.cpp's own
`convert_hf_to_gguf.py`: that converter is a script in the llama.cpp repository, not a package on PyPI, so
an installed app cannot call it. What it does for a Llama model is small and well specified (architecture
numbers, a byte-level BPE vocabulary, tensors renamed, Q and K rows reordered for llama.cpp's rotary
layout), and every file written here is read back by an independent reader (transformers' GGUF loader)
before it is called good (engine/export/verify.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch
from gguf import GGMLQuantizationType, GGUFWriter, LlamaFileType, TokenType
from gguf.quants import quantize

from engine.config import ConfigError

GGUF_TYPES = {"gguf-f16": (GGMLQuantizationType.F16, LlamaFileType.MOSTLY_F16), "gguf-q8_0": (GGMLQuantizationType.Q8_0, LlamaFileType.MOSTLY_Q8_0)}

# Hugging Face Llama parameter names -> llama.cpp tensor names ({layer} is the block number).
LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
TOP_NAMES = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"}


def gguf_file_name(fmt: str) -> str:
    return f"model-{fmt.removeprefix('gguf-')}.gguf"


def write_gguf(model, tokenizer, folder: Path, fmt: str, *, name: str) -> Path:
    """Write `model` (a plain, merged Llama-family causal LM) as one GGUF file in `folder`."""
    config = model.config
    check_llama(config)
    weight_type, file_type = GGUF_TYPES[fmt]
    path = folder / gguf_file_name(fmt)
    writer = GGUFWriter(str(path), "llama")

    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(rope_theta(config))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_file_type(file_type)
    writer.add_quantization_version(2)
    add_tokenizer(writer, tokenizer, config.vocab_size)

    tied = bool(getattr(config, "tie_word_embeddings", False))
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight" and tied:
            continue  # llama.cpp uses the token embedding as the output layer when `output.weight` is absent
        gguf_name = tensor_name(hf_name)
        data = tensor.detach().float().cpu()
        if hf_name.endswith("q_proj.weight"):
            data = to_llama_cpp_rope_layout(data, config.num_attention_heads)
        elif hf_name.endswith("k_proj.weight"):
            data = to_llama_cpp_rope_layout(data, config.num_key_value_heads)
        array = data.numpy()
        if array.ndim == 1:  # norms stay float32, as llama.cpp's converter keeps them
            writer.add_tensor(gguf_name, array.astype(np.float32))
        elif weight_type == GGMLQuantizationType.F16:
            writer.add_tensor(gguf_name, array.astype(np.float16))
        else:
            writer.add_tensor(gguf_name, quantize(array, weight_type), raw_dtype=weight_type)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def check_llama(config) -> None:
    """Only what this writer knows how to write: the plain Llama layout (SmolLM2, Llama 2/3, TinyLlama)."""
    if getattr(config, "model_type", "") != "llama":
        raise ConfigError(
            f"GGUF export is available for Llama-family models (such as SmolLM2); this model is "
            f"'{getattr(config, 'model_type', 'unknown')}'. Export it as a merged folder instead."
        )
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        raise ConfigError("This Llama variant has bias terms, which the GGUF export does not write; export it as a merged folder instead.")
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    if rope.get("rope_type", "default") != "default":
        raise ConfigError(
            f"This model stretches its context with '{rope.get('rope_type')}' rotary scaling, which the GGUF "
            "export does not write; export it as a merged folder instead."
        )


def rope_theta(config) -> float:
    rope = getattr(config, "rope_parameters", None) or {}
    return float(rope.get("rope_theta") or getattr(config, "rope_theta", 10000.0))


def tensor_name(hf_name: str) -> str:
    if hf_name in TOP_NAMES:
        return TOP_NAMES[hf_name]
    match = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", hf_name)
    if not match or match.group(2) not in LAYER_NAMES:
        raise ConfigError(f"The model has a part ('{hf_name}') that the GGUF export does not know where to put.")
    return f"blk.{match.group(1)}.{LAYER_NAMES[match.group(2)]}"


def to_llama_cpp_rope_layout(weight: torch.Tensor, heads: int) -> torch.Tensor:
    """Hugging Face's Llama rotates the two halves of each head's query/key vector; llama.cpp's `llama`
    architecture rotates neighbouring pairs. Reorder each head's rows from [halves] to [pairs] so both
    compute the same attention (transformers' GGUF loader undoes exactly this)."""
    rows, columns = weight.shape
    return weight.reshape(heads, 2, rows // heads // 2, columns).transpose(1, 2).reshape(rows, columns)


def add_tokenizer(writer: GGUFWriter, tokenizer, vocab_size: int) -> None:
    """A byte-level BPE tokenizer (GPT-2 style, as SmolLM2 and Llama 3 use) in llama.cpp's "gpt2" form."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec["model"]
    if model.get("type") != "BPE" or "ByteLevel" not in json.dumps(spec.get("pre_tokenizer")):
        raise ConfigError(
            "GGUF export writes byte-level BPE tokenizers (GPT-2 style, as SmolLM2 and Llama 3 use); this "
            "model's tokenizer is different. Export it as a merged folder instead."
        )
    by_id = {index: token for token, index in model["vocab"].items()}
    added = {item["id"]: item for item in spec.get("added_tokens", [])}
    for index, item in added.items():
        by_id[index] = item["content"]
    tokens, types = [], []
    for index in range(vocab_size):
        if index in added:
            tokens.append(added[index]["content"])
            types.append(TokenType.CONTROL if added[index]["special"] else TokenType.USER_DEFINED)
        elif index in by_id:
            tokens.append(by_id[index])
            types.append(TokenType.NORMAL)
        else:  # embedding rows beyond the vocabulary (padded for speed)
            tokens.append(f"[PAD{index}]")
            types.append(TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]

    writer.add_tokenizer_model("gpt2")
    # llama.cpp picks its pre-tokenizer regex by this name; "smollm" is the one for SmolLM/SmolLM2's
    # digit-splitting byte-level BPE, "default" the plain GPT-2 one.
    writer.add_tokenizer_pre("smollm" if "Digits" in json.dumps(spec.get("pre_tokenizer")) else "default")
    writer.add_token_list(tokens)
    writer.add_token_types([int(t) for t in types])
    writer.add_token_merges(merges)
    for kind, token_id in (("bos", tokenizer.bos_token_id), ("eos", tokenizer.eos_token_id), ("pad", tokenizer.pad_token_id), ("unk", tokenizer.unk_token_id)):
        if token_id is not None:
            getattr(writer, f"add_{kind}_token_id")(int(token_id))
    writer.add_add_bos_token(False)  # the chat template writes every special token itself
    writer.add_add_space_prefix(False)
    if tokenizer.chat_template:
        writer.add_chat_template(tokenizer.chat_template)


# ---------------------------------------------------------------- Ollama


CHATML_START, CHATML_END = "<|im_start|>", "<|im_end|>"

# The Go-template equivalent of a ChatML chat template, as Ollama renders it: every message (the Modelfile's
# SYSTEM first, when there is one) framed by <|im_start|>role ... <|im_end|>, then the assistant's header.
OLLAMA_CHATML = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n"
    "{{ .Content }}<|im_end|>\n"
    "{{ end }}<|im_start|>assistant\n"
)


def chatml(messages: list[dict[str, str]]) -> str:
    """What OLLAMA_CHATML renders for `messages` (written out in Python so the two can be compared)."""
    return "".join(f"{CHATML_START}{m['role']}\n{m['content']}{CHATML_END}\n" for m in messages) + f"{CHATML_START}assistant\n"


def write_modelfile(folder: Path, gguf_path: Path, tokenizer, system_prompt: str) -> Path:
    """An Ollama Modelfile next to the GGUF: `ollama create NAME -f Modelfile` in that folder.

    Only a ChatML template (SmolLM2, Qwen, many fine-tunes) is translated; the model's own template is
    rendered on a sample conversation and must give exactly what the Go template gives, else no Modelfile
    is written rather than one that would make the model talk past its turn."""
    sample = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]
    rendered = tokenizer.apply_chat_template(sample, tokenize=False, add_generation_prompt=True) if tokenizer.chat_template else ""
    if rendered != chatml(sample):
        raise ConfigError(
            "The model's chat template is not the ChatML layout the Ollama Modelfile is written for, so no "
            "Modelfile was written; the GGUF file itself is fine for llama.cpp."
        )
    system = ollama_text(system_prompt or default_system_prompt(tokenizer))
    lines = [f"FROM ./{gguf_path.name}", f'TEMPLATE """{OLLAMA_CHATML}"""']
    if system:
        lines.append(f'SYSTEM """{system}"""')
    for stop in (CHATML_END, CHATML_START):
        lines.append(f'PARAMETER stop "{stop}"')
    if tokenizer.eos_token and tokenizer.eos_token not in (CHATML_END, CHATML_START):
        lines.append(f'PARAMETER stop "{tokenizer.eos_token}"')
    path = folder / "Modelfile"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ollama_text(text: str) -> str:
    """``text`` as it can stand between a Modelfile's triple quotes and be read back whole.

    Ollama's reader has no escapes: a triple-quoted value ends at the first line break where the value
    so far ends in three double quotes, so a prompt holding three quotes in a row could close its value
    early and have the rest read as commands of its own (ADAPTER, PARAMETER ...). Such runs are broken
    with spaces. Ollama drops characters it cannot print, so they are dropped here too, and line breaks
    are written as "\\n", keeping what the file says and what Ollama reads the same."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    printable = "".join(char for char in text if char.isprintable() or char in "\t\n")
    return re.sub(r'"{3,}', lambda run: " ".join(run.group()), printable)


def read_modelfile(text: str) -> list[tuple[str, str]]:
    """The commands of a Modelfile as Ollama's parser reads them (its parser/parser.go): a list of (command,
    value), the command lower-case and FROM's called "model"; ValueError where Ollama would refuse the file.

    Its rules: a command is letters then a space or tab; PARAMETER's name follows as one word; a value runs
    to a line break at which it unquotes (a value opened with three quotes needs three closing ones before
    that line break, one opened with one quote one); characters that cannot be printed are dropped."""
    commands: list[tuple[str, str]] = []
    state, buffer, name = "nil", "", ""
    for char in text:
        if state == "nil":
            if char == "#":
                state = "comment"
            elif char not in " \t\r\n":
                state, buffer = "name", char
        elif state == "comment":
            state = "nil" if char in "\r\n" else "comment"
        elif state == "name":
            if char.isascii() and char.isalpha():
                buffer += char
            elif char in " \t" and buffer.lower() in _OLLAMA_COMMANDS:
                word = buffer.lower()
                state, name, buffer = ("parameter" if word == "parameter" else "value"), ("model" if word == "from" else word), ""
            else:
                raise ValueError(f"'{buffer}' is not a Modelfile command")
        elif state == "parameter":
            if char.isascii() and (char.isalnum() or char == "_"):
                buffer += char
            elif char in " \t":
                state, name, buffer = "value", buffer, ""
            else:
                raise ValueError("a PARAMETER without a value")
        elif state == "value":
            if char in "\r\n":
                value = _unquote(buffer.strip())
                if value is None:
                    buffer += char
                else:
                    commands.append((name, value))
                    state, buffer = "nil", ""
            elif char in " \t" or char.isprintable():
                buffer += char
    if state == "value":
        value = _unquote(buffer.strip())
        if value is None:
            raise ValueError("a quoted value is not closed")
        commands.append((name, value))
    elif state not in ("nil", "comment"):
        raise ValueError("the file ends inside a command")
    if not any(command == "model" for command, _ in commands):
        raise ValueError("no FROM line")
    return commands


_OLLAMA_COMMANDS = {"from", "license", "template", "system", "adapter", "draft", "renderer", "parser", "parameter", "message", "requires"}


def _unquote(value: str) -> str | None:
    if value.startswith('"""'):
        return value[3:-3] if len(value) >= 6 and value.endswith('"""') else None
    if value.startswith('"'):
        return value[1:-1] if len(value) >= 2 and value.endswith('"') else None
    return value


def modelfile_problems(path: Path, system_prompt: str) -> list[str]:
    """What is wrong with a written Modelfile, read by Ollama's rules: it must hold its FROM, TEMPLATE, the
    one SYSTEM we meant (when there is one) and stop words, and nothing else."""
    try:
        commands = read_modelfile(path.read_text(encoding="utf-8"))
    except ValueError as error:
        return [f"Ollama could not read the Modelfile ({error})."]
    names = [name for name, _ in commands]
    problems = []
    unexpected = sorted(set(names) - {"model", "template", "system", "stop"})
    if unexpected or names.count("model") != 1 or names.count("template") != 1 or names.count("system") > 1:
        problems.append(f"Ollama would read commands in the Modelfile that were not meant to be there ({', '.join(unexpected or names)}).")
    systems = [value for name, value in commands if name == "system"]
    if system_prompt and systems != [ollama_text(system_prompt)]:
        problems.append("Ollama would not read the system prompt in the Modelfile as it was written.")
    return problems


def default_system_prompt(tokenizer) -> str:
    """The system message the model's template adds when a conversation has none (SmolLM2 has one), so
    Ollama behaves as the Hugging Face model does."""
    with_none = tokenizer.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True)
    match = re.match(re.escape(CHATML_START) + r"system\n(.*?)" + re.escape(CHATML_END), with_none, re.S)
    return match.group(1) if match else ""
