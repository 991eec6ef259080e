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
    if disc.laws and dataset.num_times > 1 and dataset.p.shape[-1] > 0:  # laws in the data's coordinates
        plots.laws_along_trajectories_figure(disc.laws, dataset, stage / "laws_along_trajectories.png")
        figures.append(("laws_along_trajectories.png", "Each law along a few trajectories of the data: "
                        "flat lines mean conserved."))
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
                         "" if law["symplectic_defect"] is None else law["symplectic_defect"]])
        head.table(["law", "coefficients (normalised)", "residual", "symplectic defect"], rows)
    else:
        head.text("No law was found. Try another family, more data, a longer Δt between the pair's slices "
                  "(--lag) or another route.")
    d = summ.get("details", {})
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
