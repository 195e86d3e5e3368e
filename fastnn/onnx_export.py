"""Export to ONNX (``Sequential.to_onnx``, ``TabularModel.to_onnx``, ``fastnn export``), built
with the ``onnx`` package's helper API (pip install 'fastnn[onnx]').

The network in inference form, in float32 (a float64 model's weights are rounded to float32:
onnxruntime lacks double kernels for several activations), opset OPSET:

    Dense                Gemm(x, kernel, bias), then the activation
    Activation           the activation alone
    Dropout              nothing (inference is the identity)
    BatchNormalization   (x - moving_mean) * gamma / sqrt(moving_variance + epsilon) + beta
    PReLU                PRelu(x, alpha)
    Maxout               Gemm over every piece, Reshape to (rows, units, pieces), ReduceMax
    activations          Sigmoid, Tanh, Relu, LeakyRelu, Elu, Selu (fastnn's constants),
                         Softplus, Softmax (over each row), Gelu (exact or tanh), SiLU as
                         x * Sigmoid(x), step as x >= 0

A Sequential model has one input "X" (rows, input_dim) and one output "Y", what predict gives.
An ensemble (fastnn.Ensemble) is every member's graph on the same input and a Mean node over
their outputs, as its predict averages them.

A TabularModel adds its preprocessing, so raw columns go in: one input per feature column,
named after it, of shape (rows, 1): numbers as double (NaN for missing, as in the table), text
as string ("" for missing). Numeric columns: NaN -> the training median, then
(x - mean) / scale in double; categorical columns: ai.onnx.ml OneHotEncoder over the training
categories (unseen and missing values all zeros; the "other" column of a capped column is one
for a value that is neither a kept category nor missing). Hashed columns have no ONNX operator
and cannot be exported. Outputs: "probabilities" (rows, classes) for a classifier trained with
bce, scce or cce, "scores" for hinge, "prediction" (in the target's units) for regression, and
"label" (the predicted class, binary at the model's threshold) when the classes are all text,
all integers or False and True.

Anything that cannot be exported is a ValueError naming it.
"""

import os
import tempfile

import numpy as np

OPSET = 20
ML_OPSET = 3
IR_VERSION = 10  # the file format of opset 20 and 21, read by every onnxruntime since 1.17


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ValueError("exporting to ONNX needs the onnx package: pip install "
                         "'fastnn[onnx]'") from None
    return onnx


class _Graph:
    """Nodes and constants of the graph being built, with fresh names."""

    def __init__(self, dtype):
        self.onnx = _onnx()
        self.helper = self.onnx.helper
        self.dtype = np.dtype(dtype)
        self.nodes, self.constants = [], []
        self.count = 0

    def name(self, stem):
        self.count += 1
        return f"{stem}_{self.count}"

    def const(self, stem, array, dtype=None):
        array = np.asarray(array, dtype=dtype or self.dtype)
        name = self.name(stem)
        self.constants.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, domain="", **attributes):
        out = self.name(op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], domain=domain,
                                                **attributes))
        return out

    def elem_type(self, dtype=None):
        return self.helper.np_dtype_to_tensor_dtype(np.dtype(dtype or self.dtype))

    def model(self, inputs, outputs, name):
        graph = self.helper.make_graph(self.nodes, name, inputs, outputs, self.constants)
        opsets = [self.helper.make_opsetid("", OPSET),
                  self.helper.make_opsetid("ai.onnx.ml", ML_OPSET)]
        model = self.helper.make_model(graph, opset_imports=opsets, producer_name="fastnn",
                                       ir_version=IR_VERSION)
        self.onnx.checker.check_model(model, full_check=True)
        return model


def _activation(g, x, name):
    from . import activations
    from .kernels.activations import SELU_ALPHA, SELU_SCALE

    parameter = float(activations.default_parameter(name))
    simple = {"sigmoid": ("Sigmoid", {}), "tanh": ("Tanh", {}), "relu": ("Relu", {}),
              "leaky_relu": ("LeakyRelu", {"alpha": parameter}),
              "elu": ("Elu", {"alpha": parameter}),
              "selu": ("Selu", {"alpha": SELU_ALPHA, "gamma": SELU_SCALE}),
              "softplus": ("Softplus", {}), "softmax": ("Softmax", {"axis": -1})}
    if name == "linear":
        return x
    if name in ("gelu", "gelu_tanh"):
        return g.op("Gelu", [x], approximate="tanh" if name == "gelu_tanh" else "none")
    if name == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    if name == "step":
        at_least = g.op("GreaterOrEqual", [x, g.const("zero", 0.0)])
        return g.op("Cast", [at_least], to=g.elem_type())
    if name not in simple:
        raise ValueError(f"the activation {name!r} cannot be exported to ONNX yet")
    op_type, attributes = simple[name]
    return g.op(op_type, [x], **attributes)


def _layer(g, layer, x):
    kind = type(layer).__name__
    if kind == "Dense":
        y = g.op("Gemm", [x, g.const("kernel", layer.kernel), g.const("bias", layer.bias)])
        return _activation(g, y, layer.activation)
    if kind == "Activation":
        return _activation(g, x, layer.activation)
    if kind == "Dropout":
        return x
    if kind == "BatchNormalization":
        inv_std = 1.0 / np.sqrt(layer.moving_variance.astype(np.float64) + layer.epsilon)
        mul = inv_std * layer.gamma if layer.scale else inv_std
        y = g.op("Mul", [g.op("Sub", [x, g.const("mean", layer.moving_mean)]),
                         g.const("mul", mul)])
        return g.op("Add", [y, g.const("beta", layer.beta)]) if layer.center else y
    if kind == "PReLU":
        return g.op("PRelu", [x, g.const("alpha", layer.alpha)])
    if kind == "Maxout":
        n_in, units, pieces = layer.kernel.shape
        y = g.op("Gemm", [x, g.const("kernel", layer.kernel.reshape(n_in, units * pieces)),
                          g.const("bias", layer.bias.reshape(units * pieces))])
        y = g.op("Reshape", [y, g.const("shape", [-1, units, pieces], np.int64)])
        return g.op("ReduceMax", [y, g.const("axes", [2], np.int64)], keepdims=0)
    raise ValueError(f"the layer {kind} cannot be exported to ONNX yet")


def network_graph(g, model, x):
    """The network's nodes after the tensor ``x``; returns the output's name. An ensemble
    (fastnn.Ensemble) is each member's nodes after ``x``, then their Mean."""
    if hasattr(model, "members"):
        return g.op("Mean", [network_graph(g, member, x) for member in model.members])
    model._require_built()
    for layer in model.layers:
        x = _layer(g, layer, x)
    return x


def _save(model, path):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".onnx", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def export_sequential(model, path):
    """Write ``model`` (a built Sequential, or an Ensemble) to ``path``: input "X", output
    "Y"."""
    g = _Graph(np.float32)
    y = network_graph(g, model, "X")
    g.nodes.append(g.helper.make_node("Identity", [y], ["Y"]))
    x_info = g.helper.make_tensor_value_info("X", g.elem_type(), [None, model.input_dim])
    y_info = g.helper.make_tensor_value_info("Y", g.elem_type(), [None, model.output_dim])
    return _save(g.model([x_info], [y_info], model.name), path)


def _column(g, column):
    """(the input's value info, the column's encoded block (rows, width) in double)."""
    name, kind = column["name"], column["kind"]
    if kind == "numeric":
        info = g.helper.make_tensor_value_info(name, g.elem_type(np.float64), [None, 1])
        filled = g.op("Where", [g.op("IsNaN", [name]),
                                g.const("median", [[column["median"]]], np.float64), name])
        centred = g.op("Sub", [filled, g.const("mean", [[column["mean"]]], np.float64)])
        return info, g.op("Div", [centred, g.const("scale", [[column["scale"]]], np.float64)])
    if kind != "categorical":
        raise ValueError(f"column {name!r} is {kind}, which ONNX cannot express; train with "
                         f"another high-cardinality choice (top or drop) to export")
    info = g.helper.make_tensor_value_info(name, g.onnx.TensorProto.STRING, [None, 1])
    onehot = g.op("OneHotEncoder", [name], domain="ai.onnx.ml",
                  cats_strings=list(column["categories"]), zeros=1)
    block = g.op("Reshape", [onehot, g.const("shape", [-1, len(column["categories"])],
                                             np.int64)])
    block = g.op("Cast", [block], to=g.elem_type(np.float64))
    if column.get("other"):
        missing = g.op("Cast", [g.op("Equal", [name, g.const("empty", [[""]], object)])],
                       to=g.elem_type(np.float64))
        seen = g.op("ReduceSum", [block, g.const("axes", [1], np.int64)], keepdims=1)
        other = g.op("Sub", [g.op("Sub", [g.const("one", [[1.0]], np.float64), seen]),
                             missing])
        block = g.op("Concat", [block, other], axis=1)
    return info, block


def _label_output(g, target, indices):
    classes = target.classes
    if classes == [False, True]:  # the index is the label
        label = g.op("Cast", [indices], to=g.onnx.TensorProto.BOOL)
        g.nodes.append(g.helper.make_node("Identity", [label], ["label"]))
        return g.helper.make_tensor_value_info("label", g.onnx.TensorProto.BOOL, [None])
    if all(isinstance(c, str) for c in classes):
        values, kind = {"values_strings": list(classes)}, g.onnx.TensorProto.STRING
    elif all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        values, kind = {"values_int64s": list(classes)}, g.onnx.TensorProto.INT64
    else:
        return None
    label = g.op("LabelEncoder", [indices], domain="ai.onnx.ml",
                 keys_int64s=list(range(len(classes))), **values)
    g.nodes.append(g.helper.make_node("Identity", [label], ["label"]))
    return g.helper.make_tensor_value_info("label", kind, [None])


def export_tabular(tabular, path):
    """Write a fitted TabularModel to ``path`` (module docstring)."""
    network, target = tabular.network, tabular.target_encoder
    g = _Graph(np.float32)
    inputs, blocks = zip(*(_column(g, column) for column in tabular.features.columns))
    x = blocks[0] if len(blocks) == 1 else g.op("Concat", list(blocks), axis=1)
    out = network_graph(g, network, g.op("Cast", [x], to=g.elem_type()))
    outputs = []
    if target.task == "regression":
        out = g.op("Add", [g.op("Mul", [out, g.const("scale", [target.scale])]),
                           g.const("mean", [target.mean])])
        names = [("prediction", out, 1)]
    elif target.loss == "hinge":
        names = [("scores", out, 1)]
    elif target.task == "binary":
        names = [("probabilities", g.op("Concat", [
            g.op("Sub", [g.const("one", [[1.0]]), out]), out], axis=1), 2)]
    else:
        names = [("probabilities", out, len(target.classes))]
    for name, tensor, width in names:
        g.nodes.append(g.helper.make_node("Identity", [tensor], [name]))
        outputs.append(g.helper.make_tensor_value_info(name, g.elem_type(), [None, width]))
    if target.task != "regression":
        if target.task == "binary":
            score = g.op("Flatten", [out], axis=1)
            above = g.op("Greater", [score, g.const("threshold", [[tabular.threshold]])])
            indices = g.op("Reshape", [g.op("Cast", [above], to=g.elem_type(np.int64)),
                                       g.const("shape", [-1], np.int64)])
        else:
            indices = g.op("ArgMax", [out], axis=1, keepdims=0)
        label = _label_output(g, target, indices)
        if label is not None:
            outputs.insert(0, label)
    return _save(g.model(list(inputs), outputs, "fastnn_tabular"), path)
