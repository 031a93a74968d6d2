"""The fast kernel from Python: rows as one float64 matrix (strings as the kernel's codes), one
crossing into Java per call; a single row goes through per-thread buffers shared with Java."""

from __future__ import annotations

import threading

import jpype
import numpy as np

from jarscore.scorer import jvm

UNKNOWN = -2.0  # io.jarscore.kernel.Kernel.UNKNOWN: a string not in the field's table


class FastPath:
    """Encodes columns for the model's kernel and decodes its outputs into Scorer's result columns."""

    def __init__(self, java_model, threads: int):
        # Only through Model: a JPype wrapper of the generated kernel class would be cached by JPype
        # and keep the model's class loader (and its classes) alive after close().
        self._model = java_model
        self.threads = max(1, int(threads))
        shape = java_model.kernelShape()
        self.inputs, self.outputs = int(shape[0]), int(shape[1])
        # per input: its code table (string to code), or None for a number
        self.codes = [None if t is None else {str(v): float(i) for i, v in enumerate(t)}
                      for t in java_model.kernelInputTables()]
        self._labels = [None if t is None else np.asarray([str(v) for v in t], dtype=object)
                        for t in java_model.kernelOutputLabels()]
        self.coded = [(i, c) for i, c in enumerate(self.codes) if c is not None]  # (position, table)
        self.numeric_only = not self.coded
        self._local = threading.local()
        self._scratch = threading.local()

    def encode(self, columns: list, rows: int) -> np.ndarray | None:
        """Row-major (rows, inputs) float64 in this thread's scratch memory (see ``scratch``), or
        None when a string is not in a kernel table (the JPMML path then scores the call and reports
        or handles the value as JPMML does)."""
        matrix = self.scratch("encoded", rows, self.inputs)
        for i, (column, codes) in enumerate(zip(columns, self.codes)):
            if codes is None:
                matrix[:, i] = column
                continue
            # one lookup per category; code -1 (missing) picks the NaN at the end
            lookup = np.array([codes.get(v, UNKNOWN) for v in column.categories] + [np.nan])
            if UNKNOWN in lookup:
                return None
            matrix[:, i] = lookup[column.codes]
        return matrix

    def score(self, matrix: np.ndarray) -> list | None:
        """Scorer result columns (float64 arrays; labels as lists of str) for a (rows, inputs) matrix,
        or None as ``outputs_of`` says. The raw outputs go to scratch memory: the columns are copies."""
        out = self.outputs_of(matrix, into_scratch=True)
        return None if out is None else self._columns(out)

    #: The most memory a thread keeps between calls, per array (``scratch``): a million rows of 11
    #: inputs take 88 MB.
    SCRATCH_BYTES = 256 << 20

    def scratch(self, name: str, rows: int, width: int) -> np.ndarray:
        """A (rows, width) float64 array of this thread's, overwritten by its next call that asks for
        ``name``: memory kept from the thread's earlier calls where it is large enough, up to
        ``SCRATCH_BYTES``, until the thread ends or ``release_scratch``. Fresh memory costs more
        than it seems: the page faults of a fresh million-row matrix take longer than the kernel
        takes to score it."""
        if rows * width * 8 > self.SCRATCH_BYTES:
            return np.empty((rows, width), dtype=np.float64)
        kept = getattr(self._scratch, name, None)
        if kept is None or len(kept) < rows:  # each name has one width: inputs or outputs
            kept = np.empty((rows, width), dtype=np.float64)
            setattr(self._scratch, name, kept)
        return kept[:rows]

    def release_scratch(self) -> None:
        """Lets go of every thread's scratch memory (the scorer's ``close``)."""
        self._scratch = threading.local()

    def score_row(self, matrix: np.ndarray) -> list | None:
        """The result values of a (1, inputs) matrix (numbers as float64 scalars, labels as str), or
        None as ``outputs_of`` says: ``score``'s first row, without building columns."""
        out = self.outputs_of(matrix)
        if out is None:
            return None
        row = out[0]
        return [row[j] if labels is None else labels[int(row[j])] for j, labels in enumerate(self._labels)]

    def outputs_of(self, matrix: np.ndarray, into_scratch: bool = False) -> np.ndarray | None:
        """The kernel's raw (rows, outputs) float64 results: labels as codes; in this thread's
        scratch memory for a batch when ``into_scratch`` (the caller copies what it keeps). None for a
        single row with an infinite value (Java checks it, not numpy, which cost more than the
        copies): the caller's general path then names the field. Batches must come checked.

        A batch crosses once: Java reads the matrix and writes the results in numpy's own memory
        (no copy into Java arrays, whose cost grows with the batch), row-major or
        column-major as it comes. Only a batch over ``SHARED_BYTES`` crosses in pieces, as a Java
        buffer holds under 2 GiB (a column-major one is made row-major first)."""
        rows = matrix.shape[0]
        if rows == 1:
            return self.score_one(matrix)
        out = self.scratch("outputs", rows, self.outputs) if into_scratch else np.empty((rows, self.outputs))
        if matrix.dtype == np.float64 and matrix.flags.f_contiguous and not matrix.flags.c_contiguous \
                and max(matrix.nbytes, out.nbytes) <= self.SHARED_BYTES:
            # column-major, as DataFrame.to_numpy() gives: Java gathers each block's rows itself
            # (a transposed copy would be a second matrix, paid mostly in page faults)
            with jvm.java_errors():
                self._model.scoreKernelSharedColumns(jvm.direct_buffer(matrix.T), rows, jvm.direct_buffer(out),
                                                     self.threads)
            return out
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        piece = max(1, self.SHARED_BYTES // (8 * max(self.inputs, self.outputs, 1)))
        for first in range(0, rows, piece):
            part, result = matrix[first:first + piece], out[first:first + piece]
            with jvm.java_errors():
                self._model.scoreKernelShared(jvm.direct_buffer(part), len(part), jvm.direct_buffer(result),
                                              self.threads, first)
        return out

    #: The most one crossing shares with Java, per buffer (Java's limit is 2 GiB): 2.7M rows of 50.
    SHARED_BYTES = 1 << 30

    def score_one(self, row: np.ndarray, picked: bool = False) -> np.ndarray | None:
        """The kernel's raw (1, outputs) results for a (1, inputs) array (a fresh array), or None for
        a row with an infinite value, as ``outputs_of`` says. ``picked``: only the outputs
        ``row_picks`` names, (1, picked outputs)."""
        # The hot path of a single row: no context manager, no conversion at the boundary (the row
        # is copied into memory Java reads, the call takes no arguments). The fork check comes
        # first: in a forked child even allocating a Java object can hang. (Read inline, the flag
        # costs a third of the call that checks it.)
        if jvm.forked_after_jvm:
            jvm.check_not_forked()
        try:
            score, inp, out, picks = self._local.row
        except AttributeError:
            score, inp, out, picks = self._local.row = self._shared_row()
        inp[...] = row
        try:
            scored = score()
        except jpype.JException as exc:
            raise jvm.translate(exc) from None
        return (picks if picked else out).copy() if scored else None

    #: The outputs ``score_one(row, picked=True)`` returns, a slice (Scorer sets it: its probabilities).
    row_picks = slice(None)

    def _shared_row(self) -> tuple:
        """This thread's Java row and the numpy views of its memory that ``score_one`` uses."""
        java, inp, out = jvm.shared_row(self._model, self.inputs, self.outputs)
        inp, out = inp.reshape(1, -1), out.reshape(1, -1)
        # The bound method, looked up once: JPype's lookup is a third of a call's cost. The
        # arrays are (1, n) and the picked outputs a view made once: `inp[...] = row` costs 90 ns
        # where `inp[:] = row[0]` cost 310, and a view a call costs 170 ns.
        return java.score, inp, out, out[:, self.row_picks]

    def _columns(self, out: np.ndarray) -> list:
        columns = []
        for j, labels in enumerate(self._labels):
            if labels is None:
                columns.append(out[:, j].copy())
            else:
                columns.append(labels[out[:, j].astype(np.int64)].tolist())
        return columns
