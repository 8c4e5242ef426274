"""A smaller image model cut from a trained one, for distillation: the same timm network with fewer blocks.

An EfficientNet-like network (timm's EfficientNet and MobileNet families) is a stem, stages of blocks, and a
head. The first block of each stage makes the picture smaller or gives it more channels; every block after it
adds a refinement to its own input (a residual block: the same shape in and out), so any of them can be left
out and the rest still fits together, as stochastic depth leaves them out at random while these networks
train. The student keeps the stem, the head, the first block of every stage and an evenly spread share of the
other blocks, each with the teacher's weights. A network whose stages are single blocks (timm's tiny test
networks) has nothing to skip inside a stage: its deepest stages go instead, and the head's first layer is
made anew for the channels that remain.

Which blocks are kept is saved with the model (image_model.json's "blocks"), so `engine/images/model.py`
rebuilds the same network from timm's architecture and this cut.
"""

from __future__ import annotations

import copy

import torch

from engine.config import ConfigError
from engine.images.model import ImageClassifier
from engine.models.students import Cut, choose_blocks
from engine.models.surgery import parameter_count


def stage_depths(net) -> list[int]:
    """Blocks per stage, or a sentence saying the network is not built of stages of blocks."""
    stages = getattr(net, "blocks", None)
    if not isinstance(stages, torch.nn.Sequential) or not all(isinstance(s, torch.nn.Sequential) for s in stages):
        raise ConfigError.said("distill.student_not_cut", architecture=type(net).__name__)
    return [len(stage) for stage in stages]


def cut_blocks(net, kept: list[list[int]]) -> None:
    """Leaves out of `net`, in place, the blocks not in `kept` (per stage); when whole stages go, the head's
    first layer is made anew for the channels of the last stage kept."""
    stages = list(net.blocks)
    remaining = [torch.nn.Sequential(*[stages[s][b] for b in blocks]) for s, blocks in enumerate(kept) if blocks]
    if len(remaining) < len(stages):
        old = getattr(net, "conv_head", None)
        if not isinstance(old, torch.nn.Conv2d):
            raise ConfigError.said("distill.student_not_cut", architecture=type(net).__name__)
        channels = [m for m in remaining[-1].modules() if isinstance(m, torch.nn.Conv2d)][-1].out_channels
        # a 1x1 convolution, so TensorFlow's "same" padding of tf_ networks is none: a plain one is the same layer
        net.conv_head = torch.nn.Conv2d(channels, old.out_channels, old.kernel_size, old.stride, bias=old.bias is not None)
        # the heat maps look at the last stage that is still there
        net.feature_info = [info for info in net.feature_info if _stage_of(info) < len(remaining)]
    net.blocks = torch.nn.Sequential(*remaining)


def _stage_of(info: dict) -> int:
    parts = str(info.get("module", "")).split(".")
    return int(parts[1]) if parts[0] == "blocks" and len(parts) > 1 and parts[1].isdigit() else -1


def work(model: torch.nn.Module, size: int) -> float:
    """Floating-point operations to answer one picture of `size` pixels, counted by torch's own counter."""
    from torch.utils.flop_counter import FlopCounterMode

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, size, size, device=device))
    model.train(was_training)
    return float(counter.get_total_flops())


def cut_student(teacher: ImageClassifier, keep: int | None, starting: ImageClassifier | None = None) -> Cut:
    """A student of `keep` of the teacher's blocks (None: half of them, rounded up, as a text model's student
    keeps half of its layers), cut from `starting` when given (a model before it learned, of the same
    architecture: the student of the plain comparison) or else from the teacher, with its weights."""
    source = starting if starting is not None else teacher
    depths = stage_depths(source.net)
    total = sum(depths)
    why = "as many as you asked for" if keep else "half of them, the usual first cut; set student_layers for another size"
    keep = keep or -(-total // 2)
    kept = choose_blocks(depths, keep)
    net = copy.deepcopy(source.net)
    cut_blocks(net, kept)
    student = ImageClassifier(net, source.architecture, source.labels, source.multi_label, copy.deepcopy(source.preparation), kept)
    size = teacher.preparation.size
    speedup = work(teacher, size) / work(student, size)
    numbers = {"total": total, "why": why, "before": _count(parameter_count(teacher)), "after": _count(parameter_count(student)),
               "work": 1 / speedup}
    if keep < len(depths):
        said = ("distill.student_stages", {"kept": keep, "stages": len(depths), **numbers})
        title = f"made of its first {keep} stage{'s' if keep > 1 else ''}"
    else:
        skippable = total - len(depths)
        said = ("distill.student_blocks", {"kept": keep, "stages": len(depths), "extra": keep - len(depths), "skippable": skippable, **numbers})
        title = f"made of {keep} of its {total} blocks"
    if starting is not None:
        title += f" of {starting.architecture} before it learned your pictures"
    return Cut(student, keep, total, "blocks", title, speedup, said)


def _count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n:,}"
