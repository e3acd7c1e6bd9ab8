"""The brainviz exception family.

Every error raised on purpose by brainviz derives from :class:`BrainvizError`
and also from the nearest built-in exception, so that ``except ValueError``
or ``except FileNotFoundError`` in user code keeps working.

Messages name the file or parameter at fault and say what was expected.
"""

__all__ = [
    "BrainvizError",
    "ImageFileError",
    "ImageNotFoundError",
    "NotAFileError",
    "EmptyFileError",
    "TruncatedFileError",
    "UnsupportedFormatError",
    "UnsupportedDataError",
    "DimensionError",
    "AffineError",
    "DataValueError",
    "ShapeMismatchError",
    "ParameterError",
    "JobError",
    "JobCancelledError",
    "ResultError",
    "OutputExistsError",
    "CacheError",
    "MemoryLimitError",
    "SceneError",
    "ExportError",
    "BrainvizWarning",
    "EmptyOverlayWarning",
    "CacheWarning",
]


class BrainvizError(Exception):
    """Base class of every error brainviz raises on purpose."""


# --- files ----------------------------------------------------------------
class ImageFileError(BrainvizError, OSError):
    """A file could not be read as a brain image."""


class ImageNotFoundError(ImageFileError, FileNotFoundError):
    """The path does not exist."""


class NotAFileError(ImageFileError, IsADirectoryError):
    """The path exists but is a directory (or another non-file)."""


class EmptyFileError(ImageFileError):
    """The file is empty (0 bytes)."""


class TruncatedFileError(ImageFileError, EOFError):
    """The file ends before the data its header announces."""


class UnsupportedFormatError(ImageFileError, ValueError):
    """The file is not in a format brainviz (nibabel) can read."""


# --- image content --------------------------------------------------------
class UnsupportedDataError(BrainvizError, TypeError):
    """The data type is not supported (complex, RGB, ...)."""


class DimensionError(BrainvizError, ValueError):
    """The image has the wrong number or size of dimensions."""


class AffineError(BrainvizError, ValueError):
    """The voxel-to-world affine is singular or not finite."""


class DataValueError(BrainvizError, ValueError):
    """The values cannot be used (all NaN, constant where variance is needed...)."""


class ShapeMismatchError(BrainvizError, ValueError):
    """Two inputs that must share a grid, a length or a shape do not."""


# --- parameters, jobs, results -------------------------------------------
class ParameterError(BrainvizError, ValueError):
    """A parameter has a value outside the allowed ones."""


class JobError(BrainvizError, RuntimeError):
    """A job failed; the original traceback is kept on the job."""


class JobCancelledError(JobError):
    """A job was cancelled before it finished."""


class ResultError(BrainvizError, OSError):
    """A saved result folder is missing, incomplete or unreadable."""


class OutputExistsError(ResultError, FileExistsError):
    """The output exists and replacing it was not asked for.

    ``path`` is the output; a command line says how to replace it in its own
    words (``--overwrite``).
    """

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path


class CacheError(BrainvizError, OSError):
    """The cache cannot be managed as asked (an entry cannot be removed...)."""


class MemoryLimitError(BrainvizError, MemoryError):
    """Reading the data would take more memory than brainviz allows (BRAINVIZ_MAX_MEMORY)."""


# --- display and export ---------------------------------------------------
class SceneError(BrainvizError, ValueError):
    """A scene cannot be built from the given inputs."""


class ExportError(BrainvizError, OSError):
    """A figure could not be written."""


# --- warnings -------------------------------------------------------------
class BrainvizWarning(UserWarning):
    """Base class of brainviz warnings."""


class EmptyOverlayWarning(BrainvizWarning):
    """A threshold hides everything: the overlay is drawn empty."""


class CacheWarning(BrainvizWarning):
    """The cache cannot be used (read-only, full disk): running uncached."""
