"""``fastnn train DATA --budget SECONDS [--ensemble K]``: the time-budget search
(``fastnn.TabularModel.tune``) instead of one training run, one line per trial on stderr, and
the best model (or the average of the best K) saved as one model file. Ctrl-C or SIGTERM
saves the best so far."""

import fastnn as fn
from fastnn import compile_cache
from fastnn.tabular.fitting import TrainingDiverged

from . import signals
from .errors import InputError
from .files import check_outputs
from .train import EXIT_DIVERGED, NOT_OPTIONS, TrainingStopped, default_model_path

# train's options that describe one training run, which a search does not have.
ONE_RUN = (("history", "--history"), ("plot", "--plot"), ("diagnose", "--diagnose"))


def trial_line(info):
    """One trial's progress: its score, the best so far, the time used."""
    def shown(value):
        return "-" if value is None else f"{value:.4f}"

    changed = ", ".join(f"{k}={v}" for k, v in info["options"].items()) or "the options given"
    cut = " (cut at the deadline)" if info["cut"] else ""
    if info["error"]:
        cut = f" (failed: {info['error']})"
    return (f"trial {info['trial']}: {info['metric']} {shown(info['score'])}{cut} in "
            f"{info['seconds']:.1f} s; best {shown(info['best'])} (trial {info['best_trial']}); "
            f"{info['elapsed']:.0f} of {info['budget']:.0f} s used; {changed}")


def run(data_path, settings, budget, ensemble, display):
    """The search and the saved model. Returns (result dict for --json and the summary, exit
    code, a message for stderr when the search was interrupted)."""
    for name, flag in ONE_RUN:
        if settings.pop(name):
            raise InputError(f"{flag} describes one training run; it does not go with --budget")
    out = settings.pop("out") or default_model_path(data_path)
    check_outputs({"--out": out}, [data_path])
    own = {name: settings.pop(name) for name in NOT_OPTIONS}
    model = fn.TabularModel(target=own["target"], task=own["task"], **settings)
    interrupted = False
    with compile_cache.note_compiling(display.note, settings["dtype"]):
        try:
            model.tune(data_path, budget, ensemble=ensemble,
                       progress=lambda info: display.note(trial_line(info)), sep=own["sep"],
                       sample_weight=own["weight"], class_weight=own["class_weight"])
        except KeyboardInterrupt:
            if model.network is None:
                raise  # before any model was fitted: nothing to save
            interrupted = True
        except TrainingDiverged as exc:
            raise TrainingStopped(f"{exc}; no model saved", EXIT_DIVERGED) from None
    model.save(out)
    search, report = model.tune_report, model.fit_report
    result = {"model": out, **{k: report[k] for k in ("task", "target", "loss", "inputs")},
              "search": search}
    message = None
    if interrupted:
        message = (f"{signals.what()} after {len(search['trials'])} trial(s); saved the best "
                   f"so far to {out}")
    return result, signals.exit_code() if interrupted else 0, message


def show_result(result, display):
    """The search's summary on stderr."""
    search = result["search"]
    best = next(t for t in search["trials"] if t["trial"] == search["members"][0]) \
        if search["members"] else None
    members, networks = search["members"], search["networks"]
    if len(members) > 1:
        kept = (f"an ensemble of {len(members)} trials ({', '.join(map(str, members))}; "
                f"{networks} networks averaged)")
    else:
        kept = f"trial {members[0]}'s model" if members else "the interrupted trial's model"
        if networks > 1:
            kept += f" ({networks} cross-fitted networks averaged)"
    score = "" if best is None or best["score"] is None else \
        f"; best {search['metric']} {best['score']:.4f} (trial {best['trial']})"
    display.note(f"{result['task']} on {result['target']!r}: {len(search['trials'])} trial(s) "
                 f"in {search['seconds']:.1f} s ({search['validation']} validation){score}")
    display.note(f"saved {kept} to {result['model']}")
