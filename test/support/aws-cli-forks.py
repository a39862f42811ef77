# The AWS CLI of .venv/ for the end-to-end tests (awsCli in test/support/serve-cli.ts): each command runs the
# installed `aws` script (argv[1]) as a process of its own, forked from this one once it has imported awscli. A
# fresh `aws` process spends most of its 0.5 s of CPU importing those modules; a forked command still builds its
# own session, parses its arguments, sends its requests, prints its answer and exits with its own code.
# One JSON line per command on stdin: {"args": [...]}; one per answer on stdout: {"code", "stdout", "stderr"}.
import atexit
import json
import os
import runpy
import sys
import tempfile
import traceback

import awscli.clidriver  # noqa: F401  what the script imports first
import awscli.handlers  # noqa: F401  awscli's built-in plugin, which each command's driver loads

AWS_SCRIPT = sys.argv[1]


def run_script(args):
    """In the forked process: the script as `aws args` would run it; its exit code."""
    sys.argv = [AWS_SCRIPT, *args]
    try:
        runpy.run_path(AWS_SCRIPT, run_name="__main__")
        return 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1


def run_command(args):
    """`aws args` in a forked process: its exit code and output (kept in unnamed temporary files)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdin = open(0, closefd=False)
                code = run_script(args)
            except BaseException:
                traceback.print_exc()
            finally:
                # What the interpreter does at exit, then the exit itself: never back into this loop.
                atexit._run_exitfuncs()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return {"code": os.waitstatus_to_exitcode(status), "stdout": out.read().decode("utf-8", "replace"), "stderr": err.read().decode("utf-8", "replace")}


for line in sys.stdin:
    sys.stdout.write(json.dumps(run_command(json.loads(line)["args"])) + "\n")
    sys.stdout.flush()
