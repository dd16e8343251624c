import sys

from usad.cli.main import main

sys.exit(main())
