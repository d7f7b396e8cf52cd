"""``python -m lmmcourse.data``: regenerate or check the CSV files."""

from . import main

raise SystemExit(main())
