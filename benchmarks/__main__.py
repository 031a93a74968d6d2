"""`python -m benchmarks` is `jarscore bench`."""

import sys

from benchmarks.run import main

sys.exit(main())
