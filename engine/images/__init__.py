"""Sorting images: reading pictures as people keep them, checking them, and the image models' own pieces
(the bundled EfficientNet-Lite0, training batches, heat maps, exports). The task is declared in
engine/tasks/images.py; this package is the library its stages call.

Modules that need torch import it themselves; pictures.py, collect.py and checks.py need none (the window
reads data through them).
"""
