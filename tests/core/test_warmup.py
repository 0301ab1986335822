"""Start-up: weights downloaded in the background, one at a time, with progress a visitor can read;
nothing fetched twice; a corrupt or failed download reported, never raised, and never left on disk."""
import hashlib
import http.server
import threading

import pytest

from explorer.core import downloads, models, warmup
from explorer.core.downloads import Download, Downloads

MB = 2**20


class _Server:
    """Serves `files` (path -> bytes) on localhost; with `gate` set, pauses each after its first MB."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.gate = files, threading.Event()
        self.gate.set()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:MB])
                self.wfile.flush()
                server.gate.wait(30)
                self.wfile.write(body[MB:])

            def log_message(self, *args):
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self):
        self.gate.set()
        self.http.shutdown()


def _named(tmp_path, name: str, body: bytes):
    """A file name in torchvision's convention: the SHA-256's first 8 hex digits after the last '-'."""
    return tmp_path / f"{name}-{hashlib.sha256(body).hexdigest()[:8]}.pth"


@pytest.fixture
def server():
    s = _Server({})
    yield s
    s.close()


def _wait_until(condition, seconds=20.0):
    event = threading.Event()
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        event.wait(0.05)
    return condition()


def test_downloads_run_one_at_a_time_with_progress_and_a_waiting_model_goes_first(tmp_path, server):
    bodies = {name: bytes([i]) * (3 * MB) for i, name in enumerate(["vgg16", "alexnet", "resnet18"])}
    items = []
    for name, body in bodies.items():
        server.files[f"/{name}"] = body
        items.append(Download(name, name.upper(), f"{server.url}/{name}", _named(tmp_path, name, body)))
    server.gate.clear()
    line = Downloads()
    thread = line.start(items)
    assert _wait_until(lambda: line.status("vgg16").done_bytes >= MB)
    assert line.message("vgg16") == "downloading VGG16 weights: 1 of 3 MB"
    assert line.status("alexnet").state == "queued" and line.pending("resnet18")
    assert "next in line" in line.message("resnet18")           # someone waits for it: it goes first
    server.gate.set()
    thread.join(30)
    assert [line.status(n).state for n in bodies] == ["done"] * 3
    assert all(item.path.read_bytes() == bodies[item.name] for item in items)
    assert line.status("resnet18").path.stat().st_mtime <= line.status("alexnet").path.stat().st_mtime
    assert line.message("vgg16") == "" and line.finished("vgg16")
    assert not list(tmp_path.glob("*.partial"))


def test_a_corrupt_or_unreachable_download_is_reported_and_leaves_nothing(tmp_path, server):
    server.files["/bad"] = b"x" * 100
    corrupt = Download("bad", "Bad", f"{server.url}/bad", tmp_path / "bad-00000000.pth")
    missing = Download("gone", "Gone", f"{server.url}/gone", tmp_path / "gone-00000000.pth")
    line = Downloads()
    line.start([corrupt, missing]).join(30)
    assert "SHA-256" in line.status("bad").error and line.status("bad").state == "failed"
    assert "404" in line.status("gone").error
    assert not list(tmp_path.iterdir())


def test_a_model_still_downloading_says_how_far_instead_of_loading_untrained(tmp_path, server, monkeypatch):
    body = b"w" * (3 * MB)
    server.files["/vgg16"] = body
    server.gate.clear()
    line = Downloads()
    monkeypatch.setattr(models, "DOWNLOADS", line)
    line.start([Download("vgg16", "VGG-16", f"{server.url}/vgg16", _named(tmp_path, "vgg16", body))])
    assert _wait_until(lambda: line.status("vgg16").done_bytes >= MB)
    with pytest.raises(models.WeightsDownloading, match="downloading VGG-16 weights: 1 of 3 MB"):
        models.get_model("vgg16")
    assert "vgg16" not in [model.name for model, _ in models.loaded_models()]
    server.gate.set()


def test_an_untrained_stand_in_is_rebuilt_once_its_weights_have_arrived(monkeypatch):
    line = Downloads()
    monkeypatch.setattr(models, "DOWNLOADS", line)
    stand_in, _ = models.get_model("cnnnet")
    monkeypatch.setitem(line._items, "cnnnet", Download("cnnnet", "CNNNet", "", None, state="done"))
    assert models.get_model("cnnnet")[0] is not stand_in


def test_prefetch_queues_only_missing_checkpoints_of_downloaded_models(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    present = warmup.checkpoint_path("alexnet")
    present.parent.mkdir(parents=True)
    present.write_bytes(b"already here")
    queued = []
    monkeypatch.setattr(warmup.DOWNLOADS, "start", lambda items: queued.extend(items))
    warmup.prefetch_weights(["alexnet", "resnet18"])
    assert [(d.name, d.url, d.path) for d in queued if not d.path.exists()] == [
        ("resnet18", "https://download.pytorch.org/models/resnet18-f37072fd.pth", warmup.checkpoint_path("resnet18"))]
    line = Downloads()
    line.start([warmup.download_of("alexnet")]).join(5)
    assert line.status("alexnet") is None                  # present: not fetched again


def test_every_torchvision_model_is_downloaded_in_the_background():
    assert set(warmup.downloaded_names()) == {"alexnet", "vgg16", "resnet18", "resnet50", "googlenet",
                                              "squeezenet1_1", "densenet121", "mobilenet_v2", "mobilenet_v3_large"}
    assert downloads.TIMEOUT_SECONDS > 0


def test_the_warm_up_loads_the_default_model_but_runs_no_pass_through_it(monkeypatch):
    """On ZeroGPU CUDA exists only inside GPU functions: start-up may move weights, never compute."""
    import torch

    passes = []
    handle = torch.nn.modules.module.register_module_forward_pre_hook(lambda module, args: passes.append(module))
    monkeypatch.delenv("SPACE_ID", raising=False)
    try:
        warmup.start_background_warmup().join(120)
    finally:
        handle.remove()
    assert models.DEFAULT_MODEL in [model.name for model, _ in models.loaded_models()] and passes == []
