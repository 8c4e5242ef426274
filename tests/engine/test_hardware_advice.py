"""The probe's advice for an NVIDIA GPU that a CPU-only torch cannot use (faked nvidia-smi and torch build)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine import hardware


@pytest.fixture
def nvidia_without_cuda_torch(monkeypatch):
    monkeypatch.setattr(hardware.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hardware.torch.version, "cuda", None)
    monkeypatch.setattr(hardware.shutil, "which", lambda name: "/usr/bin/nvidia-smi" if name == "nvidia-smi" else None)
    answer = subprocess.CompletedProcess([], 0, stdout="NVIDIA GeForce RTX 4070\n", stderr="")
    monkeypatch.setattr(hardware.subprocess, "run", lambda *args, **kwargs: answer)
    hardware._unused_nvidia_gpu.cache_clear()
    yield
    hardware._unused_nvidia_gpu.cache_clear()


def test_probe_names_the_unused_gpu_and_says_what_to_install(nvidia_without_cuda_torch):
    found = hardware.probe()
    assert found.unused_gpu == "NVIDIA GeForce RTX 4070"
    assert "CUDA build of PyTorch" in found.advice and "restart Tunewright" in found.advice


def test_the_installed_app_points_to_the_gpu_download(nvidia_without_cuda_torch, monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert "Install the Tunewright download marked" in hardware._advice()


def test_no_advice_without_an_nvidia_gpu(monkeypatch):
    monkeypatch.setattr(hardware.shutil, "which", lambda name: None)
    hardware._unused_nvidia_gpu.cache_clear()
    try:
        assert hardware._advice() == "" and hardware.probe().unused_gpu == ""
    finally:
        hardware._unused_nvidia_gpu.cache_clear()
