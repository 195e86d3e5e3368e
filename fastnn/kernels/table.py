"""The machinery behind the formula tables: plain Python formulas, compiled where they are used.

Each element-wise or row-wise body (an activation, a loss term, an optimizer's update, ...) is a
plain Python function over scalars or one array element, written once and marked ``@formula``:
Numba compiles it inline into every CPU kernel that calls it, and the CUDA kernels of
fastnn/cuda call the same function, which Numba's CUDA target compiles for the GPU (on the CUDA
simulator it runs as compiled CPU code). Formulas may call other formulas. A family's table (a
tuple of entries, the entry's position being its code) drives both backends.

``switch(cases, family)`` is how a CPU kernel runs the loop of one table entry chosen by a
runtime code:

    run = switch([(code_0, body_0), (code_1, body_1), ...], "activation", returns)
    run(kinds, code, *args)    # == body_k(*args) for the k with code_k == code

It compiles to one LLVM ``switch`` whose cases call the bodies, each compiled once as its own
function with the caller's compiler flags (fast-math, error model): the dispatch happens once per
call, outside the loops, so every body's loops vectorise as if written out by hand. Only the
cases that ``kinds`` lets through for ``family`` are compiled (fastnn/kernels/kinds.py). It is
an ``@intrinsic``, not generated source, so the kernels that call it cache to disk as usual
(docs/engine.md compares it with the alternatives).

``layout(*names)`` gives named column (or slot) indices: ``layout("alpha", "l1").l1 == 1``;
jitted code reads them as constants.
"""

from collections import namedtuple

import numba
from llvmlite import binding as llvm
from numba.core import compiler, types
from numba.core.targetconfig import ConfigStack
from numba.extending import intrinsic

from ._jit import FASTMATH
from .kinds import handles


def formula(f):
    """Mark the plain Python function ``f`` as a formula: a Numba function inlined into its CPU
    callers, which CUDA kernels can call too."""
    return numba.njit(inline="always", fastmath=FASTMATH, error_model="numpy")(f)


def layout(*names):
    """A namedtuple of indices 0, 1, ... under ``names``: the named columns of a table."""
    return namedtuple("Layout", names)(*range(len(names)))


def _subroutine_flags():
    """The flags of the kernel being compiled (so a case compiles as its caller would), less
    releasing the GIL, which only a kernel's Python wrapper does: a case compiled for a kernel
    that releases it serves one that does not."""
    flags = ConfigStack.top_or_none()
    if flags is None:
        flags = compiler.Flags()
        flags.fastmath = FASTMATH
        flags.error_model = "numpy"
        flags.nrt = True
    flags = flags.copy()
    flags.release_gil = False
    return flags


_CASES = {}  # (body, its closure, argument types, flags) -> Numba's CompileResult


def _case_function(context, body, arg_types):
    """Compile ``body`` for ``arg_types`` (once per process) and put its code into the library
    being compiled, to be inlined there. Its own library is never finalized: the caller's
    library optimises it and makes its machine code together with its own (as Numba's
    subroutines are, less one optimisation and machine-code pass of their own)."""
    flags = _subroutine_flags()
    key = (body.__code__, tuple(cell.cell_contents for cell in body.__closure__ or ()),
           arg_types, flags.get_mangle_string(), str(flags.fastmath), str(flags.error_model))
    compiled = _CASES.get(key)
    if compiled is None:
        flags.no_compile = True
        flags.no_cpython_wrapper = True
        flags.no_cfunc_wrapper = True
        library = context.codegen().create_library(body.__name__)
        compiled = compiler.compile_internal(context.typing_context, context, library, body,
                                             arg_types, None, flags, {})
        _CASES[key] = compiled
    caller = context.active_code_library
    module = compiled.library._final_module.clone()
    for function in module.functions:
        if not function.is_declaration and function.linkage == llvm.Linkage.external:
            function.linkage = "weak_odr"  # several callers may hold it; one definition wins
    # inlined: a call would pass every argument (a record of arrays is dozens of values), which
    # costs more than the work of a small case (a layer of a network stepped one row at a time)
    module.get_function(compiled.fndesc.llvm_func_name).add_function_attribute("alwaysinline")
    caller._final_module.link_in(module)  # its functions were optimised when it was compiled
    for library in compiled.library._linking_libraries:
        caller.add_linking_library(library)
    return compiled


def switch(cases, family, returns=types.none):
    """A jitted ``run(kinds, code, *args)`` calling ``body(*args)`` for the case whose code
    equals ``code`` (``cases`` a sequence of (int code, plain Python body) of the table
    ``family``; only the codes ``kinds`` handles are compiled; no case: nothing runs and
    a zero of ``returns`` comes back). ``returns`` is the Numba type every body's result is
    cast to. The arguments are passed on as they are (no tuple is built, so arrays take no
    reference counting). A body must not raise: its status is not checked."""
    cases = tuple((int(code), body) for code, body in cases)

    @intrinsic
    def run(typingctx, kinds, code, *args):
        if not isinstance(code, types.Integer):
            return None
        compiled_cases = [(case_code, body) for case_code, body in cases
                          if handles(kinds, family, case_code)]
        star = args[0] if len(args) == 1 and isinstance(args[0], types.StarArgTuple) \
            else types.StarArgTuple.from_types(args)

        def codegen(context, builder, sig, llargs):
            _, code_value, packed = llargs
            arg_types = tuple(sig.args[2])
            values = [builder.extract_value(packed, i) for i in range(len(arg_types))]
            end = builder.append_basic_block("switch.end")
            result = None
            if returns != types.none:
                result = builder.alloca(context.get_value_type(returns))
                builder.store(context.get_constant(returns, 0), result)
            table = builder.switch(code_value, end)
            for case_code, body in compiled_cases:
                block = builder.append_basic_block(f"switch.case{case_code}")
                table.add_case(context.get_constant(sig.args[1], case_code), block)
                with builder.goto_block(block):
                    compiled = _case_function(context, body, arg_types)
                    # The cases cannot raise (no bounds checks, NumPy's error model), so the
                    # call's status is not checked: no error path keeps the caller's arrays
                    # reference-counted.
                    _, value = context.call_internal_no_propagate(
                        builder, compiled.fndesc, compiled.signature, values)
                    if result is not None:
                        builder.store(context.cast(builder, value,
                                                   compiled.signature.return_type, returns),
                                      result)
                    builder.branch(end)
            builder.position_at_end(end)
            return context.get_dummy_value() if result is None else builder.load(result)

        return returns(kinds, code, star), codegen

    return run
