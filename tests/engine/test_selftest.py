"""The fast paths' self-test (engine/selftest.py): the paths a CPU can run really run and agree with the plain
path; a path made to disagree or crash is turned off, remembered, and said in a sentence."""

import json
import os

import pytest
import torch

from engine import compiling, proven, selftest
from tests.engine.helpers import cli


def test_the_paths_a_cpu_can_run_prove_themselves(tunewright_home):
    result = cli("selftest", "--json", "--device", "cpu", home=tunewright_home)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    outcomes = {o["path"]: o for o in report["outcomes"]}
    for path in ("packed_attention", "chunked_loss", "fused_adamw", "bf16"):
        assert outcomes[path]["ok"] and outcomes[path]["tried"], outcomes[path]
        assert outcomes[path]["loss_error"] <= outcomes[path]["tolerance"]
        assert outcomes[path]["grad_error"] <= outcomes[path]["tolerance"]
    for path in ("compile", "liger_loss", "qlora"):  # GPU only: not tried, so not used, and nothing to say
        assert not outcomes[path]["tried"] and "NVIDIA GPU" in outcomes[path]["reason"]
    assert report["turned_off"] == ""
    assert proven.passed("fused_adamw") and not proven.passed("compile")


@pytest.mark.skipif(os.name != "posix", reason="two processes with gloo, as tests/engine/test_distributed.py")
def test_a_model_divided_between_two_processes_proves_itself_on_the_cpu():
    # What a computer with several GPUs checks before dividing a model among them, here with gloo: each process
    # holds half of the model, and the chat loss takes the divided model's own way (engine/lm_loss.py).
    outcome = selftest.try_check(selftest.SHARDED, torch.device("cpu"))
    assert outcome.ok, outcome.reason
    assert outcome.loss_error <= outcome.tolerance and outcome.grad_error <= outcome.tolerance


def _off_by_a_little(step):
    loss, tensors = step
    return loss, [t + 0.01 * t.abs().mean() for t in tensors]


def _crash(device):
    raise RuntimeError("inductor: C++ compile error")


def test_a_path_that_disagrees_or_crashes_is_turned_off_and_said(tunewright_home):
    checks = [
        next(c for c in selftest.CHECKS if c.path == "chunked_loss"),
        selftest.Check("fused_adamw", 1e-5, lambda d: "", lambda d: _off_by_a_little(selftest._adamw_step(d, True)), lambda d: selftest._adamw_step(d, False)),
        selftest.Check("compile", 1e-3, lambda d: "", _crash, lambda d: selftest._packed_step(d)),
    ]
    record = selftest.run(torch.device("cpu"), tunewright_home, checks)

    outcomes = {o.path: o for o in record.outcomes}
    assert outcomes["chunked_loss"].ok
    assert not outcomes["fused_adamw"].ok and "differs from the plain path" in outcomes["fused_adamw"].reason
    assert not outcomes["compile"].ok and "C++ compile error" in outcomes["compile"].reason
    # Remembered for this computer, and the planner leaves them off even where it would use them.
    assert not proven.passed("fused_adamw") and not proven.passed("compile") and proven.passed("chunked_loss")
    assert not compiling.wanted("auto", torch.device("cuda"))
    sentence = proven.summary()
    assert "the fused optimizer" in sentence and "compiling the model" in sentence and "2 of the faster ways" in sentence
    assert "Traceback" not in sentence


def test_the_record_is_kept_until_the_machine_changes(tunewright_home, monkeypatch):
    monkeypatch.setattr(selftest, "CHECKS", [c for c in selftest.CHECKS if c.path == "chunked_loss"])
    cpu = torch.device("cpu")
    first = selftest.ensure(cpu, tunewright_home)
    assert [o.path for o in first.outcomes] == ["chunked_loss"]

    stale = proven.read(tunewright_home)
    stale.fingerprint["torch"] = "2.0.0"  # as if PyTorch had been updated since
    stale.outcomes[0].ok = False
    proven.write(stale, tunewright_home)
    assert not proven.passed("chunked_loss")
    again = selftest.ensure(cpu, tunewright_home)
    assert again.fingerprint == selftest.fingerprint(cpu) and again.passed("chunked_loss")
    assert selftest.ensure(cpu, tunewright_home).to_dict() == proven.read(tunewright_home).to_dict()


@pytest.mark.parametrize("broken", ["", "{not json", '{"fingerprint": {}}'])
def test_no_record_or_a_damaged_one_proves_nothing(tunewright_home, broken):
    if broken:
        proven.record_path(tunewright_home).write_text(broken)
    assert not proven.passed("bf16") and proven.summary() == ""
