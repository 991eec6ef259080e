"""Write a conservation-law search: summary.json, the sampled group, the network, figures, report.html."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from physlaw.io.atomic import write_json


def summary(res, *, data: str, seed: int, dataset) -> dict:
    """The JSON summary: ``"laws"`` first (expression, coefficients with errors, generator, residual)."""
    disc = res.discovery.to_dict()
    out = {
        "laws": disc.pop("laws"),
        "count": disc.pop("count"),
        "message": disc.pop("message"),
        "weak_evidence": disc.pop("weak_evidence"),
        "method": res.settings.get("method"),
        "data": data,
        "seed": seed,
        "coordinate_names": list(dataset.coordinate_names),
        "num_trajectories": int(dataset.num_trajectories),
        "num_times": int(dataset.num_times),
        **disc,
        "settings": res.settings,
        "timings_seconds": res.timings,
    }
    if res.train_info is not None:
        hist = res.train_info.history
        out["training"] = {"final_loss": float(hist[-1][1]), "steps": int(res.train_info.num_steps_run),
                           "seconds": round(float(res.train_info.wall_time), 2), "model": res.model_config}
    return out


class _DriftView:
    """The fields of a drift dict under the attribute names the figure reads."""

    def __init__(self, d: dict):
        self.verdict, self.rate = d["verdict"], d["rate"]
        self.low, self.high = d["interval"]


def write_conservation(res, out: Path, *, data: str, seed: int, dataset) -> dict:
    """Write every result file of ``res`` into the folder ``out`` (the CLI gives a staging folder: see ``io.results``)."""
    from physlaw.plot import symmetry as plots

    summ = summary(res, data=data, seed=seed, dataset=dataset)
    figures = []
    stage = Path(out)
    stage.mkdir(parents=True, exist_ok=True)
    write_json(stage / "summary.json", summ)
    disc = res.discovery
    if disc.spectrum is not None:
        plots.spectrum_figure(disc, stage / "spectrum.png", title=f"{disc.route} route")
        figures.append(("spectrum.png", "Singular values of the null-space problem; red: the laws' directions. "
                        "A large gap means a clear count."))
    if res.symmetries is not None and res.symmetries.spectrum is not None:
        plots.spectrum_figure(res.symmetries, stage / "symmetries_spectrum.png",
                              title=f"linear symmetries in the {res.family.name} family")
        figures.append(("symmetries_spectrum.png", "HNN route: linear symmetries ∇H · K x = 0 in the family."))
    if res.group is not None:
        g = res.group
        np.savez(stage / "group_samples.npz", sigmas=g.sigmas, samples=g.samples, energies=g.energies,
                 effective_dim=g.effective_dim, names=np.array(res.family.names),
                 chosen=-1 if g.chosen is None else g.chosen)
        if g.chosen is not None:
            header = ",".join(res.family.names)
            np.savetxt(stage / "group_samples_chosen.csv", g.chosen_samples, delimiter=",", header=header,
                       comments="", fmt="%.6g")
        plots.sigma_figure(g, stage / "sigma_selection.png")
        figures.append(("sigma_selection.png", "Method 1: mean invariance energy and effective dimension of the "
                        "sampled maps against σ'; the chosen σ' (red) is the middle of the plateau."))
        if g.chosen is not None:
            plots.group_pairs_figure(res, stage / "group_pairs.png")
            figures.append(("group_pairs.png", "Sampled invariant maps at the chosen σ' (pairwise) and the fitted "
                            "implicit relations h = 0 (red); + marks the identity."))
    shown = list(disc.laws)
    approx = disc.details.get("approximate_law")
    if not shown and approx and disc.arrays.get("approximate_expr") is not None:
        from physlaw.symmetry import Law

        law = Law(expr=disc.arrays["approximate_expr"], coefficients={}, residual=float("nan"))
        law.drift = _DriftView(approx["drift"])
        shown = [law]
    if shown and dataset.num_times > 1 and dataset.p.shape[-1] > 0:  # laws in the data's coordinates
        plots.laws_along_trajectories_figure(shown, dataset, stage / "laws_along_trajectories.png")
        figures.append(("laws_along_trajectories.png", "Each law (or, when none is left, the best approximate "
                        "one) along a few trajectories of the data: flat lines mean conserved; the title gives "
                        "the check on held-out trajectories."))
    if res.model is not None and res.model_config is not None:
        from physlaw.io.networks import save_model

        save_model(stage / "network", res.model, {"model": res.model_config})
    _report(stage / "report.html", summ, figures, stage)
    return summ


def _report(path: Path, summ: dict, figures, stage: Path) -> None:
    from physlaw.report.html import Section, write_report

    head = Section("Result").text(summ["message"], cls="verdict")
    if summ["laws"]:
        rows = []
        for law in summ["laws"]:
            coefs = ", ".join(f"{t}: {c['value']:.4g}" + (f" ± {c['error']:.2g}" if c["error"] is not None else "")
                              for t, c in law["coefficients"].items())
            rows.append([law["expression"], coefs, law["residual"],
                         "" if law["symplectic_defect"] is None else law["symplectic_defect"],
                         "" if not law.get("drift") else law["drift"]["sentence"]])
        head.table(["law", "coefficients (normalised)", "residual", "symplectic defect",
                    "check on held-out trajectories"], rows)
    else:
        head.text("No law was found. Try another family, more data, a longer Δt between the pair's slices "
                  "(--lag) or another route.")
    d = summ.get("details", {})
    if d.get("approximate_law"):
        a = d["approximate_law"]
        head.text(f"Best approximate law {a['expression']}: {a['drift']['sentence']}.")
    if d.get("dropped_laws"):
        head.table(["dropped law", "why"], [[x["expression"], x["note"]] for x in d["dropped_laws"]],
                   caption="laws the route proposed that failed the checks")
    if d.get("directions"):
        head.table(["symmetry direction", "canonical share", "meaning"],
                   [[str(x["generator"]), x["charge_share"], x["description"]] for x in d["directions"]],
                   caption="every direction of the symmetry null space")
    if "relations" in d:
        head.table(["relation", "rms distance", "regularity at I"],
                   [[r["expression"], r["rms_distance"], r["regularity_at_identity"]] for r in d["relations"]],
                   caption=f"group relations (method 2), group dimension {d.get('group_dimension')}")
        head.text(d.get("sigma_rule", ""))
    if summ.get("singular_value_gap") is not None:
        head.text(f"singular-value gap: ×{summ['singular_value_gap']:.4g}")
    figs = Section("Figures")
    for name, caption in figures:
        figs.figure(stage / name, caption)
    run = Section("Run").table(["setting", "value"], [[k, str(v)] for k, v in summ["settings"].items()] +
                               [["data", summ["data"]], ["seed", summ["seed"]],
                                ["seconds", str(summ["timings_seconds"])]])
    write_report(path, f"physlaw conserve — {summ['method']}", [head, figs, run])


def write_comparison(comp, out: Path, *, data: str, seed: int, dataset) -> dict:
    """``--method all``: each route's files in ``out/ROUTE/``, and ``out/summary.json`` and ``out/report.html``
    with the routes' laws side by side, their agreement (principal angles) and the one verdict."""
    from physlaw.report.html import Section, write_report

    stage = Path(out)
    stage.mkdir(parents=True, exist_ok=True)
    routes = {}
    for route, res in comp.results.items():
        routes[route] = write_conservation(res, stage / route, data=data, seed=seed, dataset=dataset)
    summ = {
        "message": comp.message,
        "method": "all",
        "laws": [],
        "count": int(comp.shared_count),
        "shared_count": int(comp.shared_count),
        "routes": {r: {"count": s["count"], "message": s["message"], "laws": s["laws"],
                       "timings_seconds": s["timings_seconds"]} for r, s in routes.items()},
        "agreement": comp.agreement,
        "errors": comp.errors,
        "data": data,
        "seed": seed,
        "coordinate_names": list(dataset.coordinate_names),
        "timings_seconds": comp.timings,
    }
    write_json(stage / "summary.json", summ)
    head = Section("Verdict").text(comp.message, cls="verdict")
    head.table(["route", "laws", "message"],
               [[r, "; ".join(law["expression"] for law in s["laws"]) or "none", s["message"]]
                for r, s in routes.items()])
    if comp.agreement:
        head.table(["routes", "laws", "principal angles (degrees)", "agreeing"],
                   [[" / ".join(a["routes"]), " / ".join(map(str, a["counts"])),
                     ", ".join(f"{x:.3g}" for x in a["angles_degrees"]), a["shared"]] for a in comp.agreement],
                   caption="agreement between the routes' law subspaces (values of the laws on common states)")
    for route, err in comp.errors.items():
        head.text(f"{route}: not run ({err})")
    links = Section("Routes").text("Each route's own report: " + ", ".join(f"{r}/report.html" for r in routes))
    write_report(stage / "report.html", "physlaw conserve — all routes", [head, links])
    return summ
