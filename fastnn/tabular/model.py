"""``TabularModel``: a network with the preprocessing of its table, trained from a table and
saved as one model file. ``fastnn train`` builds one; ``TabularModel.load`` reads any file it
writes.

    model = fastnn.TabularModel(target="species", epochs=50).fit("examples/iris.csv")
    model.predict(frame)           # labels in the target's own values (or numbers, regression)
    model.predict_proba(frame)     # one column per class, in the order of model.classes_
    model.evaluate(frame)          # the dict `fastnn evaluate --json` prints, less the paths
    model.save("iris.fnn"); fastnn.TabularModel.load("iris.fnn")

``fit`` runs: the target column (the last one by default; rows without a value skipped), the
task (fastnn.tasks.guess_task unless given) and its loss, the hold-out split
(fastnn.tabular.fitting.holdout), the feature encoding fitted on the training rows
(fastnn.tabular.columns), the network (fastnn.tabular.options.build_network), training with
TerminateOnNaN and EarlyStopping (restoring the best weights), and for ``threshold="auto"`` the
F1-best threshold on the validation rows. Messages (values filled in, columns left out) go to
the logger "fastnn". Ctrl-C during training keeps the weights reached (the best ones with early
stopping), leaves the model fitted, and raises KeyboardInterrupt again.
"""

import os

import numpy as np

from .. import tasks
from ..ensemble import Ensemble
from . import fitting, stored
from .columns import FeatureEncoder, numeric_values
from .options import OptionError, TrainOptions, build_network, build_optimizer
from .scores import best_threshold, classification_scores, regression_scores
from .tables import as_frame
from .target import TargetEncoder

log = fitting.log


class TabularModel:
    """A network and the preprocessing of its table (module docstring). ``target``: the column
    to predict (None: the last column); ``task``: "auto" (guessed from the target), "binary",
    "multiclass" or "regression"; ``options``: the training options of
    fastnn.tabular.options (layers, opt, lr, epochs, ...)."""

    def __init__(self, target=None, task="auto", **options):
        if target is not None and not isinstance(target, str):
            raise ValueError(f"target must be a column name, got {target!r}")
        if task != "auto":
            tasks.check_task(task)
        self.target, self.task = target, task
        self.options = TrainOptions(**options)
        self.network = self.features = self.target_encoder = None
        self.threshold = None
        self.settings, self.data_info, self.history, self.fit_report = {}, {}, None, None
        self.tune_report = None

    def __repr__(self):
        state = "fitted" if self.network is not None else "not fitted"
        return f"TabularModel(target={self.target!r}, task={self.task!r}, {state})"

    # ------------------------------------------------------------------ training
    def fit(self, data, *, sample_weight=None, class_weight=None, callbacks=None,
            progress=None, verbose=0, sep=None):
        """Train on ``data`` (a DataFrame, a file path, an Arrow table, ...) and return self.

        ``sample_weight``: one weight per row of the table, or the name of a column that holds
        them (that column is then not a feature); ``class_weight``: "balanced" or a mapping
        label -> weight. ``callbacks``, ``progress`` and ``verbose`` go to Sequential.fit;
        ``sep`` to the CSV reader.
        """
        options = self.options
        seed = options.seed if options.seed is not None else fitting.fresh_seed()
        frame = as_frame(data, sep)
        source = os.path.basename(os.fspath(data)) if isinstance(data, (str, os.PathLike)) \
            else None
        weight_name = sample_weight if isinstance(sample_weight, str) else None
        if sample_weight is not None and weight_name is None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (len(frame),):
                raise ValueError(f"sample_weight must hold one weight per row ({len(frame)}), "
                                 f"got shape {sample_weight.shape}")
        frame = fitting.drop_columns(frame, options.drop)
        frame, name, kept = fitting.select_target(frame, self.target)
        if weight_name is not None:
            sample_weight = fitting.weight_column(frame, weight_name)
        elif sample_weight is not None:
            sample_weight = sample_weight[kept]
        target_values = frame[name]
        task = self.task if self.task != "auto" else tasks.guess_task(target_values)
        loss = fitting.loss_for(task, options.loss)
        codes = None
        if task != "regression":
            target = TargetEncoder.fit(target_values, task, loss)
            codes = target.codes(target_values)
        train, val = fitting.holdout(len(frame), options.val_split, seed, codes)
        if options.threshold == "auto" and (task != "binary" or not len(val)):
            raise OptionError("threshold", "{option} auto needs a binary target and validation "
                                           "rows (a validation share above 0)")
        used, defaulted = options.resolved(len(train), task, seed, validated=len(val) > 0)
        if used.cross_fit > 1:  # cross-fitting: every row trains some networks and validates one
            fitted_rows = np.arange(len(frame))
            splits = fitting.cross_folds(len(frame), used.cross_fit, seed, codes)
        else:
            fitted_rows, splits = train, [(train, val)]
        if task == "regression":
            target = TargetEncoder.fit(target_values.iloc[fitted_rows], task, loss)
        ignored = list(options.drop) + ([weight_name] if weight_name else [])
        features = FeatureEncoder.fit(frame.iloc[fitted_rows].drop(columns=[name]),
                                      options.high_cardinality, options.max_levels, ignored)
        class_weights = None if class_weight is None else target.class_weights(
            codes[fitted_rows], class_weight)
        members, interrupted = [], False
        for number, (rows, val_rows) in enumerate(splits):
            X, imputed, missing = features.transform(frame.iloc[rows], options.dtype)
            validation = None
            if len(val_rows):
                X_val, val_imputed, val_missing = features.transform(frame.iloc[val_rows],
                                                                     options.dtype)
                validation = (X_val, target.encode(target_values.iloc[val_rows]))
                imputed, missing = imputed + val_imputed, missing + val_missing
            if not number:  # every split's rows are all the rows
                _log_filled(imputed, missing)
            network = build_network(used, target, len(rows), input_dim=features.width,
                                    seed=used.seed + number)
            weights = fitting.row_weights(
                len(rows), None if sample_weight is None else sample_weight[rows],
                class_weights, None if codes is None else codes[rows])
            fit_callbacks, stopper = fitting.callbacks_for(used, len(val_rows) > 0,
                                                           callbacks or ())
            try:
                network.fit(X, target.encode(target_values.iloc[rows]), epochs=used.epochs,
                            batch_size=used.batch_size, validation_data=validation,
                            callbacks=fit_callbacks, progress=progress, verbose=verbose,
                            sample_weight=weights)
            except KeyboardInterrupt:
                interrupted = True  # fit stopped at a clean point and kept the best weights
            stopped = fitting.how_it_stopped(network.history)
            if stopped == "diverged" and len(network.history.epoch) < 2:
                raise fitting.TrainingDiverged("training diverged in the first epoch: the loss "
                                               "became NaN or infinite; lower the learning "
                                               "rate")
            members.append(fitting.Member(network, stopper, stopped, rows, val_rows))
            if interrupted:
                break
        network = members[0].network if len(members) == 1 else \
            Ensemble([m.network for m in members])
        history, stopper = members[0].network.history, members[0].stopper
        stopped = fitting.overall_stop(members)

        self.network, self.features, self.target_encoder = network, features, target
        self.history = history
        self.threshold = target.default_threshold
        def validation_inputs(member):  # the one network's were encoded for its fit
            return validation[0] if used.cross_fit == 1 else \
                features.transform(frame.iloc[member.val_rows], options.dtype)[0]

        if options.threshold == "auto":  # each network's scores of its own validation rows
            chosen = best_threshold(
                np.concatenate([codes[m.val_rows] == 1 for m in members]),
                np.concatenate([target.scores(m.network.predict(validation_inputs(m)))
                                for m in members]))
            self.threshold = target.default_threshold if chosen is None else chosen
        elif options.threshold is not None and task == "binary":
            self.threshold = options.threshold
        self.settings = {**used.to_settings(), "lr": build_optimizer(used, len(train))[1],
                         "task": task, "loss": loss, "defaulted": defaulted,
                         "class_weight": class_weight, "weight": weight_name}
        validated = sum(len(m.val_rows) for m in members)
        self.data_info = {"file": source, "train_rows": len(fitted_rows),
                          "validation_rows": validated}
        self.fit_report = {
            "task": task, "target": name, "loss": loss, "inputs": features.width,
            "rows": {"train": len(fitted_rows), "validation": validated},
            "epochs": len(history.epoch), "stopped": stopped,
            "best_epoch": fitting.best_epoch(stopper)}
        X_fitted = X if used.cross_fit == 1 else features.transform(frame.iloc[fitted_rows],
                                                                options.dtype)[0]
        self.fit_report["train"] = self._summary(X_fitted, target_values.iloc[fitted_rows])
        if validated:  # each network on its own validation rows, weighted by their number
            self.fit_report["validation"] = fitting.weighted_mean(
                [(len(m.val_rows), self._summary(validation_inputs(m),
                                                 target_values.iloc[m.val_rows], m.network))
                 for m in members])
        if used.cross_fit > 1:
            self.fit_report["cross_fit"] = [{"epochs": len(m.network.history.epoch),
                                         "best_epoch": fitting.best_epoch(m.stopper),
                                         "stopped": m.stopped} for m in members]
        if task == "binary":
            self.fit_report["threshold"] = self.threshold
        if history.diagnostics is not None:
            self.fit_report["diagnostics"] = history.diagnostics
        if interrupted:
            raise KeyboardInterrupt
        return self

    def tune(self, data, budget, *, ensemble=1, max_trials=None, progress=None, sep=None,
             sample_weight=None, class_weight=None):
        """Search training options within ``budget`` seconds and keep the best model, or the
        average of the best ``ensemble`` ones (fastnn.tabular.tune); returns self, with
        ``tune_report`` (the trials and their scores). The options given to the model stay
        fixed; those left at their defaults are searched. ``progress(info)`` is called after
        every trial with {"trial", "score", "best", "elapsed", "budget", "options", ...}.
        ``max_trials`` stops the search sooner; ``sample_weight`` is a column name. Ctrl-C
        keeps the best so far and raises KeyboardInterrupt again."""
        from .tune import Search

        fit_args = {"sep": sep, "sample_weight": sample_weight, "class_weight": class_weight}
        return Search(self, budget, ensemble, max_trials, progress, fit_args).run(data)

    def _summary(self, X, actual, network=None):
        """{"loss", "accuracy"} or {"loss", "mse", "mae", "r2"} of the rows X (train's report),
        by the model's network or by ``network``."""
        scores = self._scores(X, actual, network=network)
        keep = ("loss", "accuracy") if self.target_encoder.task != "regression" \
            else ("loss", "mse", "mae", "r2")
        return {k: scores[k] for k in keep}

    # ------------------------------------------------------------------ use
    def _require_fitted(self):
        if self.network is None:
            raise ValueError("the TabularModel is not fitted yet: call fit(data) or "
                             "TabularModel.load(path)")

    @property
    def classes_(self):
        """The class labels (in the order of predict_proba's columns); None for regression."""
        self._require_fitted()
        if self.target_encoder.task == "regression":
            return None
        return self.target_encoder.labels()

    def inputs(self, data, sep=None, ignore=()):
        """The network's input matrix for a table with the training columns (the target column
        and ``ignore`` may be there too)."""
        self._require_fitted()
        frame = as_frame(data, sep)
        self.features.check_columns(frame, ignore=(self.target_encoder.name, *ignore))
        X, imputed, missing = self.features.transform(frame, self.network.dtype)
        _log_filled(imputed, missing)
        return X

    def _threshold(self, threshold):
        if threshold is None:
            return self.threshold
        if self.target_encoder.task != "binary":
            raise ValueError("a threshold applies to binary targets only")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
                or not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}")
        return float(threshold)

    def predict(self, data, threshold=None, sep=None):
        """The prediction for every row: a label (binary: the second class when its score is
        above ``threshold``, default the model's), or a number in the target's units."""
        outputs = self.network.predict(self.inputs(data, sep))
        return self.target_encoder.decode(outputs, self._threshold(threshold))

    def predict_proba(self, data, sep=None):
        """Class probabilities, one column per class in the order of ``classes_``."""
        self._require_fitted()
        self.target_encoder.probabilities(np.zeros((0, self.target_encoder.n_outputs)))
        return self.target_encoder.probabilities(self.network.predict(self.inputs(data, sep)))

    def predict_table(self, data, proba=False, keep=(), threshold=None, sep=None):
        """The predictions as a DataFrame: the ``keep`` columns of the table, the prediction
        under the target's name, and with ``proba`` one ``proba_<class>`` column per class."""
        import pandas as pd

        self._require_fitted()
        target = self.target_encoder
        if proba and (target.task == "regression" or target.loss == "hinge"):
            raise OptionError("proba", f"{{option}} needs a probabilistic classifier; this "
                                       f"model is a {target.task} model trained with "
                                       f"{target.loss}")
        frame = as_frame(data, sep)
        missing = [k for k in keep if k not in frame.columns]
        if missing:
            raise ValueError(f"cannot keep {', '.join(map(repr, missing))}: not a column")
        outputs = self.network.predict(self.inputs(frame, ignore=keep))
        table = pd.DataFrame({k: frame[k].to_numpy() for k in keep if k != target.name})
        table[target.name] = target.decode(outputs, self._threshold(threshold))
        if proba:
            probabilities = target.probabilities(outputs)
            for k, label in enumerate(target.classes):
                table[f"proba_{label}"] = probabilities[:, k]
        return table

    def evaluate(self, data, threshold=None, sep=None):
        """{"rows", "task", "target", "loss", metrics...} on a table with the target column
        (rows without a target value skipped): fastnn.tabular.scores' metrics, for binary
        targets at ``threshold`` (default the model's), which is reported too."""
        self._require_fitted()
        frame = as_frame(data, sep)
        name = self.target_encoder.name
        if name not in frame.columns:
            raise ValueError(f"no target column {name!r}; evaluate needs the true values "
                             f"(predict does not)")
        frame = fitting.select_target(frame, name)[0]
        X = self.inputs(frame)
        result = {"rows": len(frame), "task": self.target_encoder.task, "target": name}
        result.update(self._scores(X, frame[name], self._threshold(threshold)))
        return result

    def _scores(self, X, actual, threshold=None, network=None):
        target, network = self.target_encoder, network or self.network
        threshold = self.threshold if threshold is None else threshold
        result = {"loss": network.evaluate(X, target.encode(actual))["loss"]}
        outputs = network.predict(X)
        if target.task == "regression":
            result.update(regression_scores(
                target.decode(outputs), numeric_values(actual, target.name, trained=False)))
            return result
        codes = target.codes(actual)
        predicted = target.class_indices(outputs, threshold)
        scores = target.scores(outputs) if target.task == "binary" else None
        result.update(classification_scores(codes, predicted, target.classes, scores))
        if target.task == "binary":
            result = {**result, "threshold": threshold}
        return result

    # ------------------------------------------------------------------ files
    def save(self, path):
        """Write the model file (atomically): the network and the preprocessing."""
        self._require_fitted()
        self.network.save(path, metadata=stored.metadata(
            self.features, self.target_encoder, self.threshold, self.settings,
            self.data_info))

    @classmethod
    def load(cls, path):
        """The model in a file written by ``save`` or ``fastnn train`` (older formats too);
        fastnn.ModelFileError (a ValueError) naming the file and the entry otherwise."""
        from ..model_file import load_model

        network = load_model(path)  # checks the metadata whole (fastnn.model_schema)
        meta = stored.checked(network.metadata.get(stored.METADATA_KEY), os.fspath(path))
        features = FeatureEncoder.from_dict(meta["features"])
        target = TargetEncoder.from_dict(meta["target"])
        settings = meta["settings"]
        try:
            options = TrainOptions.from_settings(settings)
        except (TypeError, ValueError):
            options = TrainOptions()  # the options only matter to a new fit
        model = cls(target=target.name, task=target.task)
        model.options = options
        model.network, model.features, model.target_encoder = network, features, target
        model.threshold = meta["target"].get("threshold", target.default_threshold)
        model.settings, model.data_info = settings, meta["data"]
        return model

    def to_onnx(self, path):
        """Write the model as ONNX: one named input per column, the preprocessing and the
        network (fastnn.onnx_export); returns the path."""
        from ..onnx_export import export_tabular

        self._require_fitted()
        return export_tabular(self, path)


def _log_filled(imputed, missing_categories):
    if imputed:
        log.warning("filled %d missing numeric value(s) with the training median", imputed)
    if missing_categories:
        log.warning("%d missing categorical value(s) encoded as all zeros", missing_categories)
