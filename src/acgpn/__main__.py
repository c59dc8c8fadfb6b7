"""``python -m acgpn ...`` (and ``torchrun ... -m acgpn infer ...``): the ``acgpn`` command line."""

from acgpn.cli.main import main

if __name__ == "__main__":
    main()
