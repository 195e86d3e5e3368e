"""``fastnn info``: what a model file holds: the architecture, the training settings, the columns
and preprocessing it expects, and the fastnn version that wrote it."""

from .bundle import METADATA_KEY


def describe(model_path):
    """A JSON-ready description of the model file (works for any fastnn model file; the CSV
    parts are present when ``fastnn train`` wrote it)."""
    import fastnn
    from fastnn.model_file import read_model_file

    model = fastnn.load_model(model_path)
    config, _ = read_model_file(model_path)
    stored = model.metadata.get(METADATA_KEY, {})
    description = {
        "model": model_path, "fastnn_version": config.get("fastnn_version"),
        "dtype": model.dtype.name, "input_dim": model.input_dim,
        "output_dim": model.output_dim, "params": model.count_params(),
        "layers": config["layers"], "compile": config.get("compile"),
        "summary": model.summary(print_fn=None),
    }
    for key in ("settings", "data", "target", "features"):
        if key in stored:
            description[key] = stored[key]
    return description


def feature_lines(features):
    for column in features["columns"]:
        if column["kind"] == "numeric":
            yield (f"  {column['name']}: numeric, missing -> {column['median']:.6g}, "
                   f"scaled (x - {column['mean']:.6g}) / {column['scale']:.6g}")
        else:
            shown = ", ".join(column["categories"][:12])
            more = len(column["categories"]) - 12
            yield (f"  {column['name']}: categorical, one-hot over {shown}"
                   + (f" (+{more} more)" if more > 0 else "") + "; unseen -> all zeros")


def show(description, display):
    display.note(description["summary"])
    display.note(f"written by fastnn {description['fastnn_version']}")
    if "settings" in description:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(description["settings"].items()))
        display.note(f"training settings: {shown}")
    if "data" in description:
        data = description["data"]
        display.note(f"trained on {data.get('file')}: {data.get('train_rows')} training row(s), "
                     f"{data.get('validation_rows')} validation row(s)")
    if "target" in description:
        target = description["target"]
        detail = (f"classes {target['classes']}" if "classes" in target
                  else f"standardised with mean {target['mean']:.6g}, scale {target['scale']:.6g}")
        display.note(f"target {target['name']!r}: {target['task']}, loss {target['loss']}, "
                     f"{detail}")
    if "features" in description:
        display.note("columns expected (in any order):")
        for line in feature_lines(description["features"]):
            display.note(line)
    else:
        display.note("no CSV preprocessing stored (not written by `fastnn train`)")
