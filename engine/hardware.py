"""What this machine can train with: accelerators, memory, disk, and library versions."""

from __future__ import annotations

import functools
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil
import torch

from engine.config import ConfigError
from engine.protocol import message


@dataclass
class Device:
    type: str  # "cuda", "mps" or "cpu"
    index: int
    name: str
    total_memory: int  # bytes
    free_memory: int
    bf16: bool = False
    compute_capability: str = ""


@dataclass
class Probe:
    devices: list[Device]
    cuda: bool
    mps: bool
    ram_total: int
    ram_available: int
    disk_free: int
    cpu_count: int
    platform: str
    versions: dict[str, str] = field(default_factory=dict)
    advice: str = ""
    unused_gpu: str = ""  # the name of an NVIDIA GPU that this torch cannot use, for the first-start advice

    def to_dict(self) -> dict:
        return asdict(self)


def probe(home: Path | None = None) -> Probe:
    devices: list[Device] = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            properties = torch.cuda.get_device_properties(index)
            free, total = torch.cuda.mem_get_info(index)
            devices.append(
                Device(
                    "cuda", index, properties.name, total, free,
                    bf16=torch.cuda.is_bf16_supported(including_emulation=False),
                    compute_capability=f"{properties.major}.{properties.minor}",
                )
            )
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    memory = psutil.virtual_memory()
    if mps:
        # Apple GPUs share the system memory.
        devices.append(Device("mps", 0, "Apple GPU", memory.total, memory.available, bf16=True))
    devices.append(Device("cpu", 0, platform.processor() or platform.machine(), memory.total, memory.available))
    disk = shutil.disk_usage(home if home and home.exists() else Path.home())
    return Probe(
        devices=devices,
        cuda=torch.cuda.is_available(),
        mps=mps,
        ram_total=memory.total,
        ram_available=memory.available,
        disk_free=disk.free,
        cpu_count=psutil.cpu_count() or 1,
        platform=platform.platform(),
        versions=_versions(),
        advice=_advice(),
        unused_gpu=_unused_nvidia_gpu(),
    )


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "cuda": torch.version.cuda or ""}
    for package in ("torch", "transformers", "peft", "accelerate", "bitsandbytes", "liger-kernel"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


def _advice() -> str:
    """A sentence for a machine with an NVIDIA GPU that this torch cannot use: what to install instead."""
    if not _unused_nvidia_gpu():
        return ""
    if getattr(sys, "frozen", False):  # an installed app: its torch cannot be swapped, its installer can
        return message("hardware.cuda_missing_installer")[1]
    return message("hardware.cuda_missing_pip", torch=torch.__version__.split("+")[0])[1]


@functools.cache
def _unused_nvidia_gpu() -> str:
    """The name of an NVIDIA GPU that this torch was built without support for ("" if there is none)."""
    if torch.cuda.is_available() or torch.version.cuda is not None:
        return ""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return ""
    try:
        names = subprocess.run(
            [smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=10,
            stdin=subprocess.DEVNULL,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        names = []
    name = next((line.strip() for line in names if line.strip()), "")
    return name if name.upper().startswith("NVIDIA") else f"NVIDIA {name}".strip() if name else "NVIDIA GPU"


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "The setting 'device' asks for an NVIDIA GPU ('cuda'), but this computer has none that PyTorch can "
            "use; choose 'auto' or 'cpu'."
        )
    if requested == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError(
            "The setting 'device' asks for an Apple GPU ('mps'), but this computer has none; choose 'auto' or 'cpu'."
        )
    return torch.device(requested)


def pick_dtype(device: torch.device, requested: str = "auto") -> torch.dtype:
    """bf16 where the hardware does it natively, else fp32 (fp16 only when asked: it needs loss scaling)."""
    if requested == "bf16":
        return torch.bfloat16
    if requested == "fp16":
        return torch.float16
    if requested == "fp32":
        return torch.float32
    if device.type == "cuda" and torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.bfloat16
    return torch.float32


def memory_metrics(device: torch.device) -> dict[str, float]:
    """GPU and RAM use, in bytes, for the metric rows."""
    memory = psutil.virtual_memory()
    values = {
        "process_ram": float(psutil.Process().memory_info().rss),
        "system_ram_used": float(memory.total - memory.available),
        "system_ram_total": float(memory.total),
    }
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        values |= {
            "gpu_allocated": float(torch.cuda.memory_allocated(device)),
            "gpu_reserved": float(torch.cuda.memory_reserved(device)),
            "gpu_peak": float(torch.cuda.max_memory_allocated(device)),
            "gpu_total": float(total),
            "gpu_used": float(total - free),
        }
    return values
