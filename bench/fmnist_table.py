# usage: python3 bench/fmnist_table.py [OUT.csv]   (numpy; reads Debian's dataset-fashion-mnist)
# A CSV table for the representation task: Fashion-MNIST images average-pooled 4x4 -> 7x7 = 49
# numeric features (f0..f48) and the class label (last column), the first 5000 training images.
import gzip, numpy as np
d = "/usr/share/datasets/fashion-mnist/"
x = np.frombuffer(gzip.open(d + "train-images-idx3-ubyte.gz").read()[16:], np.uint8)
y = np.frombuffer(gzip.open(d + "train-labels-idx1-ubyte.gz").read()[8:], np.uint8)
x = x.reshape(-1, 28, 28)[:5000].astype(np.float32) / 255.0
p = x.reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).reshape(-1, 49)
import sys
out = sys.argv[1] if len(sys.argv) > 1 else "fmnist-pooled.csv"
with open(out, "w") as f:
    f.write(",".join("f%d" % i for i in range(49)) + ",label\n")
    for row, lab in zip(p, y[:5000]):
        f.write(",".join("%.4f" % v for v in row) + ",%d\n" % lab)
