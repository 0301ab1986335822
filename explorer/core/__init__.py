"""The computing core: torch, captum and numpy; never PIL drawing, never gradio (tests/test_layout.py)."""
