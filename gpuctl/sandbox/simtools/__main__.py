import sys

from gpuctl.sandbox.simtools import main

sys.exit(main())
