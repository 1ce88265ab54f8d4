from rushes.cli import main

main()
