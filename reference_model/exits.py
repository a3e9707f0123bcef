"""Exit statuses of ``reference_model.train`` and ``reference_model.evaluate`` (the same as archcheck's)."""

EXIT_OK = 0
EXIT_BELOW_TARGET = 1  # train --target: the validation or test accuracy is below the target
EXIT_USAGE = 2  # bad flags, no data, a file that is not a checkpoint: nothing was measured
