"""Simulators of physical systems and the trajectory / transition datasets built from them.

Table of contents
-----------------
Integrators
    ``leapfrog_step``, ``yoshida4_step``, ``rk4_step``, ``integrate_separable``, ``integrate_ode``.
Hamiltonian systems
    ``HamiltonianSystem``, ``get_system``, ``HAMILTONIAN_SYSTEMS`` and the factories
    ``free_particle``, ``harmonic_oscillator``, ``pendulum``, ``double_pendulum``, ``kepler``,
    ``two_body``; ``integrate_system``, ``sample_energy_shell``, ``conserved_drift``.
Non-Hamiltonian test flows (``_flows``)
    ``FlowSystem``, ``FLOW_SYSTEMS``, ``damped_oscillator``, ``duffing_driven``, ``lotka_volterra``,
    ``damped_pendulum``, ``damped_double_pendulum``, ``modal_damping``
    (and the Hamiltonian ``henon_heiles``): systems without the usual invariants, for false-discovery
    checks; ``get_system`` and ``simulate`` take their names.
Collective motion
    ``CouzinParams``, ``BoidsParams``, ``SwarmState``, ``couzin_step``, ``boids_step``,
    ``init_swarm``, ``run_swarm``, ``polarisation``, ``milling_index``, ``collective_coordinates``.
Recorded trajectories
    ``repair_gaps`` (``GapRepair``, ``GAP_MODES``, ``window_length``: NaN rows dropped or filled),
    ``finite_differences`` (smoothed velocities), ``agents_dataset`` (many-agent tracks in the
    collective frame).
Datasets
    ``Dataset``, ``simulate``, ``swarm_dataset``, ``sphere_dataset``, ``list_systems``,
    (files: ``physlaw.io.load_dataset``, ``save_dataset``, ``save_csv``).

Example:
    >>> import jax
    >>> from physlaw.dynamics import simulate
    >>> ds = simulate("kepler", jax.random.key(0), num_trajectories=4, energy=-0.5)
    >>> ds.q.shape, ds.coordinate_names
    ((4, 64, 2), ('q1', 'q2', 'p1', 'p2'))
"""

from physlaw.dynamics._collective import (
    BoidsParams,
    CouzinParams,
    SwarmState,
    boids_step,
    collective_coordinates,
    couzin_step,
    init_swarm,
    milling_index,
    polarisation,
    run_swarm,
)
from physlaw.dynamics._datasets import (
    GAP_MODES,
    Dataset,
    GapRepair,
    agents_dataset,
    check_coordinate_names,
    finite_differences,
    repair_gaps,
    window_length,
    conserved_drift,
    integrate_system,
    list_systems,
    sample_energy_shell,
    simulate,
    sphere_dataset,
    swarm_dataset,
)
from physlaw.dynamics._controlled import (
    CONTROLLED_SYSTEMS,
    ControlledSystem,
    acrobot,
    cart_pole,
    closed_loop,
    controlled_pendulum,
    get_controlled_system,
    integrate_held,
    simulate_controlled,
)
from physlaw.dynamics._flows import (
    FLOW_SYSTEMS,
    FlowSystem,
    damped_double_pendulum,
    damped_oscillator,
    damped_pendulum,
    modal_damping,
    duffing_driven,
    lotka_volterra,
)
from physlaw.dynamics._integrators import (
    integrate_ode,
    integrate_separable,
    leapfrog_step,
    rk4_step,
    yoshida4_step,
)
from physlaw.dynamics._systems import (
    HAMILTONIAN_SYSTEMS,
    HamiltonianSystem,
    double_pendulum,
    free_particle,
    get_system,
    harmonic_oscillator,
    henon_heiles,
    kepler,
    pendulum,
    two_body,
)

__all__ = [
    "CONTROLLED_SYSTEMS", "ControlledSystem", "acrobot", "cart_pole", "closed_loop", "controlled_pendulum",
    "get_controlled_system", "integrate_held", "simulate_controlled",
    "GAP_MODES", "GapRepair", "agents_dataset", "collective_coordinates", "finite_differences", "repair_gaps",
    "window_length",
    "FLOW_SYSTEMS", "FlowSystem", "damped_oscillator", "damped_pendulum", "damped_double_pendulum", "modal_damping", "duffing_driven", "henon_heiles", "lotka_volterra",
    "BoidsParams", "CouzinParams", "Dataset", "HAMILTONIAN_SYSTEMS", "HamiltonianSystem", "SwarmState",
    "boids_step", "check_coordinate_names", "conserved_drift", "couzin_step", "double_pendulum", "free_particle", "get_system",
    "harmonic_oscillator", "init_swarm", "integrate_ode", "integrate_separable", "integrate_system",
    "kepler", "leapfrog_step", "list_systems", "milling_index", "pendulum", "polarisation",
    "rk4_step", "run_swarm", "sample_energy_shell", "simulate",
    "sphere_dataset", "swarm_dataset", "two_body", "yoshida4_step",
]
