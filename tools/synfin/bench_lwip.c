#include "synfin/bench.h"
int bench_lwip(const struct bench_opts *o, struct bench_res *res)
{
    (void)o;
    bench_note(res, "todo");
    return -1;
}
