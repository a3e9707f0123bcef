"""How a check's process is started, limited and stopped on each operating system (no torch here).

Both sides of the process boundary use this module: the parent (``runner.py``)
to start and stop a check, the worker to limit itself and to leave nothing
running behind it.  Everything that differs between systems is here, chosen by
``sys.platform``:

=====================  ==========================  ==========================  ==========================
                       Linux                       macOS                       Windows
=====================  ==========================  ==========================  ==========================
several checks         one fork server             one fork server             one spawned process each
memory limit           ``RLIMIT_AS`` (the worker)  the worker polls its peak   a job object (the parent)
                                                   resident memory
processes the model    the worker is their         the worker kills its        the job object holds
starts                 subreaper and kills them    descendants when it ends    them all and is
                       when it ends; the parent    or is stopped (one whose    terminated with the check
                       kills the tree on timeout   parent has exited escapes)
archcheck killed       the worker's watchdog sees  the same                    the job object dies with
                       its parent gone and ends                                archcheck's last handle
                       the check
=====================  ==========================  ==========================  ==========================
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

WINDOWS = sys.platform == "win32"
LINUX = sys.platform.startswith("linux")

MemoryLimit = Literal["rlimit", "watch", "job"]


@dataclass(frozen=True)
class Platform:
    """The isolation's choices for this system (tests switch them to try another system's path here)."""

    fork_server: bool  # several checks share one process that imports torch once and forks
    memory: MemoryLimit


if WINDOWS:
    PLATFORM = Platform(fork_server=False, memory="job")
elif LINUX:
    PLATFORM = Platform(fork_server=True, memory="rlimit")
else:  # macOS and other POSIX systems: RLIMIT_AS is not enforced there
    PLATFORM = Platform(fork_server=True, memory="watch")

_KILL_ROUNDS = 100  # a process tree that keeps forking is killed round by round, at most this many
_KILL_PAUSE = 0.01


def session_options() -> dict[str, Any]:
    """``Popen`` arguments that give the child its own session (POSIX) or process group (Windows)."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


# Forking a process that has loaded system frameworks aborts on macOS unless told not to; the
# fork server's children run nothing that the check does not need, as on Linux.
FORK_SERVER_ENVIRONMENT = {"OBJC_DISABLE_INITIALIZE_FORK_SAFETY": "YES"} if sys.platform == "darwin" else {}


def answer_channel_from_stdout() -> int:
    """Keep standard output as a private channel (returned) and send what is printed there to
    standard error instead: the spawned worker's answer then needs no extra pipe handed over."""
    channel = os.dup(1)  # not inherited by the processes the model may start
    os.dup2(2, 1)
    if sys.platform == "win32":  # what asks Windows for the standard output handle (a child process, C code)
        import msvcrt

        ctypes.windll.kernel32.SetStdHandle(-11, msvcrt.get_osfhandle(1))  # -11: STD_OUTPUT_HANDLE
    return channel


# -- the worker limits itself (POSIX) -----------------------------------------------------------


def limit_address_space(max_memory: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))


def prepare_worker() -> None:
    """No core dumps; on Linux, orphans of the model's processes stay in the worker's tree."""
    if WINDOWS:
        return
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if LINUX:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(36, 1)  # 36 == PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass


def resident_memory() -> int:
    """This process's memory in bytes, for the watchdog: resident now (Linux), peak resident (elsewhere)."""
    if LINUX:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS


# -- process trees (POSIX) ----------------------------------------------------------------------


def kill_descendants(pid: int) -> None:
    """Kill every live process below ``pid``, round after round, until none is left.

    A process forked while a round runs is found by the next one (on Linux a
    worker is its orphans' subreaper, so they stay below it).
    """
    for _ in range(_KILL_ROUNDS):
        found = descendants(pid)
        if not found:
            return
        for child in found:
            _send(child, signal.SIGKILL)
        time.sleep(_KILL_PAUSE)


def stop_tree(pid: int) -> None:
    """Kill a worker that has not been reaped yet, with everything it started.

    The worker is stopped first so that it starts nothing new, then its
    descendants are killed, then the worker and its process group (its session).
    """
    _send(pid, signal.SIGSTOP)
    kill_descendants(pid)
    _send(pid, signal.SIGKILL)
    kill_group(pid)


def kill_group(pid: int) -> None:
    """Kill the process group ``pid`` leads.  Safe after the leader was reaped: a
    group's id is not reused while one of its members lives."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def descendants(pid: int) -> list[int]:
    """The live (not zombie) processes below ``pid``, parents before children."""
    children = _children_of if LINUX and _has_children_files() else _children_from_ps()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        below = [child for parent in frontier for child in children(parent)]
        found += below
        frontier = below
    return found


def _send(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


@functools.cache
def _has_children_files() -> bool:
    return Path(f"/proc/self/task/{os.getpid()}/children").exists()


def _children_of(pid: int) -> list[int]:
    """Linux: the live children of ``pid``, from ``/proc/PID/task/*/children``."""
    children = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # the process has just exited
        return []
    for task in tasks:
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the thread has just exited
            continue
    return [child for child in children if not _is_zombie(child)]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def _children_from_ps() -> Callable[[int], list[int]]:
    """Elsewhere: one ``ps`` listing of every process, read as parent -> live children."""
    listing = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,stat="], capture_output=True, text=True, check=False).stdout
    table: dict[int, list[int]] = {}
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 3 and not fields[2].startswith("Z"):
            table.setdefault(int(fields[1]), []).append(int(fields[0]))
    return lambda parent: table.get(parent, [])


# -- Windows: a job object per check ------------------------------------------------------------

_JOB_OBJECT_LIMIT_JOB_MEMORY = 0x200
_JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x400
_JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
_JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9
_PROCESS_SET_QUOTA = 0x0100
_PROCESS_TERMINATE = 0x0001


class _BasicLimits(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", ctypes.c_uint32),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", ctypes.c_uint32),
        ("SchedulingClass", ctypes.c_uint32),
    ]


class _IoCounters(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "ReadOperationCount",
            "WriteOperationCount",
            "OtherOperationCount",
            "ReadTransferCount",
            "WriteTransferCount",
            "OtherTransferCount",
        )
    ]


class _ExtendedLimits(ctypes.Structure):
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION."""

    _fields_ = [
        ("BasicLimitInformation", _BasicLimits),
        ("IoInfo", _IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


class JobObject:
    """A Windows job object holding a worker and every process it starts.

    Its committed memory is limited as a whole; terminating it ends them all;
    and it is closed -- killing whatever is left in it -- when archcheck's last
    handle to it goes, also when archcheck itself is killed.
    """

    def __init__(self, max_memory: int) -> None:
        self.kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        self.kernel32.CreateJobObjectW.restype = ctypes.c_void_p
        self.kernel32.OpenProcess.restype = ctypes.c_void_p
        self.handle = self.kernel32.CreateJobObjectW(None, None)
        if not self.handle:
            raise self._error()
        limits = _ExtendedLimits()
        limits.BasicLimitInformation.LimitFlags = (
            _JOB_OBJECT_LIMIT_JOB_MEMORY
            | _JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
            | _JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION
        )
        limits.JobMemoryLimit = max_memory
        if not self.kernel32.SetInformationJobObject(
            ctypes.c_void_p(self.handle),
            _JOB_OBJECT_EXTENDED_LIMIT_INFORMATION,
            ctypes.byref(limits),
            ctypes.sizeof(limits),
        ):
            error = self._error()
            self.close()
            raise error

    def assign(self, pid: int) -> None:
        process = self.kernel32.OpenProcess(_PROCESS_SET_QUOTA | _PROCESS_TERMINATE, False, pid)
        if not process:
            raise self._error()
        try:
            if not self.kernel32.AssignProcessToJobObject(ctypes.c_void_p(self.handle), ctypes.c_void_p(process)):
                raise self._error()
        finally:
            self.kernel32.CloseHandle(ctypes.c_void_p(process))

    def close(self) -> None:
        """End every process in the job and let the job go."""
        if self.handle:
            self.kernel32.TerminateJobObject(ctypes.c_void_p(self.handle), 1)
            self.kernel32.CloseHandle(ctypes.c_void_p(self.handle))
            self.handle = None

    @staticmethod
    def _error() -> OSError:
        return ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
