"""The results of a batch (many datasets, ``physlaw.cli._batch``): its table rows and its overview page.

:func:`summary_row` turns the ``summary.json`` of one measurement (spectrum, relaxation, regress,
fit) into one row of ``DIR/table.csv``; :func:`write_batch_report` draws ``overview.png``
(``physlaw.plot.batch``) and writes ``report.html`` (``physlaw.report.html``).
"""

from __future__ import annotations

from pathlib import Path

SIZE_KEYS = ("K", "num_peaks", "num_components", "num_modes")


def _is_summary(value) -> bool:
    return isinstance(value, dict) and "median" in value and "interval_68" in value


def _flatten(parameters: dict, prefix: str = "") -> dict:
    """``{"peak 1": {"centre": s}}`` or ``{"a": s}`` → ``{"peak 1 centre": s}`` / ``{"a": s}``."""
    out = {}
    for key, value in parameters.items():
        name = f"{prefix} {key}".strip()
        if _is_summary(value):
            out[name] = value
        elif isinstance(value, dict):
            out.update(_flatten(value, name))
    return out


def summary_row(summary: dict) -> dict:
    """One ``table.csv`` row of a measurement summary (the ``write_measurement`` contract).

    Columns: ``selected`` (model name), ``K`` (its size, when the model has one), ``p`` and ``p_err``
    (p(model | D)), ``F`` and ``F_err`` (free energy of the selected model, nat), ``sigma_hat`` (the
    noise level used or estimated), ``noise_r`` (an estimated noise's check ⟨RSS⟩/(nσ̂²): 1 where F(σ) is
    smallest, outside 0.5–2 not settled; empty for a given noise), then for every parameter of the selected model its median and
    68 % interval: ``Q``, ``Q lo68``, ``Q hi68``.
    """
    models = summary.get("models", [])
    selected = summary.get("selected")
    best = next((m for m in models if m.get("name") == selected), models[0] if models else {})
    row = {"selected": selected}
    for key in SIZE_KEYS:
        if key in best:
            row["K"] = best[key]
            break
    row.update({"p": best.get("probability"), "p_err": best.get("probability_err"),
                "F": best.get("free_energy"), "F_err": best.get("free_energy_err"),
                "sigma_hat": best.get("noise_sigma", summary.get("noise_sigma")),
                "noise_r": (best.get("noise_curve") or {}).get("stationarity")})
    for name, s in _flatten(best.get("parameters", {})).items():
        row[name] = s["median"]
        row[f"{name} lo68"], row[f"{name} hi68"] = s["interval_68"]
    return row


def write_batch_report(stage: Path, rows: list[dict], columns: list[str], *, command: str, seed: int,
                       num_computed: int, num_reused: int) -> None:
    """``overview.png`` and ``report.html`` of a batch into the folder ``stage``."""
    from physlaw.plot.batch import overview_figure
    from physlaw.report.html import Section, write_report

    stage = Path(stage)
    n = len(rows)
    drew = overview_figure(rows, columns, stage / "overview.png", title=f"physlaw {command}: {n} datasets")
    labelled = all(isinstance(r.get("label"), (int, float)) for r in rows)
    top = Section("Overview").text(
        f"{n} dataset(s): {num_computed} computed in this run, {num_reused} taken over from an earlier run "
        f"(--resume). Seed {seed}; each dataset's seed is derived from it and the dataset's name "
        "(column 'seed' of table.csv), so one dataset can be rerun alone with that seed.")
    if drew:
        top.figure(stage / "overview.png",
                   "selected model size and main parameters (median, 68 % interval) against "
                   + ("the number in each dataset's name" if labelled else "the dataset's position"))
    shown = [c for c in ("name", "label", "selected", "K", "p", "F", "F_err", "sigma_hat") if c in columns]
    table = Section("Datasets").text("Full table: table.csv; each dataset's own report: <name>/report.html.")
    table.table(shown, [[r.get(c, "") if r.get(c) is not None else "" for c in shown] for r in rows])
    write_report(stage / "report.html", f"physlaw {command}: {n} datasets", [top, table])
