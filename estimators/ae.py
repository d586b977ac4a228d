"""Compression then kNN (Butakov et al., "Information Bottleneck Analysis of Deep Neural Networks via
Lossy Compression", ICLR 2024): an autoencoder per variable, then a kNN estimator on the codes."""

from __future__ import annotations

import time

import numpy as np
import torch
from mibench.estimators._common import resolve_device, split_indices, standardize_train, validate_vectors_or_images
from torch import nn

import mibench
from mibench import DEVICE, SEED, Choice, DivergedError, Estimator, Float, Int

THEN = ("ksg", "wkl")


class AutoencoderKNN(Estimator):
    """Autoencoder compression + a kNN MI estimator on held-out codes, in nats.

    Parameters:
        latent_dim: code size of each autoencoder (default 4; a parameter, never read from the task).
            A vector variable with at most ``latent_dim`` coordinates is not compressed (its
            standardised values are its code), since there is nothing to gain.
        then: the estimator applied to the held-out codes, built through the public registry
            (``mibench.get_estimator``): ``ksg`` (default) or ``wkl`` (weighted Kozachenko-Leonenko;
            available once that estimator is registered, otherwise a clear error).
        k: neighbours of the kNN estimator (default 5).
        width: hidden units (MLP, vectors) / base channels (conv, images); default 64 / 32.
        hidden: images only: a fully connected layer of this many units between the conv features
            and the code, in the encoder and the decoder (default None: the code is linear in the
            conv features).
        steps: Adam steps per autoencoder (default 1500); batch_size (default 256); lr (default 1e-3).
        test_fraction: share of samples held out; the kNN estimate uses only their codes (default 0.5).
        seed: seeds split, initialisation and minibatches (default 0). device: auto | cpu | cuda.

    Architecture: images (n, 1, h, w), h and w divisible by 4: conv(1->w, 4x4, stride 2) - conv(w->2w,
    stride 2) - linear -> code; decoder mirrors it with transposed convolutions and a sigmoid
    output (pixels in [0, 1]); MSE loss. Vectors (n, d): standardised with the training split's
    statistics, MLP d -> width -> width -> code and back, MSE loss. Each autoencoder is trained on
    the training split of its own variable only (it never sees the other one).

    The estimate is I(E_X(X); E_Y(Y)) <= I(X; Y) (data processing), equal when the codes keep
    the information shared with the other variable; the kNN estimator's bias then applies in
    dimension 2 x latent_dim. Cost: O(steps x batch) training + the kNN estimator on n_test
    points (KSG: O(n_test^2)). ``info``: reconstruction MSE (train/test) per variable, the
    kNN estimator's spec, its own info, and seconds.
    """

    accepts_images = True

    PARAMS = {
        "latent_dim": Int(4, "code size of each autoencoder", min=1),
        "then": Choice("ksg", THEN, "the kNN estimator on the codes"),
        "k": Int(5, "neighbours of the kNN estimator", min=1),
        "width": Int(None, "hidden units (MLP) / base channels (conv); default 64 / 32", min=1, optional=True),
        "hidden": Int(None, "images: hidden units between the conv features and the code", min=1, optional=True),
        "steps": Int(1500, "Adam steps per autoencoder", min=1),
        "batch_size": Int(256, "mini-batch size", min=2),
        "lr": Float(1e-3, "Adam learning rate", min=0, max=1, min_open=True),
        "test_fraction": Float(0.5, "share of samples held out", min=0, max=1, min_open=True, max_open=True),
        "seed": SEED,
        "device": DEVICE,
    }

    def _knn(self):
        try:
            return mibench.get_estimator(f"{self.then}:k={self.k}")
        except mibench.MibenchError as exc:
            raise ValueError(f"ae: then={self.then!r} is not available: {exc}") from None

    def estimate_with_info(self, x, y):
        x, y = validate_vectors_or_images(x, y, name="ae", min_samples=8)
        knn = self._knn()
        dev = torch.device(resolve_device(self.device))
        train, test = split_indices(len(x), self.test_fraction, self.seed, min_each=self.k + 2, name="ae")
        t0 = time.perf_counter()
        codes, mse = [], {}
        for label, a, salt in (("x", x, 1), ("y", y, 2)):
            c, m = self.encode(a, train, test, salt=salt)
            codes.append(c)
            mse[label] = m
        value, knn_info = mibench.call_estimator(knn, codes[0], codes[1])
        info = {
            "device": str(dev),
            "then": f"{self.then}:k={self.k}",
            "code_dims": [int(codes[0].shape[1]), int(codes[1].shape[1])],
            "reconstruction_mse": mse,
            "parameters": sum(m["parameters"] for m in mse.values()),
            "n_train": int(len(train)),
            "n_test": int(len(test)),
            "knn_info": knn_info,
            "seconds": time.perf_counter() - t0,
        }
        return value, info

    def encode(self, a, train, test, *, salt: int = 1) -> tuple[np.ndarray, dict]:
        """Compress one variable: an autoencoder fit on the rows ``train`` of ``a`` (vectors (n, d) or
        images (n, 1, h, w)); returns the codes (float64) of the rows ``test`` and the reconstruction
        errors. Seeded by the estimator's seed and ``salt`` (local to this call); the public hook the
        information-plane experiment compresses layers with."""
        dev = torch.device(resolve_device(self.device))
        with torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else []):
            torch.manual_seed(self.seed * 1000 + salt)  # initial weights (restored afterwards)
            return self._encode(np.asarray(a), np.asarray(train), np.asarray(test), dev, salt)

    def _encode(self, a, train, test, dev, salt):
        """Held-out codes (float64) of one variable and its reconstruction errors."""
        if a.ndim == 2:
            a = standardize_train(a, train)
            if a.shape[1] <= self.latent_dim:
                return a[test], {"compressed": False, "parameters": 0}
            net = MLPAutoencoder(a.shape[1], self.latent_dim, self.width or 64)
        else:
            h, w = a.shape[-2:]
            if h % 4 or w % 4:
                raise ValueError(f"ae: image height and width must be divisible by 4, got {h} x {w}")
            net = ConvAutoencoder((h, w), self.latent_dim, self.width or 32, self.hidden)
        data = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        net = net.to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, foreach=True)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.steps)
        gen = torch.Generator().manual_seed(self.seed * 1000 + salt)
        tr = torch.from_numpy(train)
        bs = min(self.batch_size, len(train))
        net.train()
        for step in range(1, self.steps + 1):
            b = data[tr[torch.randint(len(tr), (bs,), generator=gen)]].to(dev)
            loss = ((net(b) - b) ** 2).mean()
            if not torch.isfinite(loss):
                raise DivergedError(f"ae: reconstruction loss became non-finite at training step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            out = {}
            for part, idx in (("train", train), ("test", test)):
                codes, err = [], 0.0
                for s in range(0, len(idx), 2048):
                    b = data[torch.from_numpy(idx[s : s + 2048])].to(dev)
                    z = net.encoder(b)
                    err += float(((net.decoder(z) - b) ** 2).sum().item())
                    codes.append(z.double().cpu().numpy())
                out[part] = (np.concatenate(codes), err / (len(idx) * data[0].numel()))
        n_params = sum(p.numel() for p in net.parameters() if p.requires_grad)
        return out["test"][0], {"compressed": True, "train": out["train"][1], "test": out["test"][1],
                                "parameters": n_params}


class MLPAutoencoder(nn.Module):
    def __init__(self, d: int, latent: int, width: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(d, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                     nn.Linear(width, latent))
        self.decoder = nn.Sequential(nn.Linear(latent, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                     nn.Linear(width, d))

    def forward(self, x):
        return self.decoder(self.encoder(x))


class ConvAutoencoder(nn.Module):
    def __init__(self, size: tuple[int, int], latent: int, width: int, hidden: int | None = None) -> None:
        super().__init__()
        qh, qw = size[0] // 4, size[1] // 4
        flat = 2 * width * qh * qw
        # hidden: a fully connected layer between the conv features and the code (both ways), so the
        # code can be a nonlinear function of the features (edge positions of anti-aliased shapes)
        to_code = [nn.Linear(flat, latent)] if hidden is None else [
            nn.Linear(flat, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, latent)]
        from_code = [nn.Linear(latent, flat)] if hidden is None else [
            nn.Linear(latent, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, flat)]
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(), *to_code,
        )
        self.decoder = nn.Sequential(
            *from_code, nn.LeakyReLU(0.2), nn.Unflatten(1, (2 * width, qh, qw)),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1), nn.Sigmoid(),
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))

