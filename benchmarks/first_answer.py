"""The first answer of ``physlaw spectrum`` from a new process (issue 12, targets 2 and 3).

What it answers: the wall and CPU seconds of whole ``physlaw spectrum`` processes, each writing its
full result folder (summary, posteriors, figures, report), on

* **bundled**: the bundled example, K = 1..3 Gaussian peaks on a constant background, noise estimated,
  0.1 nat (``--kmax 3 --shape gauss --background constant --sign positive --precision 0.1``; target
  ≤ 10 s wall on 2 cores);
* **nagata-0.1** / **nagata-0.05**: the Nagata 2012 spectrum (n = 301, three Gaussians, σ = 0.1; data
  seed 0), K = 1..6, noise estimated, 0.1 and 0.05 nat (``--kmax 6 --shape gauss --background none
  --sign positive``; targets ≤ 15 s and ≤ 60 s wall, new process, empty cache). The priors are the
  CLI's (the reference ones rescaled to the data), not Nagata's own.

Each case runs with an empty compilation cache (``PHYSLAW_JAX_CACHE`` a fresh folder: everything is
compiled) and a warm one (filled by an untimed first run), alternating; the answer (selected model,
σ̂, sweeps) is recorded with the times. CPU seconds are the child's user + system time, which the
machine's load does not inflate the way it inflates wall time; the load average is recorded.

Run:  .venv/bin/python benchmarks/first_answer.py [--repeats 3] [--cases bundled,nagata-0.1,nagata-0.05] [--float64]
Output: benchmarks/results/first_answer.{json,md} (``--tag`` renames them)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from latency import machine, physlaw_command, timed, versions  # noqa: E402

ROOT = HERE.parent
RESULTS = HERE / "results"
BUNDLED = ROOT / "src" / "physlaw" / "data" / "spectrum_example.csv"
GAUSS_ONLY = ["--shape", "gauss", "--sign", "positive"]
CASES = {
    "bundled": (None, ["--kmax", "3", "--background", "constant", *GAUSS_ONLY, "--precision", "0.1"], 10.0),
    "nagata-0.1": ("nagata", ["--kmax", "6", "--background", "none", *GAUSS_ONLY, "--precision", "0.1"], 15.0),
    "nagata-0.05": ("nagata", ["--kmax", "6", "--background", "none", *GAUSS_ONLY, "--precision", "0.05"], 60.0),
}


def nagata_file(folder: Path) -> Path:
    from physlaw.measure.spectrum import nagata_data

    x, y, _ = nagata_data(0)
    path = folder / "nagata2012_seed0.csv"
    path.write_text("x,y\n" + "".join(f"{a:.6g},{b:.10g}\n" for a, b in zip(x, y)))
    return path


def one(data: Path, options: list[str], cache: Path, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="physlaw-first-out-") as tmp:
        out = Path(tmp) / "out"
        r = timed([*physlaw_command(), "spectrum", str(data), *options, *extra, "--out", str(out), "--quiet"],
                  dict(os.environ, PHYSLAW_JAX_CACHE=str(cache)))
        if r["returncode"] == 0:
            s = json.loads((out / "summary.json").read_text())
            sel = next(m for m in s["models"] if m["name"] == s["selected"])
            r["answer"] = {"selected": s["selected"], "p": sel["probability"], "noise_sigma": s.get("noise_sigma"),
                           "sweeps": {m["name"]: m["diagnostics"]["num_sweeps_kept"] for m in s["models"]},
                           "F_err_max": max(m["free_energy_err"] for m in s["models"])}
        return r


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--float64", action="store_true", help="pass --float64 (double-precision sampling)")
    p.add_argument("--tag", default="first_answer")
    args = p.parse_args(argv)
    extra = ["--float64"] if args.float64 else []
    res = {"load_start": os.getloadavg(), "machine": machine(), "versions": versions(), "cases": {},
           "invocation": "python benchmarks/first_answer.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    with tempfile.TemporaryDirectory(prefix="physlaw-first-") as tmp:
        tmp = Path(tmp)
        nagata = nagata_file(tmp)
        warm = tmp / "warm-cache"
        for name in [c.strip() for c in args.cases.split(",") if c.strip()]:
            source, options, target = CASES[name]
            data = nagata if source == "nagata" else BUNDLED
            one(data, options, warm, extra)   # fills the warm cache (untimed)
            runs = {"cold": [], "warm": []}
            for i in range(args.repeats):
                runs["cold"].append(one(data, options, tmp / f"cold-{name}-{i}", extra))
                runs["warm"].append(one(data, options, warm, extra))
                print(name, i, {k: (round(v[-1]["cpu_s"], 1), round(v[-1]["wall_s"], 1)) for k, v in runs.items()},
                      flush=True)
            res["cases"][name] = {"command": f"physlaw spectrum {data.name} " + " ".join(options + extra),
                                  "target_wall_s": target, "runs": runs, **{
                                      f"{k}_median": {"cpu_s": statistics.median(r["cpu_s"] for r in v),
                                                      "wall_s": statistics.median(r["wall_s"] for r in v)}
                                      for k, v in runs.items()}}
    res["load_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.tag}.json").write_text(json.dumps(res, indent=1, default=float))
    lines = ["# The first answer of `physlaw spectrum` from a new process (issue 12)", "",
             f"Made by: `{res['invocation']}`; {args.repeats} runs per cache state, medians (every run in the JSON).  ",
             f"Machine: {res['machine']['cpu']} ({res['machine']['cpu_count']} CPUs), git {res['machine']['git']}; "
             f"load average start {tuple(round(v, 2) for v in res['load_start'])}, "
             f"end {tuple(round(v, 2) for v in res['load_end'])}.", "",
             "| case | command | cache | CPU s | wall s | target wall s | selected (p) | σ̂ | sweeps kept per model | max F err |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, c in res["cases"].items():
        for k in ("cold", "warm"):
            a = next((r["answer"] for r in c["runs"][k] if "answer" in r), {})
            lines.append(f"| {name} | `{c['command']}` | {k} | {c[k + '_median']['cpu_s']:.1f} | "
                         f"{c[k + '_median']['wall_s']:.1f} | {c['target_wall_s']:g} | {a.get('selected')} "
                         f"({a.get('p', float('nan')):.3g}) | {a.get('noise_sigma', float('nan')):.4g} | "
                         f"{', '.join(str(v) for v in a.get('sweeps', {}).values())} | {a.get('F_err_max', float('nan')):.3f} |")
    (RESULTS / f"{args.tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
