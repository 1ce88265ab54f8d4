"""The `rushes` command, by area: `main` (the names, each module loaded when its command runs),
`footage` (ingest, assets, verify, process, custody), `settings`,
`server` (serve, user), `field` (the crew's field kit), `incidents`, `export`, `evidence`
(verify-bag), `backup` (backup, restore, vault); `common` holds the consoles and helpers they
share, and `doc` renders docs/cli.md from their help. It only presents and orchestrates.
"""

from rushes.cli.main import main

__all__ = ["main"]
