"""``fastnn info``: what a model file holds: the architecture, the training settings, the columns
and preprocessing it expects, and the fastnn version that wrote it (on stdout)."""

from fastnn.tabular.stored import METADATA_KEY


def describe(model_path):
    """A JSON-ready description of the model file (works for any fastnn model file; the table
    parts are present when ``fastnn train`` or TabularModel.save wrote it). For an ensemble,
    "networks" counts its members and "layers" and "compile" are the first member's."""
    import fastnn
    from fastnn.model_file import read_model_file
    from fastnn.tabular import stored

    model = fastnn.load_model(model_path)
    config, _ = read_model_file(model_path)
    description = {
        "model": model_path, "fastnn_version": config.get("fastnn_version"),
        "dtype": model.dtype.name, "input_dim": model.input_dim,
        "output_dim": model.output_dim, "params": model.count_params(),
        "networks": len(getattr(model, "members", [model])),
        "layers": config["layers"], "compile": config.get("compile"),
        "summary": model.summary(print_fn=None),
    }
    if METADATA_KEY in model.metadata:
        tabular = stored.checked(model.metadata[METADATA_KEY], model_path)
        description.update({key: tabular[key]
                            for key in ("settings", "data", "target", "features")})
    return description


def feature_lines(features):
    for column in features["columns"]:
        if column["kind"] == "numeric":
            yield (f"  {column['name']}: numeric, missing -> {column['median']:.6g}, "
                   f"scaled (x - {column['mean']:.6g}) / {column['scale']:.6g}")
        elif column["kind"] == "hashed":
            yield (f"  {column['name']}: categorical, hashed into {column['buckets']} "
                   f"buckets; missing -> all zeros")
        else:
            shown = ", ".join(column["categories"][:12])
            more = len(column["categories"]) - 12
            other = "; any other value -> other" if column.get("other") else \
                "; unseen -> all zeros"
            yield (f"  {column['name']}: categorical, one-hot over {shown}"
                   + (f" (+{more} more)" if more > 0 else "") + other)
    if features.get("ignored"):
        yield f"  ignored if present: {', '.join(map(repr, features['ignored']))}"


def show(description, display):
    say = display.result
    say(description["summary"])
    say(f"written by fastnn {description['fastnn_version']}")
    if "settings" in description:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(description["settings"].items()))
        say(f"training settings: {shown}")
    if "data" in description:
        data = description["data"]
        say(f"trained on {data.get('file')}: {data.get('train_rows')} training row(s), "
            f"{data.get('validation_rows')} validation row(s)")
    if "target" in description:
        target = description["target"]
        detail = (f"classes {target['classes']}" if "classes" in target
                  else f"standardised with mean {target['mean']:.6g}, scale {target['scale']:.6g}")
        if target.get("threshold") is not None:
            detail += f", decision threshold {target['threshold']:.6g}"
        say(f"target {target['name']!r}: {target['task']}, loss {target['loss']}, {detail}")
    if "features" in description:
        say("columns expected (in any order):")
        for line in feature_lines(description["features"]):
            say(line)
    else:
        say("no CSV preprocessing stored (not written by `fastnn train`)")
