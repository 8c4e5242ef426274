"""What the whole-run time forecast (engine/timing.py) needs of an image run, found on this machine: the image
model's training steps and evaluation batches timed on the processor at the planned batch and picture size,
as a fixed part and a part per picture (or, where a GPU trains, the FLOPs of one picture), and the work
around them per picture, timed on a sample of the person's own pictures: checking each once, decoding and
varying it for a training step, decoding it for an evaluation, drawing a heat map.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import torch

from engine.images.collect import Example, ImageSet
from engine.timing import EVAL_BATCH, MEASURE_SECONDS, Measured, PictureCosts, RunTime, timed, timed_line

#: Pictures each kind of picture work is timed on (the first of the training pictures).
SAMPLE = 24
#: The share of held-out pictures a trained model is taken to get wrong, for the number of heat maps its
#: gallery draws (each a forward and a backward pass: 0.4 s for EfficientNet-Lite0 at 96 pixels on a busy
#: 2-core machine). The demo gets 2% wrong; a tenth keeps the estimate on the safe side without charging
#: the gallery's fifty mistakes to every run.
LIKELY_WRONG = 0.1


def flops_per_picture(model, size: int) -> float:
    """FLOPs of a forward pass of one picture, counted by torch's own counter (torch.utils.flop_counter) as it
    runs the model once: it counts the convolutions and matrix products, where an image model's arithmetic is
    (no table of architectures to keep, and no library beyond torch)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, size, size))
    model.train(was_training)
    return float(counter.get_total_flops())


def picture_costs(model, examples: list[Example], mirror: bool) -> PictureCosts:
    """Seconds per picture of checking, decoding for training and for evaluation, and per heat map, each the
    typical of a few rounds over the sample (the first round, which imports and warms up, not counted)."""
    from engine.images.checks import look_at_all
    from engine.images.heatmap import explain
    from engine.images.pictures import read_picture
    from engine.images.stack import grad_cam

    sample = examples[:SAMPLE]
    count = max(len(sample), 1)
    preparation = model.preparation
    varied, plain = preparation.transform(training=True, mirror=mirror), preparation.transform()

    def decode(transform) -> None:
        for example in sample:
            transform(read_picture(example.path, example.shown).image)

    look_at_all(sample[:2])
    look, train, evaluate = timed([lambda: look_at_all(sample), lambda: decode(varied), lambda: decode(plain)], 2, budget=1.0)
    started = time.perf_counter()
    grad_cam()
    imported = time.perf_counter() - started
    device = torch.device("cpu")
    with tempfile.TemporaryDirectory() as folder:
        explain(model, sample[0].path, Path(folder), device, sample[0].shown)
        heat_map = timed([lambda: explain(model, sample[0].path, Path(folder), device, sample[0].shown)], 2, budget=0.5)[0]
    model.train()
    return PictureCosts(look / count, train / count, evaluate / count, heat_map, heat_map_import=imported)


def measure_steps(model, config, batch: int, eval_rows: int, multi_label: bool, cpu_flops: float,
                  picture_flops: float) -> Measured | None:
    """Training steps (forward, backward, the recipe's optimizer) of `batch` pictures and of half as many, and
    evaluation batches as the held-out pictures fill them (EVAL_BATCH at most) and half as many, at the planned
    picture size on the CPU; a model whose
    step would take longer than MEASURE_SECONDS is timed on fewer pictures and the line carries it up. The
    random numbers it draws are its own, so a run trains the same whether or not it was timed."""
    from engine.training import make_optimizer

    size = model.preparation.size
    classes = len(model.labels)

    def largest(rows: int, flops: float) -> int:
        while rows > 1 and flops * rows / cpu_flops > MEASURE_SECONDS:
            rows //= 2
        return rows

    with torch.random.fork_rng(devices=[]):
        generator = torch.Generator().manual_seed(0)
        optimizer = make_optimizer(model, config, 1e-6, torch.device("cpu"), fresh=("net.classifier", "net.fc", "net.head"))

        def pixels(rows: int) -> torch.Tensor:
            return torch.randn(rows, 3, size, size, generator=generator)

        def train_step(rows: int, _: int = 1) -> None:
            logits = model(pixels(rows))
            targets = torch.zeros(rows, classes) if multi_label else torch.zeros(rows, dtype=torch.long)
            loss = (torch.nn.functional.binary_cross_entropy_with_logits if multi_label else torch.nn.functional.cross_entropy)(logits, targets)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        def eval_batch(rows: int, _: int = 1) -> None:
            with torch.no_grad():
                model(pixels(rows))

        train_rows, eval_rows = largest(batch, 3 * picture_flops), largest(min(EVAL_BATCH, max(eval_rows, 1)), picture_flops)
        try:
            model.train()
            # The first steps are not part of the line: they allocate and pick kernels, which the run's first
            # full step pays once too (seconds for EfficientNet-Lite0 on a busy 2-core machine, against 1.5 for
            # the others); what the first took beyond the line is charged once.
            started = time.perf_counter()
            train_step(train_rows)
            first = time.perf_counter() - started
            train_step(max(1, train_rows // 2))
            train, train_seconds = timed_line(train_step, (train_rows, 1), (max(1, train_rows // 2), 1), 2)
            model.eval()
            eval_batch(eval_rows)
            evaluate, _ = timed_line(eval_batch, (eval_rows, 1), (max(1, eval_rows // 2), 1), 2)
        except Exception:  # noqa: BLE001 - a model that will not run here is timed by its FLOPs instead
            return None
        finally:
            optimizer.zero_grad(set_to_none=True)
    # A step timed on fewer pictures than the batch: its first step's extra cost is taken as in proportion.
    first_step = max(0.0, first - train_seconds) * batch / train_rows
    return Measured(train, evaluate, train_rows, train_seconds, first_step)


def built(config, labels: list[str], multi_label: bool):
    """The model a run of `config` starts from, and the seconds it took to build (its weights read)."""
    from engine.images.model import build

    started = time.perf_counter()
    model = build(config.model, labels, multi_label, config.image_size)
    model.keep_statistics = config.statistics == "kept"  # as the recipe trains it: a step without the batches' statistics
    return model, time.perf_counter() - started


def weights_bytes(model) -> float:
    return float(sum(p.numel() * p.element_size() for p in model.parameters()))


def forecast_run(config, data: ImageSet, held_out: ImageSet | None, eval_rows: int, steps: int, device) -> RunTime:
    """The whole-run time of `config` (its settings decided) on `device`: `data` the training file's pictures,
    `held_out` the evaluation file's (None: `eval_rows` of the training file's are held out)."""
    import engine.recipes.finetune_images  # noqa: F401 - imported as a job imports it, for its cost
    import engine.training  # noqa: F401
    from engine.forecast import measure_cpu_flops
    from engine.images.evaluate import RIGHT_EXAMPLES
    from engine.images.stack import timm
    from engine.images.steps import head_steps
    from engine.recipes.evaluate import WRONG_EXAMPLES
    from engine.timing import evaluation_passes, forecast_picture_run_time, process_start_seconds

    timm()
    start_up = process_start_seconds()  # this process has started as a job process does, so far
    examples = [e for e in data.examples if e.labels]
    labels = sorted({label for e in examples for label in e.labels}) or ["one", "other"]
    model, build_seconds = built(config, labels, data.multi_label)
    picture_flops = flops_per_picture(model, model.preparation.size)
    measured = None
    if device.type == "cpu":  # first, while its first training step is as cold as a run's
        measured = measure_steps(model, config, config.batch_size, eval_rows, data.multi_label, measure_cpu_flops(),
                                 picture_flops)
    # Pictures are decoded and heat maps drawn on the processor wherever the model trains.
    costs = picture_costs(model, examples, config.mirror)
    costs.build = build_seconds
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    # The training pictures are checked before training (with the evaluation file's), the held-out ones again
    # before the final evaluation. The gallery's heat maps are its mistakes and a few right answers: how many
    # it gets wrong is not known before training, so a share of LIKELY_WRONG is counted.
    wrong = min(WRONG_EXAMPLES, math.ceil(LIKELY_WRONG * eval_rows))
    checked = len(examples) + (len(held_out.examples) if held_out is not None else 0) + eval_rows
    return forecast_picture_run_time(
        device_type=device.type, device_name=name, steps=steps, batch=config.batch_size,
        head_steps=head_steps(config, steps), workers=config.workers or 0, checked=checked, eval_rows=eval_rows,
        evaluations=evaluation_passes(steps, config.eval_every), heat_maps=min(eval_rows, wrong + RIGHT_EXAMPLES),
        weights_bytes=weights_bytes(model), pictures=costs, measured=measured, flops_per_picture=picture_flops,
        start_up=start_up,
    )
