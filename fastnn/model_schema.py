"""The JSON schema of a model file's config entry, and of the metadata formats fastnn knows.

A model file is untrusted input: fastnn.model_file checks its config against ``CONFIG_SCHEMA``
(JSON Schema 2020-12, with the jsonschema package) before it builds anything. The schema fixes
every key and type; the ranges of layer, optimizer and schedule settings are the constructors'
own checks, which the loader runs on the validated values before any buffer is allocated.

"number" here means a finite number and "integer" an int (not 1.0, not a boolean).

Metadata: a model's ``metadata`` is the user's JSON object, with one exception: a key listed
in ``METADATA_FORMATS`` holds a versioned format that fastnn reads, and is checked against the
schema of its ``format_version`` plus that format's cross-field check (sizes that must agree
with the network). A new version of such a format is one more row in its table.
"""

import math

from . import activations, initializers, layers, losses, optimizers, schedules

MAX_LAYERS = 1000
MAX_UINT128 = 2**128 - 1

NUMBER = {"type": "number"}
POSITIVE_INT = {"type": "integer", "minimum": 1}
BOOLEAN = {"type": "boolean"}
STRING = {"type": "string"}
SCALAR = {"type": ["number", "string", "boolean", "null"]}
NAME = {"type": ["string", "null"]}

INITIALIZER = {
    "type": ["object", "string"],
    "if": {"type": "object"},
    "then": {"required": ["name"], "additionalProperties": NUMBER,
             "properties": {"name": {"enum": sorted(initializers.INITIALIZERS)}}},
    "else": {"enum": sorted(initializers.INITIALIZERS)},
}
REGULARIZER = {"type": ["object", "null"], "additionalProperties": False,
               "properties": {"l1": NUMBER, "l2": NUMBER}}
ACTIVATION = {"enum": sorted(activations.ACTIVATIONS)}

# Per layer class: its settings (the constructor's arguments) and the ones it needs.
LAYER_SETTINGS = {
    "Dense": ({"units": POSITIVE_INT, "activation": ACTIVATION,
               "kernel_initializer": INITIALIZER, "bias_initializer": INITIALIZER,
               "kernel_regularizer": REGULARIZER}, ["units"]),
    "Activation": ({"activation": ACTIVATION}, ["activation"]),
    "Dropout": ({"rate": NUMBER}, ["rate"]),
    "BatchNormalization": ({"momentum": NUMBER, "epsilon": NUMBER, "center": BOOLEAN,
                            "scale": BOOLEAN}, []),
    "PReLU": ({"alpha_initializer": INITIALIZER}, []),
    "Maxout": ({"units": POSITIVE_INT, "pieces": POSITIVE_INT,
                "kernel_initializer": INITIALIZER, "bias_initializer": INITIALIZER,
                "kernel_regularizer": REGULARIZER}, ["units", "pieces"]),
}


def _by_key(key, cases):
    """allOf: for each value of ``key``, the schema ``cases[value]`` (an object's variants)."""
    return [{"if": {"properties": {key: {"const": value}}, "required": [key]}, "then": schema}
            for value, schema in cases.items()]


LAYER = {
    "type": "object", "required": ["class"],
    "properties": {"class": {"enum": sorted(layers.LAYERS)}},
    "allOf": _by_key("class", {
        name: {"additionalProperties": False, "required": required,
               "properties": {"class": True, "name": NAME, **settings}}
        for name, (settings, required) in LAYER_SETTINGS.items()}),
}
SCHEDULE = {"type": "object", "required": ["name"], "additionalProperties": SCALAR,
            "properties": {"name": {"enum": sorted(schedules.SCHEDULES)
                                    + sorted(schedules.ALIASES)}}}
OPTIMIZER = {
    "type": "object", "required": ["name"], "additionalProperties": SCALAR,
    "properties": {"name": {"enum": sorted(optimizers.OPTIMIZERS) + sorted(optimizers.PRESETS)},
                   "learning_rate": {"anyOf": [NUMBER, SCHEDULE]}},
}
COMPILE = {
    "type": ["object", "null"], "additionalProperties": False,
    "required": ["optimizer", "loss"],
    "properties": {"optimizer": OPTIMIZER,
                   "loss": {"enum": sorted(losses.LOSSES) + sorted(losses.ALIASES)},
                   "loss_param": NUMBER,
                   "metrics": {"type": "array", "items": STRING, "maxItems": 16}},
}
SHUFFLE_STATE = {
    "type": "object", "additionalProperties": False,
    "required": ["bit_generator", "state", "has_uint32", "uinteger"],
    "properties": {
        "bit_generator": {"const": "PCG64"},
        "state": {"type": "object", "additionalProperties": False, "required": ["state", "inc"],
                  "properties": {"state": {"type": "integer", "minimum": 0,
                                           "maximum": MAX_UINT128},
                                 "inc": {"type": "integer", "minimum": 0,
                                         "maximum": MAX_UINT128}}},
        "has_uint32": {"enum": [0, 1]},
        "uinteger": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    },
}
CONFIG_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["format", "format_version", "dtype", "seed", "input_dim", "layers"],
    "properties": {
        "format": STRING, "format_version": POSITIVE_INT, "fastnn_version": STRING,
        "name": NAME, "dtype": {"enum": ["float32", "float64"]},
        "seed": {"type": "integer", "minimum": 0}, "input_dim": POSITIVE_INT,
        "layers": {"type": "array", "items": LAYER, "minItems": 1, "maxItems": MAX_LAYERS},
        "compile": COMPILE, "shuffle_state": SHUFFLE_STATE, "metadata": {"type": "object"},
    },
}

# --------------------------------------------------------------------------- metadata formats
# The command's model files (fastnn train): the preprocessing of the CSV table under
# "fastnn_cli". Version 1: numeric and categorical feature columns, the target, the settings
# and the data's summary. Version 2 adds categorical columns with an "other" level, hashed
# columns, ignored columns and a binary target's decision threshold.
TASK_LOSSES = {"binary": ["bce", "hinge"], "multiclass": ["scce", "cce"],
               "regression": ["mse", "mae", "huber"]}
MAX_BUCKETS = 2**20
SCALE = {"type": "number", "exclusiveMinimum": 0}
NUMERIC_COLUMN = {"additionalProperties": False, "required": ["median", "mean", "scale"],
                  "properties": {"name": STRING, "kind": True, "median": NUMBER, "mean": NUMBER,
                                 "scale": SCALE}}


def _categorical_column(with_other):
    return {"additionalProperties": False, "required": ["categories"],
            "properties": {"name": STRING, "kind": True,
                           "categories": {"type": "array", "items": STRING,
                                          "uniqueItems": True, "minItems": 1},
                           **({"other": BOOLEAN} if with_other else {})}}


HASHED_COLUMN = {"additionalProperties": False, "required": ["buckets"],
                 "properties": {"name": STRING, "kind": True,
                                "buckets": {"type": "integer", "minimum": 1,
                                            "maximum": MAX_BUCKETS}}}


def _feature_column(kinds):
    return {"type": "object", "required": ["name", "kind"],
            "properties": {"kind": {"enum": sorted(kinds)}}, "allOf": _by_key("kind", kinds)}


def _target(threshold):
    def variant(task, allowed):
        if task == "regression":
            fields, required = {"mean": NUMBER, "scale": SCALE}, ["mean", "scale"]
        else:
            fields = {"classes": {"type": "array", "items": CLASS_LABEL, "minItems": 2,
                                  "uniqueItems": True,
                                  **({"maxItems": 2} if task == "binary" else {})}}
            required = ["classes"]
            if threshold and task == "binary":
                fields["threshold"] = {"type": ["number", "null"]}
        return {"additionalProperties": False, "required": required,
                "properties": {"name": STRING, "task": True, "loss": {"enum": allowed},
                               **fields}}

    return {"type": "object", "required": ["name", "task", "loss"],
            "properties": {"task": {"enum": sorted(TASK_LOSSES)}},
            "allOf": _by_key("task", {task: variant(task, allowed)
                                      for task, allowed in TASK_LOSSES.items()})}


def _cli_format(version, columns, ignored, threshold):
    features = {"columns": {"type": "array", "items": _feature_column(columns), "minItems": 1}}
    if ignored:
        features["ignored"] = {"type": "array", "items": STRING}
    return {
        "type": "object", "additionalProperties": False,
        "required": ["format_version", "features", "target"],
        "properties": {
            "format_version": {"const": version},
            "features": {"type": "object", "additionalProperties": False,
                         "required": ["columns"], "properties": features},
            "target": _target(threshold), "settings": {"type": "object"},
            "data": {"type": "object"},
        },
    }


CLASS_LABEL = {"type": ["string", "number", "boolean"]}
CLI_V1 = _cli_format(1, {"numeric": NUMERIC_COLUMN, "categorical": _categorical_column(False)},
                     ignored=False, threshold=False)
CLI_V2 = _cli_format(2, {"numeric": NUMERIC_COLUMN, "categorical": _categorical_column(True),
                         "hashed": HASHED_COLUMN}, ignored=True, threshold=True)


def _column_width(column):
    if column["kind"] == "numeric":
        return 1
    if column["kind"] == "hashed":
        return column["buckets"]
    return len(column["categories"]) + (1 if column.get("other") else 0)


def check_cli_sizes(stored, input_dim, output_dim):
    """The sizes the preprocessing implies agree with the network: the inputs of the columns
    (1 per numeric column, 1 per category and "other" level, 1 per hash bucket), one output
    (one per class for multiclass), no column named twice. Returns (where, problem) for the
    first disagreement, or None."""
    columns = stored["features"]["columns"]
    names = [c["name"] for c in columns] + stored["features"].get("ignored", [])
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        return "features", f"the column {duplicate!r} is listed twice"
    width = sum(_column_width(c) for c in columns)
    if width != input_dim:
        return "features.columns", (f"the columns make {width} inputs, the network takes "
                                    f"{input_dim}")
    target = stored["target"]
    outputs = len(target["classes"]) if target["task"] == "multiclass" else 1
    if outputs != output_dim:
        return "target", (f"a {target['task']} target needs {outputs} output(s), the network "
                          f"has {output_dim}")
    return None


# An ensemble (fastnn.Ensemble) under "fastnn_ensemble" in the first network's metadata: how
# many networks the file holds (the first one and the entries member<i>_config, _params and
# _state for i = 1 .. members - 1) and how their outputs combine. fastnn.model_file reads and
# checks every member as it does the first network, and that the members agree with it.
MAX_MEMBERS = 64
ENSEMBLE_V1 = {
    "type": "object", "additionalProperties": False,
    "required": ["format_version", "members", "combine"],
    "properties": {"format_version": {"const": 1},
                   "members": {"type": "integer", "minimum": 2, "maximum": MAX_MEMBERS},
                   "combine": {"const": "mean"}},
}

# key -> {format_version: (schema, cross-field check(stored, input_dim, output_dim) or None)}
METADATA_FORMATS = {"fastnn_cli": {1: (CLI_V1, check_cli_sizes), 2: (CLI_V2, check_cli_sizes)},
                    "fastnn_ensemble": {1: (ENSEMBLE_V1, None)}}


def _strict_types():
    """jsonschema's type checker with "number" finite and "integer" an int only."""
    from jsonschema import Draft202012Validator

    def is_number(checker, value):
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and (isinstance(value, int) or math.isfinite(value)))

    def is_integer(checker, value):
        return isinstance(value, int) and not isinstance(value, bool)

    return Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"number": is_number, "integer": is_integer})


_validators = {}


def validator(schema):
    """A (cached) jsonschema validator of ``schema`` with the strict number types."""
    key = id(schema)
    if key not in _validators:
        from jsonschema import Draft202012Validator, validators

        cls = validators.extend(Draft202012Validator, type_checker=_strict_types())
        _validators[key] = cls(schema)
    return _validators[key]


def first_error(schema, instance):
    """(where, problem) of the most relevant violation of ``schema``, or None; ``where`` is
    the path to the value, like ``layers[1].units``."""
    from jsonschema.exceptions import best_match

    error = best_match(validator(schema).iter_errors(instance))
    if error is None:
        return None
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}"
                    for part in error.absolute_path).lstrip(".")
    message = error.message
    return where, message if len(message) <= 200 else message[:197] + "..."
