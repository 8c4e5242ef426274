"""The advisor job's settings (the `advise` job kind). Torch-free: the window builds these too."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.config import ConfigError, setting

QUESTIONS = ["models", "more_data", "label_next"]
QUESTION_WORDS = {"models": "Which model", "more_data": "Would more data help", "label_next": "What to label next"}


@dataclass
class AdviseConfig:
    """Answer one of the advisor's questions about a data set: which model to start from, whether more
    examples would help, or which texts to label next."""

    question: str = setting("models", "'models': score each candidate model on a sample of the data; 'more_data': "
                            "would more examples help; 'label_next': which unlabelled texts to label first.",
                            choices=QUESTIONS)
    data: str = setting("", "The file with the labelled examples. Empty: the training data of `run_id`.")
    text_column: str = setting("", "The column that holds the text. Empty: guessed.")
    label_column: str = setting("", "The column that holds the category (or a list of them). Empty: guessed.")
    models: str = setting("", "'models': the candidates, separated by commas. Empty: every text classifier on this computer.")
    model: str = setting("", "'more_data' and 'label_next': the model whose features are used. Empty: the run's model, "
                         "or the bundled MiniLM.")
    run_id: int = setting(0, "A finished run whose data, model and score the answer is about (0: none).")
    # 1,000 rather than 400 (bench/advisor.md, 2026-12-05): on 400, the 4-fold probes of a 50-intent set were too
    # noisy to order models 3 points apart; on 1,000 (700 there) they ranked all three data sets right enough
    # (Kendall tau 0.67 / 0.83 / 1.00), at 4-6% of one fine-tuning run.
    sample: int = setting(1000, "'models': how many examples each model reads (a random sample); more is surer and slower.")
    unlabelled: str = setting("", "'label_next': the file of texts nobody has labelled yet (a .txt file: one per line).")
    count: int = setting(50, "'label_next': how many texts to put in the list to fill in.")
    seed: int = setting(0, "Random seed of the sample and the probes' folds.")
    name: str = setting("", "A name for this question, shown in the list of runs.")
    device: str = setting("cpu", "Where the models read the texts: 'auto', 'cuda', 'mps' or 'cpu'.", choices=["auto", "cuda", "mps", "cpu"])
    precision: str = setting("fp32", "Number format while reading.", choices=["auto", "bf16", "fp16", "fp32"])

    kind = "advise"

    def __post_init__(self) -> None:
        if self.question not in QUESTIONS:
            raise ConfigError.said("config.must_be", name="question", expected=f"one of {', '.join(QUESTIONS)}", value=repr(self.question))
        if not self.data and not self.run_id:
            raise ConfigError.said("advice.no_data")
        if self.question == "label_next" and not self.unlabelled:
            raise ConfigError.said("advice.no_unlabelled")
        if not 20 <= self.sample <= 100_000:
            raise ConfigError.said("config.must_be", name="sample", expected="between 20 and 100,000", value=self.sample)
        if not 1 <= self.count <= 100_000:
            raise ConfigError.said("config.must_be", name="count", expected="between 1 and 100,000", value=self.count)
        if not self.name:  # what the list of runs shows
            about = Path(self.data).name if self.data else f"run {self.run_id}"
            self.name = f"{QUESTION_WORDS[self.question]}: {about}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}

