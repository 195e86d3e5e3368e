"""The record fit returns: per-epoch values under ``history[name]``, as Keras's History."""


class History:
    def __init__(self):
        self.history = {}
        self.epoch = []

    def record(self, epoch, values):
        self.epoch.append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
