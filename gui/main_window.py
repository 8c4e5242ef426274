"""The main window: a sidebar, the pages, and the poll that keeps them in step with the database.

The window never waits on the engine. A timer asks the database a few times a second whether anything
changed (`PRAGMA data_version`, next to free); only then are the runs and the open run read again, and only
the rows newer than those already shown. Closing the window leaves the job processes training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from gui.engine_client import ConfigError, EngineClient, JobError, demo_config
from gui.pages.home import HomePage
from gui.pages.runs import RunsPage
from gui.state.format import status_word
from gui.state.runs import ACTIVE, Poller, RunsModel
from gui.widgets.common import label

PROBE_DELAY_MS = 1500
POLL_MS = 150  # a few looks a second; a new metric row is drawn well within half a second
TRAY_SETTLE_MS = 1000
ICON = Path(__file__).resolve().parent.parent / "resources" / "icons" / "tunewright.svg"

#: Sidebar entries: (key, words, ready). Pages that are not built yet are shown, greyed, where they will go.
NAVIGATION = [
    ("home", "Home", True),
    ("new", "New run", True),
    ("runs", "Runs", True),
    ("data", "Data", True),
    ("models", "Models", True),
    ("results", "Results", True),
    ("playground", "Playground", True),
    ("compare", "Compare", True),
    ("export", "Export", True),
]
PAGES = ("home", "new", "runs", "run", "data", "models", "results", "compare", "export", "playground")

KEEP, PAUSE_ALL, STAY = "keep", "pause", "stay"


class MainWindow(QMainWindow):
    page_changed = Signal(str)

    def __init__(self, client: EngineClient, settings: QSettings | None = None, *, probe: bool = True) -> None:
        super().__init__()
        self.client = client
        self.probe = probe  # ask the engine about the hardware (a process that loads torch; tests skip it)
        self.settings = settings or QSettings(str(client.home / "settings.ini"), QSettings.Format.IniFormat)
        self.notifications: list[tuple[str, str]] = []
        self.tray: QSystemTrayIcon | None = None
        self.pages: dict[str, QWidget] = {}
        self.current = ""
        self.setWindowTitle("Tunewright")
        self.setWindowIcon(QIcon(str(ICON)))
        self.resize(1280, 820)
        self.setMinimumSize(900, 600)

        self.runs = RunsModel(client)
        self.runs.refresh()
        self.runs.finished.connect(self._run_finished)
        self.runs.changed.connect(self._update_live_count)
        self.poller = Poller(client)
        self.poller.watch_for_jobs = self.runs.has_active
        self.poller.changed.connect(self._database_changed)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self._sidebar())
        self.stack = QStackedWidget()
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.show_page("home")
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()
        self._update_live_count()

    # ------------------------------------------------------------ sidebar and pages

    def _sidebar(self) -> QWidget:
        bar = QWidget()
        bar.setObjectName("Sidebar")
        bar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        bar.setFixedWidth(200)
        layout = QVBoxLayout(bar)
        layout.setContentsMargins(12, 20, 12, 16)
        layout.setSpacing(2)
        layout.addWidget(label("Tunewright", "AppName"))
        self.nav = QButtonGroup(self)
        self.nav.setExclusive(True)
        self.nav_buttons: dict[str, QPushButton] = {}
        soon_shown = False
        for key, words, ready in NAVIGATION:
            if not ready and not soon_shown:  # one heading above the pages still to come
                layout.addWidget(label("Coming soon", "NavSection"))
                soon_shown = True
            button = QPushButton(words)
            button.setObjectName("NavButton")
            button.setCheckable(True)
            button.setEnabled(ready)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            if ready:
                button.clicked.connect(lambda _=False, page=key: self.show_page(page))
            else:
                button.setToolTip("This page comes in a later version.")
            self.nav.addButton(button)
            self.nav_buttons[key] = button
            layout.addWidget(button)
        layout.addStretch(1)
        self.live_label = label("", "Muted", wrap=True)
        layout.addWidget(self.live_label)
        folder = label(f"Data folder:\n{self.client.home}", "Muted", wrap=True)
        folder.setStyleSheet("QLabel { font-size: 8pt; }")
        folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(folder)
        return bar

    def page(self, name: str) -> Any:
        """The page called `name`, built the first time it is needed (the run view loads the chart library)."""
        if name not in self.pages:
            if name == "home":
                page = HomePage(self.runs)
                page.start_demo.connect(self.start_demo)
                page.new_run.connect(lambda: self.show_page("new"))
                page.open_run.connect(self.open_run)
                page.show_runs.connect(lambda: self.show_page("runs"))
                cached = self.client.cached_hardware()
                if cached:
                    page.show_hardware(cached)
                if self.probe:
                    # After the window is drawn: the probe's process loads torch, which would slow the start.
                    QTimer.singleShot(PROBE_DELAY_MS, lambda: self.client.probe_hardware(page.hardware_found.emit))
            elif name == "new":
                from gui.pages.wizard import WizardPage

                home = self.pages.get("home")
                page = WizardPage(self.client, getattr(home, "hardware", None))
                if home is not None:
                    home.hardware_found.connect(lambda found, wizard=page.wizard: setattr(wizard, "hardware", found))
                page.started.connect(self._started)
                page.show_models.connect(lambda: self.show_page("models"))
            elif name == "runs":
                page = RunsPage(self.runs)
                page.open_run.connect(self.open_run)
                page.new_run.connect(lambda: self.show_page("new"))
            elif name == "run":
                from gui.pages.run_view import RunView

                page = RunView(self.client)
                page.back.connect(lambda: self.show_page("runs"))
                page.acted.connect(lambda: self.poll(force=True))
                page.show_report.connect(self.open_distill_report)
                page.change_settings.connect(self._change_failed_run)
            elif name == "distill_report":
                from gui.pages.distill_report import DistillReportPage

                page = DistillReportPage(self.client)
            elif name == "data":
                from gui.pages.data import DataPage

                page = DataPage(self.client)
                page.use_in_run.connect(self._new_run_with)
            elif name == "models":
                from gui.pages.models import ModelsPage

                home = self.pages.get("home")
                page = ModelsPage(self.client, getattr(home, "hardware", None) or self.client.cached_hardware())
                if home is not None:
                    home.hardware_found.connect(page.set_hardware)
                elif page.hardware is None and self.probe:
                    self.client.probe_hardware(page.hardware_found.emit)
            elif name == "export":
                from gui.pages.export import ExportPage

                page = ExportPage(self.client, self.runs)
            elif name == "results":
                from gui.pages.results import ResultsPage

                page = ResultsPage(self.client, self.runs)
            elif name == "compare":
                from gui.pages.compare import ComparePage

                page = ComparePage(self.client, self.runs)
            elif name == "playground":
                from gui.pages.playground import PlaygroundPage

                page = PlaygroundPage(self.client, self.runs)
            else:
                raise KeyError(name)
            self.pages[name] = page
            self.stack.addWidget(page)
        return self.pages[name]

    def show_page(self, name: str) -> None:
        if name == "models" and name in self.pages:
            self.pages[name].reload()  # a model may have been downloaded or added elsewhere since
        page = self.page(name)
        self.stack.setCurrentWidget(page)
        self.current = name
        button = self.nav_buttons.get("runs" if name in ("run", "distill_report") else name)
        if button:
            button.setChecked(True)
        self.page_changed.emit(name)

    def open_run(self, run_id: int) -> None:
        view = self.page("run")
        view.show_run(run_id)
        self.show_page("run")

    def open_distill_report(self, run_id: int) -> None:
        self.page("distill_report").show_run(run_id)
        self.show_page("distill_report")

    def start_demo(self) -> None:
        home = self.page("home")
        try:
            run_id = self.client.start(demo_config())
        except (ConfigError, JobError, OSError) as error:
            home.demo_error.setText(f"The demo could not start: {error}")
            home.demo_error.show()
            return
        home.demo_error.hide()
        self._started(run_id)

    def _change_failed_run(self, values: dict[str, Any]) -> None:
        """New run at the Data step, filled in from a run that failed on its data or settings."""
        self.page("new").load_config(values, at="data")
        self.show_page("new")

    def _new_run_with(self, values: dict[str, Any]) -> None:
        """New run, filled in from the Data page (its file, columns and chosen settings)."""
        self.page("new").load_config(values, at="model")
        self.show_page("new")

    def _started(self, run_id: int) -> None:
        self.poll(force=True)
        self.open_run(run_id)

    # ------------------------------------------------------------ keeping up with the database

    def poll(self, force: bool = False) -> None:
        self.poller.tick(force=force)

    def _database_changed(self) -> None:
        self.runs.refresh()
        view = self.pages.get("run")
        if view is not None and view.watcher is not None:
            view.refresh()
        models = self.pages.get("models")
        if models is not None:
            models.refresh_downloads()
        if (playground := self.pages.get("playground")) is not None:
            playground.refresh()

    def _update_live_count(self) -> None:
        live = [run for run in self.runs.runs if run["status"] in ACTIVE]
        training = sum(1 for run in live if run["status"] != "queued")
        waiting = len(live) - training
        words = []
        if training:
            words.append(f"{training} run training" if training == 1 else f"{training} runs training")
        if waiting:
            words.append(f"{waiting} waiting")
        self.live_label.setText(", ".join(words))
        self.live_label.setVisible(bool(words))
        if live and (tray := self._tray()) is not None:
            tray.setToolTip("Tunewright: " + ", ".join(words))

    def _run_finished(self, run: dict[str, Any]) -> None:
        if self.isActiveWindow() and not self.isMinimized():
            return
        status = run["status"]
        title = f"{run['name']}: {status_word(status).lower()}"
        if status == "failed":
            text = run.get("error") or "Training stopped because of a problem."
        elif status == "completed":
            text = "Training finished. Open Tunewright to see how well it learned."
        else:
            text = f"The run is {status_word(status).lower()}."
        self.notify(title, text, critical=status == "failed")

    def notify(self, title: str, text: str, *, critical: bool = False) -> None:
        """A desktop notification (a tray message where the desktop has a tray)."""
        self.notifications.append((title, text))
        tray = self._tray()
        if tray is None:
            return
        icon = QSystemTrayIcon.MessageIcon.Critical if critical else QSystemTrayIcon.MessageIcon.Information
        if tray.geometry().isValid():
            tray.showMessage(title, text, icon, 8000)
        else:
            # A tray icon shown just now is not placed yet, and a message from it would be dropped unseen.
            QTimer.singleShot(TRAY_SETTLE_MS, lambda: tray.showMessage(title, text, icon, 8000))

    def _tray(self) -> QSystemTrayIcon | None:
        """The tray icon, shown from the first live run on, so it is in place before a run ends."""
        if self.tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(self.windowIcon(), self)
            self.tray.setToolTip("Tunewright")
            self.tray.activated.connect(lambda _reason: self._bring_to_front())
            self.tray.messageClicked.connect(self._bring_to_front)
            self.tray.show()
        return self.tray

    def _bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # ------------------------------------------------------------ closing

    def close_dialog(self, live: int) -> QMessageBox:
        """The question asked when closing with runs still going; its default keeps them training."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Close Tunewright")
        runs = "A run is" if live == 1 else f"{live} runs are"
        box.setText(f"{runs} still training.")
        box.setInformativeText(
            "Training goes on in the background when the window is closed. Open Tunewright again at any time "
            "to see where it is."
        )
        keep = box.addButton("Keep training in the background", QMessageBox.ButtonRole.AcceptRole)
        pause = box.addButton("Pause training and close", QMessageBox.ButtonRole.DestructiveRole)
        stay = box.addButton("Don't close", QMessageBox.ButtonRole.RejectRole)
        keep.setObjectName(KEEP)
        pause.setObjectName(PAUSE_ALL)
        stay.setObjectName(STAY)
        box.setDefaultButton(keep)
        box.setEscapeButton(stay)
        # Parented to the box: a check box owned only by Python would be freed under the dialog's feet.
        box.setCheckBox(QCheckBox("Don't ask again: always keep training", box))
        return box

    def ask_on_close(self, box: QMessageBox) -> str:
        """Show the close question and return what was chosen (KEEP, PAUSE_ALL or STAY); tests replace this."""
        box.exec()
        clicked = box.clickedButton()
        return clicked.objectName() if clicked else STAY

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.runs.refresh()
        live = [run for run in self.runs.runs if run["status"] in ACTIVE and run["status"] != "queued"]
        choice = KEEP
        if live and self.settings.value("close/ask", True, type=bool):
            box = self.close_dialog(len(live))
            choice = self.ask_on_close(box)
            if choice == KEEP and box.checkBox().isChecked():
                self.settings.setValue("close/ask", False)
            box.deleteLater()
        if choice == STAY:
            event.ignore()
            return
        if choice == PAUSE_ALL:
            for run in live:
                try:
                    self.client.pause(run["id"])
                except JobError:
                    pass
        self.timer.stop()
        if (playground := self.pages.get("playground")) is not None:
            playground.shutdown()  # its model process only serves this window
        for page in self.pages.values():
            for chart in getattr(page, "charts", {}).values():
                chart.timer.stop()
        if self.tray is not None:
            self.tray.hide()
        self.settings.sync()
        event.accept()

