"""Dataset adapters: one module per dataset family, each registered with `@register_dataset`."""
