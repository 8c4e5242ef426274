"""The headless command, as a person or a script uses it."""

import json

from tests.engine.helpers import cli


def test_probe_reports_the_hardware(tunewright_home):
    result = cli("probe", "--json", home=tunewright_home)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["devices"][-1]["type"] == "cpu" and found["ram_total"] > 0 and found["disk_free"] > 0
    assert found["versions"]["torch"].startswith("2.")


def test_examples_are_ready_to_run_configs(tunewright_home):
    for kind in ("classify", "chat"):
        result = cli("example", kind, home=tunewright_home)
        config = json.loads(result.stdout)
        assert config["kind"] == kind and config["model"].startswith("demo:")


def test_a_missing_data_file_is_one_sentence_and_a_failure(tunewright_home, tmp_path):
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"kind": "classify", "model": "demo:minilm", "data": str(tmp_path / "nope.csv")}))
    result = cli("run", str(path), home=tunewright_home)
    assert result.returncode == 2
    assert result.stderr.strip() == f"tunewright-engine: The training data file {tmp_path / 'nope.csv'} does not exist."


def test_a_bad_setting_is_one_sentence_and_a_failure(tunewright_home, tmp_path):
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"kind": "classify", "model": "demo:minilm", "data": "x"}))
    result = cli("run", str(path), "--set", "epochs=lots", home=tunewright_home)
    assert result.returncode == 2
    assert result.stderr.strip() == "tunewright-engine: The setting 'epochs' must be a number (it is 'lots')."
    assert cli("run", str(tmp_path / "missing.json"), home=tunewright_home).stderr.strip().endswith(
        f"There is no config file at {tmp_path / 'missing.json'}."
    )


def test_steering_an_unknown_or_finished_run_says_why(tunewright_home):
    result = cli("pause", "42", home=tunewright_home)
    assert result.returncode == 2 and "There is no run 42" in result.stderr


def test_an_unknown_model_folder_is_refused_before_a_run_exists(tunewright_home, tmp_path, intents_file):
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"kind": "classify", "model": str(tmp_path / "no-model"), "data": str(intents_file)}))
    result = cli("run", str(path), home=tunewright_home)
    assert result.returncode == 2 and "There is no model folder at" in result.stderr
    assert json.loads(cli("list", "--json", home=tunewright_home).stdout) == []
