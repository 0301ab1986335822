"""explorer.core.background: work run in a thread of lower priority, in the caller's context."""
import os
import sys
import threading

import pytest

from explorer.core import background
from explorer.core.words import say, speaking


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
def test_the_worker_runs_at_a_lower_priority_than_the_caller():
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert background.priority_of_worker() == max(mine, background.NICE)      # never raised above the caller's
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine     # the caller's own is kept


def test_the_work_runs_in_another_thread_and_gives_its_result():
    here = threading.get_ident()
    assert background.in_background(threading.get_ident) != here
    assert background.in_background(lambda a, b=1: a + b, 2, b=3) == 5


def test_the_work_speaks_the_callers_language():
    with speaking("zh"):
        assert background.in_background(say, "stride", "步幅") == "步幅"
    assert background.in_background(say, "stride", "步幅") == "stride"


def test_an_error_in_the_work_reaches_the_caller():
    def broken():
        raise ValueError("matrix: broken; fix it")

    with pytest.raises(ValueError, match="matrix: broken"):
        background.in_background(broken)
