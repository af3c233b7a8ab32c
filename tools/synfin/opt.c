/* The option parser of every subcommand (see opt.h). */
#include "opt.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct opt *find(const struct opt_cmd *c, const char *name,
                              const struct opt_group **g)
{
    for (int k = 0; k < c->ngroups; k++)
        for (const struct opt *o = c->groups[k].opts; o->kind != OPT_END; o++)
            if (o->kind != OPT_TEXT && (!strcmp(name, o->name) ||
                                        (o->alias && !strcmp(name, o->alias)))) {
                *g = &c->groups[k];
                return o;
            }
    return NULL;
}

static void *at(void *base, size_t off)
{
    return (char *)base + off;
}

static void store_num(void *base, const struct opt *o, double d)
{
    void *p = at(base, o->off);
    switch (o->as) {
    case OPT_AS_BOOL: *(bool *)p = d != 0; break;
    case OPT_AS_INT: *(int *)p = (int)d; break;
    case OPT_AS_UINT: *(unsigned *)p = (unsigned)d; break;
    case OPT_AS_U16: *(uint16_t *)p = (uint16_t)d; break;
    case OPT_AS_U32: *(uint32_t *)p = (uint32_t)d; break;
    case OPT_AS_U64: *(uint64_t *)p = (uint64_t)d; break;
    case OPT_AS_DOUBLE: *(double *)p = d; break;
    }
}

static void store_int(void *base, const struct opt *o, unsigned long long n)
{
    void *p = at(base, o->off);
    switch (o->as) {
    case OPT_AS_BOOL: *(bool *)p = n != 0; break;
    case OPT_AS_INT: *(int *)p = (int)n; break;
    case OPT_AS_UINT: *(unsigned *)p = (unsigned)n; break;
    case OPT_AS_U16: *(uint16_t *)p = (uint16_t)n; break;
    case OPT_AS_U32: *(uint32_t *)p = (uint32_t)n; break;
    case OPT_AS_U64: *(uint64_t *)p = (uint64_t)n; break;
    case OPT_AS_DOUBLE: *(double *)p = (double)n; break;
    }
}

int opt_number(const struct opt *o, const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if ((o->flags & OPT_F_SUFFIX) && *end && !end[1]) {
        d *= *end == 'k' || *end == 'K' ? 1e3
             : *end == 'M' || *end == 'm' ? 1e6
             : *end == 'G' || *end == 'g' ? 1e9 : NAN;
        end++;
    }
    if (errno || end == v || *end)
        return OPT_BAD;
    *out = d;
    return 0;
}

bool opt_in_range(const struct opt *o, double d)
{
    if (!(d >= o->lo && d <= o->hi))
        return false;
    if ((o->flags & OPT_F_LO_OPEN) && d <= o->lo)
        return false;
    return !(o->flags & OPT_F_WHOLE) || d == floor(d);
}

void opt_store_num(void *base, const struct opt *o, double d)
{
    store_num(base, o, d * (o->scale ? o->scale : 1));
}

static int read_num(void *base, const struct opt *o, const char *v)
{
    double d;
    if (opt_number(o, v, &d) || !opt_in_range(o, d))
        return OPT_BAD;
    opt_store_num(base, o, d);
    return 0;
}

static int read_int(void *base, const struct opt *o, const char *v)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, o->base);
    if (errno || end == v || *end || *v == '-' || n < o->min ||
        (o->max && n > o->max))
        return OPT_BAD;
    store_int(base, o, n);
    return 0;
}

static int read_enum(void *base, const struct opt *o, const char *v)
{
    for (int k = 0; o->choices[k]; k++)
        if (!strcmp(v, o->choices[k])) {
            store_int(base, o, (unsigned long long)(o->vals ? o->vals[k] : k));
            return 0;
        }
    return OPT_BAD;
}

/* Reads v for o: 0, or OPT_BAD / OPT_UNKNOWN / OPT_FAIL. */
static int read_value(const struct opt_cmd *c, void *base, const struct opt *o,
                      const char **v)
{
    switch (o->kind) {
    case OPT_STR:
        if ((o->flags & OPT_F_NONEMPTY) && !**v) {
            *v = NULL; /* told as a missing value */
            return OPT_BAD;
        }
        *(const char **)at(base, o->off) = *v;
        return 0;
    case OPT_NUM: return read_num(base, o, *v);
    case OPT_INT: return read_int(base, o, *v);
    case OPT_ENUM: return read_enum(base, o, *v);
    case OPT_FN: return o->fn(base, o, *v, c->prog);
    default: return OPT_UNKNOWN;
    }
}

static int report(const struct opt_group *g, enum opt_err_kind k,
                  const struct opt_cmd *c, const char *name,
                  const struct opt *o, const char *v, bool had)
{
    struct opt_err e = {k, c->prog, name, o, v, had};
    g->report(&e);
    return 2;
}

/* One argument that is not an option of the command. */
static int other(const struct opt_cmd *c, const char *a, bool had_value)
{
    bool positional = a[0] != '-' || ((c->flags & OPT_C_DASH_ARG) && !a[1]);
    int r = positional && c->positional ? c->positional(c->ctx, a) : OPT_UNKNOWN;
    if (r == 0)
        return 0;
    if (r == OPT_UNKNOWN)
        return report(&c->groups[0], OPT_E_UNKNOWN, c, a, NULL, NULL, had_value);
    return 2;
}

int opt_parse(const struct opt_cmd *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *inline_v = NULL, *eq;
        char name[32];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            opt_help(c, stdout);
            return OPT_HELP;
        }
        if ((c->flags & OPT_C_EQUALS) && a[0] == '-' && (eq = strchr(a, '=')) &&
            (size_t)(eq - a) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            a = name;
            inline_v = eq + 1;
        }
        const struct opt_group *g;
        const struct opt *o = find(c, a, &g);
        int r;
        if (!o) {
            r = other(c, a, inline_v || i + 1 < argc);
        } else if (o->kind == OPT_FLAG || o->kind == OPT_CALL) {
            if (inline_v)
                return report(&c->groups[0], OPT_E_UNKNOWN, c, a, NULL, NULL, true);
            if (o->kind == OPT_FLAG)
                store_int(g->base, o, (unsigned long long)o->val);
            r = o->kind == OPT_CALL ? o->fn(g->base, o, NULL, c->prog) : 0;
        } else {
            const char *v = inline_v ? inline_v : i + 1 < argc ? argv[++i] : NULL;
            if (!v)
                return report(g, OPT_E_MISSING, c, a, o, NULL, false);
            r = read_value(c, g->base, o, &v);
            if (r == OPT_BAD)
                return report(g, OPT_E_BAD, c, a, o, v, true);
        }
        if (r == OPT_UNKNOWN && o)
            return report(&c->groups[0], OPT_E_UNKNOWN, c, a, NULL, NULL, true);
        if (r)
            return 2;
        if (o && (o->flags & OPT_F_SETS))
            *(bool *)at(g->base, o->set_off) = true;
    }
    return 0;
}

void opt_help(const struct opt_cmd *c, FILE *f)
{
    if (c->usage)
        fputs(c->usage, f);
    for (int k = 0; k < c->ngroups; k++)
        for (const struct opt *o = c->groups[k].opts; o->kind != OPT_END; o++) {
            if (!o->help)
                continue;
            if (o->kind == OPT_TEXT) {
                fputs(o->help, f);
                continue;
            }
            char label[64];
            if (o->usage)
                snprintf(label, sizeof label, "%s", o->usage);
            else
                snprintf(label, sizeof label, "%s%s%s", o->name, o->arg ? " " : "",
                         o->arg ? o->arg : "");
            fprintf(f, "  %-16s ", label);
            for (const char *s = o->help; *s; s++) {
                fputc(*s, f);
                if (*s == '\n')
                    fprintf(f, "%19s", "");
            }
            fputc('\n', f);
        }
    if (c->footer)
        fputs(c->footer, f);
}
