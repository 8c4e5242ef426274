"""Settings the engine decides for the user, each with the sentence that explains it.

Only the learning rate for now; the memory forecast and automatic batch layout come with the wizard.
"""

from __future__ import annotations

# A freshly initialised classification head and LoRA's small adapters both need larger steps than
# whole pretrained weights do; these are the usual starting points in the field for each case.
LEARNING_RATES = {
    ("classify", "full"): 5e-5,
    ("classify", "lora"): 5e-4,
    ("chat", "full"): 2e-5,
    ("chat", "lora"): 2e-4,
    ("chat", "qlora"): 2e-4,
}


def learning_rate(kind: str, method: str) -> tuple[float, str]:
    value = LEARNING_RATES.get((kind, method), 1e-4)
    why = {
        "full": "every weight is trained, so small steps keep what the model already knows",
        "lora": "only the small adapters learn, and they need larger steps",
        "qlora": "only the small adapters learn, and they need larger steps",
    }[method]
    return value, f"Learning rate {value:g}: {why}."
