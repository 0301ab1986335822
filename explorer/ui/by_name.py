"""Events wired by name: a handler reads its inputs and returns its outputs by the names of the tab's
components ("stage", "grid", ...), never by position.

Gradio calls a handler whose `inputs` are a set of components with one dict, {component: value}, and
accepts a dict {component: value} back (components left out keep their values). `event` turns a
handler written with names, `fn(values: dict[str, value], ...) -> dict[str, value]`, into Gradio's
fn / inputs / outputs for one event:

    tab.count.input(**event(components, on_stage, inputs=("picture", "stage"), outputs=("grid",)), ...)

Special arguments after the dict (gr.SelectData, gr.Request, gr.Progress) reach the handler as
Gradio gives them. A handler that returns a name its event does not list fails at once, naming it
(Gradio itself would say only "Returned component ... not specified as output"); one that returns
nothing changes nothing.

A tab's components, by those names, come from one place: the tab's dataclass mixes in `Components`, whose
`components()` gives every field that is a component by its field name (a tab adds the components it holds
deeper, such as its picture input's, by overriding it)."""
import functools
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import fields

import gradio as gr
from gradio.blocks import Block

from explorer.core.words import speaking

# The page's language holder (a gr.State, explorer.ui.language) while the page is being built: every
# event wired by `event` then also reads it, and its handler runs speaking the visitor's language. A tab
# built alone (a test) has none and speaks English.
PAGE_LANGUAGE: ContextVar[Block | None] = ContextVar("page_language", default=None)


class Components:
    """Mixed into a dataclass whose fields are (mostly) Gradio components: `components()` is the mapping
    that `event` takes."""

    def components(self) -> dict[str, Block]:
        """Every field that is a component, by its field name."""
        named = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: c for name, c in named.items() if isinstance(c, Block)}


def event(components: Mapping[str, Block], fn: Callable, inputs: Iterable[str] = (),
          outputs: Iterable[str] = ()) -> dict:
    """Gradio's `fn`, `inputs` (a set) and `outputs` for `fn`, which takes and returns values by the
    names of `components`. A name not in `components` raises KeyError here, when the page is built."""
    inputs, outputs = tuple(inputs), tuple(outputs)
    unknown = sorted((set(inputs) | set(outputs)) - set(components))
    if unknown:
        raise KeyError(f"{getattr(fn, '__name__', fn)}: no component is named {unknown}; name one of "
                       f"{sorted(components)}")
    reads = {components[name]: name for name in inputs}
    writes = {name: components[name] for name in outputs}
    language = PAGE_LANGUAGE.get()

    @functools.wraps(fn)
    def by_component(values: dict, *special):
        lang = values.get(language) if language is not None else None
        with speaking(lang or None):
            answer = fn({reads[c]: value for c, value in values.items() if c in reads}, *special) or {}
        unknown = sorted(set(answer) - set(writes))
        if unknown:
            raise KeyError(f"{fn.__name__} returned {unknown}, which its event does not list among its "
                           f"outputs {sorted(writes)}: add them to the event's outputs")
        return {writes[name]: value for name, value in answer.items()} if answer else gr.skip()

    heard = set(reads) | ({language} if language is not None else set())
    return dict(fn=by_component, inputs=heard, outputs=list(writes.values()))
