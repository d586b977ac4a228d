"""MIENF: mutual information estimation via normalizing flows (Butakov et al., NeurIPS 2024).

Two flows f_X, f_Y (their Cartesian product is a diffeomorphism, so I(f_X(X); f_Y(Y)) = I(X; Y))
are trained jointly with a target density q whose MI is known in closed form, by maximising
log q(f_X(x), f_Y(y)) + log|det J_fX(x)| + log|det J_fY(y)| on a training split.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch
from mibench.estimators._common import (
    gaussianize_train,
    resolve_device,
    split_indices,
    standardize_train,
    validate_vectors_or_images,
)
from mibench.estimators.ae import AutoencoderKNN
from torch import nn

from mibench import DEVICE, SEED, Choice, Estimator, Float, Int

from .flows import GlowFlow, PCAWhiten, VectorFlow, cca_rotate
from .targets import GaussianTarget, TridiagTarget

TARGETS = ("gaussian", "tridiag")
PCA_FLOWS = {"pca": "realnvp", "pca-spline": "spline"}  # image flow -> couplings after the PCA layer
ENCODED = ("ae",)  # image flows whose vector flow runs on a learned code of each variable
FLOWS = ("auto", "realnvp", "spline", "glow", *PCA_FLOWS, *ENCODED)
GLOW_NOISE = 0.01  # default pixel noise of flow=glow
PCA_NOISE = 0.05  # default pixel noise of the PCA flows
ROTATIONS = ("auto", "pca", "cca")
CCA_POOL = 16  # whitened principal components among which rotate=cca picks canonical directions
PCA_COUPLING_BOUND = 2.0  # |shift|, |log-scale| per coupling of the PCA flows (VectorFlow ``bound``)
# Budgets when steps / lr / width are left at None: (steps, lr, width). The PCA flows fit 4-d data,
# where a narrower, longer-trained flow generalises better (docs/images.md, "choosing the budget").
BUDGETS = {"vector": (2000, 1e-3, 64), "glow": (2000, 1e-3, 32), "pca": (4000, 2e-3, 32)}
MARGINALS = ("auto", "gaussianize", "standardize")
# flow=ae's autoencoder (AutoencoderKNN's conv architecture): 16 base channels and a 128-unit layer
# before the code at lr 2e-3 kept more MI of the rectangles than its defaults (32 channels, code
# linear in the conv features, lr 1e-3): 4.10 vs 3.41 at I = 5 for 2.7 vs 2.4 CPU-minutes
# (docs/images.md)
AE_SETTINGS = {"width": 16, "hidden": 128, "lr": 2e-3}
RESTARTS = 2  # restarts at half the learning rate after a non-finite loss / embedding, before the fit fails


class MIENF(Estimator):
    """MIENF estimator (normalizing flows with a closed-form target), in nats.

    Parameters:
        target: ``gaussian`` (N-MIENF: q = N(mu, Sigma) over (z_X, z_Y) with learned mu and full
            Sigma (Cholesky); MI = 1/2 (log det Sigma_X + log det Sigma_Y - log det Sigma)) or
            ``tridiag`` (q has standard normal marginals and correlation rho_j = tanh(a_j) between
            z_X[j] and z_Y[j] only; MI = -1/2 sum_j log(1 - rho_j^2)). Default ``gaussian``.
        flow: ``auto`` (default: ``pca`` for images (n, 1, h, w), ``realnvp`` for vectors),
            ``realnvp`` (affine couplings: an MLP of one half of the coordinates gives shift and
            sigmoid-bounded scale of the other half; ActNorm and a learned invertible linear map
            (LU-parametrised, random orthogonal start) after each block), ``spline``
            (rational-quadratic neural-spline couplings, Durkan et al. 2019, with ActNorm and
            the same linear maps) or ``glow`` (multiscale Glow: squeeze, ``depth`` GlowBlocks of affine
            coupling + invertible 1x1 conv + ActNorm, then half of the channels factored out, until
            the image is 1 x 1; images only, flat vectors are rejected), ``pca`` or ``pca-spline``
            (images only, any size h x w: a closed-form linear layer, ``PCAWhiten``, fitted on the
            training split -- PCA rotation and per-component whitening, an invertible affine map
            of R^(s*s) with a constant log-determinant -- then the optional canonical rotation
            (``rotate``), then the leading ``pca_dim`` coordinates go through the ``marginals`` map
            and a RealNVP (``pca``; its couplings' shift and log-scale bounded by +-2, see
            ``VectorFlow``) or neural-spline (``pca-spline``) vector flow as above; the
            remaining s*s - pca_dim whitened coordinates are modelled as independent N(0, 1)
            factors of the target, like Glow's factored-out channels, so they carry no MI and only
            add a constant to the loss; they are not computed). The estimate is then that of
            I(kept components of X; kept components of Y) <= I(X; Y) (data processing): on the bump
            images 4 components are needed (the map from the bump centre to the first 2 folds, to
            the first 3 is nearly singular). Measured at N = 10^4 with its default budget (2.2-2.7
            CPU-minutes per 16 x 16 fit, 3 seeds): within 0.1 + 0.1 * truth on the bumps from 0.1
            to 7.5 nats, 2.4 low at I = 10 (docs/images.md, results/mienf-images); Glow is far off
            on CPU budgets. Vector flows given images flatten them to (n, s*s). All coupling,
            ActNorm and 1x1-convolution layers come from ``normflows``. ``ae`` (images only): a
            convolutional autoencoder per variable
            (``AutoencoderKNN.encode``: the ``ae`` estimator's architecture, ``ae_steps`` Adam steps,
            fitted on that variable's training split only, so nothing leaks across the split or
            between the variables) compresses each image to an ``ae_dim`` code, then the
            ``marginals`` map and the RealNVP vector flow (vector budget) run on the codes; the
            estimate is I(code of X; code of Y) <= I(X; Y) (data processing). On the rectangles
            (a 4-d latent with hard edges) it keeps far more MI than 4 or 8 principal components
            (docs/images.md).
        depth: coupling blocks (vectors) or GlowBlocks per scale (images); default (None): 6 for
            vectors of at most 10 coordinates, 2 for wider vectors (6 blocks overfit 25-d data at
            N = 10^4: held-out estimate 0.66 vs truth 1.29), 2 per scale for images.
        width: hidden units of the conditioners (vectors, PCA flows) / hidden channels (Glow);
            default (None) 64 for vectors, 32 for the image flows.
        steps: optimisation steps (Adam, cosine-annealed learning rate; the target's parameters,
            initialised by moments on the embeddings of a first batch of 2048, use 10 x lr); default
            (None) 2000, or 4000 for the PCA flows.
        batch_size: minibatch size; default 256.
        lr: initial learning rate; default (None) 1e-3, or 2e-3 for the PCA flows (on the 4-d
            components of the bump images a narrower flow trained longer at a higher rate
            generalised better: held-out 0.87-0.89 vs 0.68 at I = 1; docs/images.md). The budget
            used is in ``info["budget"]``.
        weight_decay: Adam weight decay; default 0.
        head_dim: images only: how many coordinates of the final 1 x 1 Glow output enter the target
            (the rest, and every factored-out coordinate, are modelled as independent N(0, 1) and
            carry no MI); default 16.
        noise: images only: std of seeded Gaussian noise added to the pixels (train and test) so
            that the likelihood of images on a low-dimensional manifold stays finite (dequantisation);
            independent noise can only lower the MI (data processing), by little for smooth images
            at moderate I. Default (None): 0.01 for ``glow``, 0.05 for the PCA flows (thicker, so
            that the 2-d sheet of bump images is easier to Gaussianise; see docs/images.md).
        pca_dim: PCA flows only: leading whitened principal components kept (default 4, the fewest
            that embed the 16 x 16 bump images without folds; more components made the held-out
            estimate unstable at N = 10^4, see docs/images.md).
        rotate: PCA flows only: ``auto`` (default: ``cca`` when both variables use a PCA flow, else
            ``pca``), ``pca`` (keep the leading principal components) or ``cca`` (rotate the leading
            16 whitened components of each variable onto the canonical directions of their training
            cross-covariance -- one orthogonal map per variable, so the MI is unchanged -- before
            keeping ``pca_dim``; the kept coordinates then carry the most linear dependence: on the
            bump images 5.18 vs 5.51 at I = 5 and 0.68 vs 0.54 at I = 1 with pca_dim=4, noise 0.05).
        marginals: the fixed coordinate-wise preprocessing of vectors, the PCA flows' components and
            the autoencoder codes, fitted on the training split: ``gaussianize`` (empirical CDF then
            the normal quantile, a strictly increasing map, so heavy tails do not starve the flow),
            ``standardize`` (affine) or ``auto`` (default: ``standardize`` for the image flows,
            ``gaussianize`` for vectors; on images the rank map's wiggle, ~0.0125 standard
            deviations, is wider than the conditional spread at 5 nats per latent pair, and cost
            0.8 nats at I = 10 on the bumps; docs/images.md).
        ae_dim: flow=ae only: code size of each autoencoder (default 4; a parameter, never read
            from the task).
        ae_steps: flow=ae only: Adam steps per autoencoder (default 2000; the autoencoder has 16
            base channels, a 128-unit layer before the code and lr 2e-3, ``AE_SETTINGS``).
        test_fraction: share of the samples held out (default 0.25).
        eval_every: steps between entries of the training curve (default 100).
        seed: seeds the split, the initialisation, the minibatches and the noise (default 0).
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.

    Reported on held-out data: the trained flows embed the held-out pairs, the target is refitted
    to these embeddings (sample covariance; per-pair correlations for tridiag) and the estimate is
    its closed-form MI minus the finite-sample bias that this plug-in has on Gaussian embeddings
    (``plugin_mi_bias``: exact Wishart log-determinant expectations, about d_x d_y / (2 n_test);
    0.13 nats for 25 + 25 dimensions and 2500 held-out pairs, < 0.01 for 5 + 5). Unlike the
    training fit's closed form it is not inflated by the flows or the target overfitting the
    training split. ``info``: ``ci95`` (+-1.96 bootstrap standard errors over held-out rows),
    ``closed_form`` (MI of the target fitted in training), ``refit`` (uncorrected),
    ``bias_correction``, ``heldout_logratio`` (the held-out mean of log q(z_X, z_Y) - log q_X(z_X)
    - log q_Y(z_Y) under the training fit, with its ``heldout_logratio_ci95``; lower than the
    estimate by the training fit's own estimation error, 0.10 nats on 25 + 25 dimensions), the
    training curve (``curve``: step, mean train NLL per dimension, closed-form MI) and ``seconds``.

    Vectors are preprocessed coordinate-wise first (``marginals``; an increasing map per coordinate);
    a 1-d variable gets a seeded independent N(0, 1) column appended (which leaves the MI
    unchanged) so that couplings can act. A non-finite loss or log-determinant, or held-out
    embeddings that overflow (small samples), restart training
    from freshly initialised flows at half the learning rate (at most twice; each restart is listed
    in ``info["restarts"]`` and the budget used in ``info["budget"]``), then fails with
    ``FloatingPointError`` naming the first failing step. Float32 training; deterministic on CPU for
    a given seed.
    Cost: O(steps x batch_size x flow cost); memory O(n) for the data plus the flow's activations.
    """

    accepts_images = True

    PARAMS = {
        "target": Choice("gaussian", TARGETS, "closed-form target density"),
        "flow": Choice("auto", FLOWS, "flow family (auto: pca for images, realnvp for vectors)"),
        "depth": Int(None, "coupling blocks (default per flow)", min=1, optional=True),
        "width": Int(None, "hidden units / channels (default per flow)", min=1, optional=True),
        "steps": Int(None, "Adam steps (default per flow)", min=1, optional=True),
        "batch_size": Int(256, "mini-batch size", min=2),
        "lr": Float(None, "Adam learning rate (default per flow)", min=0, max=1, min_open=True, optional=True),
        "weight_decay": Float(0.0, "Adam weight decay", min=0),
        "head_dim": Int(16, "embedding size of the Glow head", min=1),
        "noise": Float(None, "pixel noise std (default per flow)", min=0, max=1, optional=True),
        "pca_dim": Int(4, "principal components modelled by the PCA flows", min=1),
        "rotate": Choice("auto", ROTATIONS, "rotation of the whitened components"),
        "marginals": Choice("auto", MARGINALS, "per-coordinate preprocessing (auto: per flow)"),
        "ae_dim": Int(4, "code size of each autoencoder (flow=ae)", min=1),
        "ae_steps": Int(2000, "Adam steps per autoencoder (flow=ae)", min=1),
        "test_fraction": Float(0.25, "share of samples held out", min=0, max=1, min_open=True, max_open=True),
        "eval_every": Int(100, "steps between held-out evaluations", min=1),
        "seed": SEED,
        "device": DEVICE,
    }

    # ------------------------------------------------------------------ estimate

    def estimate_with_info(self, x, y):
        x, y = validate_vectors_or_images(x, y, name="mienf", min_samples=8)
        dev = torch.device(resolve_device(self.device))
        train, test = split_indices(len(x), self.test_fraction, self.seed, min_each=4, name="mienf")
        t0 = time.perf_counter()
        with torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else []), warnings.catch_warnings():
            # normflows' LU-parametrised 1x1 convolutions call the deprecated torch.lu
            warnings.filterwarnings("ignore", message=".*torch.lu is deprecated.*")
            torch.manual_seed(self.seed)
            notes: dict = {}  # what preprocessing reports into info
            xt, fx_kind = self._prepare(x, train, 1, notes)
            yt, fy_kind = self._prepare(y, train, 2, notes)
            xt, yt = self._finish_images(xt, yt, fx_kind, fy_kind, train)
            budget = self._budget(fx_kind, fy_kind)
            fx = self._build_flow(xt, fx_kind, budget).to(dev)
            fy = self._build_flow(yt, fy_kind, budget).to(dev)
            need = fx.head + fy.head + 2 if self.target == "gaussian" else 4
            if len(test) < need:
                raise ValueError(f"mienf: {len(test)} held-out pairs cannot refit a {self.target} target on "
                                 f"{fx.head} + {fy.head} dimensions (needs >= {need}); give more samples or "
                                 f"a larger test_fraction")
            restarts = []
            while True:  # a non-finite loss (or held-out embedding) restarts from fresh flows at half the lr
                target = (GaussianTarget if self.target == "gaussian" else TridiagTarget)(fx.head, fy.head).to(dev)
                model = nn.ModuleList([fx, fy, target])
                try:
                    curve = self._train(model, xt, yt, train, dev, budget)
                    # a flow that overflows on held-out points (small samples) is restarted the same way
                    ratios, zx, zy = self._heldout(model, xt, yt, test, dev)
                    break
                except FloatingPointError as exc:
                    restarts.append({"lr": budget["lr"], "error": str(exc)})
                    if len(restarts) > RESTARTS:
                        raise FloatingPointError(f"{restarts[0]['error']}, and again after {RESTARTS} restarts at "
                                                 f"half the learning rate each (last lr {budget['lr']:g})") from None
                    budget = {**budget, "lr": budget["lr"] / 2}
                    fx = self._build_flow(xt, fx_kind, budget).to(dev)
                    fy = self._build_flow(yt, fy_kind, budget).to(dev)
        refit = target.refit_mi(zx, zy)
        bias = target.refit_bias(len(test))
        est = refit - bias
        se = self._bootstrap_se(target, zx, zy)
        ratio, ratio_se = float(np.mean(ratios)), float(np.std(ratios, ddof=1) / math.sqrt(len(ratios)))
        info = {
            "device": str(dev),
            "closed_form": float(target.mi().item()),
            "refit": refit,
            "bias_correction": bias,
            "heldout_logratio": ratio,
            "heldout_logratio_ci95": [ratio - 1.96 * ratio_se, ratio + 1.96 * ratio_se],
            "ci95": [est - 1.96 * se, est + 1.96 * se],
            "stderr": se,
            "curve": curve,
            "n_train": int(len(train)),
            "n_test": int(len(test)),
            "flows": [fx_kind, fy_kind],
            "head_dims": [fx.head, fy.head],
            "budget": budget,
            "restarts": restarts,
            "seconds": time.perf_counter() - t0,
            **notes,
        }
        return est, info

    # ------------------------------------------------------------------ pieces

    def _prepare(self, a: np.ndarray, train: np.ndarray, salt: int, notes: dict):
        """Float32 tensor of the whole sample (flows see layout-appropriate, noise-free/noisy data)."""
        kind = self.flow
        if a.ndim == 4:
            if kind == "auto":
                kind = "pca"
            if kind == "glow":
                out = a
                if self._noise(kind) > 0:
                    rng = np.random.default_rng([self.seed, salt])
                    out = rng.standard_normal(a.shape, dtype=np.float32)  # float32: 4 bytes per pixel
                    out *= np.float32(self._noise(kind))
                    out += a
                return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)), kind
            if kind in PCA_FLOWS:
                return self._prepare_pca(a, train, salt), kind
            if kind == "ae":
                return self._encode(a, train, salt, notes), kind
            a = a.reshape(len(a), -1).astype(np.float64)
        elif kind in ("glow", *PCA_FLOWS, *ENCODED):
            raise ValueError(
                f"mienf: flow={kind} needs images of shape (n, 1, s, s); got flat vectors of shape "
                f"{a.shape} (use flow=realnvp or flow=spline for vectors)"
            )
        if kind == "auto":
            kind = "realnvp"
        a = self._marginal_map(a, train, kind)
        if a.shape[1] == 1:
            rng = np.random.default_rng([self.seed, salt, 1])
            a = np.column_stack([a, rng.standard_normal(len(a))])
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)), kind

    def _finish_images(self, xt, yt, kx: str, ky: str, train: np.ndarray):
        """PCA flows: optional canonical rotation of the whitened components, keep ``pca_dim``;
        PCA and autoencoder codes: the ``marginals`` map (fitted on the training split), float32."""
        both = kx in PCA_FLOWS and ky in PCA_FLOWS
        if self.rotate == "cca" and not both:
            raise ValueError(f"mienf: rotate=cca needs a PCA flow (images) for both x and y, got flows {kx}, {ky}")
        if both and self.rotate != "pca":
            xt, yt = cca_rotate(xt, yt, train)
        out = []
        for a, kind in ((xt, kx), (yt, ky)):
            if kind in PCA_FLOWS or kind in ENCODED:
                a = self._marginal_map(a[:, : self.pca_dim] if kind in PCA_FLOWS else a, train, kind)
                a = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
            out.append(a)
        return out

    def _prepare_pca(self, a: np.ndarray, train: np.ndarray, salt: int) -> np.ndarray:
        """Images -> the leading ``pca_dim`` whitened principal components (float32 (n, pca_dim)).

        noisy pixels (n, s*s) -> PCAWhiten fitted on the training split (an invertible affine map of
        R^(s*s), constant log-determinant) -> keep the first pca_dim coordinates (the others are
        modelled as independent N(0, 1) factors of the target, carrying no MI, so they do not enter
        the training loss beyond a constant) -> the ``marginals`` map fitted on the training split.
        """
        flat = a.reshape(len(a), -1).astype(np.float64)
        if self.pca_dim > flat.shape[1]:
            raise ValueError(f"mienf: pca_dim={self.pca_dim} exceeds the {flat.shape[1]} pixels of "
                             f"{a.shape[2]}x{a.shape[3]} images")
        if self._noise("pca") > 0:
            rng = np.random.default_rng([self.seed, salt])
            flat += self._noise("pca") * rng.standard_normal(flat.shape)
        keep = self.pca_dim if self.rotate == "pca" else max(self.pca_dim, min(CCA_POOL, flat.shape[1]))
        return PCAWhiten.fit(flat[train], keep=keep).transform_numpy(flat)

    def _encode(self, a: np.ndarray, train: np.ndarray, salt: int, notes: dict) -> np.ndarray:
        """flow=ae: images -> the ``ae_dim`` code of every row, from a convolutional autoencoder of
        this variable alone fitted on the training split (``AutoencoderKNN.encode``), so neither
        the held-out rows nor the other variable leak into the compression."""
        ae = AutoencoderKNN(latent_dim=self.ae_dim, steps=self.ae_steps, seed=self.seed, device=self.device,
                            **AE_SETTINGS)
        codes, mse = ae.encode(a, train, np.arange(len(a)), salt=salt)
        # AutoencoderKNN.encode's "test" rows are every row here
        notes.setdefault("reconstruction_mse", {})["xy"[salt - 1]] = {"train": mse["train"], "all": mse["test"]}
        return codes

    def _marginal_map(self, a: np.ndarray, train: np.ndarray, kind: str) -> np.ndarray:
        """The coordinate-wise ``marginals`` map fitted on the training split; ``auto`` is affine for
        the image flows' components and codes (a rank map's wiggle swamps MI above ~5 nats per
        pair there; docs/images.md) and rank-based for vectors (heavy tails do not starve the flow)."""
        how = self.marginals
        if how == "auto":
            how = "standardize" if kind in PCA_FLOWS or kind in ENCODED else "gaussianize"
        return gaussianize_train(a, train) if how == "gaussianize" else standardize_train(a, train)

    def _bootstrap_se(self, target, zx, zy, rounds: int = 200) -> float:
        """Standard error of the held-out refit: its spread over bootstrap resamples of held-out rows."""
        rng = np.random.default_rng([self.seed, 3])
        n = len(zx)
        vals = [target.refit_mi(zx[i], zy[i]) for i in (rng.integers(0, n, n) for _ in range(rounds))]
        return float(np.std(vals, ddof=1))

    def _noise(self, kind: str) -> float:
        if self.noise is not None:
            return float(self.noise)
        return PCA_NOISE if kind in PCA_FLOWS else GLOW_NOISE

    def _budget(self, kx: str, ky: str) -> dict:
        """steps, lr and width: the given values, else those of the flow kind (any image flow wins)."""
        kind = next((k for k in (kx, ky) if k == "glow" or k in PCA_FLOWS), "vector")
        steps, lr, width = BUDGETS["pca" if kind in PCA_FLOWS else kind]
        return {"steps": self.steps or steps, "lr": self.lr or lr, "width": self.width or width}

    def _build_flow(self, data: torch.Tensor, kind: str, budget: dict) -> nn.Module:
        if kind == "glow":
            if data.shape[-2] != data.shape[-1]:
                raise ValueError(f"mienf: flow=glow needs square images, got {data.shape[-2]} x {data.shape[-1]} "
                                 "(flow=pca takes any image shape)")
            return GlowFlow(data.shape[-1], self.depth or 2, budget["width"], self.head_dim)
        depth = self.depth or (6 if data.shape[1] <= 10 else 2)
        bound = PCA_COUPLING_BOUND if kind in PCA_FLOWS else None
        couplings = "realnvp" if kind in ENCODED else PCA_FLOWS.get(kind, kind)
        return VectorFlow(data.shape[1], depth, budget["width"], couplings, bound)

    def _train(self, model, xt, yt, train, dev, budget):
        n_steps, lr = budget["steps"], budget["lr"]
        fx, fy, target = model
        params = [p for p in model.parameters() if p.requires_grad]
        groups = [{"params": list(fx.parameters()) + list(fy.parameters())},
                  {"params": list(target.parameters()), "lr": 10 * lr, "weight_decay": 0.0}]
        opt = torch.optim.Adam(groups, lr=lr, weight_decay=self.weight_decay, foreach=True)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_steps)
        gen = torch.Generator().manual_seed(self.seed + 7)
        train_t = torch.from_numpy(train)
        bs = min(self.batch_size, len(train))
        dims = float(xt[0].numel() + yt[0].numel())
        # ActNorm layers initialise on their first batch: give them a large one
        with torch.no_grad():
            init = train_t[torch.randperm(len(train_t), generator=gen)[: min(len(train_t), 2048)]]
            zx0, _ = fx(xt[init].to(dev))
            zy0, _ = fy(yt[init].to(dev))
            target.init_from(zx0, zy0)
        curve, running = [], []
        model.train()
        for step in range(1, n_steps + 1):
            idx = train_t[torch.randint(len(train_t), (bs,), generator=gen)]
            bx, by = xt[idx].to(dev), yt[idx].to(dev)
            zx, ldx = fx(bx)
            zy, ldy = fy(by)
            if not (torch.isfinite(ldx).all() and torch.isfinite(ldy).all()):
                raise FloatingPointError(f"mienf: the flow's log-determinant became non-finite at training step {step}")
            try:
                log_q = target.log_prob(zx, zy)
            except ValueError as exc:  # torch.distributions' check of the target's (non-finite) parameters
                if "Expected parameter" not in str(exc):
                    raise
                raise FloatingPointError(f"mienf: the target's parameters left their domain at training step {step} "
                                         f"({str(exc).split(' of distribution')[0]})") from None
            loss = -(log_q + ldx + ldy).mean()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"mienf: the log-likelihood became non-finite at training step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if not torch.isfinite(torch.nn.utils.clip_grad_norm_(params, 10.0)):
                raise FloatingPointError(f"mienf: the gradient became non-finite at training step {step}")
            opt.step()
            sched.step()
            running.append(loss.item())
            if step % self.eval_every == 0 or step == n_steps:
                curve.append([step, float(np.mean(running)) / dims, float(target.mi().item())])
                running = []
        model.eval()
        return curve

    @torch.no_grad()
    def _heldout(self, model, xt, yt, test, dev):
        fx, fy, target = model
        ratios, zxs, zys = [], [], []
        for s in range(0, len(test), 1024):
            idx = torch.from_numpy(test[s : s + 1024])
            zx, _ = fx(xt[idx].to(dev))
            zy, _ = fy(yt[idx].to(dev))
            if not (torch.isfinite(zx).all() and torch.isfinite(zy).all()):
                raise FloatingPointError("mienf: non-finite embeddings of held-out data after training")
            ratios.append(target.log_ratio(zx, zy).double().cpu().numpy())
            zxs.append(zx[:, : fx.head].double().cpu().numpy())
            zys.append(zy[:, : fy.head].double().cpu().numpy())
        return np.concatenate(ratios), np.concatenate(zxs), np.concatenate(zys)
