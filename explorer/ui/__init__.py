"""The Gradio app: `build_demo()` and one module per tab. The only package that imports gradio."""


def __getattr__(name):
    # `from explorer.ui import build_demo` without importing gradio for every `explorer.ui.*` submodule.
    # So this package depends on app: app and the modules it imports name their siblings in full
    # (`import explorer.ui.kernel_tab as kernel_tab`), never `from explorer.ui import ...` (an import cycle).
    if name in ("build_demo", "LAUNCH_OPTIONS", "QUEUE_SIZE", "CONCURRENCY", "delete_cache_setting"):
        from explorer.ui import app
        return getattr(app, name)
    raise AttributeError(f"module 'explorer.ui' has no attribute {name!r}")
