"""PyTorch eager, written the fast way: the data as tensors once, one permutation per epoch
applied to the whole data set (one gather), then a plain loop over contiguous slices; the
output activation folded into the loss (BCE with logits, cross-entropy on logits); the fused
CPU Adam (the fastest of torch's three Adams here), the multi-tensor (foreach) RMSprop;
no DataLoader, no .item()."""

from ..workloads import BN_EPSILON, BN_MOMENTUM
from .base import Implementation, hidden_activation_layers, require


def _optimizer(torch, opt, params):
    s = opt.settings
    if opt.name == "sgd":
        return torch.optim.SGD(params, lr=opt.lr)
    if opt.name == "adam":
        return torch.optim.Adam(params, lr=opt.lr, betas=(s["beta_1"], s["beta_2"]),
                                eps=s["epsilon"], fused=True)
    if opt.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=opt.lr, alpha=s["rho"], eps=s["epsilon"],
                                   foreach=True)
    raise ValueError(f"unknown optimizer {opt.name!r}")


def build_net(torch, workload, weights):
    nn = torch.nn
    activations = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
    modules, width, k = [], workload.d, 0
    for spec in hidden_activation_layers(workload):
        if spec[0] == "dense":
            linear = nn.Linear(width, spec[1])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(weights[2 * k].T.copy()))
                linear.bias.copy_(torch.from_numpy(weights[2 * k + 1]))
            modules.append(linear)
            k += 1
            width = spec[1]
            if spec[2] != "linear":
                modules.append(activations[spec[2]]())
        elif spec[0] == "batchnorm":
            modules.append(nn.BatchNorm1d(width, eps=BN_EPSILON, momentum=1.0 - BN_MOMENTUM))
        elif spec[0] == "activation":
            modules.append(activations[spec[1]]())
        elif spec[0] == "dropout":
            modules.append(nn.Dropout(spec[1]))
    return nn.Sequential(*modules)


class TorchEagerImpl(Implementation):
    name = "torch"
    label = "PyTorch eager"

    def __init__(self, workload, X, y, weights, training=True):
        super().__init__(workload, X, y, weights, training)
        torch = self.torch = require("torch")
        torch.manual_seed(workload.seed)
        self.generator = torch.Generator().manual_seed(workload.seed)
        self.net = build_net(torch, workload, weights)
        if training:
            self.opt = _optimizer(torch, workload.optimizer, self.net.parameters())
        self.X = torch.from_numpy(X)
        if workload.loss == "bce":
            self.y = torch.from_numpy(y.reshape(-1, 1))
            self.loss = torch.nn.functional.binary_cross_entropy_with_logits
        else:
            self.y = torch.from_numpy(y)
            self.loss = torch.nn.functional.cross_entropy

    def train_epoch(self, shuffle=True):
        torch, net, opt, loss_fn = self.torch, self.net, self.opt, self.loss
        n, batch = self.workload.n, self.workload.batch
        if shuffle:
            perm = torch.randperm(n, generator=self.generator)
            X, y = self.X[perm], self.y[perm]
        else:
            X, y = self.X, self.y
        net.train()
        for start in range(0, n, batch):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(X[start:start + batch]), y[start:start + batch])
            loss.backward()
            opt.step()

    def predict_proba(self, X):
        torch = self.torch
        self.net.eval()
        with torch.inference_mode():
            z = self.net(torch.from_numpy(X))
            p = torch.sigmoid(z) if self.workload.loss == "bce" else torch.softmax(z, dim=1)
            return p.numpy()

