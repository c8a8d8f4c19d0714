"""Amp models: every supported file family loads into a ``ModelFile`` whose description
(``arch/``) runs on a numba engine, or (ONNX graphs the pedal does not recognise) on
onnxruntime. ``load_model`` picks the format by content, not by extension
(``registry.FORMATS``), and is the error boundary of every model file: it fails only with a
``ModelError`` naming the file.
"""

from __future__ import annotations

from ..errors import ModelError, PedalError
from .record import ModelFile

MAX_JSON_BYTES = 32 * 1024 * 1024

__all__ = ["LoaderBug", "ModelFile", "load_model", "load_model_bytes"]


class LoaderBug(ModelError):
    """Loading a file failed in a way the loaders did not foresee: a bug in the pedal, caught
    at the boundary (the file is refused; the message asks for a report)."""


# what a file is when it is not a model (the first bytes of common formats)
_NOT_MODELS = ((b"RIFF", "a WAV audio file"), (b"fLaC", "a FLAC audio file"),
               (b"OggS", "an Ogg audio file"), (b"FORM", "an AIFF audio file"),
               (b"ID3", "an MP3 audio file"), (b"PK\x03\x04", "a zip archive (a PyTorch "
                                                         "checkpoint or .npz?)"),
               (b"\x80", "a Python pickle (never loaded: pickles run code)"),
               (b"\x93NUMPY", "a NumPy array file"), (b"\x89HDF", "an HDF5 file (Keras .h5?)"),
               (b"%PDF", "a PDF document"), (b"\x7fELF", "a program"))


def load_model(path, *, prefer: str = "numba") -> ModelFile:
    """Load any supported amp-model file; raises ModelError naming the file (and only that)."""
    from .files import read_model_bytes
    from .onnx.load import MAX_FILE_BYTES

    p, data = read_model_bytes(path, max(MAX_FILE_BYTES, MAX_JSON_BYTES))
    return load_model_bytes(data, str(p), prefer=prefer)


def load_model_bytes(data: bytes, name: str, *, prefer: str = "numba") -> ModelFile:
    """A model file's bytes -> ModelFile; the error boundary (see ``LoaderBug``)."""
    try:
        model = _load(data, name, prefer)
        from .loudness import file_digest

        model.sha256 = file_digest(data)
        return model
    except PedalError:
        raise
    except RecursionError:
        raise ModelError(f"{name}: nested too deeply to be a model file") from None
    except MemoryError:
        raise ModelError(f"{name}: too large to load (out of memory)") from None
    except Exception as exc:  # noqa: BLE001 - the boundary: anything else is our bug
        msg = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise LoaderBug(f"{name}: the loader failed on this file ({type(exc).__name__}: "
                        f"{msg}); the file is skipped. This is a bug in the pedal: please "
                        "report it with the file") from exc


def _load(data: bytes, name: str, prefer: str) -> ModelFile:
    from . import jsondoc, registry

    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    for magic, what in _NOT_MODELS:
        if head.startswith(magic):
            raise ModelError(f"{name}: this is {what}, not an amp model")
    if not head.startswith((b"{", b"[")):
        if _looks_like_text(data[:512]):
            raise ModelError(f"{name}: a text file, not an amp model (models are JSON or "
                             "ONNX files)")
        from .onnx.load import parse_onnx

        return parse_onnx(data, name, prefer=prefer)
    if len(data) > MAX_JSON_BYTES:
        raise ModelError(f"{name}: model file is {len(data) / 1e6:.1f} MB, over the "
                         f"{MAX_JSON_BYTES / 1e6:.0f} MB limit for JSON models")
    doc = jsondoc.parse(data, name)
    if isinstance(doc, list):
        raise ModelError(f"{name}: a JSON list, not a model file (a model file is a JSON "
                         "object or ONNX)")
    fmt = registry.json_format(doc)
    if fmt is None:
        raise ModelError(f"{name}: not a known amp-model format ({registry.known_formats()})")
    node = jsondoc.Node(doc, name)
    spec, sr, meta = fmt.parse(node)
    stated = meta.pop("sample_rate_stated", True)
    model = ModelFile(name, fmt.name, spec, sr, dict(meta), rate_stated=stated)
    if fmt.self_check is not None:
        err = fmt.self_check(node, model.make_engine())
        model.check_error = err
        if err is not None and err > 1e-4:
            model.notices.append(f"{name}: differs from the file's own output_batch by "
                                 f"{err:.2g}")
    return model


def _looks_like_text(head: bytes) -> bool:
    """Printable UTF-8 throughout (an ONNX file starts with binary field tags)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head[:-3].decode("utf-8")  # a character cut at the end of the sample
        except UnicodeDecodeError:
            return False
    return bool(text) and all(c.isprintable() or c in "\n\r\t" for c in text)
