"""Every setting of a job, as a form: the wizard's Expert view.

The rows come from the engine's config dataclass (`help_for`: each field's default, type, choices and help),
so a new setting appears here without touching the window. A row left empty (or on "Automatic") leaves the
value to the engine; what the engine decided is shown greyed in the empty field, so the person sees every
number the run will use and overrides only what they mean to.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLineEdit, QVBoxLayout, QWidget

from engine.protocol import MESSAGES
from gui.engine_client import help_for
from gui.widgets.common import label

AUTOMATIC = "Automatic"


def words(name: str) -> str:
    """A setting's name as a person reads it: the catalogue's plain name where it has one
    ('micro_batch_size' -> 'Examples at a time'), else its own ('learning_rate' -> 'Learning rate')."""
    plain = MESSAGES.get(f"setting.{name}")
    return plain.text if plain else name.replace("_", " ").capitalize()


def shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return json.dumps(value) if value else ""
    return str(value)


class SettingsForm(QWidget):
    """Emits `edited(name, value)` when the person changes a setting (value None: back to automatic)."""

    edited = Signal(str, object)

    def __init__(self, config_type: type, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inputs: dict[str, QWidget] = {}
        self.helps = help_for(config_type)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.setHorizontalSpacing(18)
        form.setVerticalSpacing(4)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addLayout(form)
        for name, spec in self.helps.items():
            widget = self._input(name, spec)
            self.inputs[name] = widget
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 6)
            column.setSpacing(2)
            column.addWidget(widget)
            column.addWidget(label(spec["help"], "FieldHelp", wrap=True))
            form.addRow(label(words(name), "FormLabel"), box)

    def _input(self, name: str, spec: dict[str, Any]) -> QWidget:
        if spec.get("choices"):
            combo = QComboBox()
            combo.addItem(AUTOMATIC, None)
            for choice in spec["choices"]:
                if choice != "auto":  # "Automatic" says it
                    combo.addItem(str(choice), choice)
            combo.activated.connect(lambda _=0, n=name, c=combo: self.edited.emit(n, c.currentData()))
            return combo
        if isinstance(spec["default"], bool):
            box = QCheckBox("Yes")
            box.toggled.connect(lambda on, n=name: self.edited.emit(n, on))
            return box
        edit = QLineEdit()
        edit.editingFinished.connect(lambda n=name, e=edit: self._typed(n, e))
        return edit

    def _typed(self, name: str, edit: QLineEdit) -> None:
        text = edit.text().strip()
        if edit.property("sent") != text:
            edit.setProperty("sent", text)
            self.edited.emit(name, text or None)

    def show_values(self, chosen: dict[str, Any], decided: dict[str, Any]) -> None:
        """`chosen`: what the person set (shown as values); `decided`: the engine's plan (shown greyed)."""
        for name, widget in self.inputs.items():
            widget.blockSignals(True)
            if isinstance(widget, QComboBox):
                automatic = decided.get(name, self.helps[name]["default"])
                widget.setItemText(0, f"{AUTOMATIC} ({automatic})" if automatic not in (None, "auto") else AUTOMATIC)
                index = widget.findData(chosen[name]) if name in chosen else 0
                widget.setCurrentIndex(max(index, 0))
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(chosen.get(name, decided.get(name, self.helps[name]["default"]))))
            else:
                text = shown(chosen.get(name))
                widget.setText(text)
                widget.setProperty("sent", text)
                widget.setPlaceholderText(shown(decided.get(name, self.helps[name]["default"])) or "automatic")
            widget.blockSignals(False)

    def mark_invalid(self, name: str | None) -> None:
        """Outline the setting a sentence is about (or none)."""
        for key, widget in self.inputs.items():
            if isinstance(widget, QLineEdit):
                widget.setProperty("invalid", key == name)
                widget.style().unpolish(widget)
                widget.style().polish(widget)
