"""``physlaw conserve`` from the command line: a CSV a user brings, the summary's shape, bad input."""

import json

import jax
import pytest
import sympy

from physlaw.cli import main
from physlaw.dynamics import simulate
from physlaw.io.trajectories import save_csv, save_dataset


@pytest.fixture(scope="module")
def spring_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "spring.csv"
    save_csv(path, simulate("spring", jax.random.key(0), num_trajectories=20, num_times=60, dt=0.1))
    return path


def test_library_route_on_a_csv_finds_the_spring_energy(spring_csv, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["conserve", str(spring_csv), "--method", "library", "--out", str(out), "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["count"] == 1 and not s["weak_evidence"] and s["method"] == "library"
    law = s["laws"][0]
    assert {"expression", "coefficients", "generator", "residual"} <= set(law)
    expr = sympy.sympify(law["expression"])
    q, p = sympy.symbols("q1 p1")
    # the spring's energy is q² + p² (Greydanus et al.): the law is proportional to it
    ratio = sympy.Poly(expr, q, p).coeff_monomial(q**2) / sympy.Poly(expr, q, p).coeff_monomial(p**2)
    assert abs(float(ratio) - 1) < 0.02
    assert (out / "report.html").stat().st_size > 5000 and (out / "spectrum.png").exists()


def test_names_option_renames_the_coordinates_in_the_laws(spring_csv, tmp_path):
    out = tmp_path / "named"
    assert main(["conserve", str(spring_csv), "--method", "library", "--names", "x", "v", "--out", str(out),
                 "--stencil", "7", "--order", "4", "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert sympy.sympify(summary["laws"][0]["expression"]).free_symbols == set(sympy.symbols("x v"))
    assert "7-point, degree-4 least squares" in json.dumps(summary)


@pytest.mark.parametrize("extra, words", [
    (["--method", "lie", "--family", "a b; c"], "family mask"),
    (["--method", "lie", "--family", "spin"], "unknown family"),
    (["--method", "library", "--names", "a"], "--names gives 1 names"),
    (["--method", "sampling"], "invalid choice"),
    (["--method", "group", "--family", "translation"], "Use --method lie"),
    (["--method", "library", "--stencil", "5", "--order", "5"], "polynomial order"),
])
def test_bad_options_give_one_line_and_exit_2(spring_csv, tmp_path, capsys, extra, words):
    out = tmp_path / "bad"
    with pytest.raises(SystemExit) if "sampling" in extra else _nothing():
        code = main(["conserve", str(spring_csv), "--out", str(out), "--steps", "10", *extra])
        assert code == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_static_manifold_has_no_momenta_for_the_library_route(tmp_path, capsys):
    path = tmp_path / "sphere.npz"
    save_dataset(path, simulate("sphere", jax.random.key(0), num_trajectories=300))
    assert main(["conserve", str(path), "--method", "library", "--out", str(tmp_path / "o")]) == 2
    assert "needs positions and momenta" in capsys.readouterr().err


def test_missing_file(tmp_path, capsys):
    assert main(["conserve", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "nope.csv" in capsys.readouterr().err


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_demo_finds_the_kepler_angular_momentum_from_a_csv(tmp_path):
    """The demo's conservation part: simulate → CSV → autoencoder → direct Lie route (≈ 40 s)."""
    from physlaw.cli import main as cli

    assert cli(["demo", "--examples", "conserve", "--out", str(tmp_path), "--quiet"]) == 0
    s = json.loads((tmp_path / "conserve" / "summary.json").read_text())
    assert s["count"] == 1 and s["singular_value_gap"] > 10
    poly = sympy.Poly(sympy.sympify(s["laws"][0]["expression"]), *sympy.symbols("q1 q2 p1 p2"))
    a, b = (float(poly.coeff_monomial(sympy.sympify(m))) for m in ("q1*p2", "q2*p1"))
    assert abs(a / b + 1) < 0.02  # G ∝ q1 p2 − q2 p1
    assert sum(abs(float(c)) for c in poly.coeffs()) < 1.05 * (abs(a) + abs(b))  # nothing else of weight
    assert (tmp_path / "kepler.csv").exists()


def test_nan_in_a_csv_is_refused_with_its_place(tmp_path, capsys):
    path = tmp_path / "nan.csv"
    path.write_text("trajectory,t,q1,p1\n" + "".join(f"0,{i / 10},{i},{'nan' if i == 3 else 0.5}\n" for i in range(8)))
    assert main(["conserve", str(path), "--method", "library", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "non-finite" in err and "row 4, column 4" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_lie_on_a_fine_kepler_csv_reports_every_direction_and_exits_0(tmp_path, capsys):
    """Issue 14's abort: planar Kepler, 24 orbits, dt = 0.01, 401 samples, family rotation. Non-canonical
    directions of the null space (a scaling) must not throw away the law: exit 0, each direction reported.
    Slow (the default 30000-step autoencoder, ~1 min idle); the fast version with a stand-in autoencoder is
    tests/symmetry/test_checks.py::test_lie_keeps_the_canonical_law_and_reports_the_scaling."""
    path = tmp_path / "k.csv"
    assert main(["simulate", "kepler", "--num-trajectories", "24", "--num-times", "401", "--dt", "0.01",
                 "--out", str(path)]) == 0
    out = tmp_path / "lie"
    assert main(["conserve", str(path), "--method", "lie", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    d = s["details"]
    assert len(d["directions"]) == d["symmetry_directions"] >= 2 and s["count"] == 1
    assert any(x["kind"] == "non-canonical" for x in d["directions"])
    assert d["checks"]["data"].startswith("held-out") and s["settings"]["held_out_trajectories"] == 6
    assert "Checked on 6 held-out trajectories" in s["message"] and "Confidence" in s["message"]
    assert "error" not in capsys.readouterr().err


def test_library_route_reports_the_damped_energy_and_its_decay_rate(tmp_path, capsys):
    path = tmp_path / "damped.csv"
    assert main(["simulate", "damped-oscillator", "--num-trajectories", "32", "--param", "zeta=0.05",
                 "--out", str(path)]) == 0
    out = tmp_path / "o"
    assert main(["conserve", str(path), "--method", "library", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    approx = s["details"]["approximate_law"]["drift"]
    lo, hi = approx["interval"]
    # the approximate law is now the exact energy p1**2 + q1**2 (the conservative part, dG/dt = -0.2 p1**2); a 95 %
    # interval from 8 held-out trajectories misses the true -0.1 on this seed by 0.0006 (truth for this estimator,
    # 4000 trajectories: -0.10003 +- 0.00003): the truth must lie within two half-widths of the estimate
    half = (hi - lo) / 2
    assert s["count"] == 0 and approx["verdict"] == "approximately conserved" and lo - half <= -0.1 <= hi + half
    assert "dG/dt = -0.2*p1**2" in json.dumps(s["details"])
    assert "decaying at rate" in capsys.readouterr().out


def test_method_all_runs_the_routes_side_by_side(tmp_path):
    path = tmp_path / "damped.csv"
    assert main(["simulate", "damped-oscillator", "--num-trajectories", "16", "--out", str(path)]) == 0
    out = tmp_path / "all"
    assert main(["conserve", str(path), "--method", "all", "--family", "gl", "--steps", "100", "--out", str(out),
                 "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["method"] == "all" and set(s["routes"]) == {"lie", "hnn", "library"}
    assert s["message"] and isinstance(s["agreement"], list)
    for route in ("lie", "hnn", "library"):
        assert (out / route / "summary.json").exists()
    assert (out / "report.html").exists()


def test_lie_library_route_finds_the_oscillator_charges(tmp_path, capsys):
    """``--method lie --library``: the library's Hamiltonian fields tangent to the autoencoder's manifold (~25 s)."""
    path = tmp_path / "osc.npz"
    assert main(["simulate", "harmonic-2d", "--energy", "0.5", "--num-trajectories", "32", "--num-times", "32",
                 "--dt", "0.3", "--out", str(path)]) == 0
    out = tmp_path / "ll"
    assert main(["conserve", str(path), "--method", "lie", "--library", "--degree", "2", "--steps", "1500",
                 "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["method"] == "lie" and s["route"] == "lie-library" and s["count"] == 4
    assert len(s["settings"]["library"]) == 14 and s["details"]["checks"]["raw_count"] == 4
    q1, q2, p1, p2 = sympy.symbols("q1 q2 p1 p2")
    poly = [sympy.Poly(sympy.sympify(law["expression"]), q1, q2, p1, p2) for law in s["laws"]]
    assert all(p.total_degree() == 2 for p in poly)  # the quadratic u(2) charges
    assert "G = " in capsys.readouterr().out and (out / "report.html").exists()


def test_library_flag_is_refused_off_the_lie_route_and_on_positions_only_data(spring_csv, tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["conserve", str(spring_csv), "--method", "hnn", "--library", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--library applies to --method lie only" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    path = tmp_path / "sphere.npz"
    save_dataset(path, simulate("sphere", jax.random.key(0), num_trajectories=300))
    assert main(["conserve", str(path), "--method", "lie", "--library", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "needs phase-space trajectories" in err and "--library" in err and len(err.strip().splitlines()) == 1
