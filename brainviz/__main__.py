"""``python -m brainviz`` does what the ``brainviz`` command does."""
import sys

from brainviz.cli import main

if __name__ == "__main__":
    sys.exit(main())
