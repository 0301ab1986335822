"""gr.Image for uploaded picture files whose every failure is a clear message.

gr.Image opens each upload with PIL before our code sees it; a file that is not an image, or one
so large that PIL refuses it, then fails with an anonymous error. This subclass names the problem.
Use image_mode=None with it: explorer.core.images.load_image converts every mode itself (Gradio's own
conversion to RGB clips 16-bit images to white)."""
from pathlib import Path

import gradio as gr
from PIL import Image, UnidentifiedImageError

from explorer.core.images import MAX_PIXELS, refuse_program_formats


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
        except Image.DecompressionBombError:
            raise gr.Error(f"image: it has too many pixels to open safely (the limit is "
                           f"{MAX_PIXELS / 1e6:.0f} megapixels)", title="Cannot use this")
        except UnidentifiedImageError:
            raise gr.Error("image: the file is not an image that can be read (PNG, JPEG, GIF, WebP, BMP, TIFF)",
                           title="Cannot use this")
        except ValueError as error:
            if str(error).startswith("image:"):
                raise gr.Error(str(error), title="Cannot use this")
            raise gr.Error(f"image: the file is damaged or truncated ({error})", title="Cannot use this")
        except (OSError, SyntaxError) as error:
            raise gr.Error(f"image: the file is damaged or truncated ({error})", title="Cannot use this")
