"""Ready for a public Space: queue limits, one fair queue for model work, nothing left on the models."""
import time
from pathlib import Path

import pytest
from gradio_client import handle_file

from explorer.core import models
from explorer.ui import CONCURRENCY, LAUNCH_OPTIONS, QUEUE_SIZE, build_demo

EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples"
MODEL_EVENTS = {"slide", "kernel_gif", "predict", "stages", "attribute", "compare", "saliency_explain",
                "stages_after_photo", "stages_after_sketch", "stages_after_model", "saliency_after_photo",
                "saliency_explain_trust", "saliency_after_photo_trust", "saliency_sign_trust"}


@pytest.fixture(scope="module")
def demo():
    return build_demo()


def test_queue_is_bounded_and_uploads_are_limited(demo):
    assert demo._queue.max_size == QUEUE_SIZE and QUEUE_SIZE > 0
    assert demo._queue.default_concurrency_limit == CONCURRENCY
    assert LAUNCH_OPTIONS["max_file_size"] == "20mb"
    assert demo.delete_cache == (600, 1800)  # Gradio deletes temporary files older than 30 minutes


def test_the_temporary_file_lifetime_can_be_set_and_is_checked(monkeypatch):
    from explorer.ui import delete_cache_setting

    monkeypatch.setenv("EXPLORER_DELETE_CACHE", "20,60")
    assert delete_cache_setting() == (20, 60)
    for bad in ("20", "a,b", "0,60", "20,-1"):
        monkeypatch.setenv("EXPLORER_DELETE_CACHE", bad)
        with pytest.raises(ValueError, match="EXPLORER_DELETE_CACHE"):
            delete_cache_setting()


def test_every_event_has_an_explicit_api_name(demo):
    for fn in demo.fns.values():
        assert fn.api_name and not str(fn.api_name).startswith("fn_"), fn.name


def test_computation_shares_one_queue_served_one_at_a_time(demo):
    by_name = {fn.api_name: fn for fn in demo.fns.values()}
    for name in MODEL_EVENTS:
        assert by_name[name].concurrency_id == "model" and by_name[name].concurrency_limit == 1, name
    # stepping through frames and stages already computed never waits behind anybody's model
    for name in ("kernel_step", "stages_live", "stages_step", "saliency_opacity", "saliency_sign"):
        assert by_name[name].concurrency_id != "model", name


def test_the_trust_check_is_its_own_job_after_the_maps(demo):
    """A long job makes everybody behind it wait: the tab's maps and their trust check queue separately."""
    by_name = {fn.api_name: fn for fn in demo.fns.values()}
    for maps in ("saliency_explain", "saliency_target", "saliency_explain_picked", "saliency_after_photo",
                 "saliency_after_sketch", "saliency_after_model"):
        trust = by_name[f"{maps}_trust"]
        assert trust.fn.__name__ == "on_trust" and by_name[maps].fn.__name__ != "on_trust"
        assert trust.concurrency_id == "model"


@pytest.mark.e2e
def test_no_hooks_remain_after_mixed_requests(client):
    photo = handle_file(str(EXAMPLES / "cat.jpg"))
    client.predict(photo, "efficientnet_lite0", api_name="/stages")
    for method in ("gradcam", "occlusion", "saliency"):
        client.predict(photo, "efficientnet_lite0", method, "", {"window": 56, "stride": 56} if method == "occlusion" else {},
                       api_name="/attribute")
    client.predict(photo, "alexnet", "guided_gradcam", "", {}, api_name="/attribute")
    assert models.loaded_models(), "the requests loaded models"
    for model, _ in models.loaded_models():
        for module in model.module.modules():
            assert not (module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
                        or module._backward_pre_hooks), f"{model.name}: hooks left on {type(module).__name__}"


def test_a_picture_already_in_gradios_cache_is_never_rewritten(tmp_path, demo):
    """Rewriting it would break a download of the same picture in progress for another user."""
    from gradio import processing_utils
    from PIL import Image

    from explorer.ui import gradio_patches

    assert processing_utils.save_pil_to_cache is gradio_patches.save_pil_to_cache  # build_demo applied it
    picture = Image.new("RGB", (8, 8), (200, 10, 10))
    path = gradio_patches.save_pil_to_cache(picture, str(tmp_path), format="png")
    Path(path).write_bytes(b"being downloaded")
    assert gradio_patches.save_pil_to_cache(picture, str(tmp_path), format="png") == path
    assert Path(path).read_bytes() == b"being downloaded"
    assert not [p for p in Path(path).parent.iterdir() if p.name.endswith(".part")]


def _delete_while_uploading(delete, folder: Path) -> tuple[set, BaseException | None]:
    """Run delete_cache's deletion over 20000 old files while another thread keeps adding uploads."""
    import os
    import threading
    from types import SimpleNamespace

    old = []
    for k in range(20000):
        path = folder / f"old-{k}"
        path.touch()
        old.append(str(path))
    kept = folder / "example.jpg"
    kept.touch()
    uploads = set(old) | {str(kept)}
    blocks = SimpleNamespace(blocks={0: SimpleNamespace(keep_in_cache={str(kept)})}, temp_file_sets=[uploads])
    later = [str(folder / f"new-{k}") for k in range(200000)]
    stop = threading.Event()

    def upload():
        for path in later:
            if stop.is_set():
                return
            uploads.add(path)
            os.sched_yield()

    uploader = threading.Thread(target=upload)
    time.sleep(0.01)
    for path in old:
        os.utime(path, (0, 0))
    time.sleep(1.1)                     # ctime can't be set: the old files are 1 s old, the age limit 0.5 s
    uploader.start()
    error = None
    try:
        delete(blocks, 0.5)
    except RuntimeError as raised:
        error = raised
    finally:
        stop.set()
        uploader.join()
    return uploads, error


def test_temporary_files_are_deleted_while_uploads_keep_coming(tmp_path, demo):
    """Gradio's own deletion fails when an upload arrives meanwhile, and its scheduled task then ends
    for good: no temporary file is deleted again."""
    from gradio import route_utils

    from explorer.ui import gradio_patches

    assert route_utils.delete_files_created_by_app is gradio_patches.delete_files_created_by_app  # applied
    uploads, error = _delete_while_uploading(gradio_patches.delete_files_created_by_app, tmp_path)
    assert error is None
    assert not list(tmp_path.glob("old-*"))                      # every old file deleted
    assert (tmp_path / "example.jpg").exists() and str(tmp_path / "example.jpg") in uploads  # kept
    assert not any("old-" in path for path in uploads)


def test_gradios_own_deletion_fails_under_uploads(tmp_path):
    """The bug the patch fixes, shown on Gradio's original function: when this stops failing (a Gradio
    upgrade fixed it), the patch can go."""
    from explorer.ui import gradio_patches

    _, error = _delete_while_uploading(gradio_patches.GRADIOS_DELETE_FILES, tmp_path)
    assert error is not None and "changed size during iteration" in str(error)


@pytest.mark.e2e
def test_users_getting_the_same_picture_at_once_all_receive_it(app_url):
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    table = {"headers": ["1", "2", "3"], "data": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]}
    kernel = {"headers": ["1", "2"], "data": [[1, 0], [0, 1]]}
    clients = [Client(app_url, verbose=False) for _ in range(4)]

    def user(client):
        return [client.predict(table, kernel, "conv", "2", "1", "0", "1", 0.0, False, api_name="/slide")[0]
                for _ in range(6)]

    with ThreadPoolExecutor(4) as pool:
        frames = [path for paths in pool.map(user, clients) for path in paths]
    sizes = {Path(p).stat().st_size for p in frames}
    assert len(frames) == 24 and len(sizes) == 1 and sizes.pop() > 0


def test_malloc_arenas_are_limited_on_glibc():
    import platform

    from explorer.core.memory import limit_allocator_arenas

    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert limit_allocator_arenas() is True
    else:
        assert limit_allocator_arenas() is False


def test_startup_objects_are_frozen_and_later_garbage_is_still_collected():
    import gc
    import weakref

    from explorer.core.memory import freeze_startup_objects

    assert freeze_startup_objects() > 10_000      # torch, Gradio: many objects, now never walked

    class Node:
        pass

    cycle = Node()
    cycle.itself = cycle
    gone = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert gone() is None
