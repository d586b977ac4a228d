"""Regenerate tests/data/bmi_reference.json from the BMI package (benchmark-mi), an independent reference.

Run with an interpreter that has ``bmi`` installed (not a mibench dependency), e.g.
``/work/bmienv/bin/python tools/bmi_reference.py``. It records:
  * the ground truth of each of BMI's 40 benchmark-v1 tasks, as BMI computes it;
  * outputs of BMI's maps (normal CDF, half-cube, asinh, wiggly, swiss roll, spiral, bimodal
    inverse CDFs) on fixed inputs, so that mibench's reimplementation is checked point by point;
  * BMI's own Monte-Carlo truths (mean and standard error) of the mixture ("fine distribution") tasks.
"""

import json
import pathlib

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import bmi.transforms as tr  # noqa: E402
import bmi.transforms._rotate as rt  # noqa: E402
from bmi.benchmark.task_list import BENCHMARK_TASKS_LIST  # noqa: E402
from bmi.benchmark.tasks import mixtures  # noqa: E402
from bmi.benchmark.tasks.wiggly import wiggly_x, wiggly_y  # noqa: E402
from bmi.samplers import bmm  # noqa: E402

out = {"truths": {t.id: float(t.mutual_information) for t in BENCHMARK_TASKS_LIST}}

rng = np.random.default_rng(0)
z = rng.standard_normal(20) * 2
u = rng.uniform(0.001, 0.999, 20)
maps = {
    "inputs_normal": z.tolist(),
    "inputs_uniform": u.tolist(),
    "normal_cdf": np.asarray(tr.normal_cdf(z)).tolist(),
    "half_cube": np.asarray(tr.half_cube(z)).tolist(),
    "asinh": np.arcsinh(z).tolist(),
    "wiggly_x": np.asarray(wiggly_x(z)).tolist(),
    "wiggly_y": np.asarray(wiggly_y(z)).tolist(),
    "swissroll": [np.asarray(tr.swissroll2d(np.array([v]))).tolist() for v in u],
    "bimodal_x": np.asarray(tr.invert_cdf(lambda t: 0.3 * tr.normal_cdf(t) + 0.7 * tr.normal_cdf(t - 5))(u)).tolist(),
    "bimodal_y": np.asarray(
        tr.invert_cdf(lambda t: 0.5 * tr.normal_cdf(t + 1) + 0.5 * tr.normal_cdf(t - 3))(u)).tolist(),
}
spirals = {}
for d, (i, j) in [(3, (0, 1)), (3, (1, 2)), (5, (0, 1)), (5, (1, 2))]:
    pts = rng.standard_normal((5, d))
    sp = rt.Spiral(generator=rt.so_generator(d, i, j), speed=1.0 / d)
    spirals[f"{d}-{i}-{j}"] = {"inputs": pts.tolist(), "outputs": [np.asarray(sp(p)).tolist() for p in pts]}
maps["spiral"] = spirals
out["maps"] = maps

mix = {
    "1v1-X-0.9": mixtures.task_x(),
    "1v1-AI": mixtures.task_ai(),
    "2v1-waves-12-5.0-3.0": mixtures.task_waves(),
    "2v1-galaxy-0.5-3.0": mixtures.task_galaxy(),
    "3v1-concentric_gaussians-5": mixtures.task_concentric_multinormal(dim_x=3, n_components=5),
    "5v1-concentric_gaussians-5": mixtures.task_concentric_multinormal(dim_x=5, n_components=5),
    "3v1-concentric_gaussians-10": mixtures.task_concentric_multinormal(dim_x=3, n_components=10),
    "5v1-concentric_gaussians-10": mixtures.task_concentric_multinormal(dim_x=5, n_components=10),
    "25v1-concentric_gaussians-5": mixtures.task_concentric_multinormal(dim_x=25, n_components=5),
    "mult-sparse-w-inliers-5-5-2-2.0-0.2": mixtures.task_multinormal_sparse_w_inliers(5, 5, inlier_fraction=0.2),
    "mult-sparse-w-inliers-25-25-2-2.0-0.2": mixtures.task_multinormal_sparse_w_inliers(25, 25, inlier_fraction=0.2),
    "mult-sparse-w-inliers-5-5-2-2.0-0.5": mixtures.task_multinormal_sparse_w_inliers(5, 5, inlier_fraction=0.5),
    "mult-sparse-w-inliers-25-25-2-2.0-0.5": mixtures.task_multinormal_sparse_w_inliers(25, 25, inlier_fraction=0.5),
}
mc = {}
for k, task in mix.items():
    assert task.id == k, (task.id, k)
    sampler = task.sampler
    while not isinstance(sampler, bmm.BMMSampler):  # unwrap TransformedSampler (truth = base truth)
        sampler = sampler._base_sampler
    vals = []
    n, reps = 200_000, 5
    for r in range(reps):
        m, _ = bmm.monte_carlo_mi_estimate(jax.random.PRNGKey(100 + r), sampler._dist, n)
        vals.append(float(m))
    mc[k] = {"mi": float(np.mean(vals)), "stderr": float(np.std(vals, ddof=1) / np.sqrt(reps)),
             "n": n * reps}
    print(k, mc[k], flush=True)
out["mixtures_mc"] = mc

path = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "bmi_reference.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print("wrote", path)
