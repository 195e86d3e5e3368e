"""``--plot``: a PNG of the learning curves (matplotlib, Agg backend; the optional ``plot``
extra). Two panels: the loss and the task's main metric, training and validation, per epoch,
and the epoch whose weights were kept when early stopping restored them."""

from .errors import InputError
from .files import write_atomically

INSTALL_HINT = "--plot needs matplotlib: pip install 'fastnn[plot]'"


def require_matplotlib():
    """InputError with the install command when matplotlib is missing (checked before training)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InputError(INSTALL_HINT) from None


def write_learning_curves(path, history, metric, title, best_epoch=None):
    """Plot ``history`` ({name: [value per epoch]}) to the PNG file ``path``; a dotted line
    marks ``best_epoch`` (1-based, the weights kept), if given."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), layout="constrained")
    for ax, name in zip(fig.subplots(1, 2), ("loss", metric)):
        for key, style in ((name, "-"), (f"val_{name}", "--")):
            values = history.get(key)
            if values:
                ax.plot(range(1, len(values) + 1), values, style,
                        label="validation" if key.startswith("val_") else "training")
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linestyle=":", label=f"kept (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    write_atomically(path, lambda f: fig.savefig(f, format="png", dpi=110), mode="wb")
