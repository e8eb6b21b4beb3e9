"""tests/python/official_port.py — an independent transcription of the official conv-mode MinMax
attack (IBM/UAE, Unsupversied/unsupervised_attack.py: MiNetwork and MINE_unsupervised; for a
classifier checkpoint Supervised/supervised_attack.py's MINE_supervised, untargeted), in PyTorch
float64, started from uaekit's initial state (`uae attack --dump-init`) and compared iterate by
iterate with uaekit's trace (`uae attack --trace --trace-delta`). Random mode (`--samples random`)
takes the projection matrices from the dump, one per iteration as uaekit draws them (the official
code draws one per session run: a documented deviation that a dump cannot reproduce).

It is written from the official code's structure, not from uaekit's C: TF's NHWC layout and
variables (the dump's tensors are mapped onto the official variables by the table of
docs/method.md, "The attack's initial state", which this script thereby checks), one image at a
time (the official batch_size = 1), one session run at a time:

    per iteration t:  run([train, loss1, loss, newimg])     # delta step; MI with a fresh shuffle
                      20 x run([mi_train, MI])              # each with its own fresh shuffle
                      CONST = (1 - 0.1 (t+1)^-0.25) CONST + 0.1 loss1

MINE's optimizer is TF 1's AdamOptimizer (epsilon added to sqrt(v), lr scaled by
sqrt(1 - b2^t) / (1 - b1^t)). Two documented deviations of uaekit (docs/method.md section 6) are
options: --box official (x' = clip(x + delta, 0, 1), delta clipped to [-eps, eps] only) versus
uaekit's projection of delta itself, and the recorded MI (the official code pairs iterate t's image
and violation with the MI of the last MINE step, at x'_{t+1}). The comparison uses uaekit's
choices for both and reports what the official ones would have selected.

Usage: official_port.py MODEL.safetensors ADV.safetensors INIT.safetensors TRACE.jsonl
           --iterations T --mine-steps K --mine-lr LR [--check-iters 10] [--min-images 16]
           [--labels IDX --first I (classifiers)] [--box official] [--adam pytorch]
Exit status 0 if every check holds, 1 otherwise; prints the figures.
"""
import argparse
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def load_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    out = {"__metadata__": head.get("__metadata__", {})}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        # F32 tensors, and the I64 index and U8 success flags of adversarial.safetensors
        dtype = {"F32": "<f4", "I64": "<i8", "U8": "u1"}[v["dtype"]]
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=dtype).reshape(v["shape"]).copy()
    return out


# ---- the attacked model (uaekit's conv-ae checkpoint: convAE.py, 5x5 "same" convolutions) ------

class ConvAE:
    def __init__(self, ck):
        self.w = {k: torch.tensor(v) for k, v in ck.items() if k.startswith("conv")}

    def conv(self, i, x, act):
        y = F.conv2d(x, self.w[f"conv{i}.weight"], self.w[f"conv{i}.bias"], padding=2)
        return torch.relu(y) if act == "relu" else torch.sigmoid(y)

    def conv1(self, x):  # the official model.conv1: the first layer, ReLU (NCHW here)
        return self.conv(1, x, "relu")

    def predict(self, x):
        h = F.max_pool2d(self.conv1(x), 2)
        h = F.max_pool2d(self.conv(2, h, "relu"), 2)
        h = F.interpolate(self.conv(3, h, "relu"), scale_factor=2, mode="nearest")
        h = F.interpolate(self.conv(4, h, "relu"), scale_factor=2, mode="nearest")
        return self.conv(5, h, "sigmoid")


class Classifier:
    """uaekit's classifier checkpoint: the C&W MNIST network of the official train_models.py
    (valid 3x3 convolutions, ReLU, max-pooling after the 2nd and 4th; logits)."""

    def __init__(self, ck):
        self.w = {k: torch.tensor(v) for k, v in ck.items() if k != "__metadata__"}

    def conv(self, i, x):
        return torch.relu(F.conv2d(x, self.w[f"conv{i}.weight"], self.w[f"conv{i}.bias"]))

    def dense(self, name, x):
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def conv1(self, x):
        return self.conv(1, x)

    def predict(self, x):  # logits (the official "prediction BEFORE-SOFTMAX")
        h = F.max_pool2d(self.conv(2, self.conv1(x)), 2)
        h = F.max_pool2d(self.conv(4, self.conv(3, h)), 2)
        h = torch.relu(self.dense("fc1", h.reshape(h.shape[0], -1)))
        return self.dense("logits", torch.relu(self.dense("fc2", h)))


def load_labels(path, first, n):
    """Labels first .. first + n - 1 of an IDX label file (gzip or not)."""
    import gzip
    raw = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
    return list(raw[8 + first:8 + first + n])


# ---- MiNetwork, with the official variables M_0 .. M_9 ------------------------------------------

def official_variables(init, i):
    """The dump's tensors of example i as the official TF variables (docs/method.md's table):
    conv kernels (kh, kw, in, out) HWIO, dense kernels (in, out), the first dense layer's rows in
    TF's NHWC flatten order (h, w, f)."""
    v = {}
    for br, (conv, d1, d2) in {"x": ("M_0", "M_2", "M_3"), "y": ("M_4", "M_6", "M_7")}.items():
        if f"mine.{br}.conv.weight" not in init:  # random mode: the dense MiNetwork
            v[d1 + "/kernel"] = init[f"mine.{br}.fc1.weight"][i].T
            v[d1 + "/bias"] = init[f"mine.{br}.fc1.bias"][i]
            v[d2 + "/kernel"] = init[f"mine.{br}.fc2.weight"][i].T
            v[d2 + "/bias"] = init[f"mine.{br}.fc2.bias"][i]
            continue
        cw = init[f"mine.{br}.conv.weight"][i]            # (F, 1, k, k) OIHW
        v[conv + "/kernel"] = cw.transpose(2, 3, 1, 0)    # (k, k, 1, F)
        v[conv + "/bias"] = init[f"mine.{br}.conv.bias"][i]
        w1 = init[f"mine.{br}.fc1.weight"][i]              # (hidden, F * H' * W'), (f, h, w) order
        Fn = cw.shape[0]
        side = int(round(math.sqrt(w1.shape[1] / Fn)))
        w1 = w1.reshape(w1.shape[0], Fn, side, side).transpose(2, 3, 1, 0)  # (h, w, f, hidden)
        v[d1 + "/kernel"] = w1.reshape(-1, w1.shape[-1])
        v[d1 + "/bias"] = init[f"mine.{br}.fc1.bias"][i]
        v[d2 + "/kernel"] = init[f"mine.{br}.fc2.weight"][i].T
        v[d2 + "/bias"] = init[f"mine.{br}.fc2.bias"][i]
    v["M_9/kernel"] = init["mine.out.weight"][i].T          # (H, 1), no bias
    return {k: torch.tensor(a, requires_grad=True) for k, a in v.items()}


def conv2d_nhwc(x, kernel, bias):  # tf.layers.conv2d(x, F, k, (1, 1)), padding "valid"
    y = F.conv2d(x.permute(0, 3, 1, 2), kernel.permute(3, 2, 0, 1), bias)
    return y.permute(0, 2, 3, 1)


def mi_network(v, x_in, y_in, perm):
    """MiNetwork(x_in, y_in, mine_batch_): conv, x_in, y_in (N, H, W, 1); random_sampling (the
    dense branches), (N, 128); perm is tf.random_shuffle's draw."""
    y_shuffle = y_in[perm]
    x_conc = torch.cat([x_in, x_in], 0)
    y_conc = torch.cat([y_in, y_shuffle], 0)
    lx, ly = x_conc, y_conc
    if "M_0/kernel" in v:
        lx = conv2d_nhwc(x_conc, v["M_0/kernel"], v["M_0/bias"]).reshape(x_conc.shape[0], -1)
        ly = conv2d_nhwc(y_conc, v["M_4/kernel"], v["M_4/bias"]).reshape(y_conc.shape[0], -1)
    lx = lx @ v["M_2/kernel"] + v["M_2/bias"]
    lx = lx @ v["M_3/kernel"] + v["M_3/bias"]
    ly = ly @ v["M_6/kernel"] + v["M_6/bias"]
    ly = ly @ v["M_7/kernel"] + v["M_7/bias"]
    out = torch.relu(lx + ly) @ v["M_9/kernel"]
    n = x_in.shape[0]
    T_xy, T_x_y = out[:n], out[n:]
    return T_xy.mean(0)[0] - torch.log(torch.exp(T_x_y).mean())


class TF1Adam:
    """tf.train.AdamOptimizer(lr): m, v; lr_t = lr sqrt(1 - b2^t) / (1 - b1^t);
    var -= lr_t m / (sqrt(v) + epsilon)."""

    def __init__(self, params, lr, b1=0.9, b2=0.999, eps=1e-8, hat=True):
        self.p, self.lr, self.b1, self.b2, self.eps, self.t = params, lr, b1, b2, eps, 0
        self.hat = hat  # False: epsilon added to sqrt(v / (1 - b2^t)) (PyTorch's, Keras')
        self.m = [torch.zeros_like(q) for q in params]
        self.v = [torch.zeros_like(q) for q in params]

    def step(self):
        self.t += 1
        lr_t = self.lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        eps = self.eps if self.hat else self.eps * math.sqrt(1 - self.b2 ** self.t)
        with torch.no_grad():
            for q, m, v in zip(self.p, self.m, self.v):
                g = q.grad
                m.mul_(self.b1).add_((1 - self.b1) * g)
                v.mul_(self.b2).add_((1 - self.b2) * g * g)
                q.sub_(lr_t * m / (v.sqrt() + eps))
                q.grad = None


def cw_loss1(model, img, label, kappa):
    """MINE_supervised's loss1 (untargeted): max(0, real - other + CONFIDENCE) on the logits."""
    out = model.predict(img)
    tlab = F.one_hot(torch.tensor([label]), out.shape[1]).to(out.dtype)
    real = (tlab * out).sum(1)
    other = ((1 - tlab) * out - tlab * 10000).max(1).values
    return torch.clamp(real - other + kappa, min=0.0)[0], out


PROJ_DIM = [0]  # random mode: p, from the dump's MINE input width


def standardized(img):
    """The official standardized(): each row minus its mean, over its (population) std."""
    mean = img.mean(1, keepdim=True)
    var = ((img - mean) ** 2).mean(1, keepdim=True)
    return (img - mean) / torch.sqrt(var)


def samples(model, img, proj):
    """The MINE samples of one image: conv mode, transpose(model.conv1(img), [3, 1, 2, 0]) (K, H',
    W', 1); random_sampling, standardized(dot(reshape(img, [d]), matrix)) (500, 128) with the
    official matrix (500, d, 128) = the dump's (d, M*p) seen as (d, M, p), transposed."""
    if proj is None:
        return model.conv1(img).permute(1, 2, 3, 0)
    d, p = proj.shape[0], PROJ_DIM[0]
    matrix = proj.reshape(d, -1, p).permute(1, 0, 2)  # (M, d, p)
    return standardized(torch.einsum("d,mdp->mp", img.reshape(d), matrix))


def attack_one(model, x, init, i, a, label=None):
    """The official attack_batch for one image (1, C, H, W), from example i of the dump:
    MINE_unsupervised's (label None), or MINE_supervised's untargeted one."""
    C, H, W = x.shape[1:]
    eps, lr, boxmin, boxmax = a.eps, a.lr, 0.0, 1.0
    v = official_variables(init, i)
    perms = torch.tensor(init["perm"][i]).long()
    draw = 0
    mi_train = TF1Adam(list(v.values()), a.mine_lr, hat=a.adam == "tf1")
    modifier = torch.tensor(init["delta0"][i][None]).clone()
    if a.box == "uaekit":  # uaekit projects delta_0 onto the box as well
        modifier = torch.clamp(modifier, -eps, eps)
        modifier = torch.minimum(torch.maximum(modifier, boxmin - x), boxmax - x)
    # random mode: uaekit's one matrix per iteration (docs/method.md; the official code draws
    # one per sess.run, which a dump cannot reproduce), shared by the delta step and MINE steps
    projs = torch.tensor(init["proj"]) if "proj" in init else None
    proj = projs[0] if projs is not None else None
    # x_batch = transpose(conv1(timg), [3, 1, 2, 0]): one sample per channel, (K, H, W, 1)
    x_batch = samples(model, x, proj).detach()
    real = ((x - model.predict(x)) ** 2).sum() if label is None else None
    CONST = a.c0
    rec = []
    for it in range(a.iterations):
        # run([train, loss1, loss, newimg]): the forward pass at delta_t, then the delta step
        if projs is not None and it > 0:
            proj = projs[it]
            x_batch = samples(model, x, proj).detach()
        mod = modifier.clone().requires_grad_(True)
        newimg = torch.clamp(mod + x, boxmin, boxmax) if a.box == "official" else mod + x
        y_batch = samples(model, newimg, proj)
        MI = mi_network({k: q.detach() for k, q in v.items()}, x_batch, y_batch, perms[draw])
        draw += 1
        if label is None:
            fake = ((x - model.predict(newimg)) ** 2).sum()
            loss1 = torch.clamp(fake - real, min=0.0)
            loss = CONST * loss1 + MI
        else:
            loss1, scores = cw_loss1(model, newimg, label, a.kappa)
            fake = loss1 - a.kappa  # uaekit's trace: the margin max(f, -kappa)
            loss = CONST * loss1 - MI
        loss.backward()
        # the perturbation in effect, x'_t - x (= modifier with uaekit's box; officially the
        # modifier may leave the box, only clip(x + modifier) counts)
        r = {"t": it, "delta": (newimg - x).detach(), "I": MI.item(), "l": loss1.item(),
             "loss_adv": fake.item(), "c": CONST}
        with torch.no_grad():
            modifier = torch.clamp(modifier - lr * mod.grad, -eps, eps)  # the variable's constraint
            if a.box == "uaekit":
                modifier = torch.minimum(torch.maximum(modifier, boxmin - x), boxmax - x)
        # 20 x run([mi_train, MI]) on (x, x'_{t+1}); each run draws its own shuffle
        with torch.no_grad():
            newimg = torch.clamp(modifier + x, boxmin, boxmax) if a.box == "official" else modifier + x
            y_batch = samples(model, newimg, proj)
        mine_I = []
        for _ in range(a.mine_steps):
            mi = mi_network(v, x_batch, y_batch, perms[draw])
            draw += 1
            (-mi).backward()
            mi_train.step()
            mine_I.append(mi.item())
        r["mine_I"] = mine_I
        CONST = (1 - 0.1 * (1 / ((it + 1) ** 0.25))) * CONST + 0.1 * r["l"]
        CONST = max(CONST, 0.0)
        rec.append(r)
    return rec


def select(rec, mi_of, supervised=False):
    """The official selection: the smallest MI among fx == 0 and MI > 0 (ties: the first), else
    the smallest fx (ties: the first). Supervised: the largest MI among iterates that change the
    label (fx == 0 with CONFIDENCE 0; the official code's compare()); uaekit falls back to the
    smallest fx where the official code returns no image."""
    best, bestv, fb, fbv = -1, 1e10, -1, 1e10
    if supervised:
        bestv = -1e10
        for r in rec:
            if r["l"] == 0 and mi_of(r) > bestv:
                best, bestv = r["t"], mi_of(r)
            if r["l"] < fbv:
                fb, fbv = r["t"], r["l"]
        return best if best >= 0 else fb
    for r in rec:
        mi, fx = mi_of(r), r["l"]
        if fx == 0 and mi > 0 and mi < bestv:
            best, bestv = r["t"], mi
        if fx < fbv:
            fb, fbv = r["t"], fx
    return best if best >= 0 else fb


def main():
    p = argparse.ArgumentParser()
    for k in ("model", "adv", "init", "trace"):
        p.add_argument(k)
    p.add_argument("--iterations", type=int, required=True)
    p.add_argument("--mine-steps", type=int, required=True)
    p.add_argument("--mine-lr", type=float, required=True)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--eps", type=float, default=1.0)
    p.add_argument("--c0", type=float, default=1e-3)
    p.add_argument("--kappa", type=float, default=0.0)
    p.add_argument("--labels", help="IDX label file (the supervised attack's true classes)")
    p.add_argument("--first", type=int, default=0, help="the first example's index (labels)")
    p.add_argument("--box", choices=("uaekit", "official"), default="uaekit")
    p.add_argument("--adam", choices=("tf1", "pytorch"), default="tf1")
    p.add_argument("--check-iters", type=int, default=10)
    p.add_argument("--min-images", type=int, default=16)
    p.add_argument("--delta-tol", type=float, default=1e-4)
    p.add_argument("--mi-rtol", type=float, default=1e-3)
    # I is a difference of two means of T values of order 0.1 to 1, computed in float32 by
    # uaekit: its rounding is ~1e-7 whatever I is, so an I of 1e-5 (MINE hardly trained at the
    # official lr) cannot agree to 1e-3 relative; 1e-6 is ten times the rounding seen
    p.add_argument("--mi-atol", type=float, default=1e-6)
    a = p.parse_args()

    ck = load_safetensors(a.model)
    supervised = ck["__metadata__"].get("uae.model") == "classifier"
    model = Classifier(ck) if supervised else ConvAE(ck)
    xs = load_safetensors(a.adv)["x"]
    init = load_safetensors(a.init)
    PROJ_DIM[0] = init["mine.x.fc1.weight"].shape[2]
    trace = {}
    for line in open(a.trace):
        o = json.loads(line)
        trace.setdefault(o["index"], []).append(o)
    n = xs.shape[0]
    labels = load_labels(a.labels, a.first, n) if supervised else [None] * n
    bad = 0
    if n < a.min_images:
        print(f"FAIL: {n} images, the check needs {a.min_images}")
        bad += 1
    dmax = [0.0] * a.check_iters
    mirel = [0.0] * a.check_iters
    miabs = [0.0] * a.check_iters
    miabs_ok = [True] * a.check_iters
    mstep_rel = mstep_abs = loss_rel = 0.0
    agree = agree_off = 0
    for i in range(n):
        rec = attack_one(model, torch.tensor(xs[i:i + 1]), init, i, a, labels[i])
        tr = sorted(trace[i], key=lambda o: o["t"])
        assert len(tr) == a.iterations, (i, len(tr))
        for t in range(a.check_iters):
            d = np.abs(rec[t]["delta"].numpy().ravel() - np.array(tr[t]["delta"])).max()
            dmax[t] = max(dmax[t], float(d))
            rel = abs(rec[t]["I"] - tr[t]["I"]) / max(abs(rec[t]["I"]), 1e-6)
            mirel[t] = max(mirel[t], rel)
            miabs[t] = max(miabs[t], abs(rec[t]["I"] - tr[t]["I"]))
            # 1e-3 relative, with a floor of a.mi_atol for I near 0 (see --mi-atol)
            if abs(rec[t]["I"] - tr[t]["I"]) > a.mi_rtol * abs(rec[t]["I"]) + a.mi_atol:
                miabs_ok[t] = False
            for u, w in zip(rec[t]["mine_I"], tr[t]["mine_I"]):
                mstep_rel = max(mstep_rel, abs(u - w) / max(abs(u), 1e-6))
                mstep_abs = max(mstep_abs, abs(u - w))
        sel_uae = [o["t"] for o in tr if o["selected"]]
        sel_port = select(rec, lambda r: r["I"], supervised)
        # the official code's pairing: iterate t's image and fx with the last MINE step's MI
        sel_off = select(rec, lambda r: r["mine_I"][-1] if r["mine_I"] else r["I"], supervised)
        for t in range(a.iterations):  # the loss of each iterate (SSE, or the C&W margin)
            lrel = abs(rec[t]["loss_adv"] - tr[t]["loss_adv"]) / max(abs(rec[t]["loss_adv"]), 1e-3)
            loss_rel = max(loss_rel, lrel) if t < a.check_iters else loss_rel
        agree += sel_uae == [sel_port]
        agree_off += sel_uae == [sel_off]
        if sel_uae != [sel_port]:
            print(f"FAIL: image {i}: uaekit selected {sel_uae}, the port {sel_port}")
            bad += 1
    print("iteration  max|delta_port - delta_uae|  max rel. diff of I_t  (abs.)")
    for t in range(a.check_iters):
        print(f"{t:9d}  {dmax[t]:.3e}                   {mirel[t]:.3e}            ({miabs[t]:.1e})")
        if dmax[t] > a.delta_tol or miabs_ok[t] is False:
            print(f"FAIL: iteration {t} beyond the tolerances (delta {a.delta_tol}, I {a.mi_rtol} "
                  f"relative + {a.mi_atol})")
            bad += 1
    print(f"max rel. diff of the MINE steps' bounds over the first {a.check_iters} iterations: "
          f"{mstep_rel:.3e} (abs. {mstep_abs:.1e})")
    print(f"max rel. diff of l(x'_t) ({'the C&W margin' if supervised else 'SSE'}) over the "
          f"first {a.check_iters} iterations: {loss_rel:.3e}")
    if loss_rel > a.mi_rtol:
        print("FAIL: the losses differ")
        bad += 1
    print(f"selected iterate: uaekit = port for {agree}/{n} images over {a.iterations} iterations; "
          f"the official code's MI pairing (last MINE step's MI) would agree for {agree_off}/{n}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
