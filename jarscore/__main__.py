import sys

from jarscore.cli import main

sys.exit(main())
