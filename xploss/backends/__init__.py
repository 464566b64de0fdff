"""Per-framework adapters, each imported only when an array of its kind arrives.

Every backend module has ``backend(name)`` returning an object with

* ``xp``: the array-API namespace;
* ``apply(bound, arrays)``: run a :class:`xploss._define.Bound` as one
  differentiable operation of the framework;
* ``value_and_grad(fn, argnums)``: the framework's gradient of ``fn``;
* ``host(x)``: the values of ``x`` as a NumPy array when they are known now
  (eager, or a constant closed over by a traced function), else None.
"""
