#!/usr/bin/python3
"""tests/golden/make_golden.py — writes the PyTorch fixtures that tests/test_golden.c compares
uaekit's dense-ae and conv-ae against. Run by hand (CI has no torch):

    /usr/bin/python3 tests/golden/make_golden.py     # from the repository root

For each model it writes <model>.bin (raw little-endian float32 tensors, one after the other) and
<model>.txt (one line per tensor: name, offset in floats, ndim, shape). Tensors: the input x,
every parameter (uaekit's names, PyTorch's layouts), the output y, the batch-mean loss, every
parameter's gradient ("grad:<name>"), the input's gradient ("grad:x"; the target is x itself, so
it includes the target's path), and "losses": the loss before each of three optimizer steps and
after the last (4 values).

Sizes are small so that the fixtures stay far below 200 KB: dense-ae on 1 x 12 x 12 inputs with a
16-unit code (the preset's layers, smaller), conv-ae on 1 x 28 x 28 (its real size; convolution
weights do not depend on the image size), 4 images each.

The classifier's weights would not fit (65k floats of convolutions), so its fixture stores no
weights: both sides compute them from formula_weight() (sin/cos in double, rounded to float32),
and of each gradient only 16 sampled elements ("gsample:<name>", elements (j * 7919) mod n) and
its sum and sum of squares ("gstats:<name>"). It runs on 1 x 20 x 20 inputs, so that the flatten
before fc1 crosses a 2 x 2 map (its (C, H, W) order is checked), in evaluation mode (no dropout),
with three SGD steps (lr 0.01, Nesterov momentum 0.9).
"""
import math
import os
import struct

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(20221)


def bce_keras(y, t):
    # Keras' binary cross-entropy: predictions clipped to [1e-7, 1 - 1e-7], mean over features.
    p = torch.clamp(y, 1e-7, 1 - 1e-7)
    return -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).flatten(1).mean(1)


def mse(y, t):
    return ((y - t) ** 2).flatten(1).mean(1)


class DenseAE(torch.nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.enc = torch.nn.Linear(d, hidden)
        self.dec = torch.nn.Linear(hidden, d)

    def forward(self, x):
        h = torch.sigmoid(self.enc(x.flatten(1)))
        return torch.sigmoid(self.dec(h)).reshape(x.shape)

    def loss(self, x):
        return mse(self(x).flatten(1), x.flatten(1)).mean()


class ConvAE(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c, 16, 5, padding=2)
        self.conv2 = torch.nn.Conv2d(16, 8, 5, padding=2)
        self.conv3 = torch.nn.Conv2d(8, 8, 5, padding=2)
        self.conv4 = torch.nn.Conv2d(8, 16, 5, padding=2)
        self.conv5 = torch.nn.Conv2d(16, c, 5, padding=2)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = F.interpolate(F.relu(self.conv3(h)), scale_factor=2, mode="nearest")
        h = F.interpolate(F.relu(self.conv4(h)), scale_factor=2, mode="nearest")
        return torch.sigmoid(self.conv5(h))

    def loss(self, x):
        return bce_keras(self(x), x).mean()


def dump(name, model, x, make_opt):
    tensors = [("x", x.detach().clone())]
    params = list(model.named_parameters())
    # Nonzero biases, so that their gradients and updates are exercised.
    with torch.no_grad():
        for n, p in params:
            if n.endswith("bias"):
                p.uniform_(-0.1, 0.1)
    tensors += [(n, p.detach().clone()) for n, p in params]
    xg = x.detach().clone().requires_grad_(True)
    y = model(xg)
    loss = model.loss(xg)
    loss.backward()
    tensors.append(("y", y.detach().clone()))
    tensors.append(("loss", loss.detach().reshape(1)))
    tensors += [("grad:" + n, p.grad.detach().clone()) for n, p in params]
    tensors.append(("grad:x", xg.grad.detach().clone()))
    model.zero_grad()
    opt = make_opt(model.parameters())
    losses = []
    for _ in range(3):
        opt.zero_grad()
        l = model.loss(x)
        losses.append(l.item())
        l.backward()
        opt.step()
    with torch.no_grad():
        losses.append(model.loss(x).item())
    tensors.append(("losses", torch.tensor(losses)))

    offset = write(name, tensors)
    print("%s: %d floats, losses %s" % (name, offset, losses))


class Classifier(torch.nn.Module):
    def __init__(self, c, side, classes):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c, 32, 3)
        self.conv2 = torch.nn.Conv2d(32, 32, 3)
        self.conv3 = torch.nn.Conv2d(32, 64, 3)
        self.conv4 = torch.nn.Conv2d(64, 64, 3)
        f = ((side - 4) // 2 - 4) // 2
        self.fc1 = torch.nn.Linear(64 * f * f, 200)
        self.fc2 = torch.nn.Linear(200, 200)
        self.logits = torch.nn.Linear(200, classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
        h = F.max_pool2d(F.relu(self.conv4(F.relu(self.conv3(h)))), 2)
        h = F.relu(self.fc2(F.relu(self.fc1(h.flatten(1)))))  # dropout: off in evaluation
        return self.logits(h)


def formula_weight(index, i, fan_in):
    # parameter number `index`, element i (row-major); the same formula is in test_golden.c
    if fan_in == 0:  # a bias
        return 0.01 * math.cos(0.9 * i + 0.3 * index)
    return math.sin(1.3 * i + 0.7 * index) / math.sqrt(fan_in)


def dump_classifier():
    side, classes = 20, 10
    model = Classifier(1, side, classes)
    with torch.no_grad():
        for index, (n, p) in enumerate(model.named_parameters()):
            fan_in = 0 if n.endswith("bias") else p[0].numel()
            vals = [formula_weight(index, i, fan_in) for i in range(p.numel())]
            p.copy_(torch.tensor(vals, dtype=torch.float64).to(torch.float32).reshape(p.shape))
    x = torch.rand(4, 1, side, side)
    labels = torch.tensor([3, 0, 7, 9])
    onehot = F.one_hot(labels, classes).to(torch.float32)
    xg = x.clone().requires_grad_(True)
    logits = model(xg)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    tensors = [("x", x), ("onehot", onehot), ("y", logits.detach()), ("loss", loss.detach().reshape(1))]
    for n, p in model.named_parameters():
        g = p.grad.detach().flatten()
        idx = [(j * 7919) % g.numel() for j in range(16)]
        tensors.append(("gsample:" + n, g[idx].clone()))
        g64 = g.to(torch.float64)
        tensors.append(("gstats:" + n, torch.tensor([g64.sum().item(), (g64 * g64).sum().item()])))
    tensors.append(("grad:x", xg.grad.detach().clone()))
    model.zero_grad()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        l = F.cross_entropy(model(x), labels)
        losses.append(l.item())
        l.backward()
        opt.step()
    with torch.no_grad():
        losses.append(F.cross_entropy(model(x), labels).item())
    tensors.append(("losses", torch.tensor(losses)))
    write("classifier", tensors)
    print("classifier: losses %s" % losses)


def write(name, tensors):
    offset = 0
    with open(os.path.join(HERE, name + ".bin"), "wb") as fb, \
            open(os.path.join(HERE, name + ".txt"), "w") as ft:
        for n, t in tensors:
            t = t.detach().to(torch.float32).contiguous()
            fb.write(struct.pack("<%df" % t.numel(), *t.flatten().tolist()))
            ft.write("%s %d %d %s\n" % (n, offset, t.dim(), " ".join(str(s) for s in t.shape)))
            offset += t.numel()
    return offset


dense = DenseAE(144, 16)
dump("dense-ae", dense, torch.rand(4, 1, 12, 12),
     lambda p: torch.optim.RMSprop(p, lr=0.0025, alpha=0.9, eps=1e-7))
conv = ConvAE(1)
dump("conv-ae", conv, torch.rand(4, 1, 28, 28),
     lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-7))
dump_classifier()
