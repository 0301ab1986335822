"""explorer.ui.lazy_session: a new session computes no component's configuration up front, and ends up with
exactly what Gradio's own SessionState computes."""
import json

import pytest
from gradio import state_holder

from explorer.ui import build_demo, lazy_session


@pytest.fixture(scope="module")
def demo():
    return build_demo()                 # applies the patches


def _original(demo):
    session = state_holder.SessionState.__new__(state_holder.SessionState)
    lazy_session.ORIGINAL_INIT(session, demo)
    return session


def test_the_patch_is_applied_by_build_demo(demo):
    assert state_holder.SessionState.__init__ is lazy_session.lazy_init


def test_a_new_session_computes_no_configuration_until_one_is_used(demo, monkeypatch):
    calls = []
    made = type(demo.default_config).config_for_block

    def counted(*args, **kwargs):
        calls.append(args[0])
        return made(*args, **kwargs)

    monkeypatch.setattr(type(demo.default_config), "config_for_block", staticmethod(counted))
    session = state_holder.SessionState(demo)
    assert calls == []
    some = next(iter(demo.blocks))
    assert some in session.config_values and calls == []
    session._update_value_in_config(some, "new value")
    assert calls == [some]


def test_the_sessions_configurations_and_attributes_are_gradios_own(demo):
    lazy, original = state_holder.SessionState(demo), _original(demo)
    assert set(vars(lazy)) == set(vars(original))
    assert isinstance(lazy.config_values, lazy_session.LazyConfigs)
    as_text = lambda configs: json.dumps(dict(configs.items()), sort_keys=True, default=repr)  # noqa: E731
    assert as_text(lazy.config_values) == as_text(original.config_values)
    assert len(list(lazy.components)) == len(list(original.components)) > 300


def test_an_updated_component_is_seen_in_the_deep_links_configuration(demo):
    session = state_holder.SessionState(demo)
    key = next(k for k, b in demo.blocks.items() if getattr(b, "elem_id", None) == "view-link")
    session._update_value_in_config(key, "http://example/?tab=kernel")
    shown = [c for c in session.components if c.get("id") == key]
    assert shown and shown[0]["props"]["value"] == "http://example/?tab=kernel"
