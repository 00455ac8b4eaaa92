"""Methods: one module per method family, each registered with `@register_method`.

Modules here import torch and friends inside `fit`, never at the top, so listing is cheap.
"""
