"""The pictures: PIL and matplotlib drawings of what the core computed; never gradio (tests/test_layout.py)."""
