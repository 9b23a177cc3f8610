"""`python -m agentops_services.local.orphan_guard PARENT_PID ARGV...`: run ARGV so that it ends
when the process that started it dies.

The supervisor stops its processes on shutdown, but a supervisor that is killed outright
(SIGKILL, the OOM killer) runs no shutdown, and its runtimes would live on holding their ports
and answering nobody. On Linux the kernel can signal a process when its parent dies
(PR_SET_PDEATHSIG); the setting survives exec, so this launcher sets it and then becomes ARGV.
Elsewhere it only execs. A parent already gone by the time the setting is made (the race the
man page warns of) ends the launch at once.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
EXIT_PARENT_GONE = 125


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        print(f"orphan_guard: prctl failed: {os.strerror(error)}", file=sys.stderr)


def main(args: list[str]) -> int:
    if len(args) < 2 or not args[0].isdigit():
        print("usage: orphan_guard PARENT_PID COMMAND [ARG...]", file=sys.stderr)
        return 2
    parent, argv = int(args[0]), args[1:]
    _die_with_parent()
    if os.getppid() != parent:
        return EXIT_PARENT_GONE
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
