"""Files written like any other tool's: atomic temporaries (``tempfile.mkstemp`` makes them 0600, ``mkdtemp``
0700) get the mode a plain ``open``/``mkdir`` would give under the process's umask before they are renamed
into place, so a report or an experiment's outputs are as readable to the group as everything else."""

from __future__ import annotations

import os

__all__ = ["umask", "chmod_like_new"]


def umask() -> int:
    """The process's umask, read without changing it where the OS says (Linux: /proc/self/status)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)       # elsewhere: set and restore at once (process-wide, so briefly racy with threads)
    os.umask(old)
    return old


def chmod_like_new(path: str | os.PathLike, directory: bool = False) -> None:
    """Give ``path`` the mode a new file (0666) or directory (0777) gets under the umask."""
    os.chmod(path, (0o777 if directory else 0o666) & ~umask())
