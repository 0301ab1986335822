"""The Gradio app: `build_demo()` and one module per tab. The only package that imports gradio."""


def __getattr__(name):
    # `from explorer.ui import build_demo` loads app on first use, not whenever a tab module is imported
    # (a tab's `from explorer.ui import layers_panel` then runs no app code: no import cycle).
    if name in ("build_demo", "LAUNCH_OPTIONS", "QUEUE_SIZE", "CONCURRENCY", "delete_cache_setting"):
        from explorer.ui import app
        return getattr(app, name)
    raise AttributeError(f"module 'explorer.ui' has no attribute {name!r}")
