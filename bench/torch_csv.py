"""B6's peer: what ``fastnn train DATA.csv --opt rmsprop`` does, as one pandas + PyTorch script.

    python -m bench.torch_csv DATA.csv --epochs N --layers 64,32 --dropout 0 --out model.pt

The same steps as the command's defaults: the last column is the binary target, the last 20% of
the rows validate; each feature standardised with the training rows' mean and population
standard deviation; hidden ReLU layers of the given widths, each followed by dropout at the
given rate (none at 0), and one output, trained with RMSprop (lr 1e-3, rho 0.9, eps 1e-7) on
shuffled batches for N epochs (the benchmark passes the layers, dropout, batch size and number
of epochs of the fastnn run, which its defaults chose from the table's size), the validation
loss computed after every epoch and the best weights kept and saved. Written the fast way for
PyTorch (tensors made once, one permutation per epoch, slices, no DataLoader).
"""

import argparse
import time


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.torch_csv")
    parser.add_argument("data")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--layers", default="64,32", help="hidden widths, comma-separated")
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()

    import numpy as np
    import pandas as pd
    import torch

    from . import threads

    torch.set_num_threads(threads.THREADS)
    torch.manual_seed(args.seed)
    table = pd.read_csv(args.data)
    X = table.iloc[:, :-1].to_numpy(np.float64)
    labels = table.iloc[:, -1].to_numpy()
    classes = np.unique(labels)
    if len(classes) != 2:
        raise SystemExit(f"the target must have two classes, got {len(classes)}")
    y = (labels == classes[1]).astype(np.float32)
    n_train = X.shape[0] - int(round(0.2 * X.shape[0]))
    mean = X[:n_train].mean(axis=0)
    scale = X[:n_train].std(axis=0)
    scale[scale == 0] = 1.0
    X = ((X - mean) / scale).astype(np.float32)
    x_train, y_train = torch.from_numpy(X[:n_train]), torch.from_numpy(y[:n_train, None])
    x_val, y_val = torch.from_numpy(X[n_train:]), torch.from_numpy(y[n_train:, None])

    nn = torch.nn
    layers, width = [], X.shape[1]
    for units in (int(u) for u in args.layers.split(",")):
        layers += [nn.Linear(width, units), nn.ReLU()]
        if args.dropout > 0:
            layers.append(nn.Dropout(args.dropout))
        width = units
    net = nn.Sequential(*layers, nn.Linear(width, 1))
    opt = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7, foreach=True)
    loss_fn = nn.functional.binary_cross_entropy_with_logits
    generator = torch.Generator().manual_seed(args.seed)
    best, best_state = float("inf"), None
    for _ in range(args.epochs):
        perm = torch.randperm(n_train, generator=generator)
        xs, ys = x_train[perm], y_train[perm]
        net.train()
        for i in range(0, n_train, args.batch_size):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xs[i:i + args.batch_size]), ys[i:i + args.batch_size])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val = loss_fn(net(x_val), y_val).item()
        if val < best:
            best = val
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    torch.save(net.state_dict(), args.out)
    print(f"best val_loss {best:.5f} after {args.epochs} epochs, "
          f"{time.perf_counter() - start:.2f} s in the script")


if __name__ == "__main__":
    main()
