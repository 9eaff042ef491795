"""Row-chunked reading and atomic writing of 2-D arrays in ``.npy``, ``.npz`` and ``.csv`` files
(and reading of N-D ones, such as ``[rows, H, W, 3]`` images, from ``.npy`` and ``.npz``).

Reading and writing hold one chunk of rows in memory at a time, whatever the file's size (an
``.npy`` is memory-mapped, an ``.npz`` member is streamed from the zip, a ``.csv`` is read line
by line); the one exception is a Fortran-ordered array in an ``.npz``, which is read whole.
Values come out as float32. A writer fills a temporary file beside its target and renames it
into place only when :meth:`ArrayWriter.commit` is called, so a failure never leaves a partial
file. Every problem with a file is a :class:`ConfigError` naming the file (and the line or row).
"""

from __future__ import annotations

import itertools
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tfclica.errors import ConfigError
from tfclica.rundir import publish_mode

SUFFIXES = (".npy", ".npz", ".csv")
CSV_FORMAT = "%.9g"  # 9 significant digits: every float32 survives a round trip


def _suffix(path: Path, role: str) -> str:
    if path.suffix.lower() not in SUFFIXES:
        raise ConfigError(
            f"{role} {path}: unknown file type {path.suffix or '(none)'!r} "
            f"(expected {', '.join(SUFFIXES)})"
        )
    return path.suffix.lower()


def _numeric(dtype: np.dtype, source: str) -> None:
    if dtype.kind not in "fiu":
        raise ConfigError(f"{source}: holds {dtype} values; expected numbers (float or integer)")


class ArrayReader:
    """The rows of a numeric array in a file (2-D, or ``rank``-D), as float32 chunks.

    Args:
        path: the file.
        key: the array of an ``.npz``.
        role: how messages name the file.
        rank: the array's rank: 2 (``[rows, width]``), or more (e.g. 4 for ``[rows, H, W, 3]``
            images; not in a ``.csv``).

    Attributes:
        path: the file.
        rows: number of rows.
        row_shape: the shape of one row (``(width,)`` for a 2-D array).
        width: number of values per row.
        dtype: the values' type as stored.
    """

    def __init__(self, path, key: str = "x", role: str = "--input", rank: int = 2):
        self.path, self.key, self.role, self.rank = Path(path), key, role, int(rank)
        self.source = f"{role} {self.path}"
        suffix = _suffix(self.path, role)
        if suffix == ".csv" and self.rank != 2:
            raise ConfigError(
                f"{self.source}: a .csv holds rows of numbers; {self.rank}-D rows (images "
                "[rows, H, W, 3]) need an .npy or .npz file"
            )
        if not self.path.is_file():
            reason = "is a directory" if self.path.is_dir() else "no such file"
            raise ConfigError(f"{self.source}: {reason}")
        try:
            opener = {".npy": self._open_npy, ".npz": self._open_npz, ".csv": self._open_csv}
            opener[suffix]()
        except OSError as err:
            raise ConfigError(f"{self.source}: cannot read ({err.strerror or err})") from None

    # -- .npy: memory-mapped ------------------------------------------------------------------
    def _open_npy(self) -> None:
        with open(self.path, "rb") as handle:
            if handle.read(len(np.lib.format.MAGIC_PREFIX)) != np.lib.format.MAGIC_PREFIX:
                raise ConfigError(f"{self.source}: not an .npy file (no NumPy header)")
        try:
            array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except ValueError as err:
            raise ConfigError(f"{self.source}: not a readable .npy file ({err})") from None
        self._set_shape(array.shape, array.dtype)
        self._chunks = lambda rows: (array[i : i + rows] for i in range(0, self.rows, rows))

    # -- .npz: one member streamed from the zip -----------------------------------------------
    def _open_npz(self) -> None:
        try:
            archive = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile:
            raise ConfigError(f"{self.source}: not a readable .npz file (bad zip)") from None
        names = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
        if self.key not in names:
            archive.close()
            raise ConfigError(
                f"{self.source}: no array {self.key!r} (it has: {', '.join(names) or 'none'}); "
                "choose one with --key"
            )
        self._archive = archive
        with archive.open(f"{self.key}.npy") as member:
            shape, fortran, dtype = self._npy_header(member)
        self._set_shape(shape, dtype)
        self._chunks = lambda rows: self._npz_chunks(rows, fortran, dtype)

    def _npy_header(self, member):
        try:
            version = np.lib.format.read_magic(member)
            read = np.lib.format.read_array_header_1_0
            if version != (1, 0):
                read = np.lib.format.read_array_header_2_0
            return read(member)
        except ValueError as err:
            raise ConfigError(f"{self.source}: damaged array {self.key!r} ({err})") from None

    def _npz_chunks(self, rows: int, fortran: bool, dtype: np.dtype) -> Iterator[np.ndarray]:
        with self._archive.open(f"{self.key}.npy") as member:
            if fortran:  # columns are contiguous: no row chunk is; read it whole
                with np.load(self.path, allow_pickle=False) as arrays:
                    array = arrays[self.key]
                yield from (array[i : i + rows] for i in range(0, self.rows, rows))
                return
            self._npy_header(member)
            row_bytes = dtype.itemsize * self.width
            for start in range(0, self.rows, rows):
                count = min(rows, self.rows - start)
                data = member.read(count * row_bytes)
                if len(data) != count * row_bytes:
                    raise ConfigError(f"{self.source}: array {self.key!r} is truncated")
                yield np.frombuffer(data, dtype).reshape(count, *self.row_shape)

    # -- .csv: numbers separated by commas, optional header line, '#' comments -------------------
    def _open_csv(self) -> None:
        rows, firsts = 0, []
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.strip() and not line.lstrip().startswith("#"):
                    rows += 1
                    if len(firsts) < 2:
                        firsts.append(line)
        self._header = bool(firsts) and not _parses(firsts[0])  # a line of column names
        data = firsts[1:] if self._header else firsts
        width = len(data[0].split(",")) if data else 0
        self._set_shape((rows - self._header, width), np.dtype(np.float64))
        self._chunks = self._csv_chunks

    def _csv_chunks(self, rows: int) -> Iterator[np.ndarray]:
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            lines = (
                (number, line)
                for number, line in enumerate(handle, 1)
                if line.strip() and not line.lstrip().startswith("#")
            )
            if self._header:
                next(lines)
            while batch := list(itertools.islice(lines, rows)):
                yield self._parse_csv(batch)

    def _parse_csv(self, batch: list[tuple[int, str]]) -> np.ndarray:
        try:
            values = np.loadtxt([line for _, line in batch], delimiter=",", ndmin=2)
            if values.shape[1] == self.width:
                return values
        except ValueError:
            pass
        for number, line in batch:  # find the line to name
            fields = line.split(",")
            if len(fields) != self.width:
                raise ConfigError(
                    f"{self.source}: line {number} has {len(fields)} values, expected "
                    f"{self.width} (as on the first data line)"
                )
            if not _parses(line):
                raise ConfigError(
                    f"{self.source}: line {number} is not numbers separated by commas: "
                    f"{line.strip()[:60]!r}"
                )
        raise ConfigError(f"{self.source}: cannot parse lines {batch[0][0]}-{batch[-1][0]}")

    # -- common ---------------------------------------------------------------------------------
    def _set_shape(self, shape, dtype: np.dtype) -> None:
        what = f"{self.source}" + (f" array {self.key!r}" if self.path.suffix == ".npz" else "")
        if len(shape) != self.rank:
            layout = "[rows, width]" if self.rank == 2 else "[rows, ...]"
            if self.rank == 4:
                layout = "[rows, height, width, channels]"
            raise ConfigError(f"{what}: shape {tuple(shape)} is not {self.rank}-D {layout}")
        _numeric(np.dtype(dtype), what)
        self.rows, self.row_shape = int(shape[0]), tuple(int(d) for d in shape[1:])
        self.width, self.dtype = int(np.prod(self.row_shape)), np.dtype(dtype)
        if self.rows == 0:
            raise ConfigError(f"{what}: holds no rows")

    def chunks(self, rows: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(first row index, float32 [<= rows, *row_shape] array)`` over the whole file."""
        start = 0
        for chunk in self._chunks(rows):
            with np.errstate(over="ignore"):  # out-of-range values become inf: callers check
                values = np.asarray(chunk, dtype=np.float32)
            yield start, values
            start += len(chunk)

    def close(self) -> None:
        archive = getattr(self, "_archive", None)
        if archive is not None:
            archive.close()

    def __enter__(self) -> ArrayReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _parses(line: str) -> bool:
    try:
        [float(v) for v in line.split(",")]
    except ValueError:
        return False
    return True


class ArrayWriter:
    """Writes a float32 ``[rows, width]`` array chunk by chunk into a temporary file; on
    :meth:`commit` the file is renamed to ``path``, otherwise (:meth:`abort`, an exception
    inside ``with``) deleted.

    Args:
        path: the target (``.npy``, ``.npz`` or ``.csv``).
        rows, width: the final shape (an ``.npy`` header needs it up front).
        key: the array's name in an ``.npz`` and in a ``.csv``'s header comment.
    """

    def __init__(self, path, rows: int, width: int, key: str, role: str = "--output"):
        self.path, self.rows, self.width, self.key = Path(path), rows, width, key
        self.suffix = _suffix(self.path, role)
        if not self.path.parent.is_dir():
            raise ConfigError(f"{role} {self.path}: {self.path.parent} is not a directory")
        if self.path.is_dir():
            raise ConfigError(f"{role} {self.path}: is a directory")
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        except OSError as err:
            raise ConfigError(f"{role} {self.path}: cannot write ({err.strerror})") from None
        self._tmp = Path(tmp)
        publish_mode(self._tmp)
        self._file = os.fdopen(fd, "wb")
        self._written = 0
        header = {"descr": "<f4", "fortran_order": False, "shape": (rows, width)}
        if self.suffix == ".npz":
            self._zip = zipfile.ZipFile(self._file, "w", zipfile.ZIP_STORED, allowZip64=True)
            self._out = self._zip.open(f"{key}.npy", "w", force_zip64=True)
            np.lib.format.write_array_header_2_0(self._out, header)
        elif self.suffix == ".npy":
            self._out = self._file
            np.lib.format.write_array_header_2_0(self._out, header)
        else:
            self._out = self._file
            self._out.write(("# " + ",".join(f"{key}_{i}" for i in range(width)) + "\n").encode())

    def write(self, chunk: np.ndarray) -> None:
        """Append rows (float32 ``[r, width]``)."""
        chunk = np.ascontiguousarray(chunk, dtype="<f4")
        if chunk.ndim != 2 or chunk.shape[1] != self.width:
            raise ValueError(f"chunk of shape {chunk.shape} does not have width {self.width}")
        if self.suffix == ".csv":
            np.savetxt(self._out, chunk, fmt=CSV_FORMAT, delimiter=",")
        else:
            self._out.write(chunk.tobytes())
        self._written += len(chunk)

    def commit(self) -> None:
        """Close the file and move it into place (all ``rows`` must have been written)."""
        if self._written != self.rows:
            self.abort()
            raise ValueError(f"wrote {self._written} rows, expected {self.rows}")
        if self.suffix == ".npz":
            self._out.close()
            self._zip.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drop the temporary file; ``path`` is left as it was."""
        for handle in (getattr(self, "_out", None), getattr(self, "_zip", None), self._file):
            try:
                if handle is not None:
                    handle.close()
            except (OSError, ValueError):
                pass
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ArrayWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
