"""The image libraries, imported in one place: timm (the models) and grad-cam (the heat maps), which both need
torchvision (as transformers does, once it is installed).

torchvision's compiled operators are built for one build of torch. Where they do not match the torch installed
(PyPI's torchvision for Linux is built for CUDA's torch; a CPU-only machine may have torch's CPU build),
importing torchvision fails while it registers those operators, and with it every transformers model, although
nothing here uses them (no detection boxes, no video decoding): only torchvision's pure-Python parts (a frozen
batch norm, picture transforms). So `install()` (run when the engine is imported; it imports nothing itself)
watches for the first import of torchvision: when the plain import fails that way, torchvision is imported
again without registering its missing operators, and everything else works as usual. Where torchvision
matches torch, the plain import is all that happens.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys


class _Loaded(importlib.abc.Loader):
    """Hands the import system the torchvision module imported by `_TorchvisionFinder`."""

    def create_module(self, spec):
        return sys.modules["torchvision"]

    def exec_module(self, module) -> None:
        pass


class _TorchvisionFinder(importlib.abc.MetaPathFinder):
    busy = False

    def find_spec(self, name, path=None, target=None):
        if name != "torchvision" or self.busy:
            return None
        self.busy = True
        try:
            _import_torchvision()
        except ImportError:
            return None  # not installed: the import system says so as usual
        finally:
            self.busy = False
        return importlib.machinery.ModuleSpec("torchvision", _Loaded(), is_package=True)


def _import_torchvision() -> None:
    try:
        import torchvision  # noqa: F401
        return
    except RuntimeError:  # "operator torchvision::nms does not exist": its compiled part did not load
        for name in [name for name in sys.modules if name == "torchvision" or name.startswith("torchvision.")]:
            del sys.modules[name]
    import torch.library as library

    kept = library.register_fake, library.register_autograd
    library.register_fake = lambda *args, **kwargs: (lambda function: function)
    library.register_autograd = lambda *args, **kwargs: None
    try:
        import torchvision  # noqa: F401, F811
    finally:
        library.register_fake, library.register_autograd = kept


def install() -> None:
    if not any(isinstance(finder, _TorchvisionFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _TorchvisionFinder())


def timm():
    import timm as library

    return library


def grad_cam():
    import pytorch_grad_cam

    return pytorch_grad_cam
