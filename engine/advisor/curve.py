"""Would more examples help? Probe scores at nested fractions of the data, a power-law family fitted to
them, and an uncertainty band.

The linear probe is trained on nested subsets (each larger one holds the smaller ones) of the training part
and scored on a fixed held-out part, over a few random orders. The error is fitted by the family
    error(n) = floor + b * n^(-c),   floor >= 0 (or 0: a plain power law), b >= 0, 0 < c <= 1.5
(a plain power law when the floor is 0; the floor is what no amount of such data removes). A single power
law fitted once misjudges how much data is needed, so the band comes from refitting on resampled points
(a bootstrap), each time with a floor, without one, and through the two largest sizes alone (the slope of
the last doubling), and the answer is a range, checked again after each round of labelling.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from engine.advisor.probes import Targets, f1, linear_predict, standardized

EXPONENTS = np.concatenate([[0.005, 0.01, 0.02], np.linspace(0.05, 1.5, 59)])  # near 0: a flat curve
BAND = (5.0, 95.0)  # percentiles of the bootstrap's predictions: a 90% band


@dataclass
class Fit:
    floor: float
    scale: float
    exponent: float

    def error(self, n: np.ndarray | float) -> np.ndarray | float:
        return self.floor + self.scale * np.power(n, -self.exponent)

    def score(self, n: np.ndarray | float) -> np.ndarray | float:
        return 1.0 - self.error(n)


def fit_power_law(sizes: np.ndarray, scores: np.ndarray, *, floor: bool = True) -> Fit:
    """Least squares over the exponent grid; floor and scale by non-negative least squares at each
    exponent (the best of: both free when both come out non-negative, floor only, scale only)."""
    y = 1.0 - np.asarray(scores, dtype=np.float64)
    z = np.power(np.asarray(sizes, dtype=np.float64)[None, :], -EXPONENTS[:, None])  # exponents x points
    n, zm, ym = y.size, z.mean(1), y.mean()
    szz = ((z - zm[:, None]) ** 2).sum(1)
    b = np.where(szz > 0, ((z - zm[:, None]) * (y - ym)).sum(1) / np.maximum(szz, 1e-300), 0.0)
    a = ym - b * zm
    free_ok = (a >= 0) & (b >= 0) & (szz > 0) & floor
    only_scale = np.maximum((z * y).sum(1) / np.maximum((z * z).sum(1), 1e-300), 0.0)
    options = [  # (floor, scale) per exponent, for each of the three cases
        (np.where(free_ok, a, np.nan), np.where(free_ok, b, np.nan)),
        (np.full_like(b, max(ym, 0.0) if floor else np.nan), np.zeros_like(b)),
        (np.zeros_like(b), only_scale),
    ]
    losses = np.stack([np.nan_to_num(((fa[:, None] + fb[:, None] * z - y) ** 2).sum(1), nan=np.inf) for fa, fb in options])
    case, exponent = np.unravel_index(np.argmin(losses), losses.shape)
    floor, scale = options[case][0][exponent], options[case][1][exponent]
    return Fit(float(floor), float(scale), float(EXPONENTS[exponent]))


def last_doubling(points: np.ndarray) -> Fit:
    """The plain power law through the mean errors at the two largest sizes among (size, score) `points`: the
    curve's slope where it is now, carried on (its exponent kept within the family's)."""
    (n1, n2) = np.unique(points[:, 0])[-2:]
    e1, e2 = (max(1.0 - points[points[:, 0] == n, 1].mean(), 1e-6) for n in (n1, n2))
    exponent = float(np.clip(math.log(e1 / e2) / math.log(n2 / n1), 0.0, EXPONENTS[-1]))
    return Fit(0.0, e2 * n2**exponent, exponent)


@dataclass
class Curve:
    sizes: list[int]  # training examples at each point
    scores: list[list[float]]  # the probe's score at each size, one per random order
    fit: dict[str, float]
    now_size: int
    now_score: float  # the probe with every training example
    target_size: int  # usually twice as many
    expected: float  # the fitted score there
    low: float  # the band there
    high: float
    gain_low: float = 0.0  # what the target size adds to the current one (the band of the refits' gains)
    gain_high: float = 0.0
    band_sizes: list[int] = field(default_factory=list)  # for the plot: the band along the curve
    band_low: list[float] = field(default_factory=list)
    band_high: list[float] = field(default_factory=list)
    fitted: list[float] = field(default_factory=list)
    verdict: str = ""  # "keep labelling", "enough", "inconsistent labels" or "unsure"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def nested_scores(features: np.ndarray, targets: Targets, *, fractions: list[float], repeats: int = 3,
                  held_out: float = 0.25, seed: int = 0) -> tuple[list[int], list[list[float]]]:
    """The linear probe's score on a fixed held-out part, trained on nested fractions of the rest."""
    keep = targets.usable()
    features, targets = features[keep], targets.take(keep)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(features))
    cut = max(1, round(len(features) * held_out))
    test_rows, pool = order[:cut], order[cut:]
    sizes = sorted({max(8, round(f * len(pool))) for f in fractions if round(f * len(pool)) <= len(pool)})
    scores: list[list[float]] = [[] for _ in sizes]
    for repeat in range(repeats):
        shuffled = np.random.default_rng(seed + 1 + repeat).permutation(pool)
        for i, size in enumerate(sizes):
            rows = shuffled[:size]
            train, test = standardized(features[rows], features[test_rows])
            predicted, _ = linear_predict(train, targets.take(rows), test)
            scores[i].append(f1(targets.take(test_rows), predicted))
    return sizes, scores


def learning_curve(sizes: list[int], scores: list[list[float]], *, full_size: int | None = None,
                   target_size: int | None = None, resamples: int = 200, seed: int = 0) -> Curve:
    """Fit the curve and its band, and say what `target_size` examples (default twice `full_size`, the
    examples there are now) would score."""
    full_size = full_size or sizes[-1]
    target_size = target_size or 2 * full_size
    points = np.array([(n, s) for n, row in zip(sizes, scores) for s in row], dtype=np.float64)
    fit = fit_power_law(points[:, 0], points[:, 1])
    grid = np.unique(np.geomspace(sizes[0], max(target_size, full_size) * 1.05, 40).round().astype(int))
    rng = np.random.default_rng(seed)
    at_target, along, gains = [], [], []
    for _ in range(resamples):
        sample = points[rng.integers(0, len(points), len(points))]
        if len(np.unique(sample[:, 0])) < 2:
            continue
        # Three members of the family on each resample: with a floor (it levels off), without (a plain power
        # law, which keeps rising), and the power law through the two largest sizes alone. Four or five points
        # cannot tell the first two apart, and both fitted on the first half of the data rose too slowly in
        # the measured cases (bench/advisor.md): the smallest subsets sit in a small-data regime that learns
        # slower than the power law the larger ones have entered, which the last doubling's slope follows.
        plain = fit_power_law(sample[:, 0], sample[:, 1], floor=False)
        for refit in (fit_power_law(sample[:, 0], sample[:, 1], floor=True), plain, last_doubling(sample)):
            at_target.append(refit.score(target_size))
            gains.append(refit.score(target_size) - refit.score(full_size))
            # The last doubling's line says nothing about the smaller sizes: the plot's band there is the fits'.
            along.append(np.where(grid >= np.unique(sample[:, 0])[-2], refit.score(grid), plain.score(grid)))
    gains = np.array(gains or [fit.score(target_size) - fit.score(full_size)])
    at_target = np.array(at_target or [fit.score(target_size)])
    along = np.array(along or [fit.score(grid)])
    # A new result is one noisy point, not the curve's mean: the band adds the scatter of single scores where
    # the curve is now. Three scores at one size say little about it (their spread is under half the true one
    # about one time in five), so the within-size variances of the two largest sizes are pooled, each with
    # its degree of freedom lost to its own mean.
    largest = [s for n, row in zip(sizes, scores) for s in row if n == sizes[-1]]
    noise = pooled_scatter(scores[-2:])
    low = float(np.clip(np.percentile(at_target, BAND[0]) - noise, 0, 1))
    high = float(np.clip(np.percentile(at_target, BAND[1]) + noise, 0, 1))
    now = float(np.mean(largest)) if full_size == sizes[-1] else float(fit.score(full_size))
    curve = Curve(
        sizes=list(map(int, sizes)), scores=[[float(s) for s in row] for row in scores], fit=asdict(fit),
        now_size=int(full_size), now_score=now, target_size=int(target_size), expected=float(fit.score(target_size)),
        low=min(low, float(fit.score(target_size))), high=max(high, float(fit.score(target_size))),
        gain_low=float(np.percentile(gains, BAND[0])), gain_high=float(np.percentile(gains, BAND[1])),
        band_sizes=grid.tolist(), band_low=np.clip(np.percentile(along, BAND[0], axis=0) - noise, 0, 1).tolist(),
        band_high=np.clip(np.percentile(along, BAND[1], axis=0) + noise, 0, 1).tolist(),
        fitted=np.clip(fit.score(grid), 0, 1).tolist(),
    )
    curve.verdict = verdict(curve)
    return curve


def pooled_scatter(groups: list[list[float]]) -> float:
    """The standard deviation of single scores around their size's mean, pooled over `groups` (the scores at
    each size)."""
    squares = sum(float(np.sum((np.array(g) - np.mean(g)) ** 2)) for g in groups if len(g) > 1)
    freedom = sum(len(g) - 1 for g in groups if len(g) > 1)
    return math.sqrt(squares / freedom) if freedom else 0.0


# Gains smaller than this (in score points) are not worth a round of labelling; larger ones are.
ENOUGH_GAIN, WORTH_GAIN = 0.01, 0.02
# A curve whose ceiling is this low, with data it has stopped learning from, points at the labels.
LOW_CEILING = 0.6


def verdict(curve: Curve) -> str:
    gain_low, gain_high = curve.gain_low, curve.gain_high
    ceiling = 1.0 - curve.fit["floor"]
    if gain_high < ENOUGH_GAIN:
        return "inconsistent labels" if ceiling < LOW_CEILING else "enough"
    if gain_low >= WORTH_GAIN or (gain_low + gain_high) / 2 >= WORTH_GAIN:
        return "keep labelling"
    return "unsure"


def shifted(curve: Curve, score_now: float) -> tuple[float, float]:
    """What the target size would score, on the scale of `score_now` (a fine-tuned run's own score, or the
    probe's): the curve's band there (the one plotted, whose coverage bench/advisor.md measures), moved by as
    much as `score_now` differs from the probe's score now. The gains alone would leave out how far one new
    score scatters, and make a narrower range than the one that held in the measured cases."""
    offset = score_now - curve.now_score
    return float(np.clip(curve.low + offset, 0, 1)), float(np.clip(curve.high + offset, 0, 1))


def percent(value: float) -> str:
    return f"{value * 100:.0f}%" if not math.isnan(value) else "?"
