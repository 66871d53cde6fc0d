"""`python -m mentorbot`."""

from mentorbot.cli import main

raise SystemExit(main())
