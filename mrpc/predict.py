"""`python -m mrpc.predict` (also `mrpc-predict`): the command line of mrpc.inference.predict."""

import sys

from mrpc.inference.predict import main

if __name__ == "__main__":
    sys.exit(main())
