"""`python -m mrpc.evaluate` (also `mrpc-evaluate`): the command line of mrpc.inference.evaluate."""

import sys

from mrpc.inference.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
