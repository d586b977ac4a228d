"""Where MIENF loses MI on the image tasks (issue 16 measurements; docs/images.md, "Toward 10 nats").

Usage (N = 10^4, 1 thread; prints one JSON line):
  python tools/mienf_image_limits.py latent TASK SPEC z|t SEED   vector MIENF on the task's true latents
      (z: the Gaussian latents, t = Phi(z): the bump centres / rectangle edge parameters), i.e. a
      perfect encoder: separates the flow's estimation error from compression loss
  python tools/mienf_image_limits.py ae TASK SPEC ARCH LATENT STEPS SEED   a per-variable
      autoencoder (mlp | conv, trained on MIENF's training split only, so nothing leaks), then the
      vector MIENF ``SPEC`` on the codes of every row (MIENF re-derives the same split from its seed)
"""

import json
import sys
import time

import numpy as np
import torch
from mibench.estimators._common import split_indices
from scipy.special import ndtr
from torch import nn

import mibench

N = 10_000


def mlp_ae(d, k, w=256):
    enc = nn.Sequential(nn.Linear(d, w), nn.SiLU(), nn.Linear(w, w), nn.SiLU(), nn.Linear(w, k))
    dec = nn.Sequential(nn.Linear(k, w), nn.SiLU(), nn.Linear(w, w), nn.SiLU(), nn.Linear(w, d))
    return enc, dec


def conv_ae(s, k, w=16):
    q = s // 4
    enc = nn.Sequential(nn.Unflatten(1, (1, s, s)), nn.Conv2d(1, w, 3, stride=2, padding=1), nn.SiLU(),
                        nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.SiLU(), nn.Flatten(),
                        nn.Linear(2 * w * q * q, 128), nn.SiLU(), nn.Linear(128, k))
    dec = nn.Sequential(nn.Linear(k, 128), nn.SiLU(), nn.Linear(128, 2 * w * q * q), nn.SiLU(),
                        nn.Unflatten(1, (2 * w, q, q)),
                        nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1), nn.SiLU(),
                        nn.ConvTranspose2d(w, 1, 4, stride=2, padding=1), nn.Flatten())
    return enc, dec


def encode(a, train, test, arch, latent, steps, seed, salt):
    """Codes (float64, every row) of an autoencoder fit on the rows ``train``; train/test MSE."""
    torch.manual_seed(seed * 100 + salt)
    flat = torch.from_numpy(a.reshape(len(a), -1).astype(np.float32))
    mu, sd = flat[train].mean(0), flat[train].std() + 1e-6
    data = (flat - mu) / sd
    enc, dec = mlp_ae(data.shape[1], latent) if arch == "mlp" else conv_ae(a.shape[-1], latent)
    net = nn.Sequential(enc, dec)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(seed * 100 + salt)
    tr = torch.from_numpy(train)
    for _ in range(steps):
        b = data[tr[torch.randint(len(tr), (256,), generator=gen)]]
        loss = ((net(b) - b) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        z = enc(data)
        rec = ((dec(z) - data) ** 2).mean(1)
    return z.double().numpy(), [float(rec[train].mean()), float(rec[test].mean())]


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
        arch, latent, steps, seed = sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
        x, y = task.sample(N, seed)
        train, test = split_indices(N, 0.25, seed, min_each=4, name="mienf")  # MIENF's own split
        zx, rx = encode(x, train, test, arch, latent, steps, seed, 1)
        zy, ry = encode(y, train, test, arch, latent, steps, seed, 2)
        row.update(arch=arch, latent=latent, ae_steps=steps, seed=seed, reconstruction_mse=[rx, ry],
                   ae_cpu_min=(time.process_time() - t0) / 60)
    est = mibench.get_estimator(f"{spec}:seed={seed}" if ":" not in spec else f"{spec},seed={seed}")
    value, _ = est.estimate_with_info(zx, zy)
    row.update(estimate=value, cpu_min=(time.process_time() - t0) / 60)
    print(json.dumps(row), flush=True)
