"""``fastnn compile``: compile (or check) every kernel this fastnn can need, for this CPU.

For images and clusters: run it once where the kernels will be used (``pip install fastnn &&
fastnn compile`` in an image build); later processes load the kernels from the cache folder
instead of compiling. Each dtype is compiled in a fresh process (fastnn.precompile); a dtype
whose kernels the cache already holds is only checked, so a second run takes a fraction of a
second. ``--clean`` first removes the cache folders of other fastnn versions.
"""

import click

EXIT_NOT_SAVED = 1


def _describe(report):
    if report["checked"]:
        return f"{report['kernels']} kernels already compiled (checked in the cache index)"
    if report["compiled"] == 0:
        what = f"{report['loaded']} kernels loaded from the cache, none compiled"
    else:
        what = (f"compiled {report['compiled']} kernel specialisations"
                + (f" (loaded {report['loaded']})" if report["loaded"] else ""))
    return f"{what} in {report['seconds']:.1f} s" + ("" if report["saved"] else
                                                      ": NOT saved (the folder is not writable)")


@click.command("compile")
@click.option("--dtype", "dtypes", type=click.Choice(("float32", "float64")), multiple=True,
              help="Compile for this dtype only (repeatable).  [default: both]")
@click.option("--clean", is_flag=True,
              help="First remove the cache folders of other fastnn versions.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def compile_command(dtypes, clean, quiet):
    """Compile fastnn's kernels into the on-disk cache (or check that they are there)."""
    import numba

    from fastnn import __version__, compile_cache, precompile

    def say(line):
        if not quiet:
            click.echo(line)

    if clean:
        removed = compile_cache.clean()
        for path, size in removed:
            say(f"removed {path} ({size / 1e6:.1f} MB)")
        if not removed:
            say(f"nothing to remove in {compile_cache.cache_root()}")
    if compile_cache.CACHE_DIR is None:
        raise click.ClickException(
            f"no usable cache folder under {compile_cache.cache_root()}: set FASTNN_CACHE_DIR "
            f"to a writable folder (without one, every process compiles the kernels)")
    say(f"fastnn {__version__}, numba {numba.__version__}, "
        f"CPU {compile_cache.cpu_description()[0]}")
    say(f"cache folder: {compile_cache.CACHE_DIR}")
    reports = precompile.compile_kernels(
        dtypes or compile_cache.DTYPES,
        on_report=lambda report: say(f"{report['dtype']}: {_describe(report)}"))
    if not all(report["saved"] for report in reports):
        raise click.exceptions.Exit(EXIT_NOT_SAVED)
