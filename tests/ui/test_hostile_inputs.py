"""Hostile and broken input through the running app's API (gradio_client): each case gets a clear message
naming what is wrong, or a sensible result checked against PyTorch; the app keeps serving afterwards.
Also: request paths outside Gradio's upload cache are never opened, uploads have a size limit, and no
code path unpickles anything but plain tensors."""
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from image_files import encoded, png_claiming
from PIL import Image, ImageOps

from explorer.core.models import get_model
from explorer.drawing.kernel_presets import CHAPTER_KERNEL, CHAPTER_MATRIX

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "assets" / "examples" / "bird.jpg"
PHOTO_MODEL = "efficientnet_lite0"      # real ImageNet weights on every machine


def _photo() -> Image.Image:
    return Image.open(PHOTO).convert("RGB")


def _gif() -> bytes:
    first = _photo().resize((128, 100))
    return encoded(first, "GIF", save_all=True, append_images=[first.rotate(180)], duration=100, loop=0)


def _sixteen_bit() -> bytes:
    grey = ImageOps.autocontrast(_photo().convert("L"))          # spans 0..255, so 16-bit spans 0..65535
    return encoded(Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257), "PNG")


def _float_tiff_with_nan() -> bytes:
    pixels = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    pixels[10, 20] = np.nan
    return encoded(Image.fromarray(pixels, mode="F"), "TIFF")


FILES = {
    "drawing.eps": lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n0 0 moveto 10 10 lineto stroke\n",
    "nan.tif": _float_tiff_with_nan,
    "bomb.png": lambda: png_claiming(20_000, 20_000),
    "64mp.png": lambda: png_claiming(8_000, 8_000),
    "one.png": lambda: encoded(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"),
    "truncated.jpg": lambda: encoded(_photo(), "JPEG")[:3000],
    "notes.png": lambda: b"these are my notes, not a picture\n" * 20,
    "empty.png": lambda: b"",
    "circle.svg": lambda: (b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
                           b'<circle cx="32" cy="32" r="30"/></svg>'),
    "animated.gif": _gif,
    "cmyk.jpg": lambda: encoded(_photo().convert("CMYK"), "JPEG", quality=95),
    "deep.png": _sixteen_bit,
    "white.png": lambda: encoded(Image.new("RGB", (200, 200), "white"), "PNG"),
    "clear.png": lambda: encoded(Image.new("RGBA", (200, 200), (0, 0, 0, 0)), "PNG"),
    "photo.jpg": lambda: PHOTO.read_bytes(),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for name, make in FILES.items():
        paths[name] = folder / name
        paths[name].write_bytes(make())
    return paths


@dataclass(frozen=True)
class Upload:
    name: str


def table(rows) -> dict:
    return {"headers": [str(c + 1) for c in range(len(rows[0]))], "data": rows}


def slide(matrix=CHAPTER_MATRIX, kernel=CHAPTER_KERNEL, op="conv", kernel_size="2", stride="2", padding="0"):
    return "/slide", (table(matrix), table(kernel), op, kernel_size, stride, padding, "1", 0, False)


def attribute(target="", method="saliency", options=None, image="photo.jpg", model=PHOTO_MODEL):
    return "/attribute", (Upload(image), model, method, target, {"trust": False} if options is None else options)


def layers(matrix=CHAPTER_MATRIX, p=0.5, seed=0, out_h=2, out_w=2):
    return "/layers", (table(matrix), p, seed, out_h, out_w)


def _top1_by_pytorch(image: Image.Image, model_name: str = PHOTO_MODEL) -> tuple[str, float]:
    model, _ = get_model(model_name)
    with torch.inference_mode():
        probabilities = torch.softmax(model.module(model.transform(image.convert("RGB"))[None]), dim=-1)[0]
    index = int(probabilities.argmax())
    return model.labels[index], float(probabilities[index])


def same_top1_as(make_reference, tolerance=1e-4):
    """The app's top-1 equals PyTorch's on the reference picture (what the file should have meant)."""
    def check(result, files):
        label, probability = _top1_by_pytorch(make_reference(files))
        assert result["label"] == label
        assert result["confidences"][0]["confidence"] == pytest.approx(probability, abs=tolerance)
    return check


def inf_matches_pytorch(result, files):
    *_, code, _ = result
    namespace = {}
    exec(code, namespace)
    huge = torch.tensor(HUGE, dtype=torch.float64)[None, None]
    expected = F.conv2d(huge, torch.tensor(CHAPTER_KERNEL, dtype=torch.float64)[None, None], stride=2)[0, 0]
    assert torch.isinf(expected).any()                                        # the case really overflows
    assert torch.equal(torch.as_tensor(namespace["out"]), expected)


def overflow_shown_as_text(result, files):
    relu, train, evaluated, _, bn_train, *_ = result
    huge = torch.tensor(HUGE_2X2, dtype=torch.float64)[None, None]
    torch.manual_seed(0)
    dropped = F.dropout(huge, 0.5, training=True)[0, 0]
    normalised = F.batch_norm(huge, None, None, training=True)[0, 0]
    def shown(t):
        return [[round(v, 4) if math.isfinite(v) else str(v) for v in row] for row in t.tolist()]
    assert train["data"] == shown(dropped) and "inf" in str(train["data"])
    assert bn_train["data"] == shown(normalised) and "nan" in str(bn_train["data"])
    assert evaluated["data"] == shown(huge[0, 0])


def stages_of_a_16_bit_picture(result, files):
    stages, grid = result
    assert stages[0]["input_shape"] == [3, 224, 224] and len(stages) > 5
    with Image.open(grid) as picture:
        assert picture.getextrema() != ((255, 255),) * 3                      # not clipped to white


HUGE_2X2 = [[1e308, 1e308], [1e308, -1e308]]
HUGE = [[1e308, 1e308, 3, 4], [1e308, 1e308, 7, 8], [1, 2, 3, 4], [1, 2, 3, 4]]
WITH_TEXT = [[1, 2, 3, 4], [5, "x", 7, 8], [1, 2, 3, 4], [1, 2, 3, 4]]
WITH_NAN = [[1, 2, 3, 4], [5, "NaN", 7, 8], [1, 2, 3, 4], [1, 2, 3, 4]]
BIG = [[float(r + c) for c in range(40)] for r in range(40)]

# (id, (endpoint, args), expected): a str (or tuple of str) the error message must contain, or a check.
CASES = [
    # pictures
    ("decompression bomb PNG", ("/predict", (Upload("bomb.png"), PHOTO_MODEL)),
     ("image: it has too many pixels to open safely", "50 megapixels")),
    ("64-megapixel header", ("/predict", (Upload("64mp.png"), PHOTO_MODEL)),
     "image: 8000x8000 is 64 megapixels; the limit is 50"),
    ("1x1 image", ("/predict", (Upload("one.png"), PHOTO_MODEL)),
     same_top1_as(lambda f: Image.open(f["one.png"]))),
    ("truncated JPEG", ("/predict", (Upload("truncated.jpg"), PHOTO_MODEL)), "image: the file is damaged or truncated"),
    ("text renamed .png", ("/predict", (Upload("notes.png"), PHOTO_MODEL)),
     "image: the file is not an image that can be read (PNG, JPEG"),
    ("empty file", ("/stages", (Upload("empty.png"), PHOTO_MODEL)), "image: the file is not an image that can be read"),
    ("SVG", ("/predict", (Upload("circle.svg"), PHOTO_MODEL)), "image: the file is not an image that can be read"),
    ("EPS, refused by its header", ("/predict", (Upload("drawing.eps"), PHOTO_MODEL)),
     "image: PostScript (EPS) files are not accepted (reading them runs another program)"),
    ("float TIFF with a NaN pixel", ("/predict", (Upload("nan.tif"), PHOTO_MODEL)),
     "image: 1 of its pixels is NaN or infinite"),
    ("animated GIF: first frame", ("/predict", (Upload("animated.gif"), PHOTO_MODEL)),
     same_top1_as(lambda f: Image.open(f["animated.gif"]))),
    ("CMYK JPEG", ("/predict", (Upload("cmyk.jpg"), PHOTO_MODEL)),
     same_top1_as(lambda f: Image.open(f["cmyk.jpg"]))),
    ("16-bit PNG", ("/predict", (Upload("deep.png"), PHOTO_MODEL)),
     same_top1_as(lambda f: ImageOps.autocontrast(_photo().convert("L")), tolerance=0.02)),
    ("16-bit PNG, stages", ("/stages", (Upload("deep.png"), "resnet18")), stages_of_a_16_bit_picture),
    ("all-white picture to the digit model", ("/predict", (Upload("white.png"), "digits")), "the sketch is empty"),
    ("transparent picture to the digit model", attribute(image="clear.png", model="digits"), "the sketch is empty"),
    # matrices on the Kernel tab
    ("40x40 matrix", slide(matrix=BIG), "matrix has 40 rows; at most 32 are allowed"),
    ("cell with text", slide(matrix=WITH_TEXT), "matrix row 1, column 1: 'x' is not a number"),
    ("cell with NaN", slide(matrix=WITH_NAN), "matrix row 1, column 1: 'NaN' is not a finite number"),
    ("a megabyte in a cell, echoed as a prefix",
     slide(matrix=[[1, "x" * 2**20], [3, 4]], kernel=[[1]], kernel_size="1"),
     "matrix row 0, column 1: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (1,048,578 characters) is not a number"),
    ("a GIF of 4,096 frames", ("/kernel_gif", (2, table([[1] * 32] * 32), table([[1]]), "conv", "1", "1", "16", "1", 0,
                                               False)), "this GIF would have 4,096 frames of"),
    ("cells of 1e308: inf as in PyTorch", slide(matrix=HUGE), inf_matches_pytorch),
    ("kernel larger than the padded input", slide(kernel=[[1] * 6] * 6, kernel_size="6"),
     "kernel: the window spans 6 rows but the padded input has only 4 rows"),
    ("stride 0", slide(stride="0"), "stride: must be at least 1, got 0"),
    ("negative padding", slide(padding="-1"), "padding: must be at least 0, got -1"),
    ("unknown operation", slide(op="deconv"), ("'deconv'", "not in the list of choices")),
    # models, classes, methods
    ("unknown model name", ("/predict", (Upload("photo.jpg"), "lenet9")), ("lenet9", "not in the list of choices")),
    ("unknown class name", attribute(target="unicornfish"), "target: EfficientNet-Lite0 has no class named 'unicornfish'"),
    ("target index 1000", attribute(target="1000"), "target: class index 1000 is out of range"),
    ("target index -1", attribute(target="-1"), "target: class index -1 is out of range"),
    ("occlusion window larger than the image", attribute(method="occlusion", options={"window": 500, "trust": False}),
     "occlusion: the window (500 px) is larger than the model's input"),
    ("unknown method", attribute(method="magic"), ("magic", "not in the list of choices")),
    ("unknown option", attribute(options={"colour": "red"}), "options: saliency does not take colour"),
    ("an option named progress", attribute(options={"progress": 1}),
     "options: saliency does not take progress; it takes no options"),
    ("trust given as 'no'", attribute(options={"trust": "no"}), "trust: 'no' is not true or false"),
    ("occlusion stride larger than its window", attribute(method="occlusion", options={"window": 8, "stride": 16}),
     "occlusion: the stride (16 px) is larger than the window (8 px)"),
    ("occlusion at every pixel", attribute(method="occlusion", options={"window": 1, "stride": 1}),
     ("occlusion: window 1 px and stride 1 px make 50,176 positions, 50,177 passes through the model; at most",
      "use a larger stride or window")),
    ("opacity not a number", attribute(options={"opacity": "lots", "trust": False}), "opacity: 'lots' is not a number"),
    ("Integrated Gradients with a billion steps", attribute(method="integrated_gradients",
                                                            options={"n_steps": 10**9, "trust": False}),
     "n_steps: 1000000000 must be a whole number from 2 to 512"),
    # the Architecture tab
    ("summarize 100000x100000", ("/summarize", ("resnet18", 100_000, 100_000)),
     "input height: a whole number of pixels from 1 to 1024, got 100000"),
    ("summarize height 0", ("/summarize", ("resnet18", 0, 224)), "input height: a whole number of pixels from 1 to"),
    ("summarize negative width", ("/summarize", ("resnet18", 224, -5)), "input width: a whole number of pixels from 1 to"),
    ("summarize an input too small for the model", ("/summarize", ("alexnet", 8, 8)),
     "input height and width: 8 px and 8 px are too small for AlexNet"),
    ("summarize a height given as text", ("/summarize", ("resnet18", "tall", 224)),
     "Input height (px): 'tall' is not a number"),
    ("compare an unknown model", ("/compare", (["resnet18", "lenet9"],)), ("lenet9", "not in the list of choices")),
    ("compare nothing", ("/compare", ([],)), "models: pick at least one model to compare"),
    ("dropout p 1.5", layers(p=1.5), "Value 1.5 is greater than maximum value 1"),
    ("dropout p -0.1", layers(p=-0.1), "Dropout p: Value -0.1 is less than minimum value 0"),
    ("dropout p given as text", layers(p="half"), "Dropout p: 'half' is not a number"),
    ("adaptive pool output missing", layers(out_w=None), "output width: a whole number from 1 to"),
    ("dropout seed 10**30", layers(seed=10**30), "seed: a whole number from"),
    ("adaptive pool output 0", layers(out_h=0), "Value 0 is less than minimum value 1"),
    ("adaptive pool output 100000", layers(out_w=100_000), "Value 100000 is greater than maximum value 64"),
    ("layers on cells of 1e308: inf and nan as text", layers(matrix=HUGE_2X2), overflow_shown_as_text),
]


def _resolve(args, files):
    return [handle_file(str(files[a.name])) if isinstance(a, Upload) else a for a in args]


@pytest.mark.parametrize("endpoint, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_hostile_input(client, files, endpoint, expected):
    api_name, args = endpoint
    if callable(expected):
        expected(client.predict(*_resolve(args, files), api_name=api_name), files)
        return
    with pytest.raises(AppError) as raised:
        client.predict(*_resolve(args, files), api_name=api_name)
    message = str(raised.value)
    for part in (expected,) if isinstance(expected, str) else expected:
        assert part in message
    assert len(message) < 1000                            # the visitor's input is never echoed whole


def test_the_table_is_big_enough():
    assert len(CASES) >= 25 and len({case[0] for case in CASES}) == len(CASES)


def _raw_call(app_url: str, api_name: str, data: list) -> str:
    """A request as any HTTP client may send it, not through gradio_client's upload step: the SSE stream."""
    started = httpx.post(f"{app_url}gradio_api/call/{api_name}", json={"data": data}, timeout=30)
    started.raise_for_status()
    event = started.json()["event_id"]
    return httpx.get(f"{app_url}gradio_api/call/{api_name}/{event}", timeout=60).text


def test_paths_outside_the_upload_cache_are_never_opened(app_url, files, tmp_path):
    # A valid picture on the server's disk, but not uploaded: opening it would give a prediction.
    planted = tmp_path / "planted.jpg"
    planted.write_bytes(PHOTO.read_bytes())
    for path in [str(planted), "/etc/passwd", "/tmp/gradio/../../etc/passwd", str(PHOTO),
                 "http://127.0.0.1:1/x.png", "http://169.254.169.254/latest/meta-data"]:
        stream = _raw_call(app_url, "predict", [{"path": path, "meta": {"_type": "gradio.FileData"}}, PHOTO_MODEL])
        assert stream.startswith("event: error"), (path, stream)
        assert "confidences" not in stream
    stream = _raw_call(app_url, "predict", ["/etc/passwd", PHOTO_MODEL])        # a bare string is no FileData
    assert stream.startswith("event: error")


def test_an_upload_over_20_mb_is_refused(client, app_url, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(21 * 1024 * 1024))
    with pytest.raises(ValueError, match="exceeds the maximum file size of 20971520 bytes"):
        client.predict(handle_file(str(big)), PHOTO_MODEL, api_name="/predict")     # gradio_client checks first
    with big.open("rb") as body:                                                     # and the server refuses it
        response = httpx.post(f"{app_url}gradio_api/upload", files=[("files", ("big.png", body, "image/png"))],
                              timeout=60)
    assert response.status_code == 413 and "maximum allowed size of 20971520 bytes" in response.text


@pytest.mark.parametrize("api_name, args", [
    ("/summarize", ("resnet18", "big", 224)),
    ("/layers", (table(CHAPTER_MATRIX), 0.5, "seven", 2, 2)),
    ("/slide", ("not a table", table(CHAPTER_KERNEL), "conv", "2", "2", "0", "1", 0, False)),
])
def test_wrongly_typed_json_is_refused(client, api_name, args):
    """Values the page can never send (a string for a number, for a table) fail in Gradio's own
    preprocessing; without launch(show_error=True) that message is hidden. They are refused all the same."""
    with pytest.raises(AppError):
        client.predict(*args, api_name=api_name)


def test_the_app_still_serves_after_all_that(client, files):
    result = client.predict(handle_file(str(files["photo.jpg"])), PHOTO_MODEL, api_name="/predict")
    label, probability = _top1_by_pytorch(_photo())
    assert result["label"] == label == "macaw"
    assert result["confidences"][0]["confidence"] == pytest.approx(probability, abs=1e-4)
    *_, code, _ = client.predict(*slide()[1], api_name="/slide")
    namespace = {}
    exec(code, namespace)
    assert namespace["out"].tolist() == [[12, 13], [65, 45]]


def test_nothing_is_unpickled():
    """Every torch.load asks for weights_only=True; no pickle / numpy-object / yaml loader anywhere."""
    sources = {p: p.read_text() for folder in ("explorer", "scripts", "benchmarks") for p in (ROOT / folder).rglob("*.py")}
    sources[ROOT / "app.py"] = (ROOT / "app.py").read_text()
    for path, text in sources.items():
        for call in re.findall(r"torch\.load\(.*", text):         # each call sits on one line
            assert "weights_only=True" in call, (path, call)
        assert not re.search(r"pickle\.loads?\(|allow_pickle\s*=\s*True|yaml\.load\(|joblib\.load|dill\.", text), path
    assert "TORCH_FORCE_WEIGHTS_ONLY_LOAD" in sources[ROOT / "explorer" / "core" / "weights.py"]   # torchvision's own loads


def test_raw_json_nan_is_named(app_url):
    """JSON allows NaN only by extension; a raw client may still send it."""
    matrix = {"headers": ["1", "2"], "data": [[1, 2], [3, 4]]}
    body = json.dumps({"data": [matrix, {"headers": ["1"], "data": [[1]]}, "conv", "1", "1", "0", "1",
                                float("nan"), False]})
    started = httpx.post(f"{app_url}gradio_api/call/slide", content=body,
                         headers={"content-type": "application/json"}, timeout=30)
    stream = httpx.get(f"{app_url}gradio_api/call/slide/{started.json()['event_id']}", timeout=60).text
    assert stream.startswith("event: error") and "bias: nan is not a finite number" in stream
