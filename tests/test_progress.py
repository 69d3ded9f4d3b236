"""The study's progress bars: the final runs' bar shows the count known before the searches finish."""

import io

from rich.console import Console
from rich.progress import Progress

from archscale.execution.progress import StudyProgress


def quiet_progress() -> Progress:
    return Progress(console=Console(file=io.StringIO()))


def test_the_final_bar_appears_with_the_expected_count_and_follows_its_changes():
    progress = quiet_progress()
    bars = StudyProgress(progress, search_total=6)
    assert [t.description for t in progress.tasks] == ["search"]
    bars.set_final_total(16)
    bars.set_final_total(14)
    assert [(t.description, t.total) for t in progress.tasks] == [("search", 6), ("final", 14)]


def test_no_final_bar_without_final_runs():
    progress = quiet_progress()
    StudyProgress(progress, search_total=3).set_final_total(0)
    assert [t.description for t in progress.tasks] == ["search"]
