"""A download as the window starts it: a real engine process, huggingface_hub's real download, against a
stand-in Hub on 127.0.0.1 (tests/engine/fake_hub.py). Its progress rows, a pause half-way, the resume, and
the finished model in the catalog."""

from __future__ import annotations

import json
import time
from pathlib import Path

import huggingface_hub  # noqa: F401 - imported now, under HF_HUB_OFFLINE=1: this process stays offline
import numpy as np
import psutil
import pytest

from engine import store
from engine.models import hub
from engine.models.catalog import list_models
from tests.engine.fake_hub import FakeHub

MIB = 2**20


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    from safetensors.numpy import save_file

    # 16 MiB of weights: huggingface_hub writes in 10 MiB pieces, so a bar sees the file arrive part by part.
    save_file({"embeddings.word_embeddings.weight": np.zeros((4096, 1024), np.float32)}, str(tmp_path / "w.safetensors"))
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": 4096, "hidden_size": 1024,
              "num_hidden_layers": 1, "num_attention_heads": 1, "max_position_embeddings": 512}
    files = {"config.json": json.dumps(config).encode(), "model.safetensors": (tmp_path / "w.safetensors").read_bytes()}
    server = FakeHub("acme/tiny-encoder", files, bytes_per_second=8 * MIB)
    # The download process inherits these: the stand-in Hub instead of huggingface.co, a private cache. (This
    # process read its settings when it imported huggingface_hub, so it stays offline.)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    yield server, sum(len(data) for data in files.values())
    server.close()


def wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_download_shows_progress_pauses_resumes_and_joins_the_catalog(fake_hub, tunewright_home, tmp_path):
    _, total = fake_hub
    db = store.open_db(store.database_path(tunewright_home))
    download_id = hub.start_download(db, "acme/tiny-encoder", home=tunewright_home)

    # Part of the weights arrived: the row says how much, of how much, while the process is still at it.
    row = wait_for(lambda: (r := hub.get_download(db, download_id))["bytes_done"] >= 10 * MIB and r)
    assert row["status"] == "downloading" and row["bytes_total"] == total and row["bytes_done"] < total
    process = psutil.Process(row["pid"])

    hub.pause_download(db, download_id)
    assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    paused = hub.get_download(db, download_id)
    assert (paused["status"], paused["bytes_done"]) == ("paused", row["bytes_done"])

    hub.resume_download(db, download_id, home=tunewright_home)
    done = wait_for(lambda: (r := hub.get_download(db, download_id))["status"] != "downloading" and r)
    assert (done["status"], done["bytes_done"], done["bytes_total"], done["error"]) == ("completed", total, total, None)
    blobs = tmp_path / "hf-cache" / "models--acme--tiny-encoder" / "blobs"
    assert not list(blobs.glob("*.incomplete"))  # the half file of the paused download was cleared

    [model] = [m for m in list_models(db, hub_cache=tmp_path / "hf-cache") if m.name == "acme/tiny-encoder"]
    assert (model.source, model.ref, model.task, model.parameters) == ("hub download", "acme/tiny-encoder", "classify", 4096 * 1024)
    assert Path(done["path"]) == Path(model.path)


def test_a_search_goes_through_huggingface_hubs_own_client(fake_hub, monkeypatch):
    from huggingface_hub import HfApi, constants

    server, _ = fake_hub
    # This process read HF_HUB_OFFLINE=1 when it first imported huggingface_hub; the stand-in is local.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    [found] = hub.search("tiny", "classify", api=HfApi(endpoint=server.url))
    assert (found.repo_id, found.task, found.parameters, found.licence, found.downloads) == (
        "acme/tiny-encoder", "classify", 4096 * 1024, "apache-2.0", 1234)
    [query] = server.searches
    assert query["search"] == ["tiny"] and query["filter"] == ["fill-mask"] and "safetensors" in query["expand"]
