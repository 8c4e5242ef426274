"""The memory forecast against exact counts of tiny models built from a config, and the planner's choices."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from engine import store
from engine.config import ChatConfig, ClassifyConfig
from engine.forecast import (
    GB, LOSS_CHUNK_ELEMENTS, forecast_memory, layer_activation_bytes, lora_parameter_count, parameter_counts,
    shape_from_config,
)
from engine.planner import DataStats, Machine, plan
from tests.engine.helpers import run_in_process
from tests.engine.test_planner_gpu import shape_of


def _configs():
    from transformers import BertConfig, LlamaConfig, Qwen2Config

    small = dict(vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
    return {
        "llama tied": LlamaConfig(**small, tie_word_embeddings=True),
        "llama untied, wide heads": LlamaConfig(**small, tie_word_embeddings=False, head_dim=32),
        "qwen2 (q/k/v biases)": Qwen2Config(**small, tie_word_embeddings=True),
        "bert classifier": BertConfig(vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=128, num_labels=5),
    }


@pytest.mark.parametrize("name", list(_configs()))
def test_parameter_counts_match_the_model_built_from_the_config(name):
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    config = _configs()[name]
    shape = shape_from_config(config)
    encoder = config.model_type == "bert"
    model = (AutoModelForSequenceClassification if encoder else AutoModelForCausalLM).from_config(config)
    counts = parameter_counts(shape)
    assert counts.total == sum(p.numel() for p in model.parameters())
    numel = lambda *parts: sum(p.numel() for n, p in model.named_parameters() if any(part in n for part in parts) and "LayerNorm" not in n)  # noqa: E731
    assert counts.embeddings == numel("embeddings", "embed_tokens")
    assert counts.attention == numel("attention.self", "attention.output.dense", "self_attn")
    assert counts.mlp == numel("intermediate.dense", "output.dense", "mlp") - numel("attention.output.dense")
    assert counts.lm_head == numel("pooler", "classifier") if encoder else counts.lm_head == numel("lm_head") * (not shape.tied)
    lora = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS if encoder else TaskType.CAUSAL_LM, r=8, target_modules="all-linear"))
    assert lora_parameter_count(shape, 8) == sum(p.numel() for n, p in lora.named_parameters() if "lora_" in n)


def _saved_bytes_per_token_per_layer(config, method: str) -> float:
    """What autograd really keeps: the bytes of tensors saved for backward (weights excluded), per token and
    per layer, from the difference between 2 and 3 layers and between batches of 2 and 4."""
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import LlamaForCausalLM

    def saved(layers: int, batch: int) -> int:
        torch.manual_seed(0)
        config.num_hidden_layers = layers
        model = LlamaForCausalLM(config)
        if method == "lora":
            model = get_peft_model(model.to(torch.bfloat16), LoraConfig(task_type=TaskType.CAUSAL_LM, r=16, lora_dropout=0.05, target_modules="all-linear"))
        weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
        seen: dict[int, int] = {}

        def pack(t):
            storage = t.untyped_storage()
            if storage.data_ptr() not in weights:
                seen[storage.data_ptr()] = storage.nbytes()
            return t

        ids = torch.randint(0, config.vocab_size, (batch, 32))
        mask = torch.ones_like(ids)
        mask[0, -5:] = 0  # padded, as the recipe's batches are
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.autocast("cpu", dtype=torch.bfloat16):
            model(input_ids=ids, attention_mask=mask)
        return sum(seen.values())

    per_layer_4, per_layer_2 = saved(3, 4) - saved(2, 4), saved(3, 2) - saved(2, 2)
    return (per_layer_4 - per_layer_2) / (2 * 32)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_activation_formula_matches_what_autograd_saves(method):
    """The coefficients were fitted on other widths; here a new shape (GQA 6/2 heads, FFN 2.5x)."""
    from transformers import LlamaConfig

    config = LlamaConfig(vocab_size=100, hidden_size=192, intermediate_size=480, num_attention_heads=6, num_key_value_heads=2, head_dim=32, attn_implementation="sdpa")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measured = _saved_bytes_per_token_per_layer(config, method)
    predicted = layer_activation_bytes(shape_from_config(config), method, lora_rank=16)
    assert abs(predicted - measured) / measured < 0.05, (predicted, measured)


def test_forecast_orders_methods_and_responds_to_checkpointing_and_batch():
    big = lambda method: forecast_memory(shape_of("7.6B"), method, 1, 512).allocated  # noqa: E731
    assert big("qlora") < big("lora") < big("full")  # where the weights dominate
    shape = shape_of("1.2B")
    at = lambda method, batch=8, ckpt=False: forecast_memory(shape, method, batch, 1024, checkpointing=ckpt)  # noqa: E731
    assert at("lora").allocated < at("full").allocated
    assert at("lora", ckpt=True).allocated < 0.6 * at("lora").allocated
    # Doubling the batch adds one more batch's activations; the weights stay, and the chunked loss holds one
    # chunk of logits whatever the batch.
    small, large = at("lora", 4), at("lora", 8)
    assert large.allocated - small.allocated == pytest.approx(small.parts["activations"], rel=0.01)
    assert large.parts["logits_and_loss"] == small.parts["logits_and_loss"] == 12 * LOSS_CHUNK_ELEMENTS
    assert large.parts["weights"] == small.parts["weights"]
    # Full training: fp32 weights (4 bytes), AdamW's two moments (8) per weight.
    full = at("full")
    for forecast in (full, large, at("lora", ckpt=True), big_q := forecast_memory(shape_of("7.6B"), "qlora", 1, 512)):
        assert sum(forecast.parts.values()) == pytest.approx(forecast.allocated)
    assert big_q.parts["weights"] < 0.3 * forecast_memory(shape_of("7.6B"), "full", 1, 512).parts["weights"]
    n = parameter_counts(shape).total
    assert full.parts["weights"] == 4 * n and full.parts["optimizer_states"] == 8 * n


def test_the_sentence_says_what_fits():
    shape = shape_of("135M")
    roomy = forecast_memory(shape, "lora", 2, 512, available=24 * GB)
    assert roomy.fits and roomy.sentence().endswith("GB to spare.") and " of 24 GB: fits with " in roomy.sentence()
    tight = forecast_memory(shape_of("7.6B"), "lora", 8, 2048, available=24 * GB)
    assert not tight.fits and "does not fit" in tight.sentence()


# ---------------------------------------------------------------- the plan


def _chat(**values) -> ChatConfig:
    return ChatConfig(**{"model": "m", "data": "d", "method": "auto", "micro_batch_size": None, "max_length": None, "epochs": None, **values})


def test_plan_chooses_lora_for_a_language_model_and_a_batch_layout_that_fits():
    lengths = [100 + (i * 37) % 700 for i in range(1000)]  # up to 799 tokens
    result = plan(_chat(batch_size=16), Machine("cuda", "NVIDIA GeForce RTX 4090", 24 * GB), DataStats(5000, lengths), shape_of("1.2B"))
    config = result.config
    assert config.method == "lora"
    assert config.max_length == 792  # 99% of the examples, rounded to a multiple of 8
    assert result.memory.fits
    assert config.micro_batch_size < 16 and 16 % config.micro_batch_size == 0
    # The next larger micro-batch would not have fitted (the largest that fits is chosen)
    bigger = forecast_memory(shape_of("1.2B"), "lora", config.micro_batch_size * 2, 792, checkpointing=config.gradient_checkpointing == "on", available=24 * GB, accumulation=1)
    assert not bigger.fits
    reasons = {d.setting: d.reason for d in result.decisions}
    assert {"method", "max_length", "micro_batch_size", "gradient_checkpointing", "learning_rate", "epochs", "eval_every"} <= set(reasons)
    assert "pieces of" in reasons["micro_batch_size"] and "same as one batch of 16" in reasons["micro_batch_size"]
    assert config.epochs == 3.0 and config.learning_rate == 2e-4


def test_plan_turns_checkpointing_on_only_when_needed_and_qlora_only_with_bitsandbytes():
    lengths = [2048] * 100
    big = shape_of("7.6B")
    roomy = plan(_chat(batch_size=4), Machine("cuda", "H100", 80 * GB), DataStats(100_000, lengths), big)
    assert roomy.config.gradient_checkpointing == "off" and roomy.config.method == "lora"
    small_gpu = plan(_chat(batch_size=4), Machine("cuda", "RTX 4080", 16 * GB), DataStats(100_000, lengths), big)
    assert small_gpu.config.method == "lora" and not small_gpu.memory.fits  # no bitsandbytes: says it does not fit
    with_bnb = plan(_chat(batch_size=4), Machine("cuda", "RTX 4080", 16 * GB, bitsandbytes=True), DataStats(100_000, lengths), big)
    assert with_bnb.config.method == "qlora" and with_bnb.memory.fits
    assert with_bnb.config.gradient_checkpointing == "on"
    assert with_bnb.config.epochs == 1.0


def test_plan_trains_small_encoders_fully_and_keeps_what_the_user_set():
    from transformers import BertConfig

    shape = shape_from_config(BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536))
    config = ClassifyConfig(model="m", data="d", method="auto", learning_rate=1e-4, epochs=5, max_length=64)
    result = plan(config, Machine("cpu", "cpu", None), DataStats(300, [20] * 300), shape)
    assert result.config.method == "full"
    assert result.config.learning_rate == 1e-4 and result.config.epochs == 5 and result.config.max_length == 64
    assert result.config.micro_batch_size == config.batch_size and result.config.gradient_checkpointing == "off"
    assert config.method == "auto"  # the caller's config is left as written
    assert result.time.seconds > 0


def test_small_encoders_get_larger_steps_than_base_size_ones():
    from transformers import BertConfig

    def decided_rate(hidden: int, layers: int) -> tuple[float, str]:
        shape = shape_from_config(BertConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=12, intermediate_size=4 * hidden))
        result = plan(ClassifyConfig(model="m", data="d", method="full"), Machine("cpu", "cpu", None), DataStats(300, [20] * 300), shape)
        return result.config.learning_rate, next(d.reason for d in result.decisions if d.setting == "learning_rate")

    rate, why = decided_rate(384, 6)  # all-MiniLM-L6-v2's size: 23 million weights
    assert rate == 2e-4 and "a small encoder (23 million weights)" in why
    assert decided_rate(768, 12)[0] == 5e-5  # BERT-base's: 110 million


def test_cli_plan_prints_decisions_memory_and_time_without_training(tmp_path, tiny_chat_config, capsys):
    from engine.__main__ import main

    path = tmp_path / "job.json"
    path.write_text(json.dumps({**tiny_chat_config, "method": "auto", "max_length": None, "epochs": None}))
    assert main(["plan", str(path), "--set", "batch_size=4", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    settings = {d["setting"]: d for d in shown["decisions"]}
    assert settings["method"]["value"] == "lora" and settings["method"]["reason"].startswith("LoRA:")
    assert settings["epochs"]["value"] == 10.0  # 82 training conversations: more passes
    assert shown["config"]["max_length"] == settings["max_length"]["value"] <= 512
    assert shown["time"]["seconds"] > 0 and shown["time"]["sentence"].startswith("About ")
    # plain words for everyone, the engineer's figures as the detail
    assert "of training on this computer's processor" in shown["time"]["sentence"]
    assert "GFLOP" not in shown["time"]["sentence"] and "evaluation passes" in shown["time"]["detail"]


def test_a_run_with_automatic_settings_records_each_decision(tunewright_home, tiny_chat_config):
    db, run_id = run_in_process(tunewright_home, {**tiny_chat_config, "max_length": None, "epochs": None, "method": "auto", "max_steps": 2, "batch_size": 2, "eval_every": 2, "eval_fraction": 0.05})
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    codes = {e["code"]: e["message"] for e in store.events(db, run_id)}
    assert {"plan.method", "plan.max_length", "plan.batch_layout", "plan.checkpointing", "plan.epochs", "plan.time"} <= set(codes)
    assert run["config"]["method"] == "lora" and run["config"]["max_length"] is not None  # written back


def test_a_model_whose_config_gives_no_sizes_still_gets_a_plan_with_plain_defaults():
    from transformers import PretrainedConfig

    with pytest.raises(ValueError, match="does not give the usual transformer sizes"):
        shape_from_config(PretrainedConfig())
    result = plan(_chat(batch_size=8), Machine("cuda", "NVIDIA L4", 24 * GB), DataStats(100, [50] * 100), None)
    assert result.config.method == "lora" and result.config.micro_batch_size == 8
    assert result.config.gradient_checkpointing == "off" and result.config.max_length == 56
    assert result.memory is None and result.time is None


# ---------------------------------------------------------------- several GPUs: whole copies or the model divided


def _full(**values) -> ChatConfig:
    return _chat(method="full", batch_size=8, max_length=1024, **values)


def _sharding_decision(result) -> str:
    return next((d.reason for d in result.decisions if d.setting == "sharding"), "")


@pytest.mark.parametrize(
    ("model", "processes", "proven", "expected", "said"),
    [
        ("7.6B", 4, True, "fsdp", "The model is divided among the 4 GPUs"),  # 122 GB of weights, gradients, moments
        ("1.2B", 4, True, "off", "Each GPU keeps a whole copy of the model"),  # 19 GB: fits one
        ("7.6B", 4, False, "off", "did not give the same results"),  # dividing did not prove itself here
        ("7.6B", 1, True, "auto", ""),  # one GPU: nothing to decide
    ],
)
def test_plan_divides_the_model_among_gpus_only_when_one_cannot_hold_it(model, processes, proven, expected, said):
    machine = Machine("cuda", "H100", 80 * GB, processes=processes, can_shard=proven)
    result = plan(_full(), machine, DataStats(10_000, [1000] * 100), shape_of(model))
    assert result.config.sharding == expected
    assert said in _sharding_decision(result)
    if expected == "fsdp":
        whole = forecast_memory(shape_of(model), "full", 1, 1024, checkpointing=True, available=80 * GB)
        assert not whole.fits and result.memory.fits  # what one GPU cannot hold, each of the four can
        assert f"({whole.details['model_state'] / GB:.1f} GB)" in _sharding_decision(result)


def test_the_settings_choice_of_whole_copies_or_division_wins():
    machine = Machine("cuda", "H100", 80 * GB, processes=4, can_shard=True)
    kept_whole = plan(_full(sharding="off"), machine, DataStats(10_000, [1000] * 100), shape_of("7.6B"))
    assert kept_whole.config.sharding == "off" and not _sharding_decision(kept_whole) and not kept_whole.memory.fits
    divided = plan(_full(sharding="fsdp"), machine, DataStats(10_000, [1000] * 100), shape_of("1.2B"))
    alone = plan(_full(), Machine("cuda", "H100", 80 * GB), DataStats(10_000, [1000] * 100), shape_of("1.2B"))
    assert divided.config.sharding == "fsdp" and not _sharding_decision(divided)
    assert divided.memory.parts["weights"] == pytest.approx(alone.memory.parts["weights"] / 4)


def test_with_several_gpus_lora_divided_comes_before_qlora_and_a_processor_keeps_whole_copies():
    lengths = [512] * 100
    two = Machine("cuda", "RTX 4080", 16 * GB, bitsandbytes=True, processes=2, can_shard=True)
    result = plan(_chat(batch_size=4), two, DataStats(10_000, lengths), shape_of("7.6B"))
    assert (result.config.method, result.config.sharding) == ("lora", "fsdp") and result.memory.fits
    one = plan(_chat(batch_size=4), Machine("cuda", "RTX 4080", 16 * GB, bitsandbytes=True), DataStats(10_000, lengths), shape_of("7.6B"))
    assert one.config.method == "qlora"
    cpu = plan(_full(), Machine("cpu", "cpu", None, processes=2), DataStats(10_000, lengths), shape_of("135M"))
    assert cpu.config.sharding == "off" and "on the processor" in _sharding_decision(cpu)
