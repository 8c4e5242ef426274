"""The cluster settings: typed once, checked with a sentence, saved; the connection test says what is missing."""

from __future__ import annotations

import os
import shutil

import pytest

from engine import cluster
from gui.pages.cluster import ClusterPage
from gui.state.cluster import ClusterDraft


def page_for(qtbot, home, **values) -> ClusterPage:
    draft = ClusterDraft(home)
    for name, value in values.items():
        draft.edit(name, value)
    page = ClusterPage(draft)
    qtbot.addWidget(page)
    page.resize(1000, 1400)
    page.show()
    return page


def test_a_setting_that_cannot_work_is_said_and_nothing_is_saved(qtbot, tunewright_home):
    page = page_for(qtbot, tunewright_home, host="login.hpc.example.org", time_limit="4 hours")
    page.save_button.click()
    assert "hours:minutes:seconds" in page.verdict.text()
    assert cluster.load_clusters(tunewright_home) == []
    page.draft.edit("time_limit", "04:00:00")
    page.draft.edit("port", "2x")
    page.save_button.click()
    assert "not a whole number" in page.verdict.text()


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client on this computer")
def test_the_connection_test_says_what_is_missing_then_the_cluster_is_kept(qtbot, tunewright_home):
    page = page_for(qtbot, tunewright_home, name="hpc", host="127.0.0.1", port="1", user="ada", partition="gpu")
    page.test_button.click()
    qtbot.waitUntil(lambda: page.test_button.isEnabled() and "reach" in page.verdict.text(), timeout=60_000)
    assert page.verdict.text().startswith("This computer cannot reach 127.0.0.1.")
    if folder := os.environ.get("TUNEWRIGHT_SHOTS"):
        page.grab().save(os.path.join(folder, "cluster-settings.png"))
    page.save_button.click()
    assert [(c.host, c.port, c.partition) for c in cluster.load_clusters(tunewright_home)] == [("127.0.0.1", 1, "gpu")]


def test_the_window_opens_the_saved_cluster_from_its_navigation(window, home):
    cluster.save_cluster(cluster.Cluster(name="hpc", host="login.hpc.example.org", user="ada", partition="gpu"), home)
    window.nav_buttons["cluster"].click()
    page = window.stack.currentWidget()
    assert isinstance(page, ClusterPage) and window.current == "cluster"
    assert page.draft.build() == cluster.load_clusters(home)[0]
    if folder := os.environ.get("TUNEWRIGHT_SHOTS"):
        window.grab().save(os.path.join(folder, "cluster-in-window.png"))
