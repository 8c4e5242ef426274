"""Distillation: the student's layers, the losses, refusals, whole runs and the report on tiny random
models; and (slow) the issue's two thresholds on the bundled models: MiniLM on NLU++ hotels, SmolLM2 on
Alpaca instructions (bench/distill.md has the numbers).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import store
from engine.config import ConfigError, from_dict
from tests.engine.helpers import run_in_process

ROOT = Path(__file__).resolve().parents[2]
HOTELS = ROOT / "resources" / "demo" / "hotel_intents.jsonl"


# ---------------------------------------------------------------- tiny teachers


@pytest.fixture(scope="session")
def tiny_classifier_teacher(tiny_encoder, tmp_path_factory) -> Path:
    """A 4-layer multi-label classifier (random weights) that knows the 40 hotel intents."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from engine.data.classification import load_classification

    labels = load_classification(HOTELS).label_names
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=AutoTokenizer.from_pretrained(tiny_encoder).vocab_size, hidden_size=32, num_hidden_layers=4,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)},
        problem_type="multi_label_classification",
    )
    folder = tmp_path_factory.mktemp("tiny-classifier")
    BertForSequenceClassification(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_encoder).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llama4(tmp_path_factory, tiny_llama) -> Path:
    """The tiny Llama with 4 layers, so a student can keep a real subset."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

    config = AutoConfig.from_pretrained(tiny_llama)
    config.num_hidden_layers = 4
    torch.manual_seed(1)
    folder = tmp_path_factory.mktemp("tiny-llama4")
    LlamaForCausalLM(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_llama).save_pretrained(folder)
    return folder


def hotel_subset(tmp_path: Path, rows: int = 200) -> Path:
    path = tmp_path / "hotels.jsonl"
    path.write_text("".join(HOTELS.read_text().splitlines(keepends=True)[:rows]))
    return path


# ---------------------------------------------------------------- the student's layers


def test_spread_layers_keeps_first_and_last_evenly():
    from engine.models.students import spread_layers

    assert spread_layers(6, 3) == [0, 2, 5]
    assert spread_layers(30, 15)[0] == 0 and spread_layers(30, 15)[-1] == 29 and len(spread_layers(30, 15)) == 15
    assert spread_layers(4, 4) == [0, 1, 2, 3]
    with pytest.raises(ConfigError, match="1 to 6 layers"):
        spread_layers(6, 7)


@pytest.mark.parametrize("family", ["encoder", "decoder"])
def test_a_student_made_of_teacher_layers_computes_what_those_layers_compute(family, tiny_classifier_teacher, tiny_llama4, tmp_path):
    """Keeping every layer reproduces the teacher exactly; keeping some gives a model whose layers are the
    teacher's own, whose config says so, and which saves and loads back as a normal folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    from engine.models.students import student_size
    from engine.models.surgery import keep_layers, parameter_count

    auto, folder = (
        (AutoModelForSequenceClassification, tiny_classifier_teacher) if family == "encoder" else (AutoModelForCausalLM, tiny_llama4)
    )
    teacher = auto.from_pretrained(folder).eval()
    ids = torch.tensor([[101, 2054, 2003, 1996, 3712, 102]])
    same, kept = keep_layers(teacher, 4)
    assert kept == [0, 1, 2, 3]
    torch.testing.assert_close(same.eval()(input_ids=ids).logits, teacher(input_ids=ids).logits)

    student, kept = keep_layers(teacher, 2)
    assert kept == [0, 3] and student.config.num_hidden_layers == 2
    layers = student.base_model.encoder.layer if family == "encoder" else student.model.layers
    teacher_layers = teacher.base_model.encoder.layer if family == "encoder" else teacher.model.layers
    torch.testing.assert_close(layers[1].state_dict(), teacher_layers[3].state_dict())
    student.save_pretrained(tmp_path / "student")
    reloaded = auto.from_pretrained(tmp_path / "student").eval()
    torch.testing.assert_close(reloaded(input_ids=ids).logits, student.eval()(input_ids=ids).logits)
    assert list((tmp_path / "student").glob("*.safetensors"))

    # What the size slider shows is exact: the header-only count equals the real model's.
    size = student_size(folder, 2)
    assert size.parameters == parameter_count(student) and size.teacher_parameters == parameter_count(teacher)
    assert size.teacher_layers == 4 and 1.0 < size.speedup <= 2.0


# ---------------------------------------------------------------- the losses


def test_the_teacher_part_of_the_loss_is_zero_when_the_student_answers_as_the_teacher_does():
    import torch

    from engine.recipes.distill import class_divergence_sum, token_divergence_sum

    torch.manual_seed(0)
    logits = torch.randn(5, 7) * 3
    for multi_label in (False, True):
        assert class_divergence_sum(logits, logits.clone(), 2.0, multi_label).abs() < 1e-5
        assert class_divergence_sum(logits, -logits, 2.0, multi_label) > 0.1
    for divergence in ("forward_kl", "reverse_kl", "jsd"):
        assert token_divergence_sum(logits, logits.clone(), divergence).abs() < 1e-5
        assert token_divergence_sum(logits, logits.flip(-1), divergence) > 0.1


def test_the_cached_top_words_give_the_full_divergence_when_the_other_words_are_alike():
    """The teacher's 64 likeliest words plus one bin for the rest: when both models spread that rest evenly
    over the other words, the divergence over those bins is the divergence over the whole vocabulary (to
    fp16's precision); the bins and the conversations' order must line up for that."""
    import torch

    from engine.recipes.distill import TopWords, token_divergence_sum

    torch.manual_seed(0)
    vocab, tokens = 300, 6
    top = torch.stack([torch.randperm(vocab)[:64] for _ in range(tokens)])
    teacher = torch.full((tokens, vocab), -4.0).scatter(-1, top, torch.randn(tokens, 64) * 2)
    student = torch.full((tokens, vocab), -2.0).scatter(-1, top, torch.randn(tokens, 64) * 2)
    every = torch.log_softmax(teacher, -1)
    kept = every.topk(64, -1)
    rest = torch.logsumexp(every.scatter(-1, kept.indices, float("-inf")), -1, keepdim=True)
    # Two conversations of 4 and 2 learned tokens, asked for in the other order.
    cache = TopWords(kept.values.half(), kept.indices.int(), rest, torch.tensor([0, 4, 6]))
    order = torch.tensor([4, 5, 0, 1, 2, 3])
    for divergence in ("forward_kl", "reverse_kl", "jsd"):
        full = token_divergence_sum(student[order], teacher[order], divergence)
        cached = cache.divergence_sum(student[order], [1, 0], divergence)
        assert float(cached) == pytest.approx(float(full), rel=2e-3), divergence


def test_altered_copies_are_near_the_texts_and_the_same_every_time():
    from engine.recipes.distill import altered_copies

    texts = ["i would like to book a double room for two nights", "is breakfast included", "cancel my booking please"]
    copies = altered_copies(texts, 4, seed=0)
    assert len(copies) == 12 and copies == altered_copies(texts, 4, seed=0)
    assert copies != altered_copies(texts, 4, seed=1)
    words = {w for t in texts for w in t.split()}
    assert all(c and set(c.split()) <= words for c in copies)  # made of the user's own words
    assert sum(c not in texts for c in copies) >= 6  # most are really altered


# ---------------------------------------------------------------- refusals


def test_settings_are_checked_with_a_sentence():
    base = {"kind": "distill", "teacher": "run:1", "data": "x.jsonl"}
    assert from_dict(base).model == "run:1"
    with pytest.raises(ConfigError, match="Choose the teacher"):
        from_dict({**base, "teacher": ""})
    assert from_dict({**base, "student": "demo:minilm", "student_layers": 3}).student_layers == 3  # a cut of it
    with pytest.raises(ConfigError, match="'student_layers' must be 0"):
        from_dict({**base, "student_layers": -1})
    with pytest.raises(ConfigError, match="'alpha' must be a share from 0 to 1"):
        from_dict({**base, "alpha": 1.5})


def test_an_incompatible_student_is_refused_plainly(tunewright_home, tiny_llama4, tiny_encoder, tiny_classifier_teacher, tmp_path):
    chat = {"kind": "distill", "teacher": str(tiny_llama4), "data": str(ROOT / "resources/demo/identity.json"),
            "template_values": {"name": "Tuney", "author": "Ada Lab"}, "max_steps": 1, "max_length": 64}
    db, run_id = run_in_process(tunewright_home, {**chat, "student": str(tiny_encoder)})
    assert store.get_run(db, run_id)["status"] == "failed"
    assert "does a different kind of task from the teacher" in store.get_run(db, run_id)["error"]

    # A language model with another vocabulary: same architecture, but MiniLM's word pieces.
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

    other = tmp_path / "other-vocab-llama"
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    config = AutoConfig.from_pretrained(tiny_llama4)
    config.vocab_size, config.num_hidden_layers = tokenizer.vocab_size, 1
    LlamaForCausalLM(config).save_pretrained(other)
    tokenizer.save_pretrained(other)
    db, run_id = run_in_process(tunewright_home, {**chat, "student": str(other)})
    assert "splits text into different word pieces from the teacher" in store.get_run(db, run_id)["error"]

    # A bare encoder has learned no categories, so it cannot teach.
    db, run_id = run_in_process(tunewright_home, {"kind": "distill", "teacher": str(tiny_encoder), "data": str(HOTELS)})
    assert "has nothing to teach" in store.get_run(db, run_id)["error"]

    # A classifier teacher and data with categories it never learned.
    other_data = tmp_path / "other.jsonl"
    other_data.write_text("\n".join(json.dumps({"text": f"text {i}", "labels": ["weather"]}) for i in range(20)))
    db, run_id = run_in_process(tunewright_home, {"kind": "distill", "teacher": str(tiny_classifier_teacher), "data": str(other_data)})
    assert "was not trained on the categories weather" in store.get_run(db, run_id)["error"]

    db, run_id = run_in_process(tunewright_home, {"kind": "distill", "teacher": "run:99", "data": str(HOTELS)})
    assert store.get_run(db, run_id)["error"] == "There is no run 99 to use as the teacher."


# ---------------------------------------------------------------- whole runs on tiny models


def test_a_classifier_run_distils_and_reports(tunewright_home, tiny_classifier_teacher, tmp_path):
    db, run_id = run_in_process(
        tunewright_home,
        {"kind": "distill", "teacher": str(tiny_classifier_teacher), "data": str(hotel_subset(tmp_path)),
         "student_layers": 2, "max_steps": 4, "batch_size": 16, "max_length": 32, "compare_with_plain": True,
         "early_stopping_patience": 0, "augment_copies": 2},
    )
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    kinds = {a["kind"]: Path(a["path"]) for a in store.artifacts(db, run_id)}
    report = json.loads(kinds["distill_report"].read_text())
    assert report["student"]["parameters"] < report["teacher"]["parameters"]
    assert report["student"]["disk_bytes"] < report["teacher"]["disk_bytes"]
    assert report["student"]["latency_ms"] > 0 and report["teacher"]["examples_per_second"] > 0
    assert set(report["plain"]) >= {"eval_f1", "eval_loss"}
    latest = store.latest_metrics(db, run_id)
    assert latest["student_eval_f1"] == report["student"]["eval_f1"] and "teacher_latency_ms" in latest
    messages = " ".join(e["message"] for e in store.events(db, run_id))
    assert "of the teacher's F1" in messages and "answers" in messages and "without the teacher" in messages
    assert "worked out once and kept" in messages and "learns the teacher's answers on 322 altered copies" in messages

    # The student is a normal classifier folder with the teacher's categories, 2 layers.
    saved = json.loads((kinds["model"] / "config.json").read_text())
    assert saved["num_hidden_layers"] == 2 and len(saved["id2label"]) == 40
    plain = [r for r in store.list_runs(db) if r["parent_id"] == run_id]
    assert len(plain) == 1 and plain[0]["status"] == "completed" and plain[0]["config"]["alpha"] == 0.0
    assert plain[0]["step"] == run["step"]


@pytest.mark.parametrize("divergence", ["forward_kl", "jsd"])
def test_a_chat_run_distils_a_llama_into_half_its_layers(tunewright_home, tiny_llama4, divergence):
    db, run_id = run_in_process(
        tunewright_home,
        {"kind": "distill", "teacher": str(tiny_llama4), "data": str(ROOT / "resources/demo/identity.json"),
         "template_values": {"name": "Tuney", "author": "Ada Lab"}, "divergence": divergence, "max_steps": 3,
         "batch_size": 8, "max_length": 96, "early_stopping_patience": 0},
    )
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    report = json.loads(next(Path(a["path"]) for a in store.artifacts(db, run_id) if a["kind"] == "distill_report").read_text())
    assert report["task"] == "chat" and report["plain"] is None
    assert report["student"]["eval_loss"] > 0 and report["teacher"]["eval_perplexity"] > 1
    model_dir = Path(run["run_dir"]) / "model"
    assert json.loads((model_dir / "config.json").read_text())["num_hidden_layers"] == 2
    assert (model_dir / "tokenizer_config.json").exists()


@pytest.mark.parametrize("temperature", [0.01, 2.0])
def test_a_chat_run_of_several_epochs_keeps_the_teacher_s_top_words_when_they_hold_its_answer(tunewright_home, tiny_llama4, tmp_path, temperature):
    """A random tiny teacher spreads its probability over all 49,152 words: at temperature 2 its top 64 hold
    almost none of it, so it answers on the fly; sharpened to 0.01 they hold nearly all, and are kept."""
    rows = json.loads((ROOT / "resources/demo/identity.json").read_text())[:16]
    (tmp_path / "few.json").write_text(json.dumps(rows))
    db, run_id = run_in_process(
        tunewright_home,
        {"kind": "distill", "teacher": str(tiny_llama4), "data": str(tmp_path / "few.json"), "eval_fraction": 0.25,
         "template_values": {"name": "Tuney", "author": "Ada Lab"}, "epochs": 2, "batch_size": 4, "max_length": 96,
         "early_stopping_patience": 0, "temperature": temperature},
    )
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    kept = (Path(run["run_dir"]) / "teacher_top_words.safetensors").exists()
    messages = " ".join(e["message"] for e in store.events(db, run_id))
    if temperature < 1:
        assert kept and "The teacher's 64 likeliest next words for each of the" in messages, messages
    else:
        assert not kept and "at temperature 2 its 64 likeliest next words hold only 0% of its probability" in messages, messages


def test_a_distilled_student_is_evaluated_beside_its_teacher_and_exported_like_any_run(tunewright_home, tiny_llama4):
    from engine.config import EvaluateConfig
    from engine.export import export
    from engine.protocol import model_task
    from engine.recipes.evaluate import evaluate_in_process

    db, run_id = run_in_process(
        tunewright_home,
        {"kind": "distill", "teacher": str(tiny_llama4), "data": str(ROOT / "resources/demo/identity.json"),
         "template_values": {"name": "Tuney", "author": "Ada Lab"}, "max_steps": 2, "batch_size": 8,
         "max_length": 96, "early_stopping_patience": 0},
    )
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    assert run["config"]["task"] == "chat" and model_task(run) == "chat"  # written when the run started

    config = EvaluateConfig(model=str(run_id), data=str(ROOT / "resources/demo/identity.json"), max_examples=3, side_by_side=2, max_new_tokens=6)
    results = evaluate_in_process(db, config, home=tunewright_home)
    assert "error" not in results, results
    assert ["teacher_answer" in row for row in results["answers"]] == [True, True, False]
    assert not any("base_answer" in row for row in results["answers"])

    verdict = export(db, run_id, "gguf-f16", home=tunewright_home, to=tunewright_home / "student-gguf")
    assert verdict["passed"], verdict
    card = (tunewright_home / "student-gguf" / "README.md").read_text()
    assert "## Distilled from" in card and "(2 layers)" in card and "91 conversations from identity.json" in card
    assert "- Distillation: 50% of the lesson copying the teacher at temperature 1, forward kl" in card


def test_a_finished_run_can_teach(tunewright_home, tiny_classify_config):
    db, teacher_run = run_in_process(tunewright_home, tiny_classify_config)
    assert store.get_run(db, teacher_run)["status"] == "completed"
    db, run_id = run_in_process(
        tunewright_home,
        {"kind": "distill", "teacher": f"run:{teacher_run}", "data": tiny_classify_config["data"], "student_layers": 1,
         "max_steps": 2, "batch_size": 8, "max_length": 32, "compare_with_plain": True},
    )
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    assert run["name"] == f"Student of run {teacher_run} on {Path(tiny_classify_config['data']).stem} #{run_id}"
    # Without the teacher means without its fine-tuned weights too: the plain student is the same single
    # layer cut from the model the teacher run started from.
    (plain,) = [r for r in store.list_runs(db) if r["parent_id"] == run_id]
    assert plain["status"] == "completed", plain["error_detail"]
    assert (plain["config"]["student"], plain["config"]["student_layers"]) == (tiny_classify_config["model"], 1)
    messages = " ".join(e["message"] for e in store.events(db, run_id))
    assert "the same 1 layer of" in messages and "as it was before fine-tuning" in messages


def test_the_command_line_prints_a_ready_config_and_runs_a_distillation(tunewright_home, tiny_classifier_teacher, tmp_path):
    from tests.engine.helpers import cli

    printed = cli("example", "distill", home=tunewright_home)
    example = json.loads(printed.stdout)
    assert printed.returncode == 0 and example["kind"] == "distill" and example["teacher"] == "demo:smollm2"
    assert from_dict(example).student_layers == 15 and Path(example["data"]).exists()

    config = tmp_path / "distill.json"
    config.write_text(json.dumps({"kind": "distill", "teacher": str(tiny_classifier_teacher), "data": str(hotel_subset(tmp_path, 60)),
                                  "student_layers": 1, "max_steps": 2, "batch_size": 16, "max_length": 32}))
    done = cli("run", str(config), home=tunewright_home)
    assert done.returncode == 0, done.stderr
    assert "completed" in done.stderr and "best eval_f1" in done.stderr


# ---------------------------------------------------------------- the threshold, on a real model and data

REPO = Path(__file__).resolve().parents[2]
# The shared data sits beside the project (../shared/data); worktrees sit one level deeper.
SHARED = next((p for p in (REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data") if p.is_dir()), None)


@pytest.mark.slow
@pytest.mark.demo  # the teacher is the demo trained on all its data: bench/demos.sh
def test_a_3_layer_minilm_student_keeps_95_percent_of_its_teacher_and_beats_plain_fine_tuning(demo_classifier):
    """The issue's classifier threshold, at full size: the classification demo as shipped (all-MiniLM-L6-v2
    fine-tuned on NLU++ hotels: all 1,009 rows, 40 intents, several per text) teaches a student of 3 of its 6
    layers. The student trained without the teacher is the same 3 layers of all-MiniLM-L6-v2 before
    fine-tuning, with the same data, settings and steps. Measured (bench/distill.md): teacher 0.792,
    distilled 0.786 (99%), plain 0.669; about 1.5 minutes on 2 CPU cores, the teacher's minute aside."""
    home, teacher_run = demo_classifier
    db, run_id = run_in_process(
        home,
        {"kind": "distill", "teacher": f"run:{teacher_run}", "data": str(HOTELS), "student_layers": 3, "epochs": 4,
         "batch_size": 32, "compare_with_plain": True},
    )
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    report = json.loads(next(Path(a["path"]) for a in store.artifacts(db, run_id) if a["kind"] == "distill_report").read_text())
    teacher, student, plain = report["teacher"]["eval_f1"], report["student"]["eval_f1"], report["plain"]["eval_f1"]
    print(f"micro-F1: teacher {teacher:.3f}, distilled 3-layer student {student:.3f}, plain 3-layer student {plain:.3f}")
    assert student >= 0.95 * teacher and student > plain


@pytest.mark.slow
@pytest.mark.demo  # the bundled SmolLM2 itself, de-quantised and taught to a student: bench/demos.sh
@pytest.mark.skipif(SHARED is None, reason="the shared test data (../shared/data) is not here")
def test_a_half_depth_smollm2_student_ends_with_a_lower_eval_loss_than_plain_fine_tuning(tunewright_home, tmp_path):
    """SmolLM2-135M-Instruct teaches a 15-of-30-layer copy of itself on real instruction data (Alpaca rows
    from LLaMA-Factory's demo set); the same student is fine-tuned plainly for the same 6 steps. Measured:
    7.48 against 7.76 (bench/distill.md); about a minute on 2 CPU cores, half of it de-quantising the GGUF
    file, so it runs with the demos; the tests on the tiny Llama cover every step of a chat distillation."""
    rows = json.loads((SHARED / "llamafactory" / "alpaca_en_demo.json").read_text())
    short = [r for r in rows if len(r["instruction"]) + len(r.get("input", "")) + len(r["output"]) < 600]  # fast on a CPU
    (tmp_path / "train.json").write_text(json.dumps(short[:32]))
    (tmp_path / "held_out.json").write_text(json.dumps(short[32:48]))
    db, run_id = run_in_process(
        tunewright_home,
        {"kind": "distill", "teacher": "demo:smollm2", "data": str(tmp_path / "train.json"),
         "eval_data": str(tmp_path / "held_out.json"), "student_layers": 15, "max_steps": 6, "batch_size": 2,
         "max_length": 96, "learning_rate": 1e-3, "alpha": 1.0, "temperature": 1.0, "compare_with_plain": True,
         "eval_every": 3, "early_stopping_patience": 0},
    )
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    report = json.loads(next(Path(a["path"]) for a in store.artifacts(db, run_id) if a["kind"] == "distill_report").read_text())
    teacher, student, plain = report["teacher"]["eval_loss"], report["student"]["eval_loss"], report["plain"]["eval_loss"]
    print(f"eval loss: teacher {teacher:.3f}, distilled 15-layer student {student:.3f}, plain 15-layer student {plain:.3f}")
    assert student < plain
