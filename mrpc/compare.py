"""`python -m mrpc.compare` (also `mrpc-compare`): the command line of mrpc.analysis.compare."""

import sys

from mrpc.analysis.compare import main

if __name__ == "__main__":
    sys.exit(main())
