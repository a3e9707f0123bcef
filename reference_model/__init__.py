"""Reference MNIST models (model.py, tiny.py) and their trainer; see README.md here."""

import os

# OpenMP reads this when torch starts, so it is set here, before any module imports torch.
# On the shared 2-core CPU, libgomp's default busy-wait (300,000 spins) let two torch
# threads fall to ~1,100 img/s when two other processes competed for the cores; 10,000
# spins gave ~2,400 img/s there and cost <5% when the cores were free (see README.md).
os.environ.setdefault("GOMP_SPINCOUNT", "10000")
