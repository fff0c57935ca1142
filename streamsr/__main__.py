import sys

from streamsr.cli import main

sys.exit(main())
