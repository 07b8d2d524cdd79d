"""``python -m resdenoise``."""

from .cli import main

if __name__ == "__main__":
    main()
