"""Many datasets in one command: the runner every measurement command shares (issue 12, items 4 and 5).

A command that is given several datasets (``physlaw spectrum a.csv b.csv --out DIR``, a folder, a glob
pattern or a wide table; :func:`physlaw.io.datasets.expand_datasets`) hands them to :func:`run_batch`
together with ``run_one``, its computation of ONE dataset::

    def run_one(dataset: NamedDataset, stage_dir: Path, seed: int, options) -> dict

``run_one`` writes into ``stage_dir`` exactly what a single run writes into its ``--out`` folder and
returns one row of ``DIR/table.csv`` (``{"selected": ..., "p": ..., "F": ..., ...}``;
:func:`physlaw.report.batch.summary_row` builds it from a measurement summary). It must be a
top-level function of an importable module (it is pickled to worker processes), must set JAX up
itself (``setup_jax()``: a worker is a fresh process), and must depend only on its arguments.

What the runner guarantees:

* **Layout.** ``DIR/<name>/`` per dataset (a complete single-run folder, with its own marker file),
  ``DIR/table.csv`` (one row per dataset: ``name, label, seed``, then the union of the rows' keys in
  first-seen order), ``DIR/overview.png``, ``DIR/report.html`` and ``DIR/batch.json``.
* **Published whole, resumable per dataset.** ``DIR`` is an :class:`physlaw.io.results.OutputFolder`
  (checked before computing, locked, staged, published whole). While it runs, each finished dataset
  is published atomically into ``.DIR.checkpoints/datasets/<name>/`` (staged in
  ``.<name>.partial-*`` beside it, renamed when complete), so a crash leaves only whole dataset
  folders. ``--resume`` keeps them and skips every dataset whose folder is complete *and* was made
  from the same data, options, seed and command (a fingerprint in its marker); it also reuses the
  matching dataset folders of an earlier published ``DIR``. Without ``--resume`` everything is redone.
* **Seeds.** Dataset ``name`` gets seed ``SHA-256(f"{seed}:{name}")`` (first 8 bytes, < 2^63)
  (:func:`dataset_seed`): independent of the worker, the number of workers, the scheduler and the
  order of completion, so ``table.csv`` is the same for ``--workers 1``, ``--workers N`` and
  ``--scheduler ADDRESS``.
* **Parallelism.** ``--workers 1`` runs in this process (no start-up cost). ``--workers N`` starts a
  ``dask.distributed.LocalCluster`` of N single-threaded worker processes (each with XLA and BLAS
  limited to ``cores // N`` threads, so workers do not oversubscribe the cores);
  ``--scheduler ADDRESS`` sends the datasets to an existing Dask cluster whose workers see ``DIR``
  at the same path (a shared file system). Tasks are submitted with ``retries=2``; a worker lost
  mid-run only costs its datasets (Dask reschedules them; a task finding its dataset already
  complete returns the stored row).
* **Bad data in one dataset** (``InputError`` raised by ``run_one``) does not stop the others: they
  finish and are kept, then the run is refused with one line naming the dataset; fix it and rerun
  with ``--resume``.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from physlaw.cli._common import int_between
from physlaw.errors import InputError

MARKER = ".physlaw-result"  # the same name as physlaw.io.results.MARKER (not imported: keeps this cheap)
WORK = "datasets"  # the sub-folder of .DIR.checkpoints holding the finished datasets of a running batch
TASK_RETRIES = 2
WORKER_CONFIG = {"distributed.worker.profile.enabled": False}
"""Dask settings of the local workers (an external cluster's operator sets them when starting workers)."""
FIRST_COLUMNS = ("name", "label", "seed")


# --------------------------------------------------------------------------------------------
# Options


def add_batch_options(parser) -> None:
    """``--workers N``, ``--scheduler ADDRESS`` and ``--wide`` (for commands that take many datasets)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int_between(1, 4096), default=None, metavar="N",
                       help="several datasets: worker processes run in parallel (default: all cores, at most one "
                            "per dataset; 1 runs them one after the other in this process). Results do not depend on N")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="several datasets: send them to a running Dask distributed cluster (e.g. "
                            "tcp://10.0.0.5:8786) instead of local workers; its workers must see --out DIR at the "
                            "same path")
    parser.add_argument("--wide", action="store_true",
                        help="read every FILE as a wide table: one x column, then one y column per dataset, the "
                             "header naming the datasets (default: only tables of more than 3 columns are wide)")


def batch_requested(paths, datasets) -> bool:
    """True when the command must run as a batch: more than one dataset, or any FILE argument that is a
    folder, a glob pattern or a wide table (even if it holds a single dataset)."""
    paths = [str(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    if len(datasets) != 1 or len(paths) != 1:
        return True
    return not (Path(paths[0]).is_file() and datasets[0].source == paths[0])


def dataset_seed(seed: int, name: str) -> int:
    """The seed of dataset ``name`` in a batch run with ``--seed seed``: the first 8 bytes of
    ``SHA-256(f"{seed}:{name}")`` as an integer below 2^63 (never Python's ``hash``, which changes
    between processes)."""
    digest = hashlib.sha256(f"{int(seed)}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def options_fingerprint(options) -> str:
    """A stable text of the options that decide a dataset's result (JSON, keys sorted).

    ``options`` is a dict, a dataclass or an ``argparse.Namespace``; of a Namespace the keys that do not
    change a result (``func``, ``data``, ``out``, ``overwrite``, ``resume``, ``workers``, ``scheduler``,
    ``quiet``, ``wide``) are left out.
    """
    import dataclasses

    if dataclasses.is_dataclass(options) and not isinstance(options, type):
        options = dataclasses.asdict(options)
    elif not isinstance(options, dict) and hasattr(options, "__dict__"):
        skip = {"func", "data", "out", "overwrite", "resume", "workers", "scheduler", "quiet", "wide", "command"}
        options = {k: v for k, v in vars(options).items() if k not in skip}
    return json.dumps(options, sort_keys=True, default=repr)


def _fingerprint(command: str, dataset, seed: int, options_text: str) -> str:
    text = json.dumps([command, dataset.name, dataset.digest(), int(seed), options_text])
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# One dataset (runs in a worker process or in this one)


def _read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _complete(folder: Path, fingerprint: str) -> dict | None:
    """The marker of a complete dataset folder made with ``fingerprint``, else None."""
    marker = _read_marker(folder) if folder.is_dir() else None
    if marker and marker.get("batch", {}).get("fingerprint") == fingerprint:
        return marker
    return None


def run_task(dataset, run_one, options, seed: int, work_dir: str, command: str, fingerprint: str) -> dict:
    """Compute one dataset and publish ``work_dir/<name>/`` whole; returns ``{"row", "status", "wall_s", "cpu_s"}``.

    Idempotent: a dataset already complete with the same fingerprint is not recomputed (a task re-run
    after a lost worker). ``InputError`` from ``run_one`` is returned as ``{"error": message}``.
    """
    work = Path(work_dir)
    target = work / dataset.name
    done = _complete(target, fingerprint)
    if done is not None:
        return {"row": done["batch"]["row"], "status": "reused", "wall_s": 0.0, "cpu_s": 0.0}
    wall, cpu = time.perf_counter(), time.process_time()
    stage = Path(tempfile.mkdtemp(prefix=f".{dataset.name}.partial-", dir=work))
    try:
        row = run_one(dataset, stage, seed, options)
        if not isinstance(row, dict):
            raise TypeError(f"run_one returned {type(row).__name__}, not a dict (one row of table.csv)")
        row = json.loads(json.dumps(row, default=_jsonable))
        marker = {"command": command,
                  "written": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                  "files": sorted(p.name for p in stage.iterdir()),
                  "batch": {"name": dataset.name, "label": dataset.label, "source": dataset.source,
                            "seed": seed, "fingerprint": fingerprint, "row": row}}
        (stage / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
        if os.path.lexists(target) and _complete(target, fingerprint) is None:
            # a folder of other options or data (--resume after a change), or one damaged by hand
            old = Path(tempfile.mkdtemp(prefix=f".{dataset.name}.old-", dir=work))
            os.replace(target, old / "previous")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(stage, target)
        except OSError:
            # another attempt of this task finished first (a lost worker's duplicate): keep its folder
            if _complete(target, fingerprint) is None:
                raise
            shutil.rmtree(stage, ignore_errors=True)
    except InputError as err:
        shutil.rmtree(stage, ignore_errors=True)
        return {"error": str(err)}
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return {"row": row, "status": "computed", "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


# --------------------------------------------------------------------------------------------
# The batch


@dataclass
class BatchResult:
    """What :func:`run_batch` did: the table's columns and rows (dataset order) and how each dataset went."""

    columns: list[str]
    rows: list[dict]
    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # name -> (wall_s, cpu_s) of the datasets computed now
    workers: int = 1
    scheduler: str | None = None
    wall_s: float = 0.0


class _Incomplete(Exception):
    """Some datasets were refused; raised inside the output folder so that the finished ones are kept."""


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS says, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_workers(num_datasets: int) -> int:
    """All cores (:func:`available_cores`), at most one worker per dataset."""
    return max(1, min(available_cores(), num_datasets))


def worker_env(threads: int) -> dict[str, str]:
    """Environment of a local worker process: XLA and BLAS limited to ``threads`` threads."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        flags += f" --xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
    if "intra_op_parallelism_threads" not in flags:
        flags += f" intra_op_parallelism_threads={threads}"
    if "xla_force_host_platform_device_count" not in flags:
        flags += " --xla_force_host_platform_device_count=1"
    n = str(threads)
    # NPROC sizes the XLA CPU client's thread pool (its intra-op threads); the flags above do not. With
    # more than one thread XLA splits the sampler's small elementwise loops over the pool, which on
    # this engine costs 2-3x the CPU of one thread for the same sweep (benchmarks/spectrum_sweep.py)
    return {"XLA_FLAGS": flags.strip(), "NPROC": n, "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n,
            "MKL_NUM_THREADS": n, "TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": n}


def run_batch(datasets, run_one, *, options=None, out_folder_args, command: str, seed: int,
              workers: int | None = None, scheduler: str | None = None, quiet: bool = False) -> BatchResult:
    """Run ``run_one`` on every dataset and write the batch folder (see the module docstring).

    Args:
        datasets: from :func:`physlaw.io.datasets.expand_datasets` (names unique).
        run_one: ``run_one(dataset, stage_dir, seed, options) -> row dict``, a top-level function.
        options: passed to ``run_one`` unchanged (picklable); also fingerprinted
            (:func:`options_fingerprint`) so that ``--resume`` redoes datasets run with other options.
        out_folder_args: the parsed arguments with ``out``, ``overwrite`` and ``resume`` (``add_output_folder``).
        command: the subcommand (``"spectrum"``), recorded in the marker files.
        seed: the user's ``--seed``; dataset seeds are :func:`dataset_seed` of it.
        workers: parallel workers (None: :func:`default_workers`); ignored with ``scheduler``.
        scheduler: address of a running Dask scheduler, or None.
        quiet: no progress bar and no lines on the terminal.

    Returns:
        A :class:`BatchResult`; the published ``DIR`` holds the same table as ``table.csv``.

    Raises:
        InputError: the folder is refused, the scheduler cannot be reached, or datasets were refused
            by ``run_one`` (the others are kept for ``--resume``).
    """
    from physlaw.io.results import OutputFolder

    datasets = list(datasets)
    if not datasets:
        raise InputError("no datasets to run; give data files, a folder or a glob pattern")
    names = [d.name for d in datasets]
    if len({n.lower() for n in names}) != len(names):
        raise InputError("two datasets share a name; rename one (names must differ in more than case)")
    args = out_folder_args
    resume = bool(getattr(args, "resume", False))
    folder = OutputFolder(args.out, command=command, overwrite=bool(getattr(args, "overwrite", False)), resume=resume)
    folder.check()
    seeds = {d.name: dataset_seed(seed, d.name) for d in datasets}
    opt_text = options_fingerprint(options)
    fps = {d.name: _fingerprint(command, d, seeds[d.name], opt_text) for d in datasets}
    start = time.perf_counter()
    result = BatchResult(columns=[], rows=[], scheduler=scheduler)
    errors: dict[str, str] = {}
    try:
        with folder as stage:
            work = folder.checkpoint_dir / WORK
            work.mkdir(parents=True, exist_ok=True)
            _remove_partials(work)
            if resume:
                _reuse_published(Path(args.out), work, datasets, fps, command)
            pending = [d for d in datasets if _complete(work / d.name, fps[d.name]) is None]
            result.reused = [d.name for d in datasets if d not in pending]
            result.workers = (default_workers(len(pending)) if workers is None
                              else max(1, min(workers, len(pending) or 1)))

            def done(d, out):
                if "error" in out:
                    errors[d.name] = out["error"]
                elif out["status"] == "computed":
                    result.computed.append(d.name)
                    result.timings[d.name] = (out["wall_s"], out["cpu_s"])

            calls = [(d, run_one, options, seeds[d.name], str(work.absolute()), command, fps[d.name]) for d in pending]
            if pending:
                _execute(calls, done, workers=result.workers, scheduler=scheduler, quiet=quiet, command=command)
            if errors:
                raise _Incomplete()
            result.rows = _collect(datasets, work, stage, fps)
            result.wall_s = time.perf_counter() - start
            result.columns = _write_overview(result, datasets, stage, command=command, seed=seed)
    except _Incomplete:
        first = next(d for d in datasets if d.name in errors)
        others = f" (and {len(errors) - 1} other dataset(s))" if len(errors) > 1 else ""
        raise InputError(f"dataset {first.name} ({first.source[:80]}): {errors[first.name]}{others}; the "
                         f"{len(datasets) - len(errors)} other dataset(s) are kept: fix or remove it and run again "
                         "with --resume") from None
    return result


def _remove_partials(work: Path) -> None:
    """Staging folders of tasks that died (we hold DIR's lock, so no other run of this batch writes here)."""
    for entry in work.iterdir():
        if entry.name.startswith(".") and (".partial-" in entry.name or ".old-" in entry.name):
            shutil.rmtree(entry, ignore_errors=True)


def _link_tree(src: Path, dst: Path) -> None:
    """Copy a folder by hard links where the file system allows (files are never rewritten in place)."""
    def link(s, d):
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)
    shutil.copytree(src, dst, copy_function=link)


def _reuse_published(out: Path, work: Path, datasets, fps, command: str) -> None:
    """--resume after a published batch: its complete, matching dataset folders are taken over."""
    top = _read_marker(out) if out.is_dir() else None
    if not top or top.get("command") != command:
        return
    for d in datasets:
        src, dst = out / d.name, work / d.name
        if _complete(dst, fps[d.name]) is None and _complete(src, fps[d.name]) is not None:
            if dst.exists():
                shutil.rmtree(dst)
            tmp = Path(tempfile.mkdtemp(prefix=f".{d.name}.partial-", dir=work))
            _link_tree(src, tmp / "copy")
            os.replace(tmp / "copy", dst)
            shutil.rmtree(tmp, ignore_errors=True)


def _collect(datasets, work: Path, stage: Path, fps) -> list[dict]:
    """The rows in dataset order, and each dataset folder linked into the stage."""
    rows = []
    for d in datasets:
        marker = _complete(work / d.name, fps[d.name])
        if marker is None:  # a task reported success but its folder is gone: a bug or a tampered folder
            raise RuntimeError(f"dataset {d.name}: its finished folder is missing from {work}")
        info = marker["batch"]
        rows.append({"name": d.name, "label": d.label, "seed": info["seed"], **info["row"]})
        _link_tree(work / d.name, stage / d.name)
    return rows


def _execute(calls, done, *, workers: int, scheduler: str | None, quiet: bool, command: str) -> None:
    from physlaw.report.progress import ProgressBar

    bar = ProgressBar(enabled=False if quiet else None, unit="dataset")
    bar.start(len(calls), f"{command}: datasets")
    try:
        if scheduler is None and workers == 1:
            for call in calls:
                done(call[0], run_task(*call))
                bar.update(1)
        else:
            _execute_dask(calls, done, bar, workers=workers, scheduler=scheduler)
    finally:
        bar.close()


def _execute_dask(calls, done, bar, *, workers: int, scheduler: str | None) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("parallel datasets need dask.distributed (pip install 'dask[distributed]'); or give "
                         "--workers 1") from None
    import logging

    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            try:
                client = stack.enter_context(Client(scheduler, timeout="15s"))
            except (OSError, TimeoutError, ValueError) as err:
                raise InputError(f"--scheduler {scheduler[:80]}: cannot connect ({' '.join(str(err).split())[:120]}); "
                                 "check the address (e.g. tcp://host:8786) and that the scheduler runs") from None
        else:
            import dask

            threads = max(1, available_cores() // workers)
            # Dask's statistical profiler samples every worker thread's stack each 10 ms; on JAX's deep
            # tracing stacks it costs several times the computation itself: off for our workers
            with dask.config.set(WORKER_CONFIG):
                cluster = stack.enter_context(LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    silence_logs=logging.ERROR, env=worker_env(threads)))
            client = stack.enter_context(Client(cluster))
        token = uuid.uuid4().hex[:8]
        futures = {}
        for call in calls:
            fut = client.submit(run_task, *call, key=f"physlaw-{call[0].name}-{token}", retries=TASK_RETRIES,
                                pure=False)
            futures[fut.key] = (fut, call[0])
        try:
            for fut in as_completed([f for f, _ in futures.values()]):
                done(futures[fut.key][1], fut.result())
                bar.update(1)
        except BaseException:
            client.cancel([f for f, _ in futures.values()])
            raise


def _write_overview(result: BatchResult, datasets, stage: Path, *, command: str, seed: int) -> list[str]:
    """table.csv, batch.json, overview.png and report.html in the stage; returns the table's columns."""
    from physlaw.io.atomic import write_json
    from physlaw.io.datasets import write_table_csv
    from physlaw.report.batch import write_batch_report

    columns = write_table_csv(stage / "table.csv", result.rows, first=FIRST_COLUMNS)
    write_json(stage / "batch.json", {
        "command": command, "seed": seed, "num_datasets": len(datasets),
        "datasets": [{"name": d.name, "label": d.label, "source": d.source, "num_points": d.num_points}
                     for d in datasets],
        "computed": result.computed, "reused": result.reused,
        "workers": None if result.scheduler else result.workers, "scheduler": result.scheduler,
        "seeds": "per dataset: first 8 bytes of SHA-256(f'{seed}:{name}'), below 2^63",
    })
    write_batch_report(stage, result.rows, columns, command=command, seed=seed, num_computed=len(result.computed),
                       num_reused=len(result.reused))
    return columns


# --------------------------------------------------------------------------------------------
# The commands' entry point


def wants_batch(files, args) -> bool:
    """Several datasets to run one by one: several FILEs without --share, a folder, a glob or --wide."""
    if getattr(args, "share", None) is not None:
        return False
    if len(files) > 1 or getattr(args, "wide", False):
        return True
    path = Path(files[0])
    if path.is_dir() or any(c in str(files[0]) for c in "*?["):
        return True
    if any(getattr(args, o, None) is not None for o in ("x_column", "y_column", "sigma_column", "region")):
        return False
    from physlaw.io.datasets import _column_count, _is_table_file

    try:   # a table of more than 3 columns and no column options: a wide table, one dataset per y column
        return path.is_file() and _is_table_file(path) and _column_count(path) > 3
    except InputError:
        return False


def main_batch(args, files, command: str, run_one, *, min_points: int) -> int:
    """Every dataset through ``run_one`` (``physlaw.cli._batch``): one folder each, a table and an overview."""
    from physlaw.cli._common import check_data_scale
    from physlaw.io.datasets import expand_datasets

    for opt in ("x_column", "y_column", "sigma_column", "region"):
        if getattr(args, opt, None) is not None:
            raise InputError(f"--{opt.replace('_column', '').replace('_', '-')} chooses columns of one file; "
                             "several datasets are read as x, y[, sigma] tables or one wide table")
    datasets = expand_datasets(files, wide=True if getattr(args, "wide", False) else "auto", min_points=min_points)
    for d in datasets:
        check_data_scale(d.x, d.y, d.source, sigma=d.sigma)
    skip = {"data", "func", "out", "overwrite", "resume", "workers", "scheduler", "wide", "quiet", "seed", "command"}
    options = {k: v for k, v in sorted(vars(args).items()) if k not in skip and not callable(v)}
    res = run_batch(datasets, run_one, options=options, out_folder_args=args, command=command, seed=args.seed,
                    workers=getattr(args, "workers", None), scheduler=getattr(args, "scheduler", None),
                    quiet=args.quiet)
    if not args.quiet:
        print(f"{len(res.rows)} datasets: {args.out}/table.csv, {args.out}/report.html")
    return 0


def row_from_folder(stage) -> dict:
    """The ``table.csv`` row of a dataset whose single-run folder was written into ``stage``."""
    from physlaw.report.batch import summary_row

    return summary_row(json.loads((Path(stage) / "summary.json").read_text(encoding="utf-8")))


def one_dataset_args(dataset, seed: int, options: dict):
    """The argument namespace of one dataset's run in a worker (``quiet``; ``data`` names the source)."""
    from types import SimpleNamespace

    return SimpleNamespace(**options, seed=seed, quiet=True, data=dataset.source)
