"""An image classifier as the app keeps it: a timm network with a new last layer for the person's categories,
the names of those categories, and how a picture is prepared for it (size, scaling, colour normalisation).

A model folder holds `model.safetensors` (the weights) and `image_model.json` (the architecture, the
categories and the preparation), so it loads back without code or pickles. Where a model starts from:
- `demo:efficientnet-lite0`: the bundled EfficientNet-Lite0 with ImageNet weights (engine/images/lite0.py),
- `timm:NAME`: a timm architecture, with its pretrained weights where the Hugging Face cache holds them (a model
  the person downloaded once; nothing is fetched here), else fresh ones (tests use timm's tiny test models),
- a folder written here (a trained image model), to train further.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from engine.config import ConfigError
from engine.images import lite0
from engine.images.stack import timm

DEMO = "demo:efficientnet-lite0"
SETTINGS_FILE = "image_model.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass
class Preparation:
    """How a picture becomes the model's input: scaled so its shorter side fills `size` / `crop`, the middle
    `size` x `size` kept, values normalised by `mean` and `std`."""

    size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    interpolation: str = "bicubic"
    crop: float = 0.875

    def transform(self, training: bool = False, mirror: bool = True):
        if training:
            return timm().data.create_transform(
                input_size=(3, self.size, self.size), is_training=True, hflip=0.5 if mirror else 0.0, vflip=0.0,
                scale=(0.5, 1.0), color_jitter=0.2, auto_augment=None, re_prob=0.0, interpolation=self.interpolation,
                mean=self.mean, std=self.std,
            )
        return timm().data.create_transform(
            input_size=(3, self.size, self.size), is_training=False, interpolation=self.interpolation,
            crop_pct=self.crop, mean=self.mean, std=self.std,
        )

    def save_pretrained(self, folder: str | Path) -> None:
        """Nothing of its own to write: the preparation is saved in image_model.json with the model's weights.
        (`finish` asks each recipe's input preparation, a text model's tokenizer, to save itself.)"""


class ImageClassifier(torch.nn.Module):
    """A timm network that takes `pixel_values` and answers logits, one per category."""

    def __init__(self, net, architecture: str, labels: list[str], multi_label: bool, preparation: Preparation,
                 blocks: list[list[int]] | None = None) -> None:
        super().__init__()
        self.net = net
        self.architecture = architecture
        self.labels = list(labels)
        self.multi_label = multi_label
        self.preparation = preparation
        #: a distilled student's: the blocks of each of the architecture's stages it kept (engine/images/cut.py)
        self.blocks = blocks
        #: batch normalisation keeps its running statistics while training (the recipe's decision, steps.py)
        self.keep_statistics = False

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.net(pixel_values)

    def train(self, mode: bool = True) -> "ImageClassifier":
        """Training mode, with batch normalisation's running statistics held as they are when
        `keep_statistics`: those layers normalise by them, and their scales and shifts still learn. (timm's
        `freeze_batch_norm_2d` would freeze the scales and shifts too.)"""
        super().train(mode)
        if mode and self.keep_statistics:
            for module in self.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.eval()
        return self

    def features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.net.forward_head(self.net.forward_features(pixel_values), pre_logits=True)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return self.net.get_classifier()(features)

    def target_layer(self) -> torch.nn.Module:
        """The last layer that still sees where things are in the picture (for heat maps)."""
        info = getattr(self.net, "feature_info", None)
        if info:
            name = info[-1]["module"] if isinstance(info, list) else info.module_name()[-1]
            module = self.net
            for part in name.split("."):
                module = getattr(module, part)
            return module
        return list(self.net.children())[-3]

    def save_pretrained(self, folder: str | Path, safe_serialization: bool = True, state_dict: dict | None = None) -> None:
        """Writes the network's weights and settings; `state_dict`, when given, is this module's weights
        gathered whole from the ranks that divided them (keys start with `net.`)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        weights = self.net.state_dict() if state_dict is None else {
            name.removeprefix("net."): tensor for name, tensor in state_dict.items()}
        save_file({k: v.detach().contiguous().cpu() for k, v in weights.items()}, str(folder / WEIGHTS_FILE))
        settings = {"architecture": self.architecture, "labels": self.labels, "multi_label": self.multi_label,
                    "preparation": asdict(self.preparation)}
        if self.blocks is not None:
            settings["blocks"] = self.blocks
        (folder / SETTINGS_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")


def is_image_model_folder(path: str | Path) -> bool:
    return (Path(path) / SETTINGS_FILE).exists()


def build(ref: str, labels: list[str], multi_label: bool, image_size: int | None = None) -> ImageClassifier:
    """A model to train on `labels`, started from `ref`, with a fresh last layer."""
    blocks = None
    if ref == DEMO:
        net, architecture = lite0.imagenet_model(), lite0.ARCHITECTURE
        config = net.pretrained_cfg
    elif ref.startswith("timm:"):
        architecture = ref.removeprefix("timm:")
        weights = cached_weights(architecture)
        try:
            net = timm().create_model(architecture, pretrained=weights is not None,
                                      pretrained_cfg_overlay={"file": weights} if weights else None)
        except RuntimeError:
            raise ConfigError.said("images.unknown_model", model=ref) from None
        config = net.pretrained_cfg
    elif is_image_model_folder(ref):
        loaded = load_folder(ref)
        net, architecture, config = loaded.net, loaded.architecture, {}
        preparation = loaded.preparation
        blocks = loaded.blocks
    else:
        raise ConfigError.said("images.unknown_model", model=ref)
    if config:
        size = config.get("input_size", (3, 224, 224))[-1]
        preparation = Preparation(size, tuple(config.get("mean", (0.5,) * 3)), tuple(config.get("std", (0.5,) * 3)),
                                  config.get("interpolation", "bicubic") or "bicubic", config.get("crop_pct", 0.875) or 0.875)
    if image_size:
        preparation.size = image_size
    net.reset_classifier(len(labels))
    return ImageClassifier(net, architecture, labels, multi_label, preparation, blocks)


def cached_weights(architecture: str) -> str | None:
    """The safetensors weights of a timm model in the Hugging Face cache, or None (never downloaded here)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        config = timm().models.get_pretrained_cfg(architecture)
    except (RuntimeError, ValueError):
        return None
    hub_id = getattr(config, "hf_hub_id", "") if config is not None else ""
    found = try_to_load_from_cache(hub_id, "model.safetensors") if hub_id else None
    return found if isinstance(found, str) else None


def has_learned_weights(ref: str) -> bool:
    """Whether a model starts from weights that learned something (bundled, in the Hugging Face cache, or
    trained here), rather than fresh ones."""
    return not ref.startswith("timm:") or cached_weights(ref.removeprefix("timm:")) is not None


def starting_point(ref: str) -> str:
    """Where a model's weights come from, in words."""
    if ref == DEMO:
        return "EfficientNet-Lite0's ImageNet weights (bundled)"
    if ref.startswith("timm:"):
        return ("its pretrained weights from the Hugging Face cache" if has_learned_weights(ref)
                else "fresh, untrained weights (no pretrained weights for it are on this computer), so it needs many pictures")
    return f"the trained image model in {Path(ref).name}"


def native_size(ref: str) -> int:
    """The picture size a model was made for, without loading its weights."""
    if ref == DEMO:
        return 224
    if ref.startswith("timm:"):
        try:
            return int(timm().models.get_pretrained_cfg(ref.removeprefix("timm:")).input_size[-1])
        except (AttributeError, RuntimeError, TypeError):
            return 224
    if is_image_model_folder(ref):
        return int(json.loads((Path(ref) / SETTINGS_FILE).read_text(encoding="utf-8"))["preparation"]["size"])
    raise ConfigError.said("images.unknown_model", model=ref)


def load_folder(folder: str | Path) -> ImageClassifier:
    """A model written by `save_pretrained`, in evaluation mode."""
    folder = Path(folder)
    settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    net = timm().create_model(settings["architecture"], pretrained=False, num_classes=len(settings["labels"]))
    if settings.get("blocks") is not None:  # a student with fewer blocks than its architecture
        from engine.images.cut import cut_blocks

        cut_blocks(net, settings["blocks"])
    net.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    preparation = settings["preparation"]
    preparation = Preparation(preparation["size"], tuple(preparation["mean"]), tuple(preparation["std"]),
                              preparation["interpolation"], preparation["crop"])
    return ImageClassifier(net, settings["architecture"], settings["labels"], settings["multi_label"], preparation,
                           settings.get("blocks")).eval()
