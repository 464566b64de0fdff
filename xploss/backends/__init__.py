"""Per-framework adapters, each imported only when an array of its kind arrives.

Every backend module has ``backend(name)`` returning an object with

* ``xp``: the array-API namespace;
* ``apply(bound, arrays)``: run a :class:`xploss._define.Bound` as one
  differentiable operation of the framework;
* ``value_and_grad(fn, argnums)``: the framework's gradient of ``fn``;
* ``is_concrete(x)``: True when ``x`` holds values (eager), False when traced.
"""
