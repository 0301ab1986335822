"""Wiring a tab by name. A tab is a frozen dataclass of its components (subclassing `Named`); its page
handlers read one dict {field name: value} and return one {field name: update}, which `handler` turns
into Gradio's set-of-components input and dict-of-components return. Nothing counts, orders or pads
outputs: a component left out of the returned dict stays as it is."""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable


class Named:
    """Mixed into a frozen dataclass whose fields are Gradio components (blocks)."""

    def component(self, name: str):
        """The component of field `name`; KeyError for a name that is no field."""
        if name not in {f.name for f in dataclasses.fields(self)}:
            raise KeyError(f"{type(self).__name__} has no component named {name!r}")
        return getattr(self, name)

    def inputs(self, *names: str) -> set:
        """These fields' components as a set: Gradio then calls the handler with one dict."""
        return {self.component(name) for name in names}

    def outputs(self, *names: str) -> list:
        """These fields' components, for an event's outputs (their order means nothing: handlers return
        dicts)."""
        return [self.component(name) for name in names]

    def by_name(self, updates: dict[str, Any], **others) -> dict:
        """{field name: value} as {component: value}; `others` names components outside the dataclass."""
        return {others[name] if name in others else self.component(name): value for name, value in updates.items()}

    def names_of(self, values: dict, **others) -> dict[str, Any]:
        """Gradio's {component: value} as {field name: value}; `others` names components outside the dataclass."""
        names = {id(getattr(self, f.name)): f.name for f in dataclasses.fields(self)}
        names.update({id(c): name for name, c in others.items()})
        return {names[id(c)]: value for c, value in values.items()}

    def handler(self, fn: Callable[[dict], dict], **others) -> Callable[[dict], dict]:
        """`fn` (field names in, field names out) as a Gradio handler (components in, components out).
        `others` names components outside the dataclass that the event reads or fills."""
        @functools.wraps(fn)
        def run(values: dict) -> dict:
            return self.by_name(fn(self.names_of(values, **others)), **others)
        return run
