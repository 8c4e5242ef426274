"""The health monitor: turns the training curves into plain-language events, each with an action.

The checks are plain functions over metric series (lists of values in step order), so they are tested with
synthetic curves; `Monitor` holds a run's series and calls them when `fit` flushes its metric rows or has
evaluated the model. Findings:

- divergence: the loss became NaN or infinite, or jumped far above its best (fit rolls back to the last
  good checkpoint and continues with half the learning rate);
- overfitting: the evaluation loss rises while the training loss falls and the evaluation score has stopped
  improving (the best checkpoint is kept, and early stopping ends the run or the event suggests stopping);
- a plateau: the training loss no longer moves, and neither does the evaluation score;
- a run too short to learn: too few optimizer steps for the data;
- an adapter that changed nothing: LoRA's B matrices still zero, or the evaluation loss where it started.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from engine.sharding import whole

# A loss this many times its lowest value so far (and above where it started) means training diverged.
DIVERGENCE_FACTOR = 4.0
# Judged on the median of this many losses in a row (two high ones of three): one batch's loss swings a hundredfold
# from the next once a model is half-trained (0.013 then 1.9 on a 77-category set), and one wild batch is no
# divergence.
DIVERGENCE_RUN = 3
# The evaluation loss must rise this much (relative) above its best, twice in a row, to call it overfitting:
# measured on a few hundred examples it wanders by a few percent from one check to the next (the tagging
# demo's rose 2% while its F1 held).
OVERFIT_RISE = 0.05
# Plateau: over the last PLATEAU_WINDOW steps the smoothed loss moved less than PLATEAU_CHANGE (relative).
PLATEAU_WINDOW = 50
PLATEAU_CHANGE = 0.01
# Fewer optimizer steps than this rarely teach a model anything.
MIN_STEPS = 20
# Advice about a run's course waits until the score it is judged by has not improved for this many evaluations:
# a classifier's training loss can look flat, or its evaluation loss rise, while its F1 still climbs steeply.
STALLED_EVALUATIONS = 2


def divergence(losses: list[float], lowest: float | None = None) -> str | None:
    """What went wrong with the newest losses, in words ("became NaN"), or None when they look sane.
    `losses` is the run's whole training-loss series so far, in step order. A jump is the median of the
    newest DIVERGENCE_RUN losses far above the lowest such median before it (`lowest`, when the caller keeps
    it as the series grows: `Monitor` does, so that each check costs the same at step 10 and at step 10,000)."""
    if not losses:
        return None
    latest = losses[-1]
    if math.isnan(latest):
        return "became NaN (not a number)"
    if math.isinf(latest):
        return "became infinite"
    if len(losses) <= DIVERGENCE_RUN:  # a loss that quadruples within its first steps is caught from the next
        return None
    # Where it started: the first step's loss is the model's before any update, a low worth counting as well
    # (a learning rate far too high blows up the loss within the first few steps).
    start = next((v for v in losses if math.isfinite(v)), math.inf)
    lowest = min(start, min(smoothed_losses(losses[:-1])) if lowest is None else lowest)
    now = smoothed_loss(losses, len(losses))
    if now > DIVERGENCE_FACTOR * max(lowest, 1e-3) and now > 1.5 * start:
        return f"jumped to {now:.4g}, from a best of {lowest:.4g}"
    return None


def smoothed_loss(losses: list[float], end: int) -> float:
    """The median of the finite losses among the DIVERGENCE_RUN before index `end`."""
    window = sorted(v for v in losses[max(0, end - DIVERGENCE_RUN) : end] if math.isfinite(v))
    return window[len(window) // 2] if window else math.inf


def smoothed_losses(losses: list[float]) -> list[float]:
    """`smoothed_loss` at every point from the first full run of losses on."""
    return [smoothed_loss(losses, end) for end in range(DIVERGENCE_RUN, len(losses) + 1)]


def overfitting(train_losses: list[float], eval_losses: list[float]) -> tuple[float, float] | None:
    """(best, latest) evaluation loss when the last two evaluations are both clearly above the best one while
    the training loss kept falling over the same stretch; else None."""
    if len(eval_losses) < 3:
        return None
    best_index = min(range(len(eval_losses)), key=eval_losses.__getitem__)
    best = eval_losses[best_index]
    recent = eval_losses[-2:]
    if best_index >= len(eval_losses) - 2 or not all(v > best * (1 + OVERFIT_RISE) for v in recent):
        return None
    if len(train_losses) < 4:
        return None
    half = len(train_losses) // 2
    first, second = train_losses[:half], train_losses[half:]
    falling = sum(second) / len(second) < sum(first) / len(first)
    return (best, eval_losses[-1]) if falling else None


def plateau(losses: list[float], window: int = PLATEAU_WINDOW) -> tuple[float, float] | None:
    """(start, end) of the smoothed loss over the last `window` steps when it moved less than
    PLATEAU_CHANGE; None while it still moves (or the run is too short to tell)."""
    if len(losses) < 2 * window:
        return None
    recent = losses[-window:]
    quarter = max(1, window // 4)
    start, end = sum(recent[:quarter]) / quarter, sum(recent[-quarter:]) / quarter
    if abs(start - end) <= PLATEAU_CHANGE * max(abs(start), 1e-8):
        return start, end
    return None


def score_stalled(scores: list[float], higher_is_better: bool, evaluations: int = STALLED_EVALUATIONS) -> bool:
    """Whether the last `evaluations` scores are all no better than the best one before them."""
    if len(scores) <= evaluations:
        return False
    earlier, recent = scores[:-evaluations], scores[-evaluations:]
    best = max(earlier) if higher_is_better else min(earlier)
    return all((v <= best) if higher_is_better else (v >= best) for v in recent)


def too_short(total_steps: int) -> bool:
    return total_steps < MIN_STEPS


def adapter_unchanged(model: torch.nn.Module | None, eval_losses: list[float]) -> str | None:
    """Why the training seems to have changed nothing, or None. LoRA starts with B = 0, so an adapter whose
    B matrices are still all zero has not learned; an evaluation loss stuck at its first value says the same
    for any method."""
    if model is not None:
        lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
        # (a divided model's matrices are gathered whole first, each rank holding only a share)
        if lora_b and all(float(whole(p.detach()).abs().max()) == 0.0 for p in lora_b):
            return "the adapter's weights are all still zero"
    if len(eval_losses) >= 3 and all(abs(v - eval_losses[0]) <= 1e-6 * max(abs(eval_losses[0]), 1.0) for v in eval_losses[1:]):
        return f"the evaluation loss is still exactly {eval_losses[0]:.4g}, where it started"
    return None


@dataclass
class Monitor:
    """A run's curves and which findings were already reported (each is said once)."""

    job: object  # engine.training.Job (its `event` method)
    total_steps: int
    rows: int = 0
    metric: str = "eval_loss"  # the score that picks the best checkpoint
    higher_is_better: bool = False
    warmup_steps: int = 0  # the learning rate is still rising: no advice about the run's course yet
    train_steps: list[int] = field(default_factory=list)
    train_losses: list[float] = field(default_factory=list)
    eval_losses: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)
    lowest: float = math.inf  # the lowest smoothed training loss so far (`divergence`)

    def started(self) -> None:
        if too_short(self.total_steps):
            self._once("health.too_short", steps=self.total_steps, rows=self.rows)

    def resumed(self, train_losses: list[tuple[int, float]], eval_losses: list[float], scores: list[float], reported: set[str]) -> None:
        """Take the curve a resumed run made before it stopped, and what was already said about it: judged
        from where it resumed alone, the first noisy batch after a pause would look like a jump far above
        a trained model's low loss."""
        self.train_steps = [step for step, _ in train_losses]
        self.train_losses = [loss for _, loss in train_losses]
        self.lowest = min(smoothed_losses(self.train_losses), default=math.inf)
        self.eval_losses, self.scores, self.reported = list(eval_losses), list(scores), set(reported)

    def losses_flushed(self, rows: list[tuple[int, float]]) -> str | None:
        """Take the newly written (step, train loss) rows; return what went wrong if training diverged."""
        for step, loss in rows:
            self.train_steps.append(step)
            self.train_losses.append(loss)
            if (problem := divergence(self.train_losses, self.lowest)) is not None:
                return problem
            if len(self.train_losses) >= DIVERGENCE_RUN:
                self.lowest = min(self.lowest, smoothed_loss(self.train_losses, len(self.train_losses)))
        return None

    def rolled_back(self, to_step: int) -> None:
        """Forget the curve after the checkpoint training went back to."""
        keep = sum(1 for s in self.train_steps if s <= to_step)
        del self.train_steps[keep:], self.train_losses[keep:]
        self.lowest = min(smoothed_losses(self.train_losses), default=math.inf)

    def evaluated(self, step: int, results: dict[str, float], model: torch.nn.Module, best_step: int, early_stopping: bool) -> None:
        if self.metric in results and math.isfinite(results[self.metric]):
            self.scores.append(results[self.metric])
        if "eval_loss" not in results or not math.isfinite(results["eval_loss"]):
            return
        self.eval_losses.append(results["eval_loss"])
        # Advice on the run's course only once warm-up is over and the score it is judged by has stalled, and
        # not at the last step, where the run ends anyway and the best checkpoint is what it keeps.
        advise = self.warmup_steps < step < self.total_steps and score_stalled(self.scores, self.higher_is_better)
        if advise and (flat := plateau(self.train_losses)) is not None:
            self._once("health.plateau", window=PLATEAU_WINDOW, start=flat[0], end=flat[1])
        if advise and (rise := overfitting(self.train_losses, self.eval_losses)) is not None:
            action = (
                "training stops early if it does not improve again." if early_stopping
                else "you can stop the run now without losing anything."
            )
            self._once("health.overfitting", best=rise[0], latest=rise[1], best_step=best_step, action=action)
        if len(self.eval_losses) >= 2 and (why := adapter_unchanged(model, self.eval_losses)) is not None:
            self._once("health.adapter_unchanged", why=why)

    def _once(self, code: str, **values) -> None:
        if code not in self.reported:
            self.reported.add(code)
            self.job.event(code, **values)
