from .text import _slug as _slug
