"""TrainingState: everything besides the weights that training changes and that a resumed fit
continues from, as one object that is copied, restored and saved whole.

    counters         int64 [1]: the optimizer updates made so far (the step t of the schedule,
                     the optimizer and the dropout masks); the compiled loop advances it
    optimizer_state  the optimizer's per-parameter state rows (None until the first fit after
                     compile)
    mask_seed        uint64: the seed the dropout masks are drawn from (the model's seed)
    shuffle          the NumPy Generator that draws each epoch's row order

A model owns one (``model.training_state``); a ModelSnapshot keeps a ``save()`` and puts it back
with ``restore``; the model file stores the counters and optimizer state as entries and the
shuffle generator's state in the config.
"""

import numpy as np


class TrainingState:
    def __init__(self, seed):
        self.counters = np.zeros(1, dtype=np.int64)
        self.optimizer_state = None
        self.mask_seed = np.uint64(int(seed) % 2**64)
        self.shuffle = np.random.default_rng([int(seed), 1])

    @property
    def iterations(self):
        """Number of optimizer updates made so far."""
        return int(self.counters[0])

    @iterations.setter
    def iterations(self, value):
        self.counters[0] = value

    def optimizer_state_for(self, optimizer, n_params, dtype):
        """The optimizer's state rows, made (``optimizer.initial_state``) if there are none."""
        if self.optimizer_state is None:
            self.optimizer_state = optimizer.initial_state(n_params, dtype)
        return self.optimizer_state

    def reset_optimizer(self):
        """Forget the optimizer's state (a new compile): the next fit starts it afresh."""
        self.optimizer_state = None

    def save(self, into=None):
        """A SavedTrainingState that ``restore`` puts back; written into the arrays of ``into``
        (an earlier save of this state) when given, so that saving every epoch allocates
        nothing."""
        saved = into if into is not None else SavedTrainingState()
        saved.counters = copy_reusing(saved.counters, self.counters)
        saved.optimizer_state = None if self.optimizer_state is None \
            else copy_reusing(saved.optimizer_state, self.optimizer_state)
        saved.mask_seed = self.mask_seed
        saved.shuffle_state = self.shuffle.bit_generator.state
        return saved

    def restore(self, saved):
        """Put back ``saved`` (a ``save()``) in place: arrays keep their identity, so a trainer
        holding them sees the restored values."""
        self.counters[...] = saved.counters
        if saved.optimizer_state is None:
            self.optimizer_state = None
        elif self.optimizer_state is not None \
                and self.optimizer_state.shape == saved.optimizer_state.shape:
            self.optimizer_state[...] = saved.optimizer_state
        else:
            self.optimizer_state = saved.optimizer_state.copy()
        self.mask_seed = saved.mask_seed
        self.shuffle.bit_generator.state = saved.shuffle_state

    # ----------------------------------------------------------------- the model file
    def file_entries(self, include_optimizer):
        """({entry name: array}, {config key: value}) as the model file stores them."""
        arrays = {}
        if include_optimizer and self.optimizer_state is not None:
            arrays = {"opt_state": self.optimizer_state, "iterations": self.counters}
        return arrays, {"shuffle_state": self.shuffle.bit_generator.state}

    def load_file_entries(self, arrays, config, expected_shape, dtype):
        """Take the state saved by ``file_entries``; ValueError naming the entry when the
        optimizer state's shape is not ``expected_shape`` (None: no optimizer to take it)."""
        if "opt_state" in arrays and expected_shape is not None:
            if arrays["opt_state"].shape != expected_shape:
                raise ValueError("optimizer state has the wrong shape")
            self.optimizer_state = arrays["opt_state"].astype(dtype)
            self.counters[:] = arrays["iterations"]
        if "shuffle_state" in config:
            self.shuffle.bit_generator.state = config["shuffle_state"]


class SavedTrainingState:
    """What ``TrainingState.save`` keeps: copies of the counters and optimizer state, the mask
    seed and the shuffle generator's state (a dict)."""

    counters = optimizer_state = mask_seed = shuffle_state = None


def copy_reusing(kept, array):
    """``array`` copied into ``kept`` when that has its shape and dtype, else a new copy."""
    if kept is None or kept.shape != array.shape or kept.dtype != array.dtype:
        return array.copy()
    np.copyto(kept, array)
    return kept
