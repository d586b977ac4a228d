"""Where MIENF loses MI on the image tasks (issue 16 measurements; docs/images.md, "Toward 10 nats").

Usage (N = 10^4, 1 thread; prints one JSON line):
  python tools/mienf_image_limits.py latent TASK SPEC z|t SEED   vector MIENF on the task's true latents
      (z: the Gaussian latents, t = Phi(z): the bump centres / rectangle edge parameters), i.e. a
      perfect encoder: separates the flow's estimation error from compression loss
  python tools/mienf_image_limits.py ae TASK SPEC AE_SPEC SEED   a per-variable autoencoder
      (``AutoencoderKNN.encode`` configured by AE_SPEC, e.g. ``ae:latent_dim=4,hidden=128``; trained on
      MIENF's training split only, so nothing leaks), then the vector MIENF ``SPEC`` on the codes of
      every row (MIENF re-derives the same split from its seed): what ``mienf:flow=ae`` does, with
      the autoencoder's settings open to measurement
"""

import json
import sys
import time

import numpy as np
import torch
from mibench.estimators._common import split_indices
from scipy.special import ndtr

import mibench

N = 10_000


if __name__ == "__main__":
    torch.set_num_threads(1)
    mode, task_id, spec = sys.argv[1:4]
    task = mibench.get_task(task_id)
    row = {"mode": mode, "task": task_id, "spec": spec, "truth": task.mutual_information}
    t0 = time.process_time()
    if mode == "latent":
        what, seed = sys.argv[4], int(sys.argv[5])
        # the sampler's documented step 1 (ImageSampler.latents), exposed for exactly this kind of check
        zx, zy = task._sampler.latents(N, np.random.default_rng(seed))
        if what == "t":
            zx, zy = ndtr(zx), ndtr(zy)
        row.update(what=what, seed=seed)
    else:
        ae_spec, seed = sys.argv[4], int(sys.argv[5])
        x, y = task.sample(N, seed)
        train, _ = split_indices(N, 0.25, seed, min_each=4, name="mienf")  # MIENF's own split
        ae = mibench.get_estimator(f"{ae_spec},seed={seed}" if ":" in ae_spec else f"{ae_spec}:seed={seed}")
        (zx, rx), (zy, ry) = (ae.encode(a, train, np.arange(N), salt=salt) for a, salt in ((x, 1), (y, 2)))
        row.update(ae=ae_spec, seed=seed, reconstruction_mse=[rx, ry], ae_cpu_min=(time.process_time() - t0) / 60)
    est = mibench.get_estimator(f"{spec}:seed={seed}" if ":" not in spec else f"{spec},seed={seed}")
    value, _ = est.estimate_with_info(zx, zy)
    row.update(estimate=value, cpu_min=(time.process_time() - t0) / 60)
    print(json.dumps(row), flush=True)
