# Runs a command as a child subreaper (Linux) and waits for every process of its tree, those whose parent ended first
# included (esbuild's service process, say): their CPU then counts in this process's children's CPU, so in the
# bench's cutime + cstime. Without it they are reaped by init and their CPU is lost to the figure.
# Usage: python3 bench/reap-all.py COMMAND [ARG...]; exits with the command's status. A process still running
# REAP_ALL_GRACE_SECONDS (default 30) after the command ended is named on stderr and killed: a test run leaves none.
import ctypes
import os
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> int:
    if not argv:
        sys.exit("usage: reap-all.py COMMAND [ARG...]")
    grace = int(os.environ.get("REAP_ALL_GRACE_SECONDS", "30"))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"reap-all.py: prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")
    signal.signal(signal.SIGALRM, kill_leftovers)
    command = subprocess.Popen(argv)
    status = None
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        if pid == command.pid:
            status = os.waitstatus_to_exitcode(wait_status)
            signal.alarm(grace)
    return status if status >= 0 else 128 - status


def kill_leftovers(_signum, _frame) -> None:
    leftovers = children()
    for pid in leftovers:
        print(f"reap-all.py: process {pid} ({command_line(pid)}) outlived the command; killed", file=sys.stderr)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if leftovers:
        signal.alarm(1)  # their own children are now this process's


def children() -> list[int]:
    own = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == own:
            found.append(int(entry))
    return found


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()[:200]
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
