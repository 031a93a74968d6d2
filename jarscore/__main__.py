import sys

try:
    from jarscore.cli import main
except KeyboardInterrupt:   # Ctrl-C while Python is still importing the command line
    command = next((word for word in sys.argv[1:] if not word.startswith("-")), "command")
    print(f"jarscore {command}: error: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
