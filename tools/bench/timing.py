"""Timing shared by the Python benchmark runners: one first run, warm-up, timed runs, the load
average around them and the peak RSS, as the JSON fields compare.py and matrix.py read."""
import resource
import statistics
import time


def load_average():
    try:
        with open('/proc/loadavg') as f:
            return float(f.read().split()[0])
    except OSError:
        return -1.0


def time_runs(run, warmup, runs):
    """Times run(): returns median_ms, best_ms, first_run_ms, samples_ms, load_start, load_end
    and peak_rss_bytes."""
    t0 = time.perf_counter()
    run()
    first = (time.perf_counter() - t0) * 1e3
    for _ in range(warmup):
        run()
    load0 = load_average()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        samples.append((time.perf_counter() - t0) * 1e3)
    load1 = load_average()
    return {'median_ms': statistics.median(samples), 'best_ms': min(samples),
            'first_run_ms': first, 'samples_ms': samples, 'load_start': load0,
            'load_end': load1,
            'peak_rss_bytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
