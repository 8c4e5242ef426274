"""Fast probes on frozen features: how well a model's features already separate the user's categories.

Large comparisons of transferability estimates found that plain probes on frozen features predict the
fine-tuned ranking of models better than most published scores; LogME (You et al., 2021, "LogME: Practical
Assessment of Pre-trained Models for Transfer Learning") is kept as a second opinion, because it needs no
training at all. Written in numpy and torch: scikit-learn is not a dependency, and these are short.

Targets are either class indices (one category per text; -1 for a row without one) or a 0/1 matrix
(several categories per text). Scores are the recipes' `eval_f1`: macro-F1 for one category per text,
micro-F1 for several.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class Targets:
    """What each text should be given: `single` (class index per row, -1 none) or `multi` (rows x classes)."""

    single: np.ndarray | None = None
    multi: np.ndarray | None = None

    @classmethod
    def of(cls, labels: list[list[str]], names: list[str], multi_label: bool) -> "Targets":
        index = {name: i for i, name in enumerate(names)}
        if multi_label:
            hot = np.zeros((len(labels), len(names)), dtype=np.float32)
            for row, given in enumerate(labels):
                hot[row, [index[n] for n in given if n in index]] = 1.0
            return cls(multi=hot)
        return cls(single=np.array([index.get(given[0], -1) if given else -1 for given in labels]))

    @property
    def multi_label(self) -> bool:
        return self.multi is not None

    @property
    def classes(self) -> int:
        return self.multi.shape[1] if self.multi is not None else int(self.single.max(initial=0)) + 1

    def __len__(self) -> int:
        return len(self.multi if self.multi is not None else self.single)

    def take(self, rows: np.ndarray) -> "Targets":
        return Targets(multi=self.multi[rows]) if self.multi is not None else Targets(single=self.single[rows])

    def usable(self) -> np.ndarray:
        """Rows that can be learned from: every row with several categories, those with a category else."""
        return np.arange(len(self)) if self.multi is not None else np.flatnonzero(self.single >= 0)

    def matrix(self) -> np.ndarray:
        """0/1 matrix of the targets (one-hot for one category per text)."""
        if self.multi is not None:
            return self.multi
        hot = np.zeros((len(self.single), self.classes), dtype=np.float32)
        hot[np.arange(len(self.single)), self.single] = 1.0
        return hot


def f1(targets: Targets, predicted: np.ndarray) -> float:
    """Micro-F1 (several categories per text: `predicted` is 0/1 rows x classes) or macro-F1 over the
    categories present (one per text: `predicted` is class indices), as the fine-tuning recipes score."""
    if targets.multi_label:
        truth, guess = targets.multi.astype(bool), predicted.astype(bool)
        tp, fp, fn = (truth & guess).sum(), (~truth & guess).sum(), (truth & ~guess).sum()
        return float(2 * tp / max(2 * tp + fp + fn, 1))
    truth = targets.single
    scores = []
    for c in np.unique(truth):
        tp = ((truth == c) & (predicted == c)).sum()
        scores.append(2 * tp / max(2 * tp + ((truth != c) & (predicted == c)).sum() + ((truth == c) & (predicted != c)).sum(), 1))
    return float(np.mean(scores)) if scores else 0.0


def standardized(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Each feature scaled to mean 0 and spread 1 on the training rows (the others scaled the same way)."""
    mean, spread = train.mean(0), train.std(0) + 1e-6
    return [(x - mean) / spread for x in (train, *others)]


# ---------------------------------------------------------------- k nearest neighbours


def knn_predict(train: np.ndarray, targets: Targets, test: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Each test text takes the categories of its k most similar training texts (cosine), each vote weighted
    by its similarity. Returns the predictions and the vote shares (rows x classes)."""
    a = train / (np.linalg.norm(train, axis=1, keepdims=True) + 1e-9)
    b = test / (np.linalg.norm(test, axis=1, keepdims=True) + 1e-9)
    similarity = b @ a.T
    k = max(1, min(k, len(train)))
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    weights = np.clip(np.take_along_axis(similarity, nearest, axis=1), 1e-3, None)
    votes = np.einsum("nk,nkc->nc", weights, targets.matrix()[nearest]) / weights.sum(1, keepdims=True)
    return ((votes >= 0.5).astype(np.float32) if targets.multi_label else votes.argmax(1)), votes


# ---------------------------------------------------------------- a linear classifier


def linear_fit(train: np.ndarray, targets: Targets, *, l2: float = 1e-3, steps: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """Logistic regression on the features (softmax for one category per text, one sigmoid per category for
    several), by full-batch L-BFGS with a small L2 penalty. Returns the weights and biases."""
    x = torch.from_numpy(np.ascontiguousarray(train, dtype=np.float32))
    classes = targets.classes
    weight = torch.zeros(x.shape[1], classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    y = torch.from_numpy(targets.multi) if targets.multi_label else torch.from_numpy(targets.single).long()
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        logits = x @ weight + bias
        value = (torch.nn.functional.binary_cross_entropy_with_logits(logits, y) * classes if targets.multi_label
                 else torch.nn.functional.cross_entropy(logits, y))
        value = value + l2 * (weight**2).sum()
        value.backward()
        return value

    # One thread: on problems this small, several threads mostly wait for each other, and on a busy machine
    # they made one fit take 12 s instead of 0.1 s.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        optimizer.step(loss)
    finally:
        torch.set_num_threads(threads)
    return weight.detach(), bias.detach()


def linear_probabilities(weight: torch.Tensor, bias: torch.Tensor, features: np.ndarray, multi_label: bool) -> np.ndarray:
    logits = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)) @ weight + bias
    return (logits.sigmoid() if multi_label else logits.softmax(-1)).numpy()


def linear_predict(train: np.ndarray, targets: Targets, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    weight, bias = linear_fit(train, targets)
    probabilities = linear_probabilities(weight, bias, test, targets.multi_label)
    return ((probabilities >= 0.5).astype(np.float32) if targets.multi_label else probabilities.argmax(1)), probabilities


# ---------------------------------------------------------------- LogME


def logme(features: np.ndarray, targets: Targets, iterations: int = 20) -> float:
    """LogME: the log evidence, per example, of a Bayesian linear model from the features to each target
    column, with its prior and noise precisions (alpha, beta) set by the usual fixed-point iteration (MacKay),
    averaged over the columns. Higher is better; comparable across models on the same data only."""
    f = features.astype(np.float64)
    n, d = f.shape
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    sigma = s**2
    evidences = []
    for y in targets.matrix().T.astype(np.float64):
        x2 = (u.T @ y) ** 2
        outside = max(float(y @ y - x2.sum()), 0.0)  # the part of y no feature direction reaches
        alpha, beta = 1.0, 1.0
        for _ in range(iterations):
            t = alpha / beta
            gamma = float((sigma / (sigma + t)).sum())
            m2 = float((sigma * x2 / (t + sigma) ** 2).sum())
            residual = float((x2 / (1 + sigma / t) ** 2).sum()) + outside
            new_alpha, new_beta = gamma / (m2 + 1e-9), (n - gamma) / (residual + 1e-9)
            done = abs(new_alpha / new_beta - t) / t < 1e-4
            alpha, beta = new_alpha, new_beta
            if done:
                break
        evidence = (n * np.log(beta) + d * np.log(alpha) - n * np.log(2 * np.pi) - beta * residual - alpha * m2
                    - np.log(alpha + beta * sigma).sum() - (d - len(sigma)) * np.log(alpha)) / 2
        evidences.append(evidence / n)
    return float(np.mean(evidences))


# ---------------------------------------------------------------- cross-validated scores


@dataclass
class ProbeScores:
    knn: list[float] = field(default_factory=list)  # one score per fold
    linear: list[float] = field(default_factory=list)
    logme: float = 0.0

    @property
    def best(self) -> str:
        return "linear" if np.mean(self.linear) >= np.mean(self.knn) else "knn"

    @property
    def score(self) -> float:
        """The better probe's mean over the folds: the figure models are ranked by."""
        return float(max(np.mean(self.knn), np.mean(self.linear)))

    @property
    def low_high(self) -> tuple[float, float]:
        """The better probe's range over the folds."""
        folds = self.linear if self.best == "linear" else self.knn
        return float(min(folds)), float(max(folds))


def folds_of(rows: int, folds: int, seed: int = 0) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(rows)
    return [order[i::folds] for i in range(folds)]


def cross_validate(features: np.ndarray, targets: Targets, *, folds: int = 4, seed: int = 0) -> ProbeScores:
    """Both probes scored on each of `folds` held-out parts of the data, trained on the rest; LogME on all."""
    keep = targets.usable()
    features, targets = features[keep], targets.take(keep)
    scores = ProbeScores()
    for held in folds_of(len(features), folds, seed):
        train_rows = np.setdiff1d(np.arange(len(features)), held)
        train, test = standardized(features[train_rows], features[held])
        train_targets, test_targets = targets.take(train_rows), targets.take(held)
        scores.knn.append(f1(test_targets, knn_predict(train, train_targets, test)[0]))
        scores.linear.append(f1(test_targets, linear_predict(train, train_targets, test)[0]))
    scores.logme = logme(standardized(features)[0], targets)
    return scores
