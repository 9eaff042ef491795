"""`tfclica encode` and tfclica.export.encode_file: formats, bounded memory, errors, no partials."""

import io
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from tfclica.arrayfiles import ArrayReader, ArrayWriter
from tfclica.cli.encode import RowProgress
from tfclica.cli.main import main
from tfclica.errors import ConfigError
from tfclica.export import LoadedEncoder, load_encoder
from tfclica.export.encode_file import encode_file

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "saved_models" / "default-seed0"


class AffineEncoder(LoadedEncoder):
    """A stand-in encoder (2x + 1, width 3 -> 3): exact, fast, and with a known answer."""

    format = "test"

    def __init__(self):
        super().__init__(Path("affine"), 3, 3, None)

    def _run(self, x, output):
        return 2 * x + 1


def _write(path: Path, x: np.ndarray) -> Path:
    if path.suffix == ".npy":
        np.save(path, x)
    elif path.suffix == ".npz":
        np.savez(path, x=x, other=np.zeros(2))
    else:
        names = ",".join(f"x{i}" for i in range(x.shape[1]))
        np.savetxt(path, x, delimiter=",", header=names, comments="")  # a line of column names
    return path


def _read(path: Path, key: str) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path)
    if path.suffix == ".npz":
        with np.load(path) as arrays:
            assert list(arrays) == [key]
            return arrays[key]
    return np.loadtxt(path, delimiter=",", ndmin=2)  # the '#' column line is a comment


@pytest.fixture(scope="module")
def reference_x():
    with np.load(REFERENCE / "reference_io.npz") as ref:
        return ref["x"], ref["z_hat"]


@pytest.mark.parametrize("src", [".npy", ".npz", ".csv"])
@pytest.mark.parametrize("dst", [".npy", ".npz", ".csv"])
def test_every_format_round_trips_exactly(tmp_path, src, dst):
    x = np.random.default_rng(0).standard_normal((1000, 3)).astype(np.float32)
    _write(tmp_path / f"in{src}", x)
    rows, width = encode_file(
        AffineEncoder(), tmp_path / f"in{src}", tmp_path / f"out{dst}", batch_size=64
    )
    assert (rows, width) == (1000, 3)
    got = _read(tmp_path / f"out{dst}", "z_hat")
    # .npy/.npz keep float32 bits; CSV writes 9 significant digits, which round-trip float32
    # (and np.savetxt's default %.18e of the input loses nothing either): exact everywhere.
    np.testing.assert_array_equal(got.astype(np.float32), 2 * x + 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"in{src}", f"out{dst}"])


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_cli_round_trip_with_the_reference_export(tmp_path, reference_x, capsys, suffix):
    x, z_hat = reference_x
    _write(tmp_path / f"x{suffix}", x)
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "encode",
                "--model",
                str(REFERENCE),
                "--input",
                str(tmp_path / f"x{suffix}"),
                "--output",
                str(tmp_path / f"z{suffix}"),
                "--batch-size",
                "100",
            ]
        )
    assert stop.value.code == 0
    assert "encoded 256 rows with onnx" in capsys.readouterr().err
    got = _read(tmp_path / f"z{suffix}", "z_hat")
    # The recorded z_hat is the Keras encoder's: the parity tolerance applies.
    np.testing.assert_allclose(got, z_hat, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got, load_encoder(REFERENCE / "encoder.onnx")(x), atol=1e-6)


def test_encode_does_not_import_tensorflow(tmp_path, reference_x):
    np.save(tmp_path / "x.npy", reference_x[0])
    code = (
        "import sys\n"
        "from tfclica.cli.main import main\n"
        f"args = ['encode', '--model', {str(REFERENCE)!r}, '--input', {str(tmp_path / 'x.npy')!r},"
        f" '--output', {str(tmp_path / 'z.npy')!r}]\n"
        "try:\n    main(args)\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "assert 'tensorflow' not in sys.modules, 'tfclica encode imported TensorFlow'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert np.load(tmp_path / "z.npy").shape == (256, 10)


@pytest.mark.parametrize("src", [".npy", ".npz", ".csv"])
def test_memory_stays_bounded(tmp_path, src):
    # 200,000 rows x 3 float32 = 2.4 MB in and out (CSV: about 10 MB of text); chunks of 2,000
    # rows are 24 kB. Peak traced memory (NumPy registers its buffers with tracemalloc) must stay
    # far below one copy of the array: 1 MB leaves room for the zip/CSV buffers, not the data.
    x = np.random.default_rng(1).standard_normal((200_000, 3)).astype(np.float32)
    _write(tmp_path / f"in{src}", x)
    del x
    tracemalloc.start()
    try:
        encode_file(AffineEncoder(), tmp_path / f"in{src}", tmp_path / "out.npy", batch_size=2000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"peak {peak / 1e6:.2f} MB"
    assert np.load(tmp_path / "out.npy", mmap_mode="r").shape == (200_000, 3)


def _bad_files(tmp_path: Path) -> dict:
    x = np.ones((50, 3), np.float32)
    nan = x.copy()
    nan[37, 1] = np.nan
    (tmp_path / "short.csv").write_text("1,2,3\n4,5\n")
    (tmp_path / "words.csv").write_text("1,2,3\n4,five,6\n")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    np.save(tmp_path / "text.npy", np.array([["a", "b", "c"]]))
    np.save(tmp_path / "flat.npy", np.ones(3, np.float32))
    return {
        "width": (_write(tmp_path / "wide.npy", np.ones((4, 5))), "width 5.*x\\[batch, 3\\]"),
        "nan": (_write(tmp_path / "nan.npy", nan), "row 37 .*column 1 is nan"),
        "inf": (_write(tmp_path / "inf.csv", np.full((3, 3), 1e39)), "is inf"),
        "key": (_write(tmp_path / "x.npz", x), "no array 'y' \\(it has: x, other\\)"),
        "missing": (tmp_path / "missing.npy", "no such file"),
        "directory": (tmp_path, "unknown file type"),
        "suffix": (_write(tmp_path / "x.npy", x).rename(tmp_path / "x.txt"), "unknown file"),
        "csv-width": (tmp_path / "short.csv", "line 2 has 2 values, expected 3"),
        "csv-text": (tmp_path / "words.csv", "line 2 is not numbers"),
        "npy-junk": (tmp_path / "junk.npy", "not an .npy file"),
        "npz-junk": (tmp_path / "junk.npz", "not a readable .npz"),
        "strings": (tmp_path / "text.npy", "expected numbers"),
        "1-D": (tmp_path / "flat.npy", "not 2-D"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "width",
        "nan",
        "inf",
        "key",
        "missing",
        "directory",
        "suffix",
        "csv-width",
        "csv-text",
        "npy-junk",
        "npz-junk",
        "strings",
        "1-D",
    ],
)
def test_bad_input_is_one_line_and_leaves_no_output(tmp_path, case):
    path, needle = _bad_files(tmp_path)[case]
    out = tmp_path / "out" / "z.npy"
    out.parent.mkdir()
    out.write_bytes(b"previous result")
    key = "y" if case == "key" else "x"
    with pytest.raises(ConfigError, match=needle) as info:
        encode_file(AffineEncoder(), path, out, key=key, batch_size=8)
    assert "\n" not in str(info.value)
    assert out.read_bytes() == b"previous result"  # untouched, and no temporary files beside it
    assert [p.name for p in out.parent.iterdir()] == ["z.npy"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--input", "{d}/wide.npy"], "width 5"),
        (["--input", "{d}/nan.npy"], "row 37"),
        (["--input", "{d}/x.npz", "--key", "y"], "no array 'y'"),
        (["--input", "{d}/missing.npy"], "no such file"),
        (["--input", "{d}/x.npz", "--batch-size", "0"], "at least 1"),
        (["--input", "{d}/x.npz", "--aligned"], "no output 'z_aligned'"),
    ],
)
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, args, needle):
    bad = tmp_path / "bad"
    bad.mkdir()
    _bad_files(bad)
    np.savez(bad / "x.npz", x=np.ones((4, 10), np.float32))
    np.save(bad / "wide.npy", np.ones((4, 5), np.float32))
    nan = np.ones((50, 10), np.float32)
    nan[37, 0] = np.nan
    np.save(bad / "nan.npy", nan)
    out = tmp_path / "z.npy"
    argv = ["encode", "--model", str(REFERENCE), "--output", str(out)]
    with pytest.raises(SystemExit) as stop:
        main(argv + [a.format(d=bad) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2
    assert len(err) == 1 and err[0].startswith("Error:") and needle in err[0], err
    assert not out.exists()


def test_an_interrupted_write_leaves_nothing(tmp_path):
    writer = ArrayWriter(tmp_path / "z.npz", rows=10, width=3, key="z_hat")
    writer.write(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="wrote 4 rows, expected 10"):
        writer.commit()
    assert list(tmp_path.iterdir()) == []


def test_reader_chunks_cover_every_row_once(tmp_path):
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    for suffix in (".npy", ".npz", ".csv"):
        with ArrayReader(_write(tmp_path / f"x{suffix}", x)) as reader:
            assert (reader.rows, reader.width) == (10, 3)
            chunks = list(reader.chunks(4))
        assert [start for start, _ in chunks] == [0, 4, 8]
        np.testing.assert_array_equal(np.concatenate([c for _, c in chunks]), x)


def test_progress_only_on_large_inputs():
    stream = io.StringIO()  # not a terminal: one line per tenth
    progress = RowProgress(stream)
    for done in range(0, 1_000_001, 10_000):
        progress(done, 1_000_000)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("[" + "#" * 24 + "] 1,000,000/1,000,000")
    small = io.StringIO()
    RowProgress(small)(5000, 5000)
    assert small.getvalue() == ""
