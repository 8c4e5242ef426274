"""Malformed job configs, each given to `tunewright-engine`: every one ends in one sentence on stderr and a
non-zero exit, never a traceback, within a time and memory bound.

The cases run in-process (``engine.__main__.main``) for speed; a few also run as real processes, which is
how a person meets them.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.__main__ import main

MINIMAL = {"kind": "classify", "model": "demo:minilm", "data": "DATA"}


def config(**changes) -> str:
    values = {**MINIMAL, **changes}
    return json.dumps({key: value for key, value in values.items() if value is not ...})


# (name, the file's text, the command, a piece of the sentence it must end in). "DATA" stands for a small
# real data file, "HERE" for the test's folder.
CASES: list[tuple[str, str | bytes, str, str]] = [
    ("kind_is_a_list", config(kind=["classify"]), "run", "is not a kind of job"),
    ("kind_is_a_number", config(kind=3), "run", "is not a kind of job"),
    ("kind_unknown", config(kind="translate"), "run", "is not a kind of job"),
    ("kind_missing", config(kind=...), "run", "is not a kind of job"),
    ("kind_is_null", config(kind=None), "plan", "is not a kind of job"),
    ("export_given_to_plan", json.dumps({"kind": "export", "run_id": 1}), "plan", "A plan is made for a training job"),
    ("evaluate_given_to_plan", json.dumps({"kind": "evaluate", "model": "demo:minilm", "data": "x"}), "plan", "A plan is made"),
    ("epochs_1e308", config(epochs=1e308), "run", "'epochs' must be at most"),
    ("epochs_negative", config(epochs=-1), "run", "'epochs' must be more than 0"),
    ("epochs_text", config(epochs="lots"), "run", "'epochs' must be a number"),
    ("epochs_list", config(epochs=[3]), "run", "'epochs' must be a number"),
    ("epochs_infinite_text", config(epochs="inf"), "run", "'epochs' must be a number"),
    ("batch_400_digits", '{"kind": "classify", "model": "demo:minilm", "data": "DATA", "batch_size": ' + "9" * 400 + "}", "run", "'batch_size' must be at most"),
    ("float_400_digits", '{"kind": "classify", "model": "demo:minilm", "data": "DATA", "learning_rate": ' + "9" * 400 + ".5}", "run", "'learning_rate' must be"),
    ("seed_2_to_70", config(seed=2**70), "run", "'seed' must be at most"),
    ("seed_negative", config(seed=-5), "run", "'seed' must be a whole number of 0 or more"),
    ("seed_fraction", config(seed=1.5), "run", "'seed' must be a whole number"),
    ("lora_rank_100000", config(lora_rank=100000), "plan", "'lora_rank' must be at most 1,024"),
    ("lora_rank_zero", config(lora_rank=0), "run", "'lora_rank' must be a whole number of at least 1"),
    ("max_length_huge", config(max_length=10**12), "plan", "'max_length' must be at most"),
    ("max_steps_huge", config(max_steps=10**15), "run", "'max_steps' must be at most"),
    ("batch_size_true", config(batch_size=True), "run", "'batch_size' must be a whole number"),
    ("learning_rate_1", config(learning_rate=1.0), "run", "'learning_rate' must be a small positive number"),
    ("eval_fraction_1", config(eval_fraction=1), "run", "'eval_fraction' must be a share"),
    ("method_unknown", config(method="magic"), "run", "'method' must be one of"),
    ("device_a_list", config(device=["cpu"]), "run", "'device' must be a text"),
    ("device_cuda_without_gpu", config(device="cuda"), "plan", "asks for an NVIDIA GPU"),
    ("name_a_dict", config(name={"a": 1}), "run", "'name' must be a text"),
    ("model_a_number", config(model=7), "run", ""),
    ("model_missing", config(model=...), "run", "Choose a model"),
    ("model_name_hostile", config(model="\x1b[2J" + "m" * 5000 + "\nInjected line"), "run", "There is no model folder at"),
    ("data_missing", config(data=...), "run", "Choose the file with your training examples"),
    ("data_not_there", config(data="HERE/nope.csv"), "run", "does not exist"),
    ("data_path_300_chars", config(data="HERE/" + "d" * 300 + ".csv"), "run", "does not exist"),
    ("data_path_5000_chars", config(data="/".join(["x" * 200] * 25)), "plan", "does not exist"),
    ("data_nul_in_path", config(data="HERE/a\u0000b.csv"), "run", "does not exist"),
    ("unknown_setting", config(epoch=3), "run", "Did you mean 'epochs'"),
    ("unknown_setting_500kb", json.dumps({**MINIMAL, "x" * 500_000: 1}), "run", "is not a setting"),
    ("hostile_setting_name", json.dumps({**MINIMAL, "\u202e\n\x1b[31mred": 1}), "run", "is not a setting"),
    ("template_values_list", json.dumps({**MINIMAL, "kind": "chat", "template_values": [1, 2]}), "run", "'template_values' must be a JSON object"),
    ("template_values_nested", json.dumps({**MINIMAL, "kind": "chat", "template_values": {"a": {"b": 1}}}), "run", "'template_values' must be a JSON object"),
    ("system_prompt_huge", json.dumps({**MINIMAL, "kind": "chat", "system_prompt": "x" * 200_001}), "run", "far more than any setting needs"),
    ("top_level_list", "[1, 2, 3]", "run", "must hold one JSON object"),
    ("top_level_string", '"classify"', "run", "must hold one JSON object"),
    ("top_level_null", "null", "plan", "must hold one JSON object"),
    ("empty_file", "", "run", "is not a valid JSON config file"),
    ("truncated", '{"kind": "classify", "model": ', "run", "is not a valid JSON config file"),
    ("trailing_comma", '{"kind": "classify",}', "run", "is not a valid JSON config file"),
    ("nesting_100k", "[" * 100_000 + "]" * 100_000, "run", ""),
    ("nesting_100k_in_value", '{"kind": "classify", "name": ' + "[" * 100_000 + "]" * 100_000 + "}", "plan", ""),
    ("not_utf8", b"\xff\xfe\x00k\x00", "run", ""),
    ("binary_noise", bytes(range(256)) * 4, "run", ""),
    ("bom_then_json", b"\xef\xbb\xbf" + config(epochs=-2).encode(), "run", "'epochs' must be more than 0"),
    ("too_big", '{"name": "' + "x" * (2 * 2**20) + '"}', "run", "larger than 1 MB"),
    ("threshold_2", config(threshold=2), "run", "'threshold' must be a probability"),
    ("distill_without_teacher", json.dumps({"kind": "distill", "data": "DATA"}), "run", "Choose the teacher"),
    ("distill_temperature_huge", json.dumps({"kind": "distill", "teacher": "demo:minilm", "data": "DATA", "temperature": 1e300}), "run", "'temperature' must be"),
    ("checkpoint_minutes_huge", config(checkpoint_minutes=1e200), "run", "'checkpoint_minutes' must be more than 0"),
    ("micro_batch_bigger", config(micro_batch_size=64, batch_size=8), "run", "'micro_batch_size' must be between"),
]


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    data = folder / "data.csv"
    data.write_text("text,label\nhello,greet\nbye,leave\n", encoding="utf-8")
    path = folder / f"{name}.json"
    if isinstance(content, str):
        content = content.replace("DATA", str(data)).replace("HERE", str(folder)).encode("utf-8")
    path.write_bytes(content)
    return path


def test_there_are_more_than_50_malformed_configs():
    assert len(CASES) > 50 and len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize("name, content, command, expected", CASES, ids=[case[0] for case in CASES])
def test_each_config_ends_in_one_sentence(tmp_path, capsys, name, content, command, expected):
    path = _write(tmp_path, name, content)
    started = time.monotonic()
    code = main([command, str(path)])
    said = capsys.readouterr()
    assert time.monotonic() - started < 60, f"{name} took too long"  # the first case to need torch imports it
    assert code != 0, said
    lines = said.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tunewright-engine: "), said.err
    assert "Traceback" not in said.err + said.out and "went wrong inside" not in said.err, said.err
    assert expected in lines[0] and len(lines[0]) < 500, lines[0]


def test_a_folder_as_the_config_is_a_sentence(tmp_path, capsys):
    assert main(["run", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().endswith("is a folder; give the config file inside it (a .json file).")


def test_a_pipe_as_the_config_is_refused_at_once(tmp_path, capsys):
    fifo = tmp_path / "job.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert main(["plan", str(fifo)]) == 2
    assert time.monotonic() - started < 2
    assert "is not a file (it may be a pipe or a device)" in capsys.readouterr().err


def _engine(*args: str, home: Path) -> subprocess.CompletedProcess:
    def limit_memory() -> None:  # a case that tried to hold a huge input would fail here, not pass slowly
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

    env = {**os.environ, "TUNEWRIGHT_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, env=env,
                          timeout=120, preexec_fn=limit_memory)


@pytest.mark.parametrize("name", ["nesting_100k", "seed_2_to_70", "export_given_to_plan", "batch_400_digits"])
def test_as_a_real_process(tmp_path, tunewright_home, name):
    content, command = next((content, command) for case, content, command, _ in CASES if case == name)
    result = _engine(command, str(_write(tmp_path, name, content)), home=tunewright_home)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_status_and_list_into_a_closed_pipe_end_quietly(tunewright_home):
    # `tunewright-engine list | head -1` with many runs: the reader leaves after one line
    from engine import store

    db = store.open_db(store.database_path(tunewright_home))
    for number in range(3000):
        db["runs"].insert({"kind": "classify", "name": f"run {number}", "status": "completed", "config": "{}",
                           "created_at": time.time()}, alter=True)
    for number in range(2000):
        store.add_event(db, 1, "checkpoint.saved", step=number)
    env = {**os.environ, "TUNEWRIGHT_HOME": str(tunewright_home)}
    for command in ("list", "status 1"):
        result = subprocess.run(f"'{sys.executable}' -m engine {command} | head -1", shell=True, capture_output=True,
                                text=True, env=env, timeout=120)
        assert result.stdout.count("\n") == 1
        assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr


def test_a_damaged_database_is_a_sentence(tunewright_home, capsys):
    from engine import store

    path = store.database_path(tunewright_home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)
    for command in (["list"], ["status", "1"], ["models"]):
        assert main(command) != 0
        said = capsys.readouterr().err
        assert said.startswith(f"tunewright-engine: The list of runs in {path} is damaged and cannot be read"), said
        assert "Traceback" not in said and len(said.strip().splitlines()) == 1


@pytest.mark.skipif(os.geteuid() != 0 or not __import__("shutil").which("setpriv"), reason="needs root to act as another user")
def test_a_read_only_data_folder_lists_runs_and_refuses_the_rest_in_a_sentence(tmp_path):
    # root may write anywhere, so the commands run as 'nobody', whose data folder is read-only
    import shutil
    import tempfile

    from engine import store

    home = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        db = store.open_db(store.database_path(home))
        store.create_run(db, kind="classify", config={}, name="kept run")
        db.close()
        (home / "job.json").write_text(json.dumps({**MINIMAL, "data": str(home / "data.csv")}))
        (home / "data.csv").write_text("text,label\nhello,greet\nbye,leave\n")
        for path in [home, *home.iterdir()]:
            os.chown(path, 65534, 65534)
        os.chmod(home, 0o555)
        env = {**os.environ, "TUNEWRIGHT_HOME": str(home)}

        def engine(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                                   "-m", "engine", *args], capture_output=True, text=True, env=env, timeout=120)

        listed = engine("list")
        assert listed.returncode == 0 and "kept run" in listed.stdout, listed.stderr
        status = engine("status", "1")
        assert status.returncode == 0 and status.stdout.startswith("Run 1 (kept run): queued"), status.stderr
        for args in (["pause", "1"], ["resume", "1"], ["cancel", "1"], ["run", str(home / "job.json")],
                     ["doctor", str(home / "data.csv"), "--task", "classify"]):
            result = engine(*args)
            assert result.returncode != 0 and "Traceback" not in result.stderr, (args, result.stderr)
            assert result.stderr.startswith("tunewright-engine: Tunewright may not change "), (args, result.stderr)
            assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
    finally:
        os.chmod(home, 0o755)
        shutil.rmtree(home)
