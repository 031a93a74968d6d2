"""``jarscore serve ROOT [options]``: the model server (the bundled jarscore-server.jar) in the
foreground, in a JVM of its own. The options are the server's own (``jarscore serve --help``)."""

from __future__ import annotations

import os
import signal
import subprocess

from jarscore.scorer import jvm

#: Signals passed on to the server, which shuts down gracefully on each: it finishes the requests in
#: flight. Ctrl-C reaches the server directly too (the terminal signals the whole process group).
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def serve(args: list[str]) -> int:
    """Runs the server until it exits; returns its exit status (128 + N if signal N ended it)."""
    command = [jvm.java_executable(), *jvm.jvm_options(), "-Djarscore.command=jarscore serve",
               "-jar", str(jvm.server_jar()), *args]
    process = subprocess.Popen(command, preexec_fn=jvm.die_with_parent)

    def forward(signum, frame) -> None:
        if process.poll() is None:
            process.send_signal(signum)

    # A signal this process ignores (SIGINT in a background job of a script) the server ignores too.
    previous = {number: signal.signal(number, forward) for number in _FORWARDED
                if signal.getsignal(number) is not signal.SIG_IGN}
    try:
        status = process.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 128 - status if status < 0 else status


if __name__ == "__main__":   # python -m jarscore.serve ROOT ... (what the tests and `jarscore serve` run)
    import sys

    sys.exit(serve(sys.argv[1:]))
