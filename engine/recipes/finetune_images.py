"""Fine-tune an image model to sort pictures into categories: one per picture, or several.

Read top to bottom: pictures -> categories -> settings decided -> model -> batches decoded in worker
processes -> the four functions `fit` needs (the first steps train the new last layer alone) -> train -> save
-> score the held-out pictures.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from engine.images import steps
from engine.images.batches import Pictures, StepFeeder, eval_batches
from engine.images.model import build, native_size, starting_point
from engine.protocol import Status
from engine.training import Job, Loop, finish, fit, seed_everything, shuffled_steps, total_steps

EVAL_BATCH = 64


def targets_of(examples, index: dict[str, int], multi_label: bool) -> torch.Tensor:
    if multi_label:
        targets = torch.zeros(len(examples), len(index))
        for row, example in enumerate(examples):
            for label in example.labels:
                if label in index:
                    targets[row, index[label]] = 1.0
        return targets
    return torch.tensor([index.get(example.labels[0], -100) for example in examples])


def loss_sum(logits: torch.Tensor, targets: torch.Tensor, multi_label: bool, weights: torch.Tensor | None) -> torch.Tensor:
    if multi_label:
        losses = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        if weights is not None:
            losses = losses * weights
        return losses.mean(dim=1).sum()
    return F.cross_entropy(logits, targets, weight=weights, reduction="sum", ignore_index=-100)


def probabilities(model, loader, multi_label: bool, device) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's probabilities for every picture of `loader`, and their targets."""
    found, targets = [], []
    for pixels, target, _ in loader:
        logits = model(pixels.to(device)).float()
        found.append(logits.sigmoid() if multi_label else logits.softmax(dim=-1))
        targets.append(target)
    return torch.cat(found).cpu(), torch.cat(targets)


def held_out_scores(found: torch.Tensor, truth: torch.Tensor, multi_label: bool, threshold: float) -> dict[str, float]:
    """The evaluation loss, accuracy and F1 scores of the probabilities `probabilities` found."""
    from engine.classifier_steps import classification_scores

    if multi_label:
        loss = F.binary_cross_entropy(found.clamp(1e-7, 1 - 1e-7), truth, reduction="sum") / max(truth.numel(), 1)
        predicted = (found > threshold).numpy()
    else:
        known = truth >= 0
        loss = F.nll_loss(found[known].clamp_min(1e-9).log(), truth[known], reduction="sum") / max(int(known.sum()), 1)
        predicted = found.argmax(dim=-1).numpy()
    return {"eval_loss": float(loss), **classification_scores(truth.numpy(), predicted, multi_label)}


def run(job: Job) -> Status:
    config = job.config
    seed_everything(config.seed)

    # ---- pictures, and those held out to check the model on
    data, train, held = steps.read_pictures(job, config)
    labels = steps.check_categories(train)
    multi_label = data.multi_label
    index = {label: i for i, label in enumerate(labels)}
    held_out = steps.keep_held_out(job, held)

    # ---- settings the person left to the app, each said in a sentence
    steps.apply(job, steps.decide(config, len(train), native_size(config.model)))
    weights, why = steps.class_weights(train, labels)
    if weights is not None:
        job.event("plan.class_weights", reason=why)
    class_weights = torch.tensor(weights, device=job.device) if weights is not None else None

    # ---- model: the pretrained network with a new last layer for these categories
    model = build(config.model, labels, multi_label, config.image_size).to(job.device)
    job.event("plan.setting", reason=f"The model starts from {starting_point(config.model)}, with a new last layer for your {len(labels)} categories.")
    model.keep_statistics = config.statistics == "kept"
    preparation = model.preparation

    # ---- batches: decoded, scaled and varied in worker processes
    train_set = Pictures(train, targets_of(train, index, multi_label), preparation.transform(training=True, mirror=config.mirror))
    eval_set = Pictures(held, targets_of(held, index, multi_label), preparation.transform())
    steps_per_epoch = -(-len(train) // config.batch_size)

    def step_batches(epoch: int) -> list[list[int]]:
        return shuffled_steps(len(train), config.batch_size, config.seed, epoch)

    feeder = StepFeeder(train_set, step_batches, config.workers, job.device)
    head_only = 0  # the first steps, in which only the new last layer learns (decided below, with the loop)
    # Training time since the last check, and for the whole run: the data loader's share is of training time,
    # the checks themselves left out.
    clock = {"since": time.monotonic(), "trained": 0.0, "waited": 0.0}

    def micro_batches(indices: list[int], size: int) -> list[dict]:
        pixels, targets, number = feeder.next_step(indices)
        return [{"pixels": pixels[i : i + size], "targets": targets[i : i + size], "count": len(pixels[i : i + size]),
                 "head_only": number < head_only} for i in range(0, len(pixels), size)]

    def loss_sum_of(model, batch) -> torch.Tensor:
        if batch["head_only"]:
            with torch.no_grad():
                features = model.features(batch["pixels"])
            logits = model.head(features)
        else:
            logits = model(batch["pixels"])
        return loss_sum(logits.float(), batch["targets"], multi_label, class_weights)

    def evaluate(model) -> dict[str, float]:
        trained, waited = time.monotonic() - clock["since"], feeder.take_waited()
        clock["trained"] += trained
        clock["waited"] += waited
        found, truth = probabilities(model, eval_batches(eval_set, EVAL_BATCH, config.workers), multi_label, job.device)
        clock["since"] = time.monotonic()
        return {**held_out_scores(found, truth, multi_label, config.threshold), "data_wait_share": waited / max(trained, 1e-9)}

    loop = Loop(
        step_batches=step_batches,
        micro_batches=micro_batches,
        loss_sum=loss_sum_of,
        evaluate=evaluate,
        metric="eval_f1",
        higher_is_better=True,
        steps_per_epoch=steps_per_epoch,
        fresh_parameters=("net.classifier", "net.fc", "net.head"),
    )
    head_only = steps.head_steps(config, total_steps(config, loop))
    if head_only:
        job.event("plan.warmup_head", reason=(
            f"For the first {head_only} steps only the new last layer learns, the rest of the model held still; "
            "then every weight learns, so the new layer's first guesses do not spoil what the model already sees."))
    job.event("plan.steps", train_rows=len(train), batch_size=config.batch_size, steps_per_epoch=steps_per_epoch,
              total_steps=total_steps(config, loop))
    state, stopped = fit(job, model, loop, config.learning_rate)
    if clock["trained"]:
        job.event("images.data_wait", share=clock["waited"] / clock["trained"])
    status = finish(job, model, preparation, state, stopped, labels=labels, multi_label=multi_label)
    if status == Status.COMPLETED:
        from engine.recipes.evaluate import score_held_out

        score_held_out(job, model, preparation, held_out, labels=labels, multi_label=multi_label, split=not config.eval_data)
    return status
