"""What Tunewright keeps private and what it refuses: the database and run folders are the user's alone;
pickle weights and model-shipped code are refused unless allowed; a job makes no network connection."""

from __future__ import annotations

import json
import os
import shutil
import stat
import textwrap

import pytest

from engine import jobs, store
from engine.config import ConfigError, from_dict
from engine.models.catalog import resolve
from tests.engine.helpers import cli, run_in_process, wait_for

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@posix_only
def test_the_database_and_run_folders_are_readable_by_the_user_alone(tmp_path, tiny_classify_config):
    home = tmp_path / "fresh-home"
    db = store.open_db(store.database_path(home))
    run_id = jobs.submit(db, from_dict(tiny_classify_config), home=home)
    store.add_metrics(db, run_id, 1, {"train_loss": 1.0})
    database = store.database_path(home)
    assert mode(home) == 0o700
    assert mode(home / "runs") == 0o700 and mode(jobs.run_dir(home, run_id)) == 0o700
    for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        assert mode(path) == 0o600, path.name


@posix_only
def test_an_older_database_left_readable_by_others_is_tightened(tmp_path):
    path = tmp_path / "tunewright.db"
    store.open_db(path).close()
    os.chmod(path, 0o644)
    store.open_db(path)
    assert mode(path) == 0o600


@pytest.fixture
def pickle_only_model(tiny_encoder, tmp_path):
    """The tiny encoder with its weights as a pickle file (pytorch_model.bin) and no safetensors."""
    import torch
    from safetensors.torch import load_file

    folder = tmp_path / "pickled-model"
    shutil.copytree(tiny_encoder, folder)
    torch.save(load_file(str(folder / "model.safetensors")), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    return folder


def test_pickle_weights_are_refused_with_a_sentence_unless_allowed(pickle_only_model, tiny_classify_config, tmp_path, tunewright_home):
    sentence = (
        "The weights in pickled-model are pickle files, which can run code when loaded. "
        "Allow them for this model only if you trust where it came from."
    )
    with pytest.raises(ConfigError) as refused:
        resolve(str(pickle_only_model))
    assert str(refused.value) == sentence

    config = {**tiny_classify_config, "model": str(pickle_only_model), "epochs": 0.25}
    path = tmp_path / "job.json"
    path.write_text(json.dumps(config))
    result = cli("run", str(path), home=tunewright_home)
    assert result.returncode == 2 and sentence in result.stderr  # refused before a run exists

    db, run_id = run_in_process(tunewright_home, {**config, "allow_unsafe_weights": True})
    assert store.get_run(db, run_id)["status"] == "completed"


def test_code_shipped_with_a_model_is_refused_unless_allowed(tiny_encoder, tmp_path):
    folder = tmp_path / "remote-code-model"
    shutil.copytree(tiny_encoder, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "modeling_evil.py").write_text("raise SystemExit('this must never run')\n")
    with pytest.raises(ConfigError, match="needs to run code that comes with the model"):
        resolve(str(folder))
    assert resolve(str(folder), allow_unsafe=True).path == folder


NO_NETWORK = textwrap.dedent(
    """
    # Loaded by every Python process of the test: a connection to the network is refused and written down.
    import os, socket

    with open(os.environ["TUNEWRIGHT_TEST_NETWORK_LOG"] + ".loaded", "a") as loaded:
        loaded.write(f"{os.getpid()}\\n")
    _connect = socket.socket.connect

    def _refuse(self, address, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            with open(os.environ["TUNEWRIGHT_TEST_NETWORK_LOG"], "a") as log:
                log.write(f"{os.getpid()} connect {address!r}\\n")
            raise OSError("network access is not allowed in this test")
        return _connect(self, address, *args)

    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    """
)


@pytest.mark.skipif(os.name != "posix", reason="detached job processes are tested on POSIX")
def test_a_job_makes_no_network_connection(tmp_path, monkeypatch, tunewright_home, tiny_classify_config):
    hook = tmp_path / "no-network"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(NO_NETWORK)
    log = tmp_path / "network.log"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("TUNEWRIGHT_TEST_NETWORK_LOG", str(log))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # the engine's own behaviour, not the test suite's setting

    db = store.open_db(store.database_path(tunewright_home))
    run_id = jobs.start(db, from_dict({**tiny_classify_config, "epochs": 0.5}), home=tunewright_home)
    wait_for(lambda: store.get_run(db, run_id)["status"] in ("completed", "failed"), timeout=120)
    run = store.get_run(db, run_id)
    assert run["status"] == "completed", run["error_detail"]
    assert run["pid"] is None and (tmp_path / "network.log.loaded").exists()  # the job ran under the hook
    assert not log.exists(), log.read_text()
