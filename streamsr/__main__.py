import sys

from streamsr._cli import main

sys.exit(main())
