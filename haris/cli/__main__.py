"""`python -m haris.cli ...` (how torchrun starts `haris train` on several processes)."""

import sys

from haris.cli import main

sys.exit(main())
