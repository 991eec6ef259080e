"""Files of ``physlaw compare``: summary.json, table.md, figures and report.html."""

from __future__ import annotations

from pathlib import Path

from physlaw.io.atomic import write_json

COLUMNS = [("model", "model"), ("class", "class"), ("log_evidence", "log Z"), ("p_model", "p(model ∣ D)"),
           ("noise_std", "σ̂"), ("effective_params", "γ"), ("validation_derivative_mse", "val. deriv. MSE"),
           ("energy_mse", "energy MSE"), ("gm_relative_error", "GM rel. err."),
           ("valid_prediction_time", "VPT"), ("train_seconds", "train s")]


def summary(res: dict, *, data: str, seed: int, settings: dict) -> dict:
    """The JSON-able summary of :func:`physlaw.nets._compare.compare_models`'s result."""
    table = []
    for kind, r in res["models"].items():
        table.append({"model": kind, "class": r["class"], "log_evidence": r["log_evidence"], "p_model": r["p_model"],
                      "noise_std": r["evidence"]["noise_std"], "effective_params": r["evidence"]["effective_params"],
                      "validation_derivative_mse": r["validation_derivative_mse"], "energy_mse": r["energy_mse"],
                      "gm_relative_error": r["gm_relative_error"], "valid_prediction_time": r["valid_prediction_time"],
                      "rollout_mse": r["rollout_mse"], "train_seconds": r["train_seconds"]})
    models = {k: {kk: vv for kk, vv in v.items()} for k, v in res["models"].items()}
    return {"data": data, "seed": seed, "settings": settings, "verdict": res["verdict"], "decisive": res["decisive"],
            "physics": res["physics"], "classes_all_models": res["classes"], "best_model": res["best_model"],
            "split": res["split"], "state": res["state"], "num_train_rows": res["num_train_rows"],
            "num_test_rows": res["num_test_rows"], "energy_known": res["energy_known"], "table": table,
            "time_unit": res.get("time_unit", 1.0),
            "models": models,
            "method": ("log Z: last-layer linearised Laplace evidence with the noise level and prior precision "
                       "estimated by evidence maximisation (MacKay); p(model|D) ∝ Z with a uniform prior over "
                       "the models; physics verdict from conservative vs dissipative models only"),
            "caveat": ("the hidden layers were fitted to the same data; differences of hundreds of nats saturate "
                       "p(model|D) at 0 or 1 — read the ranking, and treat gaps of a few nats as a tie")}


def _fmt(v):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def markdown_table(summ: dict) -> str:
    head = "| " + " | ".join(label for _, label in COLUMNS) + " |"
    sep = "|" + "---|" * len(COLUMNS)
    rows = ["| " + " | ".join(_fmt(r.get(k)) for k, _ in COLUMNS) + " |" for r in summ["table"]]
    return "\n".join([head, sep, *rows]) + "\n"


def write_compare(res: dict, stage: Path, *, data: str, seed: int, settings: dict, coordinate_names=None) -> dict:
    """Write summary.json, table.md, evidence.png, rollouts.png and report.html into ``stage``."""
    from physlaw.plot.compare import evidence_figure, rollout_figure
    from physlaw.report.html import Section, write_report

    stage = Path(stage)
    summ = summary(res, data=data, seed=seed, settings=settings)
    write_json(stage / "summary.json", summ)
    table = markdown_table(summ)
    (stage / "table.md").write_text(f"# physlaw compare: {data}\n\n{summ['verdict']}\n\n{table}", encoding="utf-8")
    evidence_figure(summ, stage / "evidence.png")
    rollouts = {k: v[2] for k, v in res["models_objects"].items()}
    rollout_figure(res["test_times"], res["test_true"], rollouts, stage / "rollouts.png", names=coordinate_names)
    head = Section("Verdict").text(summ["verdict"], cls="verdict")
    head.text(f"Split: {summ['split']} held out; {summ['num_train_rows']} training rows; state {summ['state']}; "
              f"time unit {summ['time_unit']:.4g} of the data's (derivatives, errors and VPT in that unit).")
    head.text(summ["method"] + ".")
    head.text("Caveat: " + summ["caveat"] + ".", cls="warn")
    tab = Section("Models").table([label for _, label in COLUMNS], [[r.get(k) for k, _ in COLUMNS] for r in summ["table"]],
                                  caption="log Z in nats; σ̂ the estimated noise std of the derivatives; γ the "
                                          "well-determined last-layer parameters; errors on the held-out part; "
                                          "VPT = time until the relative error exceeds 0.1")
    figs = Section("Figures").figure(stage / "evidence.png", "log evidence relative to the best model")
    figs.figure(stage / "rollouts.png", "rollouts on the first held-out trajectory")
    run = Section("Run").table(["setting", "value"], [[k, str(v)] for k, v in settings.items()])
    write_report(stage / "report.html", f"physlaw compare — {data}", [head, tab, figs, run])
    return summ
