"""Speed of the reference network in PyTorch on one thread, for run.sh.

Same model, data formula, batches and figure names as nn_bench.c: prints
"name value unit" lines, or one "skipped" line when torch cannot be imported.
Rates are per second of process CPU time, as in nn_bench.c.
"""
import sys
import time

try:
    import torch
except ImportError:
    print("nn_bench_torch: skipped, python3 cannot import torch")
    sys.exit(0)

SAMPLES = 65536
MUL = (7919, 104729, 1299709, 15485863, 179424673, 2038074743)
ADD = (0, 17, 101, 313, 557, 907)
MACS = 6 * 64 + 64 * 64 + 64 * 3
TRAIN_FLOP = 2 * (3 * MACS - 6 * 64)


def make_data():
    """Returns inputs and class indices from the formula nn_bench.c states."""
    rows = [[((i * MUL[j] + ADD[j]) % 1009) / 504.5 - 1 for j in range(6)]
            for i in range(SAMPLES)]
    x = torch.tensor(rows, dtype=torch.float32)
    diff = x[:, 0] - x[:, 1]
    y = torch.ones(SAMPLES, dtype=torch.long)
    y[diff > 0.3] = 0
    y[diff < -0.3] = 2
    return x, y


def make_model():
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Linear(6, 64), torch.nn.ReLU(), torch.nn.Dropout(0.5),
        torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Dropout(0.5),
        torch.nn.Linear(64, 3))


def bench_train(model, x, y, batch, epochs):
    """Returns samples/s over epochs timed passes, after one untimed pass."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    start = 0.0
    for epoch in range(epochs + 1):
        if epoch == 1:
            start = time.process_time()
        for i in range(0, SAMPLES - batch + 1, batch):
            opt.zero_grad()
            loss = loss_fn(model(x[i:i + batch]), y[i:i + batch])
            loss.backward()
            opt.step()
    return epochs * (SAMPLES // batch * batch) / (time.process_time() - start)


def bench_predict(model, x, calls=20000):
    """Returns the mean ns of one eval-mode prediction of one sample."""
    model.eval()
    with torch.no_grad():
        for i in range(1000):
            torch.softmax(model(x[i:i + 1]), dim=1)
        start = time.process_time()
        for i in range(calls):
            torch.softmax(model(x[i:i + 1]), dim=1)
        return (time.process_time() - start) * 1e9 / calls


def main():
    torch.set_num_threads(1)
    x, y = make_data()
    rate32 = bench_train(make_model(), x, y, 32, 1)
    model = make_model()
    rate256 = bench_train(model, x, y, 256, 2)
    print(f"nn_train_b32 {rate32:.0f} samples/s")
    print(f"nn_train_b256 {rate256:.0f} samples/s")
    print(f"nn_infer_1 {bench_predict(model, x):.1f} ns")
    print(f"nn_train_flop {TRAIN_FLOP} FLOP/sample")
    print(f"nn_gflops_b32 {rate32 * TRAIN_FLOP / 1e9:.2f} GFLOP/s")
    print(f"nn_gflops_b256 {rate256 * TRAIN_FLOP / 1e9:.2f} GFLOP/s")


main()
