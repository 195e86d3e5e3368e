"""The plan: a built model as the integer and float tables that the compiled kernels run.

See fastnn/kernels/network.py for the tables' columns (``OPS``, ``OPF``) and which ones each op
kind uses (``KIND_COLUMNS``): this module is their one writer. Each layer gives its kind and the
values of its own columns (``Layer.op_columns``), by name; the plan fills the common ones.
Parameter offsets are fixed when the model is built; activation-workspace offsets (each op's
output, then its scratch) depend on the largest batch a call will run, so ``tables(max_rows)``
fills them in for each call that needs a workspace.
"""

import numpy as np

from .kernels import network as net


def write_row(ops_row, opf_row, kind, columns):
    """Write an op's own columns (a {name: value} dict) into its two table rows; ValueError for
    a column its kind does not use."""
    allowed = net.KIND_COLUMNS.get(kind, ())
    for name, value in columns.items():
        if name not in allowed:
            raise ValueError(f"op kind {kind} does not use the column {name!r}")
        if name in net.OPS._fields:
            ops_row[getattr(net.OPS, name)] = value
        else:
            opf_row[getattr(net.OPF, name)] = value


class Plan:
    def __init__(self, layers, n_in):
        self.layers = list(layers)
        self.n_in = n_in
        self.param_offsets = []  # per layer: {parameter name: (offset, shape)}
        self.state_offsets = []
        p_off = s_off = 0
        width = n_in
        self.widths = []
        for layer in self.layers:
            width = layer.build(width)
            self.widths.append(width)
            offsets = {}
            for pname, shape in layer.parameter_shapes():
                offsets[pname] = (p_off, shape)
                p_off += int(np.prod(shape))
            self.param_offsets.append(offsets)
            self.state_offsets.append(s_off)
            s_off += layer.state_size()
        self.n_params = p_off
        self.n_state = s_off
        self.n_out = width

        n_ops = len(self.layers)
        self.ops = np.zeros((n_ops, net.N_INT), dtype=np.int64)
        self.opf = np.zeros((n_ops, net.N_FLOAT), dtype=np.float64)
        n_in_op = n_in
        for i, layer in enumerate(self.layers):
            first = min(offsets[0] for offsets in self.param_offsets[i].values()) \
                if self.param_offsets[i] else 0
            row = self.ops[i]
            row[net.OPS.kind] = layer.kind
            row[net.OPS.n_in], row[net.OPS.n_out] = n_in_op, self.widths[i]
            row[net.OPS.p_off], row[net.OPS.s_off] = first, self.state_offsets[i]
            row[net.OPS.z_off] = -1
            write_row(row, self.opf[i], layer.kind, layer.op_columns())
            n_in_op = self.widths[i]

    def tables(self, max_rows):
        """(ops, opf, workspace length) for batches of at most ``max_rows`` rows."""
        ops = self.ops.copy()
        offset = 0
        for i, (layer, width) in enumerate(zip(self.layers, self.widths)):
            ops[i, net.OPS.a_off] = offset
            offset += max_rows * width
            ops[i, net.OPS.w_off] = offset
            kept = layer.kept_input_offset()
            ops[i, net.OPS.z_off] = -1 if kept is None else offset + kept
            offset += layer.scratch_size(max_rows)
        return ops, self.opf, offset
