"""A visitor's session state without the copy of every component's settings made up front (a patch to
Gradio 6.31, applied by explorer.ui.gradio_patches).

Gradio makes a `SessionState` for each new session: a browser's page load, and every call of an HTTP
endpoint (`/gradio_api/call/...` gives each call a session of its own). Its constructor computes the
configuration of every component of the app (`config_for_block`, which reads each constructor's signature
with `inspect`) to keep for deep links, and does so in the server's event loop: for this app's ~360
components about 35 ms during which no other request moves, at every API call. A session only needs
the configurations of the components it changes, or all of them when a deep link is made. Here they are
computed when first asked for: one component's when it is read or updated, all of them when the
session's components are listed (`SessionState.components`, which the deep link reads). A component
never changed gets the configuration it would have got at the start, since the app's own blocks do not
change after launch.
"""
from __future__ import annotations

import os
from copy import copy

from gradio import state_holder


class LazyConfigs(dict):
    """{block id: its configuration}, each computed on first use from the session's blocks."""

    def __init__(self, blocks_config, ids):
        super().__init__()
        self._blocks_config, self._ids = blocks_config, dict.fromkeys(ids)     # ordered, O(1) to look up

    def _make(self, key):
        return self._blocks_config.config_for_block(key, [], self._blocks_config.blocks[key])

    def __missing__(self, key):
        if key not in self._blocks_config.blocks:
            raise KeyError(key)
        value = self[key] = self._make(key)
        return value

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or key in self._ids

    def fill(self) -> None:
        for key in self._ids:
            if not dict.__contains__(self, key):
                self[key] = self._make(key)

    def items(self):
        self.fill()
        return super().items()

    def values(self):
        self.fill()
        return super().values()

    def __iter__(self):
        self.fill()
        return super().__iter__()

    def __len__(self) -> int:
        self.fill()
        return super().__len__()


def lazy_init(self, blocks) -> None:
    """Gradio 6.31's SessionState.__init__, its configurations left to LazyConfigs (tests/ui/test_lazy_session.py
    compares the two, so a new Gradio that sets something more here is noticed)."""
    self.blocks_config = copy(blocks.default_config)
    self.config_values = LazyConfigs(self.blocks_config, [k for k in self.blocks_config.blocks if k in blocks.blocks])
    self.state_data = {}
    self._state_ttl = {}
    self.is_closed = False
    self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600


ORIGINAL_INIT = state_holder.SessionState.__init__


def apply() -> None:
    state_holder.SessionState.__init__ = lazy_init
