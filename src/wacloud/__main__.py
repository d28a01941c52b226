"""``python -m wacloud``: the same as the ``wacloud`` command."""

from wacloud.cli import main

main()
