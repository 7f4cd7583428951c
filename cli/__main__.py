"""``python -m cli``: the same program as the ``lianxin`` command."""

from .main import main

main()
