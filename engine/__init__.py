# torchvision built for another torch build must not stop transformers, timm or grad-cam from loading
# (engine/images/stack.py); this imports nothing until torchvision itself is imported.
from engine.images.stack import install as _install_torchvision_guard

_install_torchvision_guard()
