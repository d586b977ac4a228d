"""``python -m mibench.experiments.infoplane [options]``: the same command as ``mibench infoplane``."""

import argparse
import sys

from . import add_arguments, main

parser = argparse.ArgumentParser(prog="python -m mibench.experiments.infoplane",
                                 description="The information-plane experiment (nats).")
add_arguments(parser)
sys.exit(main(parser.parse_args()))
