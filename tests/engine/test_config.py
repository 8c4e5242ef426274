import json

import pytest

from engine.config import ChatConfig, ClassifyConfig, ConfigError, from_dict, help_for, load


def test_every_setting_says_what_it_does():
    for cls in (ClassifyConfig, ChatConfig):
        for name, info in help_for(cls).items():
            assert len(info["help"]) > 15, name


@pytest.mark.parametrize(
    "change, sentence",
    [
        ({"batch_size": "eight"}, "The setting 'batch_size' must be a whole number (it is 'eight')."),
        ({"lerning_rate": 0.1}, "'lerning_rate' is not a setting of a classify job. Did you mean 'learning_rate'?"),
        ({"method": "magic"}, "The setting 'method' must be one of 'lora', 'full', 'qlora', 'auto' (it is 'magic')."),
        ({"learning_rate": -1}, "The setting 'learning_rate' must be a small positive number, such as 0.0002 (it is -1.0)."),
        ({"model": ""}, "Choose a model to start from (for example 'demo:minilm')."),
        ({"kind": "painting"}, "'painting' is not a kind of job Tunewright knows; use one of classify, chat, tag, images, distill, export, evaluate, advise."),
        ({"sharding": "halves"}, "The setting 'sharding' must be one of 'auto', 'off', 'fsdp' (it is 'halves')."),
        ({"kind": "chat", "method": "qlora", "sharding": "fsdp"},
         "A QLoRA model in 4 bits cannot be divided among GPUs; set 'sharding' to 'auto' or 'off', or choose LoRA."),
        ({"kind": "distill", "teacher": "run:1", "sharding": "fsdp"},
         "The setting 'sharding' must be one of 'auto', 'off' (it is 'fsdp')."),
    ],
)
def test_bad_settings_get_one_clear_sentence(change, sentence):
    with pytest.raises(ConfigError) as error:
        from_dict({"kind": "classify", "model": "demo:minilm", "data": "x.csv", **change})
    assert str(error.value) == sentence


def test_overrides_from_the_command_line_take_their_setting_type(tmp_path):
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"kind": "chat", "model": "demo:smollm2", "data": "d.json"}))
    config = load(path, ["epochs=2", "learning_rate=1e-4", "template_values={\"name\": \"Ada\"}", "method=full"])
    assert (config.epochs, config.learning_rate, config.template_values, config.method) == (2.0, 1e-4, {"name": "Ada"}, "full")
    assert from_dict(config.to_dict()) == config  # the stored form round-trips


def test_a_config_file_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "job.json"
    path.write_text("{model: ")
    with pytest.raises(ConfigError, match="job.json is not a valid JSON config file"):
        load(path)
