"""The record fit returns: per-epoch values under ``history.history[name]``, as Keras's History.

``history.history`` maps each logged name ("loss", metrics, "val_" twins, "lr", "time") to one
value per epoch; ``epoch`` lists the 0-based epochs run. ``stop_reason`` says why fit stopped
early: None (all epochs ran), "callback" (a callback asked, e.g. EarlyStopping), "diverged"
(the loss became NaN or infinite) or "interrupted" (KeyboardInterrupt). ``diagnostics`` holds
a GradientMonitor's per-layer numbers and flags (fastnn.diagnostics.Diagnostics), else None.
"""


class History:
    def __init__(self):
        self.history = {}
        self.epoch = []
        self.stop_reason = None
        self.diagnostics = None

    def record(self, epoch, values):
        self.epoch.append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
