"""`python -m mrpc.ensemble` (also `mrpc-ensemble`): the command line of mrpc.analysis.ensemble."""

import sys

from mrpc.analysis.ensemble import main

if __name__ == "__main__":
    sys.exit(main())
