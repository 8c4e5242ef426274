"""Packed rows train exactly like separate examples: same loss, same gradients, no example sees another."""

import pytest
import torch
import torch.nn.functional as F

from engine import lm_loss
from engine.data.chat import IGNORE, TokenizedExample
from engine.data.packing import pack, padding_fraction
from engine.models.attention import VARLEN


@pytest.fixture(scope="module")
def model(tiny_llama):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32, attn_implementation="sdpa")
    return model.eval()


def examples(lengths=(7, 19, 1 + 1, 12, 30), seed=0) -> list[TokenizedExample]:
    """Random conversations: a prompt (not learned) then an answer (learned), of the given lengths."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for length in lengths:
        ids = torch.randint(5, 1000, (length,), generator=generator).tolist()
        prompt = length // 3
        out.append(TokenizedExample(ids, [IGNORE] * prompt + ids[prompt:], 0))
    return out


def padded_loss_sum(model, batch_examples) -> torch.Tensor:
    """The reference: a padded batch with an attention mask, the model's own logits, shifted labels."""
    width = max(len(e.input_ids) for e in batch_examples)
    ids = torch.zeros((len(batch_examples), width), dtype=torch.long)
    labels = torch.full((len(batch_examples), width), IGNORE)
    mask = torch.zeros((len(batch_examples), width), dtype=torch.long)
    for row, e in enumerate(batch_examples):
        ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[row, : len(e.labels)] = torch.tensor(e.labels)
        mask[row, : len(e.input_ids)] = 1
    logits = model(input_ids=ids, attention_mask=mask).logits
    return F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=IGNORE, reduction="sum")


def test_packed_loss_equals_the_padded_per_example_loss(model):
    batch_examples = examples()
    packed = pack(batch_examples)
    assert packed["input_ids"].shape == (1, sum(len(e.input_ids) for e in batch_examples))  # not one pad token
    assert packed["count"] == sum(sum(label != IGNORE for label in e.labels[1:]) for e in batch_examples)
    with torch.no_grad():
        packed_loss = lm_loss.packed_loss_sum(model, packed)
        padded = padded_loss_sum(model, batch_examples)
        one_by_one = sum(padded_loss_sum(model, [e]) for e in batch_examples)
    torch.testing.assert_close(packed_loss, padded, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(packed_loss, one_by_one, rtol=1e-5, atol=1e-5)


def test_a_packed_example_never_sees_its_neighbours(model):
    first, second = examples(seed=1), examples(seed=1)
    second[2] = examples(lengths=(len(first[2].input_ids),), seed=7)[0]  # only the middle example changes
    with torch.no_grad():
        logits = [
            model(input_ids=pack(e)["input_ids"], position_ids=pack(e)["position_ids"], use_cache=False).logits[0]
            for e in (first, second)
        ]
    starts = pack(first)["cu_seq_lens"].tolist()
    for index, (start, end) in enumerate(zip(starts[:-1], starts[1:])):
        if index == 2:
            assert not torch.allclose(logits[0][start:end], logits[1][start:end])
        else:
            torch.testing.assert_close(logits[0][start:end], logits[1][start:end], rtol=1e-5, atol=1e-5)
    # Each example's logits are those it gets alone, so nothing flows across a boundary either way.
    with torch.no_grad():
        alone = model(input_ids=torch.tensor([first[3].input_ids])).logits[0]
    torch.testing.assert_close(logits[0][starts[3] : starts[4]], alone, rtol=1e-5, atol=1e-5)


def test_variable_length_attention_matches_the_masked_attention(model):
    """The CUDA attention's plumbing (cu_seq_lens through the model), checked with its CPU stand-in."""
    packed = pack(examples())
    with torch.no_grad():
        masked = lm_loss.packed_loss_sum(model, packed)
        model.set_attn_implementation(VARLEN)
        try:
            varlen = lm_loss.packed_loss_sum(model, packed)
        finally:
            model.set_attn_implementation("sdpa")
    torch.testing.assert_close(varlen, masked, rtol=1e-5, atol=1e-5)


def test_chunked_cross_entropy_matches_the_plain_loss_and_gradients(model, monkeypatch):
    monkeypatch.setattr(lm_loss, "CHUNK_ELEMENTS", 64 * model.config.vocab_size)  # several chunks of 64 tokens
    packed = pack(examples(lengths=(90, 130, 40)))
    assert packed["count"] > 2 * 64
    model.zero_grad(set_to_none=True)
    chunked = lm_loss.packed_loss_sum(model, packed)
    chunked.backward()
    chunked_grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    logits = model(input_ids=packed["input_ids"], position_ids=packed["position_ids"], use_cache=False).logits[0]
    plain = F.cross_entropy(logits, packed["targets"][0], ignore_index=IGNORE, reduction="sum")
    plain.backward()
    torch.testing.assert_close(chunked, plain, rtol=1e-5, atol=1e-5)
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(chunked_grads[name], parameter.grad, rtol=1e-4, atol=1e-6, msg=name)
    model.zero_grad(set_to_none=True)


def test_padding_fraction_counts_the_pad_tokens():
    assert padding_fraction([10, 10, 10, 10], 2) == 0.0
    assert padding_fraction([10, 30], 2) == pytest.approx(1 - 40 / 60)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("weights", ["bf16", "fp32 under bf16 autocast"])
def test_on_cuda_the_fast_paths_give_the_exact_paths_loss_and_gradients(weights):
    """Variable-length flash attention and Liger's loss (where installed) against the masked SDPA and chunked
    loss on the GPU, on a random Llama with grouped-query attention: LoRA's bf16 weights, and full
    training's fp32 weights under autocast."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from engine.models.attention import packed_attention_for

    device = torch.device("cuda")
    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=8,
                         num_key_value_heads=2, vocab_size=4096, use_cache=False)
    model = LlamaForCausalLM(config).to(device, torch.bfloat16 if weights == "bf16" else torch.float32)
    packed = pack(examples(lengths=(70, 300, 5, 129)), device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=weights != "bf16")

    def loss_and_grad(attention: str, kernel: str):
        model.set_attn_implementation(attention)
        model.zero_grad(set_to_none=True)
        with autocast:
            loss = lm_loss.packed_loss_sum(model, packed, kernel)
        loss.backward()
        return loss.detach().float(), model.model.layers[0].self_attn.q_proj.weight.grad.float().clone()

    reference = loss_and_grad("sdpa", "chunked")
    fast = loss_and_grad(packed_attention_for(device), lm_loss.loss_kernel(device))
    torch.testing.assert_close(fast[0], reference[0], rtol=2e-2, atol=0.0)
    torch.testing.assert_close(fast[1], reference[1], rtol=5e-2, atol=5e-2 * reference[1].abs().max().item())
