"""Where the time of one ``physlaw spectrum`` run goes (issue 12: what stands in the way of the latency targets).

What it answers: for one whole CLI run in this process (``physlaw.cli.main``), the wall and CPU seconds of

* start-up: importing the CLI, the measurement code (JAX) and ``setup_jax``;
* the scan (``physlaw.measure.selection.scan``), split into the engine's phases summed over every run
  (pilots and final runs): the first ladder from prior draws, the initial states, the tuning and
  sampling chunks (compiled sampling, synchronised there), the free-energy estimates; and, outside
  the runs, building the targets and the noise curves;
* writing the result folder (``write_measurement``: figures, netCDF, report);

plus the number of replica-parameter updates the scan made (sweeps × chains × replicas × sampled
parameters, counted at every chunk call) and its rate per CPU-second. The functions are wrapped in
place with timers that wait for the device's pending work before and after each phase
(``jax.effects_barrier``), so asynchronous work is counted in the phase that started it; nothing else
changes. Run it twice to see a warm compilation cache.

Run:  python benchmarks/phases.py [--case bundled|nagata] [--tag NAME]
Output: benchmarks/results/phases_<case>.{json,md} (or --tag)
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
BUNDLED = ROOT / "src" / "physlaw" / "data" / "spectrum_example.csv"
CASES = {"bundled": ["--kmax", "3", "--background", "constant", "--shape", "gauss", "--sign", "positive",
                     "--precision", "0.1"],
         "nagata": ["--kmax", "6", "--background", "none", "--shape", "gauss", "--sign", "positive",
                    "--precision", "0.1"]}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", choices=list(CASES), default="bundled")
    p.add_argument("--tag", default=None)
    a = p.parse_args(argv)
    command = "python benchmarks/phases.py " + " ".join(argv if argv is not None else sys.argv[1:])
    t0, c0 = time.perf_counter(), _cpu()
    spent = collections.defaultdict(lambda: [0.0, 0.0, 0])
    counts = {"sweeps": 0, "updates": 0}

    def wrap(module, name, label):
        original = getattr(module, name)

        def timed(*args, **kwargs):
            import jax

            jax.effects_barrier()   # earlier asynchronous work is not counted here ...
            w, c = time.perf_counter(), _cpu()
            try:
                return original(*args, **kwargs)
            finally:
                jax.effects_barrier()   # ... and this phase's own is
                spent[label][0] += time.perf_counter() - w
                spent[label][1] += _cpu() - c
                spent[label][2] += 1
        setattr(module, name, timed)

    import physlaw.cli as cli
    start_cli = (time.perf_counter() - t0, _cpu() - c0)
    import physlaw.measure.selection as selection
    import physlaw.measure.spectrum as spectrum
    import physlaw.report.measurement as measurement
    import physlaw.sampling._driver as driver
    import physlaw.sampling._run as run
    start_imports = (time.perf_counter() - t0, _cpu() - c0)

    chunk = driver._run_chunk

    def counted(state, ctx, cfg, adapt):
        c, r, d = state.chains.position.shape
        sampled = d if ctx.num_sampled is None else int(ctx.num_sampled)
        counts["sweeps"] += cfg.chunk_size
        counts["updates"] += cfg.chunk_size * c * r * sampled
        return chunk(state, ctx, cfg, adapt)
    driver._run_chunk = counted
    for name, label in (("initial_ladder", "first ladder (prior draws)"), ("_initial_state", "initial states"),
                        ("tune", "tuning chunks (burn-in)"), ("sample", "sampling chunks"),
                        ("estimate", "free-energy estimates")):
        wrap(run, name, label)
    wrap(selection, "noise_curve", "noise curves")
    wrap(spectrum, "spectrum_target", "building targets")
    wrap(selection, "scan", "scan (all)")
    wrap(measurement, "write_measurement", "writing the result")

    data = BUNDLED
    with tempfile.TemporaryDirectory() as tmp:
        if a.case == "nagata":
            import numpy as np

            from physlaw.measure.spectrum import nagata_data
            x, y, _ = nagata_data(0)
            data = Path(tmp) / "nagata2012_seed0.csv"
            np.savetxt(data, np.c_[x, y], delimiter=",", header="x,y", comments="")
        argv_cli = ["spectrum", str(data), *CASES[a.case], "--out", str(Path(tmp) / "out"), "--quiet"]
        sys.argv = ["physlaw", *argv_cli]
        try:
            cli.main()
        except SystemExit as e:
            if e.code not in (0, None):
                raise
    total = (time.perf_counter() - t0, _cpu() - c0)
    scan_cpu = spent["scan (all)"][1]
    rows = [("import the CLI", *start_cli, 1), ("import measurement code (JAX)", start_imports[0] - start_cli[0],
                                                 start_imports[1] - start_cli[1], 1)]
    rows += [(k, v[0], v[1], v[2]) for k, v in spent.items()]
    rows.append(("whole process (in-process CLI run)", *total, 1))
    tag = a.tag or f"phases_{a.case}"
    out = {"command": command,
           "cli": "physlaw " + " ".join(argv_cli[:-3]), "rows": [dict(zip(("what", "wall_s", "cpu_s", "calls"), r))
                                                                for r in rows],
           "sweeps": counts["sweeps"], "updates": counts["updates"],
           "updates_per_scan_cpu_s": counts["updates"] / scan_cpu if scan_cpu else None,
           "load": os.getloadavg()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{tag}.json").write_text(json.dumps(out, indent=1))
    lines = [f"# Where the time of one spectrum run goes (`{tag}`)", "",
             f"`{out['command']}`: `{out['cli']}` in this process; load average at the end "
             f"{out['load'][0]:.2f}. Phases of the engine are summed over all runs (pilots and final runs); nested "
             "rows are inside 'scan (all)'; each timer waits for the device's pending work first and last.", "",
             "| what | wall s | CPU s | calls |", "|---|---|---|---|"]
    lines += [f"| {w} | {ws:.2f} | {cs:.2f} | {n} |" for w, ws, cs, n in rows]
    lines += ["", f"Replica-parameter updates in the scan: {counts['updates']:.3g} ({counts['sweeps']} sweeps over all "
              f"runs); {out['updates_per_scan_cpu_s']:.3g} per CPU-second of the scan.", ""]
    (RESULTS / f"{tag}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
