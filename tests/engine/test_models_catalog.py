"""The model catalog: every model on this computer, described from its files without loading its weights;
Hub search and downloads with their progress rows (the network is never touched)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine import store
from engine.config import ConfigError
from engine.models import hub
from engine.models.catalog import BUNDLED, add_folder, list_models, package_folder
from engine.models.describe import COUNTED, ESTIMATED, describe_folder, estimate_parameters, read_config
from engine.models.fit import weights_fit
from engine.protocol import message

GIB = 2**30


@pytest.fixture
def db():
    return store.open_db(":memory:")


def numel(model) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def by_name(models, name):
    return next(model for model in models if model.name == name)


# ---------------------------------------------------------------- what the catalog says about a model


def test_bundled_models_are_listed_with_their_exact_sizes(db):
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    models = list_models(db, hub_cache=Path("/nonexistent"))
    minilm, smollm = by_name(models, "all-MiniLM-L6-v2"), by_name(models, "SmolLM2-135M-Instruct")

    assert numel(AutoModel.from_pretrained(minilm.path)) == minilm.parameters == 22_713_216
    assert (minilm.task, minilm.context_length, minilm.licence, minilm.parameters_how) == ("classify", 512, "Apache-2.0", COUNTED)
    assert minilm.safe and minilm.usable and minilm.disk_size > 80e6

    bundled = BUNDLED["demo:smollm2"]
    config = AutoConfig.from_pretrained(package_folder(bundled.package), gguf_file=bundled.gguf_file)
    with torch.device("meta"):  # the real layout, without a byte of weights
        real = numel(AutoModelForCausalLM.from_config(config))
    assert smollm.parameters == real == 134_515_008
    assert (smollm.task, smollm.context_length, smollm.weights, smollm.ref) == ("chat", 8192, "gguf", "demo:smollm2")


@pytest.mark.parametrize("fixture, loader", [("tiny_encoder", "AutoModel"), ("tiny_llama", "AutoModelForCausalLM")])
def test_a_saved_folder_is_counted_exactly_and_the_config_formula_agrees(request, fixture, loader):
    import transformers

    folder = request.getfixturevalue(fixture)
    real = numel(getattr(transformers, loader).from_pretrained(folder))
    info = describe_folder(folder)
    assert (info.parameters, info.parameters_how) == (real, COUNTED)
    assert estimate_parameters(read_config(folder)) == real  # the formula used when there are no safetensors
    assert info.task == ("classify" if fixture == "tiny_encoder" else "chat")
    assert info.context_length == (128 if fixture == "tiny_encoder" else 512)
    assert info.usable and info.safe


def write_cached_repo(cache: Path, repo_id: str, files: dict[str, Path | str], commit: str = "0123abcd") -> Path:
    """A repository in the Hugging Face cache layout: blobs, a snapshot of links to them, refs/main."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for number, (name, content) in enumerate(files.items()):
        blob = repo / "blobs" / f"blob{number:04d}"
        if isinstance(content, Path):
            shutil.copyfile(content, blob)
        else:
            blob.write_text(content)
        (snapshot / name).symlink_to(Path("../../blobs") / blob.name)
    return snapshot


def test_models_in_the_hugging_face_cache_are_found_without_the_network(db, tmp_path, tiny_llama):
    cache = tmp_path / "hf-cache"
    card = "---\nlicense: mit\nlanguage: en\n---\n# Tiny chat\n"
    files = {name: tiny_llama / name for name in ("config.json", "model.safetensors", "tokenizer.json")}
    write_cached_repo(cache, "acme/tiny-chat", {**files, "README.md": card})
    big_config = {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944,
        "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064,
        "max_position_embeddings": 32768, "tie_word_embeddings": False,
    }
    write_cached_repo(cache, "acme/half-downloaded-7b", {"config.json": json.dumps(big_config)})
    index = {"weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors", "lm_head.weight": "model-00002-of-00002.safetensors"}}
    write_cached_repo(cache, "acme/one-shard-of-two", {
        "config.json": tiny_llama / "config.json", "model.safetensors.index.json": json.dumps(index),
        "model-00001-of-00002.safetensors": tiny_llama / "model.safetensors",
    })

    models = list_models(db, hub_cache=cache)
    tiny, big = by_name(models, "acme/tiny-chat"), by_name(models, "acme/half-downloaded-7b")
    assert (tiny.source, tiny.ref, tiny.task, tiny.licence, tiny.parameters_how) == ("hub cache", "acme/tiny-chat", "chat", "mit", COUNTED)
    assert tiny.parameters == describe_folder(tiny_llama).parameters
    assert tiny.disk_size == sum(path.stat().st_size for path in files.values()) + len(card)
    assert tiny.usable
    # Qwen2.5-7B's published size is 7.62 billion; the formula gets it from config.json alone.
    assert big.parameters_how == ESTIMATED and abs(big.parameters - 7.62e9) < 0.01e9
    assert big.context_length == 32768
    assert big.problem == message("model.no_weights", name="acme/half-downloaded-7b")[1]
    # With a shard missing, counting the one that is there would pass half a model off as exact.
    partial = by_name(models, "acme/one-shard-of-two")
    assert partial.parameters_how == ESTIMATED
    assert partial.problem == "acme/one-shard-of-two is missing 1 of its 2 weight files. If it is still downloading, wait until it has finished; otherwise download it again."


# ---------------------------------------------------------------- adding a folder


def tiny_config_folder(folder: Path, tiny_encoder: Path, **extra) -> Path:
    folder.mkdir()
    config = json.loads((tiny_encoder / "config.json").read_text()) | extra
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_adding_a_good_folder_records_it_in_the_catalog(db, tiny_encoder):
    info = add_folder(db, tiny_encoder)
    assert info.task == "classify"
    listed = [model for model in list_models(db, hub_cache=Path("/nonexistent")) if model.source == "folder"]
    assert [(model.path, model.parameters) for model in listed] == [(str(tiny_encoder.resolve()), info.parameters)]


def test_a_pickle_only_folder_is_refused_with_its_sentence(db, tmp_path, tiny_encoder):
    folder = tiny_config_folder(tmp_path / "old-bert", tiny_encoder)
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04pickled weights")
    with pytest.raises(ConfigError) as refused:
        add_folder(db, folder)
    assert str(refused.value) == (
        "The weights in old-bert are pickle files, which can run code when loaded. "
        "Allow them for this model only if you trust where it came from."
    )
    assert db["models"].count == 0


@pytest.mark.parametrize("case", ["custom code", "no config", "parent folder", "not a folder", "encoder-decoder"])
def test_unusable_folders_get_one_sentence_that_says_why(db, tmp_path, tiny_encoder, case):
    target = tmp_path / "pick"
    if case == "custom code":
        tiny_config_folder(target, tiny_encoder, auto_map={"AutoModel": "modeling_x.XModel"})
        shutil.copy(tiny_encoder / "model.safetensors", target)
        expected = message("model.custom_code", name="pick")[1]
    elif case == "no config":
        target.mkdir()
        (target / "notes.txt").write_text("not a model")
        expected = "pick has no config.json, so it is not a model folder Tunewright can read."
    elif case == "parent folder":
        shutil.copytree(tiny_encoder, target / "checkpoint-final")
        expected = "pick has no config.json itself, but its sub-folder checkpoint-final does: choose that folder instead."
    elif case == "not a folder":
        target.write_text("x")
        expected = message("model.not_a_folder", path=target)[1]
    else:
        tiny_config_folder(target, tiny_encoder, architectures=["T5ForConditionalGeneration"], model_type="t5")
        shutil.copy(tiny_encoder / "model.safetensors", target)
        expected = message("model.unsupported", name="pick", architecture="T5ForConditionalGeneration")[1]
    with pytest.raises(ConfigError, match="^" + __import__("re").escape(expected) + "$"):
        add_folder(db, target)
    assert db["models"].count == 0


# ---------------------------------------------------------------- the fit column's stand-in


def test_the_weights_alone_are_weighed_against_this_machines_memory():
    small = weights_fit(134_515_008, gpu_memory=8 * GIB, ram=32 * GIB)
    assert small.level == "fits" and small.words == "257 MB of 8.0 GB GPU"
    big = weights_fit(7_615_616_512, gpu_memory=8 * GIB, ram=32 * GIB)
    assert big.level == "too big" and big.words == "14.2 GB of 8.0 GB GPU"
    assert "4 bits (QLoRA" in big.detail  # 3.5 GB in 4 bits: the one way to train it on this GPU
    assert weights_fit(32_763_876_352, gpu_memory=8 * GIB, ram=32 * GIB).detail.endswith("choose a smaller model.")
    assert weights_fit(7_615_616_512, gpu_memory=None, ram=24 * GIB).level == "tight"  # no GPU: the computer's memory
    assert weights_fit(None, gpu_memory=8 * GIB, ram=0).level == "unknown"


# ---------------------------------------------------------------- the Hub: search and downloads


def test_search_turns_the_hubs_answer_into_rows_and_says_when_offline():
    answer = [
        SimpleNamespace(id="HuggingFaceTB/SmolLM2-360M-Instruct", pipeline_tag="text-generation", downloads=90_000,
                        likes=120, safetensors=SimpleNamespace(total=361_821_120), card_data={"license": "apache-2.0"}, gated=False),
        SimpleNamespace(id="acme/no-metadata", pipeline_tag=None, downloads=None, likes=None, safetensors=None, card_data=None, gated="auto"),
    ]
    asked = {}

    class FakeApi:
        def list_models(self, **query):
            asked.update(query)
            return iter(answer)

    found = hub.search("smollm2", "chat", api=FakeApi())
    assert asked["search"] == "smollm2" and asked["filter"] == "text-generation"
    assert [(m.repo_id, m.task, m.parameters, m.licence, m.gated) for m in found] == [
        ("HuggingFaceTB/SmolLM2-360M-Instruct", "chat", 361_821_120, "apache-2.0", False),
        ("acme/no-metadata", "chat", None, "", True),
    ]

    class OfflineApi:
        def list_models(self, **query):
            raise ConnectionError("no route to host")

    with pytest.raises(hub.HubUnavailable, match="^You are offline"):
        hub.search("bert", "classify", api=OfflineApi())


def test_a_download_writes_its_progress_and_ends_in_the_catalog(db, tmp_path, tiny_llama, monkeypatch):
    monkeypatch.setattr(hub, "PROGRESS_EVERY", 0.0)
    download_id = hub.create_download(db, "acme/tiny-chat")
    seen = []

    def fake_fetch(repo_id, report):
        for done in (0, 1000, 2500, 4000):
            report(done, 4000, done // 1000, 4)
            row = hub.get_download(db, download_id)
            seen.append((row["status"], row["bytes_done"], row["bytes_total"]))
        return tiny_llama

    assert hub.run_download(db, download_id, fetch=fake_fetch) == tiny_llama
    assert seen == [("downloading", 0, 4000), ("downloading", 1000, 4000), ("downloading", 2500, 4000), ("downloading", 4000, 4000)]
    row = hub.get_download(db, download_id)
    assert (row["status"], row["bytes_done"], row["path"], row["pid"]) == ("completed", 4000, str(tiny_llama), None)
    listed = [model for model in list_models(db, hub_cache=tmp_path / "none") if model.source == "hub download"]
    assert [(model.name, model.ref, model.task) for model in listed] == [("acme/tiny-chat", "acme/tiny-chat", "chat")]


def test_a_download_while_offline_fails_with_the_offline_sentence(db):
    download_id = hub.create_download(db, "acme/anything")
    assert hub.run_download(db, download_id) is None  # the real fetch; HF_HUB_OFFLINE=1 in tests
    row = hub.get_download(db, download_id)
    assert row["status"] == "failed" and row["error"] == message("hub.offline")[1]


def test_pause_stops_the_download_process_and_keeps_its_progress(db):
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import psutil

        download_id = hub.create_download(db, "acme/big")
        db["downloads"].update(download_id, {"status": "downloading", "pid": stand_in.pid, "bytes_done": 512,
                                             "bytes_total": 2048, "pid_started": psutil.Process(stand_in.pid).create_time()})
        hub.pause_download(db, download_id)
        assert stand_in.wait(timeout=10) is not None
        row = hub.get_download(db, download_id)
        assert (row["status"], row["bytes_done"], row["pid"]) == ("paused", 512, None)
    finally:
        stand_in.kill()


def test_a_download_whose_process_died_is_shown_as_paused(db):
    download_id = hub.create_download(db, "acme/big")
    db["downloads"].update(download_id, {"status": "downloading", "pid": 2**22 + 12345, "pid_started": time.time()})
    [row] = hub.list_downloads(db)
    assert (row["status"], row["error"]) == ("paused", message("hub.download_stopped")[1])


def test_cli_lists_the_models_as_json(capsys):
    from engine.__main__ import main

    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"demo:minilm", "demo:smollm2"} <= {model["ref"] for model in listed}


def test_download_progress_is_measured_in_the_cache_as_files_arrive(tmp_path, monkeypatch):
    """`fetch_from_hub` with huggingface_hub's download replaced by one that fills the cache slowly: the first
    file grows on disk (as HTTP downloads do), the second appears only when complete but reports its bytes to
    huggingface_hub's progress bar (as Xet downloads may). The reported bytes grow through both, and a paused
    download's leftover partial file is cleared first."""
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.file_download import DryRunFileInfo

    monkeypatch.setattr(hub, "PROGRESS_EVERY", 0.01)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--acme--tiny"
    snapshot = repo / "snapshots" / "c0ffee"
    (repo / "blobs").mkdir(parents=True)
    stale = repo / "blobs" / "old.1234.incomplete"
    stale.write_bytes(b"x" * 500)  # left by a download that was paused
    files = {"model-00001.safetensors": 10_000, "model-00002.safetensors": 30_000}

    def fake_snapshot_download(repo_id, allow_patterns=None, dry_run=False, tqdm_class=None):
        if dry_run:
            return [DryRunFileInfo("c0ffee", size, name, str(snapshot / name), False, True) for name, size in files.items()]
        assert not stale.exists()
        snapshot.mkdir(parents=True)
        written = tqdm_class(name="huggingface_hub.snapshot_download", total=0, disable=True, unit="B")
        for number, (name, size) in enumerate(files.items()):
            blob = repo / "blobs" / f"blob{number}"
            partial = blob.with_name(blob.name + ".abcd.incomplete")
            with open(partial if number == 0 else os.devnull, "wb") as file:
                for _ in range(10):
                    file.write(b"\0" * (size // 10))
                    file.flush()
                    written.update(size // 10)
                    time.sleep(0.02)
            if number == 0:
                partial.rename(blob)
            else:
                blob.write_bytes(b"\0" * size)  # all at once, at the end
            (snapshot / name).symlink_to(Path("../../blobs") / blob.name)
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    reports = []
    assert hub.fetch_from_hub("acme/tiny", lambda *values: reports.append(values)) == snapshot
    done = [report[0] for report in reports]
    assert done == sorted(done) and reports[-1] == (40_000, 40_000, 2, 2)
    assert any(0 < value < 10_000 for value in done)  # the first file, growing on disk
    assert any(10_000 < value < 40_000 for value in done)  # the second, from the bar alone
    assert all(report[1] == 40_000 for report in reports)


def test_each_kind_of_failed_download_gets_its_sentence():
    from huggingface_hub.errors import DryRunError, GatedRepoError, RepositoryNotFoundError

    def raised(error, cause=None):
        try:
            raise error from cause
        except Exception as caught:  # noqa: BLE001
            return hub.failure_sentence("acme/x", caught)

    response = SimpleNamespace(headers={}, status_code=401, request=None, url="https://huggingface.co/acme/x")
    assert raised(GatedRepoError("gated", response=response)) == message("hub.gated", repo_id="acme/x")[1]
    assert raised(RepositoryNotFoundError("missing", response=response)) == message("hub.not_found", repo_id="acme/x")[1]
    assert raised(DryRunError("cannot be accessed"), ConnectionError("down")) == message("hub.offline")[1]
    assert raised(OSError("No space left on device")) == "The download of acme/x stopped: No space left on device"
