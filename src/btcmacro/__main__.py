"""``python -m btcmacro``: the same commands as the ``btcmacro`` script."""

from .cli import main

main()
