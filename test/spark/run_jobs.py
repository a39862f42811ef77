"""Runs job scripts on one local Spark session, as Glue runs them, for npm run test:spark (test/spark/run.ts).

Usage: python run_jobs.py PLAN.json RESULTS.json
PLAN: {"scriptsDir": str, "runs": [{"id": str, "script": str, "argv": [str], "needs": [run ids]}]}
Each run executes the script itself as __main__ with sys.argv set as Glue sets it; the script calls
etl_common.main(), which finds the session started here. RESULTS: {id: {"status": "ok", "rowsWritten", "rowsRead", "droppedRows",
"seconds"} | {"status": "error", "error", "type", "seconds"} | {"status": "skipped"}} (skipped: a needed run failed).
"""
import json
import logging
import os
import runpy
import sys
import time

from pyspark.sql import SparkSession


class JobResults(logging.Handler):
    """Keeps the structured result record etl_common logs at the end of each job."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.last = None

    def emit(self, record):
        if hasattr(record, "etl_result"):
            self.last = record.etl_result


def message(error: BaseException) -> str:
    """The error's message: its first line, or for a JVM error (Py4J) the Java exception's own message."""
    java = getattr(error, "java_exception", None)
    text = str(java.toString()) if java is not None else str(error)
    return text.strip().splitlines()[0] if text.strip() else repr(error)


def main(plan_file: str, results_file: str) -> None:
    with open(plan_file, encoding="utf-8") as handle:
        plan = json.load(handle)
    started = time.monotonic()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("test-spark")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    print(f"spark {spark.version} started in {time.monotonic() - started:.1f} s", flush=True)
    # As on Glue: --extra-files land in the working directory, --extra-py-files on the import path.
    os.chdir(plan["scriptsDir"])
    sys.path.insert(0, plan["scriptsDir"])
    results_handler = JobResults()
    logging.getLogger("etl").addHandler(results_handler)
    results = {}
    for run in plan["runs"]:
        if any(results[need]["status"] != "ok" for need in run["needs"]):
            results[run["id"]] = {"status": "skipped"}
            continue
        results_handler.last = None
        sys.argv = [run["script"], *run["argv"]]
        began = time.monotonic()
        try:
            runpy.run_path(run["script"], run_name="__main__")
            if results_handler.last is None:
                raise RuntimeError(f"{run['script']} ended without running a job (etl_common logged no result)")
            results[run["id"]] = {"status": "ok", **results_handler.last}
        except (Exception, SystemExit) as error:  # a job's failure is a result to compare, not the end of the run
            results[run["id"]] = {"status": "error", "type": type(error).__name__, "error": message(error)}
        results[run["id"]]["seconds"] = round(time.monotonic() - began, 2)
        print(f"spark {run['id']}: {results[run['id']]['status']} in {results[run['id']]['seconds']} s", flush=True)
    with open(results_file, "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
