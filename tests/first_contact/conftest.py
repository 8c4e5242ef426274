"""The first-contact suite runs the real window offscreen; each case gets its own data folder from the
project-wide `tunewright_home` fixture."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
