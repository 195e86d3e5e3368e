"""``fastnn export``: a model file as ONNX (fastnn.onnx_export)."""

from .files import check_outputs


def run_export(model_path, onnx_path, display):
    import fastnn
    from fastnn.tabular.stored import METADATA_KEY

    check_outputs({"OUT.onnx": onnx_path}, [model_path])
    network = fastnn.load_model(model_path)
    if METADATA_KEY in network.metadata:
        fastnn.TabularModel.load(model_path).to_onnx(onnx_path)
        what = "the preprocessing and the network"
    else:
        network.to_onnx(onnx_path)
        what = "the network"
    display.note(f"wrote {what} to {onnx_path}")
