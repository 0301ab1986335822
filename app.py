"""CNN Explorer: `python app.py` or `gradio app.py`; Hugging Face Spaces runs it unchanged."""
from explorer.ui import LAUNCH_OPTIONS, build_demo

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**LAUNCH_OPTIONS)
