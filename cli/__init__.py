"""The ``tfclica`` command line (installed as ``tfclica.cli``). Importing it never imports TF."""
