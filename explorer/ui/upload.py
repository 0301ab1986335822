"""gr.Image for uploaded picture files whose every failure is a clear message.

gr.Image opens each upload with PIL before our code sees it; a file that is not an image, or one
so large that PIL refuses it, then fails with an anonymous error. This subclass names the problem.
Use image_mode=None with it: explorer.core.images.load_image converts every mode itself (Gradio's own
conversion to RGB clips 16-bit images to white)."""
from pathlib import Path

import gradio as gr
from PIL import Image, UnidentifiedImageError

from explorer.core.images import MAX_PIXELS, ProgramFormat, damaged, refuse_program_formats, unreadable
from explorer.core.words import say


def _refused(message: str) -> gr.Error:
    return gr.Error(message, title=say("Cannot use this", "无法使用"))


class ImageUpload(gr.Image):
    def get_block_name(self) -> str:
        return "image"      # rendered by gr.Image's front end

    def preprocess(self, payload):
        try:
            path = getattr(payload, "path", None)
            if path and Path(path).resolve().is_relative_to(Path(self.GRADIO_CACHE).resolve()):
                with open(path, "rb") as file:      # an upload, before Gradio opens it with Pillow
                    refuse_program_formats(file.read(8))
            return super().preprocess(payload)
        except gr.Error:
            raise
        except ProgramFormat as error:
            raise _refused(str(error)) from None
        except Image.DecompressionBombError:
            raise _refused(say("image: it has too many pixels to open safely (the limit is {most:.0f} megapixels)",
                               "image：像素太多，无法安全打开（上限是 {most:.0f} 百万像素）",
                               most=MAX_PIXELS / 1e6)) from None
        except UnidentifiedImageError:
            raise _refused(unreadable()) from None
        except (ValueError, OSError, SyntaxError) as error:
            raise _refused(damaged(error)) from None
