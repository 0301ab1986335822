"""Pretrained weights: loaded with the safe unpickler, and what to tell a learner when they cannot be had
(untrained, still downloading)."""
import os
import pickle
import socket
import threading
import urllib.error
from contextlib import contextmanager

from explorer.core.both import Both, chinese_of

_SAFE_LOADING = threading.Lock()


@contextmanager
def weights_only_loading():
    """torchvision loads its checkpoints through torch.hub with weights_only=False: within this block
    every torch.load uses the safe unpickler (TORCH_FORCE_WEIGHTS_ONLY_LOAD, read at each call), so a
    tampered checkpoint can hold tensors but never run code. One block at a time, since the switch is
    an environment variable; it is set back afterwards, so importing the package configures nothing."""
    with _SAFE_LOADING:
        before = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
        os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
            else:
                os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = before

ON_A_SPACE = Both("(On a Hugging Face Space they are downloaded when the app starts.)",
                  "（在 Hugging Face Space 上，应用启动时会下载它们。）")


class WeightsUnavailable(RuntimeError):
    """Pretrained weights could not be found on disk nor downloaded; `reason` says why in words, and
    `on_a_space` what a Hugging Face Space does about it (each a str, or a Both in two languages)."""

    def __init__(self, message: str, reason: str, on_a_space: str = ON_A_SPACE):
        super().__init__(message)
        self.reason, self.on_a_space = reason, on_a_space


def unavailable_in_words(error: Exception) -> Both:
    """Why a checkpoint could not be had, for a learner (the raw error goes to the log), in both languages."""
    if isinstance(error, urllib.error.HTTPError):
        return Both("the download server refused them (HTTP {code})", "下载服务器拒绝了请求（HTTP {code}）",
                    code=error.code)
    if isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError, socket.gaierror)):
        return Both("they are not on this machine, and it cannot reach the internet to download them",
                    "这台机器上没有它们，也连不上互联网去下载")
    if isinstance(error, pickle.UnpicklingError):
        return Both("the file on this machine holds more than weights, so it was not opened",
                    "这台机器上的文件里不只有权重，所以没有打开它")
    return Both("the file on this machine could not be read and no fresh copy could be downloaded",
                "这台机器上的文件读不出来，也下载不到新的副本")


def untrained_note(title: str, reason: str, on_a_space: str = ON_A_SPACE) -> Both:
    """What a model shown untrained says, in both languages (kept with the loaded model; explorer.core.both.said
    gives it in the visitor's)."""
    return Both("**{title} is untrained here.** Its pretrained weights could not be loaded: {reason}. "
                "{on_a_space} Shown instead: the same architecture with random weights. Its predictions mean "
                "nothing; its stages show the real shapes and what random filters do.",
                "**{title_zh} 在这里未经训练。** 它的预训练权重无法加载：{reason_zh}。{on_a_space_zh}"
                "这里显示的是同一架构、随机权重的模型：它的预测没有意义；它的各阶段显示真实的形状，"
                "以及随机滤波器会做什么。",
                title=title, reason=reason, on_a_space=on_a_space, title_zh=chinese_of(title),
                reason_zh=chinese_of(reason), on_a_space_zh=chinese_of(on_a_space))


class WeightsDownloading(ValueError):
    """The model's weights are still downloading in the background (explorer.core.downloads): its message
    says how far, and the visitor is asked to pick it again in a moment."""
