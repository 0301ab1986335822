"""Start-up: weights fetched once on a Space, nothing fetched twice, failures reported not raised."""
import torch

from explorer import warmup


def test_prefetch_downloads_only_missing_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    present = warmup.checkpoint_path("alexnet")
    present.parent.mkdir(parents=True)
    present.write_bytes(b"already here")
    fetched = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        fetched.append((url, hash_prefix))
        with open(dst, "wb") as f:
            f.write(b"weights")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    report = warmup.prefetch_weights(["alexnet", "resnet18"])
    assert report == {"alexnet": "present", "resnet18": "downloaded"}
    assert fetched == [("https://download.pytorch.org/models/resnet18-f37072fd.pth", "f37072fd")]
    assert warmup.checkpoint_path("resnet18").read_bytes() == b"weights"


def test_prefetch_without_network_reports_instead_of_raising(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    report = warmup.prefetch_weights(["resnet18"])
    assert report["resnet18"].startswith("OSError") and not warmup.checkpoint_path("resnet18").exists()


def test_every_torchvision_model_is_prefetched():
    assert set(warmup.torchvision_names()) == {"alexnet", "vgg16", "resnet18", "resnet50", "googlenet",
                                               "squeezenet1_1", "densenet121", "mobilenet_v2", "mobilenet_v3_large"}
