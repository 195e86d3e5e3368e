"""A model trained by the CLI: the fastnn model plus the preprocessing it needs, kept together
in one model file (``model.save(path, metadata=...)``, under the key ``fastnn_cli``)."""

from .errors import InputError
from .features import FeatureEncoder
from .target import TargetEncoder

METADATA_KEY = "fastnn_cli"
FORMAT_VERSION = 1


class Bundle:
    def __init__(self, model, features, target, settings, data):
        self.model, self.features, self.target = model, features, target
        self.settings, self.data = settings, data

    def metadata(self):
        return {METADATA_KEY: {"format_version": FORMAT_VERSION,
                               "features": self.features.to_dict(),
                               "target": self.target.to_dict(),
                               "settings": self.settings, "data": self.data}}

    def save(self, path):
        """Write the model file atomically (fastnn's model file does)."""
        self.model.save(path, metadata=self.metadata())

    @classmethod
    def load(cls, path):
        """The bundle in the model file at ``path``; InputError for an unreadable file or one
        that ``fastnn train`` did not write."""
        import fastnn

        model = fastnn.load_model(path)  # ModelFileError (a ValueError) names the problem
        stored = model.metadata.get(METADATA_KEY)
        if not isinstance(stored, dict):
            raise InputError(f"{path}: this model file has no CSV preprocessing (it was not "
                             f"written by `fastnn train`); use it from Python instead")
        if stored.get("format_version", 0) > FORMAT_VERSION:
            raise InputError(f"{path}: written by a newer fastnn command; upgrade fastnn")
        try:
            return cls(model, FeatureEncoder.from_dict(stored["features"]),
                       TargetEncoder.from_dict(stored["target"]), stored.get("settings", {}),
                       stored.get("data", {}))
        except (KeyError, TypeError) as exc:
            raise InputError(f"{path}: corrupt preprocessing metadata ({exc!r})") from None

    def inputs(self, frame, display):
        """The model's input matrix for a table with the training columns (the target column,
        if present, is ignored); warns about values filled in."""
        self.features.check_columns(frame, ignore=(self.target.name,))
        X, imputed, missing_categories = self.features.transform(frame)
        warn_missing(display, imputed, missing_categories)
        return X


def warn_missing(display, imputed, missing_categories):
    if imputed:
        display.warn(f"filled {imputed} missing numeric value(s) with the training median")
    if missing_categories:
        display.warn(f"{missing_categories} missing categorical value(s) encoded as all zeros")
