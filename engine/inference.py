"""Using a finished run's model: ask a chat model a question (the playground and tests build on this)."""

from __future__ import annotations

from pathlib import Path

import torch
from sqlite_utils import Database

from engine import store
from engine.config import ConfigError, from_dict
from engine.data.chat import tokenize_prompt
from engine.data.conversations import Turn
from engine.models.catalog import resolve
from engine.models.loading import load_causal_lm, load_tokenizer, materialize
from engine.data.conversations import with_system_prompt


def load_chat_model(db: Database, run_id: int | None, *, base: str = "", home: Path | None = None):
    """The tuned model of a completed chat run, or (with `base`) the model it started from."""
    home = home or store.default_home()
    if run_id is None:
        source = materialize(resolve(base), home)
        return load_causal_lm(source, dtype=torch.float32), load_tokenizer(source), ""
    run = store.get_run(db, run_id)
    config = from_dict(run["config"])
    model_dir = Path(run["run_dir"]) / "model"
    if run["status"] != "completed" or not model_dir.exists():
        raise ConfigError(f"Run {run_id} has no finished model yet (it is {run['status']}).")
    source = materialize(resolve(config.model, allow_unsafe=config.allow_unsafe_weights), home)
    model = load_causal_lm(source, dtype=torch.float32, allow_unsafe=config.allow_unsafe_weights)
    if (model_dir / "adapter_config.json").exists():
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, model_dir)
    else:
        model = load_causal_lm(type(source)(source.ref, model_dir, source.title), dtype=torch.float32)
    return model.eval(), load_tokenizer(type(source)(source.ref, model_dir, source.title)), config.system_prompt


#: Small models fall into loops ("yes; yes; yes; ..."). A mild penalty on tokens already used (1.1, the
#: default of llama.cpp and Ollama) and never the same six tokens twice in a row of text: enough to break a
#: loop, too little to bend the wording of a good answer (a real sentence rarely repeats six tokens).
REPETITION_GUARD = {"repetition_penalty": 1.1, "no_repeat_ngram_size": 6}


def answer(model, tokenizer, prompt: str, *, system_prompt: str = "", max_new_tokens: int = 60) -> str:
    """The model's greedy answer to one user message (greedy: the same answer every time)."""
    turns = with_system_prompt([Turn("user", prompt, train=False)], system_prompt)
    ids = torch.tensor([tokenize_prompt(tokenizer, turns)])
    with torch.no_grad():
        out = model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, do_sample=False,
            pad_token_id=tokenizer.pad_token_id, **REPETITION_GUARD,
        )
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip()


def ask(db: Database, run_id: int, prompt: str) -> str:
    model, tokenizer, system_prompt = load_chat_model(db, run_id)
    return answer(model, tokenizer, prompt, system_prompt=system_prompt)
