#!/usr/bin/env python3
"""Runs an interop check's evaluation function under each TensorFlow setting, in fresh subprocesses.

Users run our SavedModels with Python TensorFlow's defaults, so every check evaluates them both
under those defaults (TF_ENABLE_ONEDNN_OPTS unset: oneDNN on, on x86) and with
TF_ENABLE_ONEDNN_OPTS=0 (TF's Eigen kernels, what our Java processes use). TensorFlow reads the
variable when it loads, so one process cannot do both: each setting gets its own subprocess.

    import tf_settings
    for setting, value in tf_settings.SETTINGS:
        run = tf_settings.run_setting(__file__, "evaluate", jobs, setting, value)
        for job, outcome in zip(jobs, run.outcomes):
            if outcome.failure: ...           # crashed (signal named), timed out or raised
            else: use outcome.result          # what evaluate(job) returned (JSON)

`run_setting(__file__, "prepare", jobs, *tf_settings.ONEDNN_OFF)` runs work that must run with
oneDNN off (the reference). The subprocess is `python tf_settings.py --worker ...`: it imports
TensorFlow first (so that nothing the check module does at import time can change the setting),
records whether oneDNN is in use (IsMklEnabled), loads the check script as a module (its
`__main__` block does not run), then calls `function(job)` for each job (a JSON object) and appends
the JSON result, or the exception's traceback, to a results file. If the subprocess dies (a
signal such as SIGFPE, a non-zero exit, the time limit), the job it was running fails with that
reason (and the last step the job recorded with tf_settings.step(...)), and a fresh subprocess
continues with the next job, so one crash costs one job's result.

Job results must be JSON-serialisable (numpy scalars and arrays are converted). Large arrays are
better written to files by the function and their paths returned.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

VAR = "TF_ENABLE_ONEDNN_OPTS"
# (label, value of TF_ENABLE_ONEDNN_OPTS; None = unset, TensorFlow's default)
DEFAULT = ("oneDNN default", None)
ONEDNN_OFF = ("TF_ENABLE_ONEDNN_OPTS=0", "0")
SETTINGS = (DEFAULT, ONEDNN_OFF)
TIMEOUT_S = 900          # per subprocess; a subprocess killed at the limit fails its current job
STEP_ENV = "TF_SETTINGS_STEP_FILE"  # where a worker records its current step (see step())
_NOISE = ("oneDNN custom operations are on", "absl::InitializeLog()", "rebuild TensorFlow with",
          "This TensorFlow binary is optimized", "WARNING:tensorflow:", "Instructions for updating",
          "Use `tf.", "warnings.warn(", "is deprecated", "`tf.train.Saver(write_version",
          "Consider switching to the more efficient", "now on by default", "*****")


def status(ok):
    return "ok  " if ok else "FAIL"


def tag(setting):
    return "[%s]" % setting


def step(what):
    """Records what the evaluation is doing now (in a worker; a no-op elsewhere), so that a crash
    report can say where the subprocess died. The worker records each job's label itself."""
    path = os.environ.get(STEP_ENV)
    if path:
        with open(path, "w") as f:
            f.write(what)


def failure_line(setting, label, failure):
    """The FAIL line of a job that crashed, timed out or raised under setting."""
    return "FAIL %s %s: %s" % (tag(setting), label, failure)


def env_for(value):
    """os.environ with TF_ENABLE_ONEDNN_OPTS unset (value None) or set to value."""
    env = dict(os.environ)
    env.pop(VAR, None)
    if value is not None:
        env[VAR] = value
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def java_env():
    """The environment for tools/deeplab: TF_ENABLE_ONEDNN_OPTS removed, so that the launcher's
    own default (0: TF's Eigen kernels) applies, whatever the caller's environment says."""
    return env_for(None)


class Outcome:
    """One job under one setting: result (the function's JSON return value) or failure (text)."""

    def __init__(self, label, result=None, failure=None, seconds=None):
        self.label, self.result, self.failure, self.seconds = label, result, failure, seconds


class Run:
    """All jobs under one setting."""

    def __init__(self, setting, value, outcomes, onednn, seconds, processes):
        self.setting, self.value, self.outcomes = setting, value, outcomes
        self.onednn, self.seconds, self.processes = onednn, seconds, processes

    @property
    def setting_ok(self):
        """False if TF_ENABLE_ONEDNN_OPTS=0 was asked for but oneDNN was in use anyway."""
        return not (self.value == "0" and self.onednn)

    def summary(self):
        """A status line for the subprocess(es) of this setting."""
        failed = sum(o.failure is not None for o in self.outcomes)
        onednn = {True: "oneDNN in use", False: "oneDNN not in use", None: "oneDNN use unknown"}[
            self.onednn]
        return "%s %s %d job(s) in %d subprocess(es), %.1f s, %s (IsMklEnabled)%s%s" % (
            status(failed == 0 and self.setting_ok), tag(self.setting), len(self.outcomes),
            self.processes, self.seconds, onednn,
            "" if self.setting_ok else " although TF_ENABLE_ONEDNN_OPTS=0",
            "; %d job(s) failed" % failed if failed else "")


def _label(job, i):
    return job.get("label", "job %d" % i) if isinstance(job, dict) else "job %d" % i


def _stderr_tail(path, limit=500):
    try:
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()
                     and not any(n in line for n in _NOISE)]
    except OSError:
        return ""
    return " | ".join(lines)[-limit:]


def run_setting(script, function, jobs, setting, value, timeout=TIMEOUT_S, quiet=False):
    """Runs function(job) of `script` for every job in fresh subprocesses under one setting.

    Returns a Run whose outcomes follow jobs. Prints the subprocess's own stdout lines (indented,
    tagged with the setting) and, unless quiet, the Run's summary line.
    """
    start_t = time.monotonic()
    outcomes = [None] * len(jobs)
    onednn = None
    processes = 0
    with tempfile.TemporaryDirectory(prefix="tf_settings_") as tmp:
        jobs_path = os.path.join(tmp, "jobs.json")
        with open(jobs_path, "w") as f:
            json.dump(jobs, f)
        start = 0
        while start < len(jobs):
            processes += 1
            results_path = os.path.join(tmp, "results_%d.jsonl" % processes)
            err_path = os.path.join(tmp, "stderr_%d.txt" % processes)
            step_path = os.path.join(tmp, "step_%d.txt" % processes)
            env = env_for(value)
            env[STEP_ENV] = step_path
            cmd = [sys.executable, os.path.abspath(__file__), "--worker",
                   os.path.abspath(script), function, jobs_path, results_path, str(start)]
            timed_out = []
            t = time.monotonic()
            with open(err_path, "w") as err:
                p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                     env=env)
                watchdog = threading.Timer(timeout, lambda: (timed_out.append(1), p.kill()))
                watchdog.start()
                for line in p.stdout:
                    print("     %s %s" % (tag(setting), line.rstrip("\n")), flush=True)
                rc = p.wait()
                watchdog.cancel()
            dt = time.monotonic() - t
            done = start
            if os.path.exists(results_path):
                with open(results_path) as f:
                    for line in f:
                        try:
                            rec = json.loads(line)
                        except ValueError:
                            break  # a torn last line: the job did not finish
                        i = rec["index"]
                        onednn = rec.get("onednn", onednn)
                        if i < 0:
                            continue  # the worker's header: oneDNN in use or not
                        outcomes[i] = Outcome(_label(jobs[i], i), rec.get("result"),
                                              rec.get("error"), rec.get("seconds"))
                        done = i + 1
            if done >= len(jobs) and rc == 0:
                break
            if done >= len(jobs):
                # Every job reported, then the process died (e.g. at exit): fail the last one.
                done = len(jobs) - 1
                prior = outcomes[done].failure
            else:
                prior = None
            if timed_out:
                why = "subprocess killed at the %d s time limit" % timeout
            elif rc < 0:
                try:
                    name = signal.Signals(-rc).name
                except ValueError:
                    name = "signal %d" % -rc
                why = "subprocess CRASHED with %s (exit %d)" % (name, rc)
            else:
                why = "subprocess exited %d" % rc
            where = ""
            if os.path.exists(step_path):
                with open(step_path) as f:
                    where = f.read()
            why += " after %.1f s%s; stderr: %s" % (
                dt, ", in step %r" % where if where else "", _stderr_tail(err_path) or "(nothing)")
            if prior:
                why = prior + "; then " + why
            outcomes[done] = Outcome(_label(jobs[done], done), None, why)
            if rc > 0 and done == start and not timed_out:
                # Failed before finishing a single job without a signal (e.g. the check module
                # does not import): the next subprocess would too.
                for i in range(done + 1, len(jobs)):
                    outcomes[i] = Outcome(_label(jobs[i], i), None,
                                          "not run: the subprocess for %s failed" % outcomes[
                                              done].label)
                break
            start = done + 1
    run = Run(setting, value, outcomes, onednn, time.monotonic() - start_t, processes)
    if not quiet:
        print(run.summary(), flush=True)
    return run


# ---------------------------------------------------------------------------------------------
# The worker subprocess.
# ---------------------------------------------------------------------------------------------

def _plain(x):
    """json.dumps default: numpy scalars and arrays as Python values."""
    import numpy as np
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (set, tuple)):
        return list(x)
    raise TypeError("not JSON serialisable: %r" % type(x))


def _worker(script, function, jobs_path, results_path, start):
    import tensorflow  # noqa: F401 - first: TF reads TF_ENABLE_ONEDNN_OPTS as the parent set it
    try:
        from tensorflow.python.util import _pywrap_util_port
        onednn = bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        onednn = None
    spec = importlib.util.spec_from_file_location(
        "interop_" + os.path.splitext(os.path.basename(script))[0], script)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(script))
    spec.loader.exec_module(module)
    fn = getattr(module, function)
    with open(jobs_path) as f:
        jobs = json.load(f)

    def record(rec):
        with open(results_path, "a") as f:
            f.write(json.dumps(rec, default=_plain) + "\n")
            f.flush()
            os.fsync(f.fileno())

    record({"index": -1, "onednn": onednn})
    for i in range(start, len(jobs)):
        step(_label(jobs[i], i))
        t = time.monotonic()
        try:
            rec = {"result": fn(jobs[i])}
        except Exception:  # noqa: BLE001 - reported as this job's failure; the others still run
            rec = {"error": "the evaluation raised: " + traceback.format_exc().strip().replace(
                "\n", " | ")[-900:]}
        rec.update(index=i, onednn=onednn, seconds=time.monotonic() - t)
        sys.stdout.flush()
        record(rec)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--worker":
        sys.exit(_worker(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])))
    sys.exit("usage: imported by tools/interop/check_*.py (worker: --worker SCRIPT FUNCTION "
             "JOBS RESULTS START)")
