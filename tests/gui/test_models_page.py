"""The Models page: the catalog's rows, adding a folder, a Hub search (the API mocked), downloads' bars."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import psutil
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from engine import store
from engine.models import hub
from engine.protocol import message
from gui.engine_client import EngineClient, Hardware
from gui.pages.models import ModelsPage
from gui.sample import SAMPLE_HARDWARE
from gui.state.models import details

# A BERT of two 16-wide layers: config.json and its weights, written with numpy (no torch in GUI tests).
TINY_BERT = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": 100, "hidden_size": 16, "num_hidden_layers": 2,
             "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 64, "type_vocab_size": 2}


def model_folder(folder: Path, *, pickle: bool = False) -> Path:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(TINY_BERT))
    if pickle:
        (folder / "pytorch_model.bin").write_bytes(b"\x80\x04 pickled")
    else:
        save_file({"embeddings.word_embeddings.weight": np.zeros((100, 16), np.float32),
                   "encoder.layer.0.output.dense.weight": np.zeros((16, 32), np.float32)}, str(folder / "model.safetensors"))
    return folder


@pytest.fixture
def page(qtbot, home, tmp_path):
    client = EngineClient(home)
    client.hub_cache = tmp_path / "empty-hf-cache"
    page = ModelsPage(client, Hardware.from_probe(SAMPLE_HARDWARE))
    qtbot.addWidget(page)
    page.resize(1100, 800)
    page.show()
    qtbot.waitUntil(lambda: not page.loading, timeout=30_000)
    return page


def test_the_bundled_models_are_rows_with_their_facts(page):
    rows = {row["Name"]: row for row in page.visible_rows()}
    assert rows["all-MiniLM-L6-v2"] | {} == {
        "Name": "all-MiniLM-L6-v2", "Task": "Sort texts or tag names", "Parameters": "23 M", "Context": "512 tokens",
        "Licence": "Apache-2.0", "Size": "87 MB", "Memory needed": "43 MB of 8.0 GB GPU", "Where": "Bundled demo",
    }
    assert rows["SmolLM2-135M-Instruct"]["Context"] == "8K tokens"
    assert page.details_title.text() == "all-MiniLM-L6-v2"  # the first row is selected and described
    assert "Only the demo models are here so far" in page.loading_label.text()


def test_adding_a_folder_puts_it_in_the_table_and_a_bad_one_says_why(page, qtbot, tmp_path, monkeypatch):
    good = model_folder(tmp_path / "contract-bert")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(good))
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(row["Name"] == "contract-bert" for row in page.visible_rows()), timeout=30_000)
    row = next(row for row in page.visible_rows() if row["Name"] == "contract-bert")
    assert (row["Task"], row["Parameters"], row["Where"]) == ("Sort texts or tag names", "2.1 K", "Folder you added")
    assert page.details_title.text() == "contract-bert"  # the new model is selected, its count exact from its header
    assert dict(details(page.selected(), page.hardware))["Parameters"] == f"{100 * 16 + 16 * 32:,} (exact, counted from the weight files)"
    assert page.add_message.isHidden()

    bad = model_folder(tmp_path / "old-bert", pickle=True)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(bad))
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert page.add_message.isVisible()
    assert page.add_message.text() == message("model.pickle_only", name="old-bert")[1]
    assert not any(row["Name"] == "old-bert" for row in page.visible_rows())


class FakeApi:
    answer: list = []

    def list_models(self, **query):
        if isinstance(self.answer, Exception):
            raise self.answer
        return iter(self.answer)


def test_a_hub_search_shows_results_and_download_starts_a_download(page, qtbot, monkeypatch):
    import huggingface_hub

    FakeApi.answer = [
        SimpleNamespace(id="HuggingFaceTB/SmolLM2-360M-Instruct", pipeline_tag="text-generation", downloads=912_000, likes=10,
                        safetensors=SimpleNamespace(total=361_821_120), card_data={"license": "apache-2.0"}, gated=False),
        SimpleNamespace(id="Qwen/Qwen2.5-0.5B-Instruct", pipeline_tag="text-generation", downloads=2_400_000, likes=10,
                        safetensors=SimpleNamespace(total=494_032_768), card_data=None, gated=False),
    ]
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    page.search_box.setText("instruct")
    qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.results_table.rowCount() == 2, timeout=10_000)
    shown = [[page.results_table.item(r, c).text() for c in range(3)] for r in range(2)]
    assert shown == [["HuggingFaceTB/SmolLM2-360M-Instruct", "362 M", "912 K"], ["Qwen/Qwen2.5-0.5B-Instruct", "494 M", "2.4 M"]]
    assert page.hub_message.text() == "2 models, most downloaded first. Select one, then click Download."
    assert not page.download_button.isEnabled()

    page.results_table.selectRow(0)
    assert page.download_button.isEnabled()
    qtbot.mouseClick(page.download_button, Qt.MouseButton.LeftButton)
    # A real download process starts; the tests run offline, so it ends with the offline sentence.
    [download_id] = page.download_rows
    row = page.download_rows[download_id]
    assert row.name.text() == "HuggingFaceTB/SmolLM2-360M-Instruct" and page.downloads_frame.isVisible()

    def failed() -> bool:
        page.refresh_downloads()
        return row.words.text() == message("hub.offline")[1]

    qtbot.waitUntil(failed, timeout=60_000)
    assert row.button.text() == "Try again"


def test_offline_search_says_so_in_plain_words(page, qtbot, monkeypatch):
    import huggingface_hub

    FakeApi.answer = ConnectionError("no route to host")
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.search_button.isEnabled(), timeout=10_000)
    assert page.hub_message.text().startswith("You are offline, or the Hugging Face Hub cannot be reached")
    assert page.results_table.isHidden()


def test_download_rows_move_the_bar_and_a_finished_model_joins_the_table(page, qtbot, job_db, tmp_path):
    download_id = hub.create_download(job_db, "acme/contract-bert")
    hub._update(job_db, download_id, status="downloading", bytes_done=1 * 2**20, bytes_total=4 * 2**20,
                pid=psutil.Process().pid, pid_started=psutil.Process().create_time())
    page.refresh_downloads()
    row = page.download_rows[download_id]
    assert (row.bar.value(), row.words.text(), row.button.text()) == (250, "1 MB of 4 MB", "Pause")

    hub._update(job_db, download_id, bytes_done=3 * 2**20)
    page.refresh_downloads()
    assert (row.bar.value(), row.words.text()) == (750, "3 MB of 4 MB")

    folder = model_folder(tmp_path / "snapshot")
    store.remember_model(job_db, folder, name="acme/contract-bert", source="hub download", metadata={"repo_id": "acme/contract-bert"})
    hub._update(job_db, download_id, status="completed", bytes_done=4 * 2**20, pid=None)
    page.refresh_downloads()
    assert row.words.text() == "Done, 4 MB" and row.button.isHidden()
    qtbot.waitUntil(lambda: any(r["Name"] == "acme/contract-bert" for r in page.visible_rows()), timeout=30_000)
    assert next(r for r in page.visible_rows() if r["Name"] == "acme/contract-bert")["Where"] == "Downloaded here"


def test_pause_stops_the_download_process(page, qtbot, job_db):
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        download_id = hub.create_download(job_db, "acme/big")
        hub._update(job_db, download_id, status="downloading", bytes_done=2**30, bytes_total=4 * 2**30, pid=stand_in.pid,
                    pid_started=psutil.Process(stand_in.pid).create_time())
        page.refresh_downloads()
        row = page.download_rows[download_id]
        qtbot.mouseClick(row.button, Qt.MouseButton.LeftButton)
        assert stand_in.wait(timeout=10) is not None
        assert (row.words.text(), row.button.text()) == ("Paused at 1.0 GB of 4.0 GB", "Resume")
    finally:
        stand_in.kill()


def test_the_sidebar_opens_the_models_page(window, qtbot):
    button = window.nav_buttons["models"]
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.current == "models"
    page = window.page("models")
    qtbot.waitUntil(lambda: not page.loading, timeout=30_000)
    assert {"all-MiniLM-L6-v2", "SmolLM2-135M-Instruct"} <= {row["Name"] for row in page.visible_rows()}


def test_the_page_draws_on_sample_models(qtbot, home, tmp_path):
    from gui.app import save_screenshot
    from gui.sample import sample_models

    client = EngineClient(home, live_jobs=False)
    sample_models(client)
    page = ModelsPage(client, Hardware.from_probe(SAMPLE_HARDWARE))
    qtbot.addWidget(page)
    page.resize(1100, 800)
    page.show()
    qtbot.waitUntil(lambda: not page.loading, timeout=30_000)
    rows = {row["Name"]: row for row in page.visible_rows()}
    assert rows["Qwen/Qwen2.5-7B-Instruct"]["Memory needed"] == "14.2 GB of 8.0 GB GPU"  # its weights are too big here
    assert rows["google-bert/bert-base-uncased"]["Task"] == "Can't be used"  # pickle weights only
    assert len(page.download_rows) == 3
    assert save_screenshot(page, tmp_path / "models.png")
