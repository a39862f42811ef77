# The AWS CLI of .venv/ for the end-to-end tests (awsCli in test/support/serve-cli.ts): each command runs the
# installed `aws` script (argv[1]) as a process of its own, forked from this one once it has imported awscli. A
# fresh `aws` process spends most of its 0.5 s of CPU importing those modules; a forked command still builds its
# own session, parses its arguments, sends its requests, prints its answer and exits with its own code.
# Most of what a forked command still spends is botocore reading the installed service models (parsing their JSON,
# listing the services' folders), the same for every command: each command reports what it read, this process reads
# it too (parsed afresh from the file), and the later commands start with it, as forks of this process.
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
from botocore import loaders  # awscli's own botocore, under the name its modules import it by

AWS_SCRIPT = sys.argv[1]

# Kept for this process's life: assumes no command changes the models (e.g. `aws configure add-model`).
# Read in this process (parsed afresh from the file), by path; a forked command takes each at most once.
parsed_files = {}
# Service listings, by (search paths, model type): a sorted list of names.
service_listings = {}
# In a forked command: what it read from disk, reported back to this process.
read_by_command = {"files": [], "listings": []}

load_file_from_disk = loaders.JSONFileLoader.load_file
list_services_on_disk = loaders.Loader.list_available_services


def load_file(self, file_path):
    data = parsed_files.pop(file_path, None)
    if data is None:
        data = load_file_from_disk(self, file_path)
        if data is not None:
            read_by_command["files"].append(file_path)
    return data


def list_available_services(self, type_name):
    key = (tuple(self.search_paths), type_name)
    if key in service_listings:
        return list(service_listings[key])
    services = list_services_on_disk(self, type_name)
    read_by_command["listings"].append([list(key[0]), type_name, list(services)])
    return services


loaders.JSONFileLoader.load_file = load_file
loaders.Loader.list_available_services = list_available_services


def learn(report):
    """In this process: what a forked command read, read here too for the next commands."""
    for file_path in report["files"]:
        if file_path not in parsed_files:
            data = load_file_from_disk(loaders.JSONFileLoader(), file_path)
            if data is not None:
                parsed_files[file_path] = data
    for search_paths, type_name, services in report["listings"]:
        service_listings[(tuple(search_paths), type_name)] = services


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
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as report:
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
                try:
                    report.write(json.dumps(read_by_command).encode("utf-8"))
                    report.flush()
                finally:
                    os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        report.seek(0)
        reported = report.read()
        try:
            learn(json.loads(reported))
        except ValueError:
            pass  # a command that died before it reported: nothing learned from it, the next one reads from disk
        return {"code": os.waitstatus_to_exitcode(status), "stdout": out.read().decode("utf-8", "replace"), "stderr": err.read().decode("utf-8", "replace")}


for line in sys.stdin:
    sys.stdout.write(json.dumps(run_command(json.loads(line)["args"])) + "\n")
    sys.stdout.flush()
