"""explorer.core.state: every server-side store registered in one place, one clear(), and a visitor's
entries forgotten when their session ends (explorer.ui.app wires demo.unload to forget_session)."""
import functools

import pytest

from explorer.core.recent import Recent
from explorer.core.state import STORES, Stores


def test_register_returns_the_store_and_refuses_another_under_the_same_name():
    stores = Stores()
    first = stores.register("a", Recent(), "test")
    assert stores.register("a", first, "again") is first            # re-registering the same object is fine
    with pytest.raises(ValueError, match="'a' is already registered"):
        stores.register("a", Recent(), "another")
    with pytest.raises(ValueError, match="give clear="):
        stores.register("b", object(), "no clear")


def test_clear_empties_every_kind_of_store():
    stores = Stores()
    recent, plain = stores.register("r", Recent(), "t"), stores.register("d", {}, "t")
    cached = stores.register("f", functools.lru_cache(maxsize=4)(lambda x: x * 2), "t")
    recent.put("k", 1)
    plain["k"] = 1
    cached(3)
    stores.clear()
    assert len(recent) == 0 and plain == {} and cached.cache_info().currsize == 0


def test_forget_session_drops_only_that_visitors_entries():
    stores = Stores()
    flags = stores.register("flags", {}, "t", forget=lambda s: flags.pop(s, None))
    reported = stores.register("reported", Recent(), "t",
                               forget=lambda s: reported.drop_where(lambda key: s in key))
    flags.update(alice=1, bob=2)
    reported.put(("stages", "alice"), "x")
    reported.put(("saliency", "bob"), "y")
    stores.forget_session("alice")
    assert flags == {"bob": 2}
    assert reported.get(("stages", "alice")) is None and reported.get(("saliency", "bob")) == "y"


def test_the_apps_stores_are_all_registered_and_the_per_session_ones_forget():
    import explorer.ui.app  # noqa: F401  (imports every tab, which registers its stores)

    names = set(STORES.names())
    assert {"models.loaded", "stages.inspections", "saliency.maps", "saliency.cancel", "features.results",
            "kernel.renderers", "picture_input.reported", "stages.feature_stops"} <= names
    flags = STORES["saliency.cancel"].store
    flags.put("gone-session", object())
    STORES.forget_session("gone-session")
    assert flags.get("gone-session") is None


def test_the_demo_forgets_a_session_when_its_page_closes():
    from explorer.ui import build_demo
    from explorer.ui.app import _forget_session

    demo = build_demo()
    unload = [d for d in demo.fns.values() if getattr(d, "fn", None) is _forget_session]
    assert unload, "demo.unload(_forget_session) is not wired"


def test_gradio_patches_say_when_gradio_is_not_the_version_they_were_written_for():
    from explorer.ui import gradio_patches

    assert gradio_patches.version_note(gradio_patches.WRITTEN_FOR) is None
    note = gradio_patches.version_note("7.0.0")
    assert "written for Gradio " + gradio_patches.WRITTEN_FOR in note and "7.0.0" in note
    import gradio
    assert gradio.__version__ == gradio_patches.WRITTEN_FOR, "the pinned Gradio is the one the patches target"
