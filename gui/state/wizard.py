"""The guided New run, knowing nothing of Qt: what has been chosen at each step, what still stops the
next step (with the sentence that says why and what to do), and the engine's plan for the run.

Task -> Data -> Model -> Plan -> Train. The Data step is the Data page itself (its file, how it reads, the
doctor's findings); the Model step chooses among the catalog's models for the task; the Plan step asks the
engine (`tunewright-engine plan`, a short process: it reads the model's tokenizer to count the examples'
tokens) what it would decide, and why, with the memory and time forecasts; Train starts the run.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

from engine import store
from engine.models.describe import ModelInfo
from engine.protocol import message
from engine.tasks import TASKS
from gui.engine_client import ConfigError, EngineClient, Hardware, JobConfig, ask_engine, from_dict
from gui.state import models as model_words
from gui.state.events import Callbacks

STEPS = ("task", "data", "model", "plan", "train")
#: Settings whose job-file defaults suit a person who writes a config; in the wizard the engine decides them
#: (a distillation's student always learns with all its weights: its method is not the planner's to choose).
ENGINE_DECIDES = {"method": "auto", "epochs": None, "max_length": None}
STUDENT_DECIDES = {"epochs": None, "max_length": None}
DISTILL_TASK = "distill"
STEP_TITLES = {"task": "Task", "data": "Data", "model": "Model", "plan": "Plan", "train": "Train"}


@dataclass(frozen=True)
class Task:
    key: str
    title: str
    about: str
    example: str


DISTILL = Task(
    DISTILL_TASK, "Make a model smaller and faster",
    "A smaller student model learns from one you trained (the teacher), on the same examples, and keeps "
    "most of what it knows.",
    "Your 6-layer text sorter as a 3-layer one that answers twice as fast, to run on a laptop.",
)


def task_choices() -> list[Task]:
    """The first step's choices: every task in the table of tasks (engine/tasks), then distillation."""
    return [*(Task(name, task.words.title, task.words.detail, task.words.example) for name, task in TASKS.items()), DISTILL]


@dataclass
class PlanResult:
    """What `tunewright-engine plan` printed: the config with every automatic setting decided, each decision
    with its reason, and the memory and time forecasts; or the sentence saying why there is no plan."""

    config: dict[str, Any] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    memory: dict[str, Any] | None = None
    time: dict[str, Any] | None = None
    steps: int = 0
    error: str = ""
    error_code: str = ""  # the engine's code for the error (e.g. "data.missing_placeholders")
    error_values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_output(cls, data: dict[str, Any]) -> PlanResult:
        return cls(config=data.get("config") or {}, decisions=list(data.get("decisions") or []),
                   memory=data.get("memory"), time=data.get("time"), steps=int(data.get("steps") or 0))


def run_plan(client: EngineClient, values: dict[str, Any], on_done: Callable[[PlanResult], None],
             *, timeout: float = 300.0) -> threading.Thread:
    """Ask the engine for its plan on a background thread (it loads a tokenizer); `on_done` is called there."""
    folder = client.home / "plans"

    def work() -> None:
        path = folder / f"wizard-{threading.get_ident()}.json"  # a plan forgotten meanwhile may still be running
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")
            done = ask_engine(client.home, "plan", str(path), "--json", timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as error:
            on_done(PlanResult(error=f"The plan could not be made ({error})."))
            return
        finally:
            path.unlink(missing_ok=True)
        if done.returncode != 0:
            on_done(_failed_plan(done))
            return
        try:
            on_done(PlanResult.from_output(json.loads(done.stdout)))
        except (ValueError, TypeError) as error:
            on_done(PlanResult(error=f"The plan could not be read ({error})."))

    thread = threading.Thread(target=work, name="tunewright-plan", daemon=True)
    thread.start()
    return thread


def _failed_plan(done: subprocess.CompletedProcess) -> PlanResult:
    """The engine's own sentence (its last line on stderr), and its code when it printed one."""
    lines = done.stderr.strip().splitlines()
    sentence = lines[-1].removeprefix("tunewright-engine: ") if lines else f"exit code {done.returncode}"
    if "Traceback (most recent call last)" in done.stderr:  # a crash: its last line is for a bug report only
        sentence = message("plan.crashed", detail=sentence)[1]
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
        return PlanResult(error=found["error"], error_code=found["code"], error_values=found.get("values") or {})
    except (ValueError, IndexError, KeyError, TypeError):
        return PlanResult(error=sentence)


def placeholder_names(plan: PlanResult | None) -> list[str]:
    """The {{placeholders}} the data uses and the run has no values for, when that is why there is no plan."""
    if plan is None or plan.error_code != "data.missing_placeholders":
        return []
    return re.findall(r"\{\{(\w+)\}\}", str(plan.error_values.get("names", "")))


class Wizard:
    """The choices of one guided New run. `changed` fires whenever any of them, or the plan, changes."""

    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self.changed = Callbacks()
        self.hardware: Hardware | None = None
        self._start_over()

    def _start_over(self) -> None:
        self.step = "task"
        self.task = ""
        self.data: dict[str, Any] = {}  # the Data step's settings for a run: data file, columns, length limit
        self.data_task = ""  # what the data teaches (classify or chat): a distillation's teacher must match
        self.data_blocker = "Choose the file with your examples."
        self.model_ref = ""
        self.model_blocker = "Choose the model to start from."
        self.settings: dict[str, Any] = {}  # what the person set in the Expert view
        self.name = ""
        self.plan: PlanResult | None = None
        self.planning = False  # a plan of the choices as they are is being made
        self._plan_asked: dict[str, Any] | None = None  # the choices the plan in hand (or coming) is of
        self._in_flight = False  # the engine is making a plan now (perhaps of choices since changed)

    def reset(self) -> None:
        """Forget every choice (the hardware stays): the next run starts at step 1."""
        self._start_over()
        self.changed.emit()

    # ------------------------------------------------------------ choices

    def choose_task(self, task: str) -> None:
        if task != self.task:
            self.task = task
            self.model_ref, self.model_blocker = "", "Choose the model to start from."
            self._forget_plan()
        self.changed.emit()

    def set_data(self, values: dict[str, Any] | None, blocker: str = "") -> None:
        """The Data step's run settings, or what still stops it (e.g. a doctor's finding that training would fail on)."""
        values = dict(values or {})
        self.data_task = values.pop("kind", "") if values else ""
        values.pop("model", None)  # the Data page's guess; the Model step decides
        if values != self.data or blocker != self.data_blocker:
            self.data, self.data_blocker = values, blocker
            self._forget_plan()
        self.changed.emit()

    def set_model(self, ref: str, blocker: str = "") -> None:
        if (ref, blocker) != (self.model_ref, self.model_blocker):
            self.model_ref, self.model_blocker = ref, blocker
            self._forget_plan()
        self.changed.emit()

    def set_setting(self, name: str, value: Any) -> None:
        """An Expert setting; None (or "") gives the decision back to the engine."""
        if value in (None, ""):
            self.settings.pop(name, None)
        else:
            self.settings[name] = value
        self._forget_plan()
        self.changed.emit()

    def stop_step(self, sentence: str) -> None:
        """Something in the current step failed: it stays closed, with ``sentence``, until a choice there changes."""
        if self.step == "model":
            self.model_blocker = sentence
        else:
            self.data_blocker = sentence
        self._forget_plan()

    def go(self, step: str) -> None:
        self.step = step
        self.changed.emit()

    # ------------------------------------------------------------ the run it makes

    def chosen(self) -> dict[str, Any]:
        """What the person chose in the steps (and the Expert view)."""
        model = {"teacher": self.model_ref} if self.task == DISTILL_TASK else {"model": self.model_ref}
        values = {"kind": self.task, **self.data, **model, **self.settings}
        if self.name:
            values["name"] = self.name
        return values

    def values(self) -> dict[str, Any]:
        """The run's settings as chosen so far; what nobody chose is left to the engine's plan."""
        return {**(STUDENT_DECIDES if self.task == DISTILL_TASK else ENGINE_DECIDES), **self.chosen()}

    def config(self, *, planned_here: bool = True) -> JobConfig:
        """The job's config: the plan's decisions, and what the person chose over them; raises ConfigError.
        Without `planned_here` (a run sent to a cluster) this computer's plan is left out: the job plans
        itself there, for the cluster's GPUs."""
        decided = dict(self.plan.config) if planned_here and self.plan and not self.plan.error else {}
        return from_dict({**self.values(), **decided, **self.chosen()})

    def plan_decided(self) -> dict[str, Any] | None:
        """The engine's plan the run's config comes from, for the run to keep its sentences; None without one."""
        if self.plan is None or self.plan.error:
            return None
        return {"decisions": self.plan.decisions, "memory": self.plan.memory, "time": self.plan.time}

    def blocker(self, step: str | None = None) -> str:
        """Why the step cannot be left forward yet, as a sentence that says what to do; "" when it can."""
        step = step or self.step
        if step == "task":
            return "" if self.task else "Choose what the model should learn to do."
        if step == "data":
            return self.data_blocker
        if step == "model":
            return self.model_blocker
        if step == "plan":
            try:
                self.config()  # what the person typed is checked at once, before any plan
            except ConfigError as error:
                return str(error)
            if self.planning or self.plan is None:
                return "Planning the run: counting your examples' tokens and working out what fits…"
            if self.plan.error:
                return self.plan.error
            return self.memory_problem()
        return ""

    def first_blocked(self) -> str:
        """The first step that stops the way to Train (the furthest one can go)."""
        for step in STEPS[:-1]:
            if self.blocker(step):
                return step
        return "train"

    # ------------------------------------------------------------ the plan

    def needs_plan(self) -> bool:
        """The choices changed since the last plan was asked for, they are valid enough to plan, and no plan is
        being made now: one at a time, so typing four settings asks for two plans, not four side by side
        (each loads torch and a tokenizer). The newest choices are planned when the plan in hand comes back."""
        if self._in_flight or self._plan_asked == self.values():
            return False
        try:
            from_dict(self.values())
        except ConfigError:
            return False
        return True

    def make_plan(self, deliver: Callable[[dict[str, Any], PlanResult], None]) -> None:
        """Ask the engine for its plan of the run as chosen now. The answer comes on another thread, to
        `deliver(asked, result)`, which must hand both to `plan_done` on the window's thread."""
        asked = self.values()
        self._plan_asked, self._in_flight, self.planning = asked, True, True
        self.changed.emit()
        run_plan(self.client, asked, lambda result: deliver(asked, result))

    def plan_done(self, asked: dict[str, Any], result: PlanResult) -> None:
        self._in_flight = False
        if asked == self._plan_asked:  # else the choices changed meanwhile: this plan is stale
            self.plan, self.planning = result, False
        self.changed.emit()  # the page asks for the newest choices' plan if they changed

    def memory_problem(self) -> str:
        """A sentence when the forecast peak does not fit the GPU's memory."""
        memory = self.plan.memory if self.plan else None
        if not memory or memory.get("fits") is not False:  # None: the GPU's memory is not known
            return ""
        return memory.get("sentence") or "The run would not fit in this GPU's memory."

    def _forget_plan(self) -> None:
        self.plan, self._plan_asked, self.planning = None, None, False


# ---------------------------------------------------------------- the model step's recommendation


def teacher_runs(client: EngineClient, task: str) -> list[Any]:
    """The user's finished runs of this task, as catalog entries that can teach (newest first); a run that
    learned nothing worth teaching carries the reason as its problem, so it cannot be chosen."""
    from gui.state.results import weak_reason

    runs = [run for run in client.list_runs() if run["kind"] == task and run["status"] == "completed"]
    teachers = []
    for run in runs:
        weak = weak_reason(client.db, run)
        teachers.append(ModelInfo(
            name=f"{run['name']} (your run {run['id']})", ref=f"run:{run['id']}", source="run", path=run["run_dir"] or "",
            task=task, about=f"trained by you from {Path(run['config'].get('model', '')).name}",
            problem=f"It cannot teach: {weak}. Choose another run, or train a better one first." if weak else ""))
    return teachers


def teacher_labels(client: EngineClient, ref: str) -> list[str] | None:
    """The categories a teacher that is one of the user's runs was trained on (None: not known here)."""
    if not ref.startswith("run:") or not ref[4:].isdigit():
        return None
    for artifact in store.artifacts(client.db, int(ref[4:])):
        if artifact["kind"] in ("model", "adapter") and "labels" in artifact["metadata"]:
            return list(artifact["metadata"]["labels"])
    return None


def teacher_data(client: EngineClient, ref: str) -> str:
    """The file a teacher that is one of the user's runs was trained on ("" when not known or gone)."""
    if not ref.startswith("run:") or not ref[4:].isdigit():
        return ""
    try:
        data = str(client.get_run(int(ref[4:]))["config"].get("data") or "")
    except KeyError:
        return ""
    return data if data and Path(data).exists() else ""


def default_teacher_data(client: EngineClient) -> str:
    """The data a distillation starts from: the training file of the run it would recommend as teacher."""
    from gui.state.results import recommended_first

    runs = [run for run in client.list_runs() if run["kind"] in TASKS and run["status"] == "completed"]
    for run, weak in recommended_first(client.db, runs):
        if not weak and (data := teacher_data(client, f"run:{run['id']}")):
            return data
    return ""


def teacher_mismatch(client: EngineClient, ref: str, data_classes: dict[str, int] | None, data_file: str,
                     task: str = "") -> str:
    """The sentence that stops a distillation whose data has categories the teacher never learned (with the
    way on), or "" when they match or cannot be known before the run."""
    labels = teacher_labels(client, ref)
    if labels is None or not data_classes:
        return ""
    if task in TASKS:
        labels = TASKS[task].label_kinds(labels)
    unknown = [name for name in data_classes if name not in set(labels)]
    if not unknown:
        return ""
    shown = ", ".join(f"'{name}'" for name in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
    own = teacher_data(client, ref)
    fix = (f"Go back to the Data step and use the teacher's own data ({Path(own).name}), or choose a teacher trained "
           "on these categories." if own and Path(own).resolve() != Path(data_file).resolve() else
           "Choose a teacher trained on these categories, or data with the teacher's categories.")
    return f"The teacher was not trained on the categories {shown} that {Path(data_file).name} has, so it cannot teach them. {fix}"


def recommend_teacher(models: list[Any]) -> tuple[Any, str]:
    runs = [m for m in models if m.source == "run"]
    good = [m for m in runs if m.usable]
    if good:
        skipped = len(runs) - len(good)
        return good[0], ("It is your latest finished run on this kind of data that learned its task, so it has the most "
                         "to teach." + (" Runs that learned too little to teach are marked, with the reason." if skipped else ""))
    if runs:
        return None, ("None of your finished runs on this kind of data learned enough to teach (each says why). "
                      "Train a better one first, or choose a model below that already does the task.")
    return None, ("None of your runs has finished on this kind of data yet. Train one first (a teacher has to know "
                  "your task), or choose a model below that already does it.")


def recommend(models: list[Any], hardware: Hardware | None) -> tuple[Any, str]:
    """The model to start from, and the sentence that says why."""
    usable = [m for m in models if m.usable and m.parameters]
    if not usable:
        return None, "There is no model for this task on this computer yet: add one on the Models page."
    if not (hardware and hardware.gpus):
        smallest = min(usable, key=lambda m: m.parameters)
        return smallest, ("There is no GPU here, so training runs on the processor: the smallest model trains in "
                          "minutes, where a larger one would take hours.")
    fitting = [m for m in usable if model_words.fit_for(m, hardware).level == "fits"]
    if not fitting:
        return min(usable, key=lambda m: m.parameters), "It is the smallest model here; none fits this GPU easily."
    largest = max(fitting, key=lambda m: m.parameters)
    return largest, "It is the largest model here that fits this GPU: larger models learn more from the same examples."
