"""The torch side of the process boundary: everything here imports torch and may run the user's code.

Nothing outside this folder imports torch.  The command line's parent process
never imports these modules; they run in the child process started by
``archcheck.runner`` (``worker.py`` is its entry point), or in the caller's own
process for ``archcheck.check(model)`` on a trusted model object.  This
``__init__`` stays empty so that the worker can limit its own memory before
torch is imported.
"""
