import sys

from archcheck.cli import main

sys.exit(main())
