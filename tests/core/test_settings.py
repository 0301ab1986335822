"""explorer.core.settings: every environment variable in one table, parsed and checked by name."""
import re

import pytest
import torch

from explorer.core import budgets, device, settings
from explorer.core.settings import SETTINGS_TABLE, current, delete_cache_setting, setting

GOOD = {"EXPLORER_DEVICE": "cpu", "EXPLORER_MODEL_BUDGET_MB": "64", "EXPLORER_DELETE_CACHE": "20,60",
        "EXPLORER_REQUEST_MEMORY_MB": "300", "EXPLORER_MODEL_PASSES": "50", "EXPLORER_GIF_FRAMES": "7",
        "EXPLORER_GIF_FRAME_PIXELS": "1000", "EXPLORER_COMPARE_MODELS": "2", "EXPLORER_OWN_MODEL_MAX_MPARAMS": "5",
        "EXPLORER_OWN_MODEL_MAX_SIDE": "300", "EXPLORER_OWN_MODEL_UPLOAD_MB": "10",
        "EXPLORER_REQUEST_SECONDS": "30", "EXPLORER_SECONDS_PER_GMAC": "0.05", "EXPLORER_UPLOAD_FILE_MB": "5",
        "EXPLORER_UPLOAD_VISITOR_MB": "10", "EXPLORER_UPLOAD_TOTAL_MB": "40"}
BAD = {"EXPLORER_DEVICE": "abacus", "EXPLORER_MODEL_BUDGET_MB": "lots", "EXPLORER_DELETE_CACHE": "20",
       "EXPLORER_REQUEST_MEMORY_MB": "0", "EXPLORER_MODEL_PASSES": "1.5", "EXPLORER_GIF_FRAMES": "-3",
       "EXPLORER_GIF_FRAME_PIXELS": "many", "EXPLORER_COMPARE_MODELS": "two", "EXPLORER_OWN_MODEL_MAX_MPARAMS": "0",
       "EXPLORER_OWN_MODEL_MAX_SIDE": "big", "EXPLORER_OWN_MODEL_UPLOAD_MB": "-1",
       "EXPLORER_REQUEST_SECONDS": "0", "EXPLORER_SECONDS_PER_GMAC": "nan", "EXPLORER_UPLOAD_FILE_MB": "-1",
       "EXPLORER_UPLOAD_VISITOR_MB": "some", "EXPLORER_UPLOAD_TOTAL_MB": "0"}


def test_the_table_names_every_setting_once_and_says_what_it_means():
    fields = [f.name for f in settings.Settings.__dataclass_fields__.values()]
    assert list(SETTINGS_TABLE) == fields
    names = [variable.name for variable in SETTINGS_TABLE.values()]
    assert len(set(names)) == len(names) == len(GOOD) and set(names) == set(GOOD) == set(BAD)
    assert all(variable.meaning for variable in SETTINGS_TABLE.values())
    documented = set(re.findall(r"^\| (EXPLORER_\w+)", settings.__doc__, re.MULTILINE))
    assert documented == set(names), "the module docstring's table lists every variable"


def test_each_value_is_read_from_the_environment():
    read = current(GOOD)
    assert read == settings.Settings(torch.device("cpu"), 64 << 20, (20, 60), 300 << 20, 50, 7, 1000, 2, 5_000_000,
                                     300, 10 << 20, 30, 0.05, 5 << 20, 10 << 20, 40 << 20)


def test_unset_or_blank_takes_the_default():
    for environ in ({}, {name: " " for name in GOOD}):
        read = current(environ)
        assert read.device is None and read.model_budget_bytes == settings.DEFAULT_MODEL_BUDGET_MB << 20
        assert read.delete_cache == (600, 1800)
        assert read.request_memory is read.model_passes is read.gif_frames is None


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_value_gives_a_message_naming_its_variable(name):
    field = next(f for f, variable in SETTINGS_TABLE.items() if variable.name == name)
    with pytest.raises(ValueError, match=rf"^{name}: ") as error:
        setting(field, {name: BAD[name]})
    assert BAD[name] in str(error.value), "the message repeats the value it refuses"
    with pytest.raises(ValueError, match=rf"^{name}: "):
        current({**GOOD, name: BAD[name]})
    others = {**GOOD, name: BAD[name]}
    for other in SETTINGS_TABLE:          # one bad variable does not stop the others being read
        if other != field:
            setting(other, others)


def test_the_app_reads_its_settings_from_here(monkeypatch):
    monkeypatch.setenv("EXPLORER_DEVICE", "cpu")
    assert device.pick_device() == torch.device("cpu")
    monkeypatch.setenv("EXPLORER_DEVICE", "abacus")
    with pytest.raises(ValueError, match="EXPLORER_DEVICE"):
        device.pick_device()
    monkeypatch.setenv("EXPLORER_DELETE_CACHE", "5,9")
    assert delete_cache_setting() == (5, 9)
    monkeypatch.setenv("EXPLORER_MODEL_PASSES", "33")
    assert budgets.current().model_passes == 33
