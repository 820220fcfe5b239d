"""How a rank hands its result to the test: one JSON file per rank, written atomically.

Printing ``RESULT {json}`` lines to stdout is not safe: mpiexec merges the ranks' streams, and
under load one rank's line can land inside another's (a JSON "Extra data" error). Each rank
instead writes ``$EMBER_TEST_RESULTS/<rank>.json`` through a temporary file and a rename, so the
test never reads a partial file and no two ranks share one.
"""

import json
import os


def emit(payload) -> None:
    """Record this rank's ``payload`` (once per rank); without ``EMBER_TEST_RESULTS`` (a script
    run by hand) print it."""
    out = os.environ.get("EMBER_TEST_RESULTS")
    if not out:
        print("RESULT " + json.dumps(payload), flush=True)
        return
    path = os.path.join(out, f"{int(os.environ.get('RANK', '0'))}.json")
    if os.path.exists(path):
        raise RuntimeError(f"{path} already written: one result per rank")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f)
    os.replace(tmp, path)
