import sys

from mibench.cli import main

sys.exit(main())
