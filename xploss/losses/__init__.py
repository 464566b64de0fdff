"""Loss families (each module: kernels, hand derivatives, public functions)."""
