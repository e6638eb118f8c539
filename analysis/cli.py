"""The command-line contract every analysis script keeps (analysis/README.md): a bad input gives
one line "PROG: ..." on stderr and exit status 2, never a traceback, and a failed run creates
nothing (no empty output folder, no half-written file).

How the scripts keep it:
  * `Parser` turns argparse's usage errors into a Failure (one line, not usage + error);
  * `reading(path)` turns anything a result file makes h5py or numpy raise while it is read
    (truncated, corrupt, odd types) into a ResultFileError naming the file;
  * `output_directory` and `output_file` check an output place before any work, and `Outputs`
    writes files there atomically (a temporary name, then a rename), removing everything it
    created if the run fails before the end;
  * `main` prints the one line and returns the exit status; an unexpected error (a bug, not a
    bad input) prints one line too, with exit status 1, and RIPEN_TRACEBACK=1 shows where.
"""
import argparse
import contextlib
import os
import sys
import tempfile
import traceback

import ripen_results as rr


class Failure(Exception):
    """Ends the program with a one-line message and exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse with its usage errors as Failures (argparse prints usage and exits itself)."""

    def error(self, message):
        raise Failure(message)


@contextlib.contextmanager
def reading(path):
    """Errors raised while `path` is read become one-line ResultFileErrors naming it: a damaged
    file shows itself as OSError (HDF5), KeyError, ValueError, TypeError or IndexError deep in
    h5py or numpy, never as anything a user can act on."""
    try:
        yield
    except (Failure, rr.ResultFileError):
        raise
    except OSError as error:
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise rr.ResultFileError(f"{path}: damaged or unreadable ({reason})") from None
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as error:
        raise rr.ResultFileError(f"{path}: damaged or not as ripen writes it "
                                 f"({error.__class__.__name__}: {error})") from None


def _nearest_existing(path):
    """The nearest existing ancestor of `path` (itself if it exists)."""
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _probe(directory, option, path):
    """Creates and removes a temporary file in `directory`: the one sure test that it can be
    written (permission bits say nothing to root, nor about read-only file systems)."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".ripen-probe-", dir=directory)
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        raise Failure(f"{option} {path}: cannot write in {directory}: "
                      f"{error.strerror or error}") from None


def output_directory(path, option="-o"):
    """Checks that `path` is, or can be made, a directory to write into; creates nothing."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise Failure(f"{option} {path}: exists and is not a directory")
    ancestor = _nearest_existing(path)
    if not os.path.isdir(ancestor):
        raise Failure(f"{option} {path}: cannot create it: {ancestor} is not a directory")
    _probe(ancestor, option, path)


def output_file(path, option="-o"):
    """Checks that a file can be written at `path` (its directory exists and can be written,
    and it is not itself a directory); creates nothing."""
    if os.path.isdir(path):
        raise Failure(f"{option} {path}: is a directory, not a file")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise Failure(f"{option} {path}: no directory {directory}")
    _probe(directory, option, path)


class Outputs:
    """Files written into one directory, all or nothing: the directory is made when the first
    file is written, each file goes to a temporary name and is renamed into place, and if the
    block fails every file it wrote (and the directory, if it made it) is removed again.

        with cli.Outputs(args.output) as out:
            out.save_figure(fig, "fig5a.png")
            out.save_animation(animation, fig, "movie.gif", fps=6)
            out.write_text("results.md", text)
    """

    def __init__(self, directory, option="-o"):
        self.directory, self.option = directory, option
        self.created_directories, self.written = [], []

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if kind is None:
            return False
        for path in reversed(self.written):
            with contextlib.suppress(OSError):
                os.remove(path)
        for path in reversed(self.created_directories):
            with contextlib.suppress(OSError):
                os.rmdir(path)
        if issubclass(kind, OSError) and not isinstance(error, rr.ResultFileError):
            raise Failure(f"cannot write to {self.option} {self.directory}: "
                          f"{error.strerror or error}") from None
        return False

    def _make_directory(self):
        missing, path = [], os.path.abspath(self.directory)
        while not os.path.isdir(path):
            missing.append(path)
            path = os.path.dirname(path)
        for path in reversed(missing):
            os.mkdir(path)
            self.created_directories.append(path)

    def path(self, name):
        return os.path.join(self.directory, name)

    def _commit(self, name, write):
        """Writes through `write(temporary path)`, then renames into place."""
        self._make_directory()
        # The temporary name keeps the extension: writers that pick a format by it (Pillow's
        # GIF) see the right one.
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=os.path.splitext(name)[1],
                                             dir=self.directory)
        os.close(handle)
        try:
            write(temporary)
            os.replace(temporary, self.path(name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise
        self.written.append(self.path(name))

    def write_text(self, name, text):
        def write(temporary):
            with open(temporary, "w", encoding="utf-8") as f:
                f.write(text)
        self._commit(name, write)

    def save_figure(self, fig, name, **options):
        """Saves a matplotlib figure (the format from `name`'s extension) and closes it."""
        import matplotlib.pyplot as plt
        extension = os.path.splitext(name)[1].lstrip(".") or "png"
        try:
            self._commit(name, lambda temporary: fig.savefig(temporary, format=extension,
                                                              **options))
        finally:
            plt.close(fig)

    def save_animation(self, animation, fig, name, fps=6):
        """Saves a matplotlib animation of `fig` as a GIF (Pillow's writer) and closes it."""
        import matplotlib.pyplot as plt
        from matplotlib.animation import PillowWriter
        try:
            self._commit(name, lambda temporary: animation.save(temporary,
                                                                 writer=PillowWriter(fps=fps)))
        finally:
            plt.close(fig)


def write_file(path, text, option="-o"):
    """Writes one text file atomically (a temporary name beside it, then a rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise
    except OSError as error:
        raise Failure(f"cannot write {option} {path}: {error.strerror or error}") from None


def main(prog, run, argv=None):
    """Runs `run(argv)` under the contract above; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        run(argv)
    except (Failure, rr.ResultFileError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: say so in one line, keep the traceback on request
        if os.environ.get("RIPEN_TRACEBACK"):
            traceback.print_exc()
        print(f"{prog}: internal error ({error.__class__.__name__}: {error}); "
              "RIPEN_TRACEBACK=1 shows where", file=sys.stderr)
        return 1
    return 0
