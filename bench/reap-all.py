# Runs a command as a child subreaper (Linux) and waits for every process of its tree, those whose parent ended first
# included (esbuild's service process, say): their CPU then counts in this process's children's CPU, so in the
# bench's cutime + cstime. Without it they are reaped by init and their CPU is lost to the figure.
# Usage: python3 bench/reap-all.py COMMAND [ARG...]; exits with the command's status (128 + N when signal N ended it).
# A process still running REAP_ALL_GRACE_SECONDS (default 30) after the command ended is named on stderr and killed,
# and the exit status is then LEFTOVER_STATUS, whatever the command's: a run that leaves a process is no figure.
# SIGINT and SIGTERM are passed to the command, and the tree is still waited for; after the command ended they end the
# grace period at once.
import ctypes
import os
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36
LEFTOVER_STATUS = 70
MAX_GRACE_SECONDS = 3600
killed = []
command = None
status = None  # the command's, once waited for: only the main loop waits, so its pid is not reused before


def main(argv: list[str]) -> int:
    global command, status
    if not argv:
        sys.exit("usage: reap-all.py COMMAND [ARG...]")
    if sys.platform != "linux":
        sys.exit("reap-all.py: needs Linux (prctl PR_SET_CHILD_SUBREAPER and /proc)")
    grace_text = os.environ.get("REAP_ALL_GRACE_SECONDS", "30")
    if not (grace_text.isdecimal() and 1 <= int(grace_text) <= MAX_GRACE_SECONDS):
        sys.exit(
            f"reap-all.py: REAP_ALL_GRACE_SECONDS must be a whole number of seconds from 1 to {MAX_GRACE_SECONDS}"
            f" (got {grace_text!r})"
        )
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"reap-all.py: prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")
    for passed in (signal.SIGINT, signal.SIGTERM):
        signal.signal(passed, pass_signal)
    signal.signal(signal.SIGALRM, kill_leftovers)
    try:
        command = subprocess.Popen(argv)
    except OSError as error:
        sys.exit(f"reap-all.py: cannot run {argv[0]}: {error.strerror}")
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        if pid == command.pid:
            status = os.waitstatus_to_exitcode(wait_status)
            signal.alarm(int(grace_text))
    if killed:
        return LEFTOVER_STATUS
    return status if status >= 0 else 128 - status


def pass_signal(signum, _frame) -> None:
    """To the command while it runs (os.kill: Popen.send_signal would wait for it, taking its status from the main
    loop); once it ended, ends the grace period."""
    if command is None:
        sys.exit(128 + signum)
    if status is None:
        os.kill(command.pid, signum)
    else:
        kill_leftovers(signal.SIGALRM, None)


def kill_leftovers(_signum, _frame) -> None:
    leftovers = children()
    for pid in leftovers:
        print(f"reap-all.py: process {pid} ({command_line(pid)}) outlived the command; killed", file=sys.stderr)
        killed.append(pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if leftovers:
        signal.alarm(1)  # their own children are now this process's


def children() -> list[int]:
    """The running processes whose parent is this one (not those ended and waiting to be reaped)."""
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
        if int(fields[1]) == own and fields[0] != "Z":
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
