"""The first-run benchmark's peer: ``fastnn train DATA.csv`` as one pandas + scikit-learn script.

    python -m bench.sklearn_cli_peer DATA.csv --out model.joblib

The same job as the command's defaults: the last column is the target (a classification when
it holds strings, booleans or a few integer values); numeric columns imputed with the median and
standardised, the others imputed with the most frequent value and one-hot encoded; an MLP with
hidden layers 64 and 32 (ReLU), batches of 32, at most 100 epochs, 20% of the rows held out for
early stopping with patience 10; the accuracy (or R^2) printed; the fitted pipeline saved with
joblib. scikit-learn's MLP has no RMSprop, so it uses Adam (its default), and it stops on the
validation score rather than the validation loss.
"""

import argparse

CLASSIFICATION_MAX_INTEGER_VALUES = 20


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.sklearn_cli_peer")
    parser.add_argument("data")
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import joblib
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    table = pd.read_csv(args.data)
    X, y = table.iloc[:, :-1], table.iloc[:, -1]
    numeric = X.select_dtypes("number").columns.tolist()
    other = [c for c in X.columns if c not in numeric]
    encode = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("other", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                OneHotEncoder(handle_unknown="ignore")), other)])
    classify = (not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y)
                or (pd.api.types.is_integer_dtype(y)
                    and y.nunique() <= CLASSIFICATION_MAX_INTEGER_VALUES))
    network = (MLPClassifier if classify else MLPRegressor)(
        hidden_layer_sizes=(64, 32), batch_size=32, max_iter=args.epochs, early_stopping=True,
        validation_fraction=0.2, n_iter_no_change=10, random_state=args.seed)
    model = Pipeline([("encode", encode), ("network", network)]).fit(X, y)
    print(f"{'accuracy' if classify else 'R^2'} on every row {model.score(X, y):.4f} after "
          f"{network.n_iter_} epochs")
    joblib.dump(model, args.out)


if __name__ == "__main__":
    main()
