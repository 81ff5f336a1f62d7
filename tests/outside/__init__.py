"""Outside pairs: old and new implementations of one API that nobody here wrote, installed
from the package registries (``examples/<pair>/install.sh``) and started on loopback."""
