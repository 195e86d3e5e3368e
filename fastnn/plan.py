"""The plan: a built model as the integer and float tables that the compiled kernels run.

See fastnn/kernels/network.py for the meaning of the columns. Parameter offsets are fixed when
the model is built; activation-workspace offsets (each op's output, then its scratch) depend on
the largest batch a call will run, so ``tables(max_rows)`` fills them in for each call that needs
a workspace.
"""

import numpy as np

from .kernels import network as net


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
            act, floats = layer.op_settings()
            first = min(offsets[0] for offsets in self.param_offsets[i].values()) \
                if self.param_offsets[i] else 0
            self.ops[i, [net.KIND, net.ACT, net.N_IN, net.N_OUT, net.P_OFF, net.S_OFF]] = (
                layer.kind, act, n_in_op, self.widths[i], first, self.state_offsets[i])
            self.opf[i, :len(floats)] = floats
            for column, value in layer.op_ints().items():
                self.ops[i, column] = value
            n_in_op = self.widths[i]

    def tables(self, max_rows):
        """(ops, opf, workspace length) for batches of at most ``max_rows`` rows."""
        ops = self.ops.copy()
        offset = 0
        for i, (layer, width) in enumerate(zip(self.layers, self.widths)):
            ops[i, net.A_OFF] = offset
            offset += max_rows * width
            ops[i, net.W_OFF] = offset
            offset += layer.scratch_size(max_rows)
        return ops, self.opf, offset
