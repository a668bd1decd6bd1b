"""Allow ``python -m toolkit`` as a synonym of ``lti``."""

import sys

from toolkit.cli import main

sys.exit(main())
