import sys

from physlaw.cli import main

sys.exit(main())
