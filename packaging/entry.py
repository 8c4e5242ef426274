"""The frozen program's one entry point: the window, or the engine when the first argument is `engine`.

A frozen app has no separate Python to run `python -m engine`, so `engine.jobs.engine_process` starts
`<this program> engine ARGS` instead, and this script sends those to the engine's own command line.
"""

from __future__ import annotations

import multiprocessing
import sys


def main() -> int:
    # A frozen program started as a multiprocessing child must go no further than this call.
    multiprocessing.freeze_support()
    if len(sys.argv) > 1 and sys.argv[1] == "engine":
        from engine.__main__ import main as engine_main

        return engine_main(sys.argv[2:])
    from gui.app import main as app_main

    return app_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
