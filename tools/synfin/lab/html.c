/* The TCP lab's page: tools/synfin/lab/web/page.html with its style
 * (lab.css), its script (lab.js), the run's events (the JSON of
 * io/json.c), the teaching text of the ladder (ladder/text.c) in English
 * and Chinese, and, when the build made one (`make lab-wasm`), the
 * simulator compiled to WebAssembly, base64, all inline: the file opens
 * from disk with no network. The web files are turned into C arrays at
 * build time (the Makefile's lab rules, $(BUILD)/lab_assets.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(SF_HAVE_ZLIB) && !defined(SF_LAB_NO_ASSETS)
#include <zlib.h>
#endif

#include "lab/lab.h"
#include "ladder/ladder_int.h"

#ifndef SF_LAB_NO_ASSETS
extern const unsigned char page_html[], lab_js[], lab_css[], synfin_lab_wasm[];
extern const unsigned int page_html_len, lab_js_len, lab_css_len,
    synfin_lab_wasm_len;
#endif

/* A JSON string, for the texts table. */
static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else if (*p == '<')
            fputs("\\u003c", f);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
}

/* The ladder's teaching text: the line for each kind of step (keys as
 * lab.js names them), the state-change table, and each cause's words. */
static void put_texts(FILE *f)
{
    static const char *const keys[EX_NKEYS] = {
        [EX_SYN] = "SYN", [EX_SYNACK] = "SYNACK", [EX_HS_ACK] = "HS_ACK",
        [EX_DATA] = "DATA", [EX_ACK] = "ACK", [EX_FIN] = "FIN",
        [EX_FIN_ACK] = "FIN_ACK", [EX_RST] = "RST",
        [EX_RST_REFUSED] = "RST_REFUSED", [EX_RST_OLD] = "RST_OLD",
        [EX_LOST] = "LOST", [EX_DUP] = "DUP", [EX_CORRUPT] = "CORRUPT",
        [EX_REORDER] = "REORDER", [EX_OLD] = "OLD",
        [EX_RETRANSMIT] = "RETRANSMIT", [EX_TW_EXPIRED] = "TW_EXPIRED",
        [EX_DROP] = "DROP"};
    fputs("{\"explain\":{", f);
    for (int k = 0; k < EX_NKEYS; k++) {
        fprintf(f, "%s\"%s\":[", k ? "," : "", keys[k]);
        jstr(f, ladder_explain_text((enum explain_key)k, false));
        fputc(',', f);
        jstr(f, ladder_explain_text((enum explain_key)k, true));
        fputc(']', f);
    }
    fputs("},\"states\":[", f);
    int to, from, cause;
    const char *en, *zh;
    for (size_t i = 0; !ladder_state_text_row(i, &to, &from, &cause, &en, &zh); i++) {
        fprintf(f, "%s[\"%s\",\"%s\",\"%s\",", i ? "," : "",
                sf_state_name((enum sf_state)to),
                from < 0 ? "*" : sf_state_name((enum sf_state)from),
                cause < 0 ? "*" : sf_cause_name((enum sf_cause)cause));
        jstr(f, en);
        fputc(',', f);
        jstr(f, zh);
        fputc(']', f);
    }
    fputs("],\"causes\":{", f);
    for (int c = 0; c < SF_NCAUSES; c++) {
        fprintf(f, "%s\"%s\":", c ? "," : "", sf_cause_name((enum sf_cause)c));
        jstr(f, ladder_cause_text((enum sf_cause)c));
    }
    /* the Chinese words (ladder/text.c): causes, the stack's and the
     * network's drop reasons by name, timers, the core's notes */
    fputs("},\"causes_zh\":{", f);
    for (int c = 0; c < SF_NCAUSES; c++) {
        fprintf(f, "%s\"%s\":", c ? "," : "", sf_cause_name((enum sf_cause)c));
        jstr(f, ladder_cause_word((enum sf_cause)c, true));
    }
    fputs("},\"drops_zh\":{", f);
    for (int d = 1; d < SF_NDROPS; d++) {
        fprintf(f, "%s\"%s\":", d > 1 ? "," : "", sf_drop_name((enum sf_drop)d));
        jstr(f, ladder_drop_word((enum sf_drop)d, true));
    }
    static const char *const sim_dn[SF_SIM_NDROPS] = {
#define SF_X_(n, text) [SF_SIM_DROP_##n] = #n,
        SF_SIM_DROP_LIST(SF_X_)
#undef SF_X_
    };
    for (int d = 1; d < SF_SIM_NDROPS; d++) {
        fprintf(f, ",\"net.%s\":", sim_dn[d]);
        jstr(f, ladder_sim_drop_word((enum sf_sim_drop)d, true));
    }
    fputs("},\"timers_zh\":{", f);
    for (int k = 1; k < SF_NTIMERS; k++) {
        fprintf(f, "%s\"%s\":", k > 1 ? "," : "", sf_timer_name((enum sf_timer_kind)k));
        jstr(f, ladder_timer_word((enum sf_timer_kind)k, true));
    }
    fputs("},\"notes_zh\":{", f);
    const char *ne, *nz;
    for (size_t i = 0; !ladder_note_row(i, &ne, &nz); i++) {
        fputs(i ? "," : "", f);
        jstr(f, ne);
        fputc(':', f);
        jstr(f, nz);
    }
    fputs("}}", f);
}

static void put_base64(FILE *f, const unsigned char *d, size_t n)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? d[i + 1] : 0u) << 8 |
                     (i + 2 < n ? d[i + 2] : 0u);
        fputc(b64[v >> 18 & 63], f);
        fputc(b64[v >> 12 & 63], f);
        fputc(i + 1 < n ? b64[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? b64[v & 63] : '=', f);
    }
}

/* The run's events go into the page packed (pack.c), base64; above this
 * many bytes packed, gzipped first (lab.js inflates them with the
 * browser's DecompressionStream): a 100,000-event run is some 100 MB of
 * JSON, 16 MB packed, 3 MB packed and gzipped. */
#define LAB_GZIP_OVER (256u << 10)

#if defined(SF_HAVE_ZLIB) && !defined(SF_LAB_NO_ASSETS)
/* The gzip member (RFC 1952) of json; NULL if it cannot be made. */
static unsigned char *gzip_of(const char *json, size_t n, size_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *buf = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)json;
    z.avail_in = (uInt)n; /* n < 4 GB: the sim's JSON in memory */
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int rc = buf && n < UINT32_MAX ? deflate(&z, Z_FINISH) : Z_STREAM_ERROR;
    *out = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return NULL;
    }
    return buf;
}
#else
static unsigned char *gzip_of(const char *json, size_t n, size_t *out)
{
    (void)json, (void)n, (void)out;
    return NULL;
}
#endif

int lab_html_write(const char *path, const char *title, const char *json,
                   size_t n, const char *args, char *err, size_t errlen)
{
#ifdef SF_LAB_NO_ASSETS
    (void)path, (void)title, (void)json, (void)n, (void)args, (void)put_texts;
    (void)put_base64, (void)put_html_text, (void)gzip_of;
    snprintf(err, errlen, "this build has no page (the WebAssembly one)");
    return -1;
#else
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    size_t pn = 0, bad_at = 0, zn = 0;
    unsigned char *pk = lab_pack(json, n, &pn, &bad_at);
    if (!pk) {
        fclose(f);
        remove(path);
        snprintf(err, errlen, "the run's events are not JSON (at byte %zu)", bad_at);
        return -1;
    }
    unsigned char *z = pn > LAB_GZIP_OVER ? gzip_of((const char *)pk, pn, &zn) : NULL;
    /* the page, with @@NAME@@ where each part goes */
    const char *p = (const char *)page_html, *end = p + page_html_len;
    while (p < end) {
        const char *m = memmem(p, (size_t)(end - p), "@@", 2);
        if (!m) {
            fwrite(p, 1, (size_t)(end - p), f);
            break;
        }
        fwrite(p, 1, (size_t)(m - p), f);
        const char *e = memmem(m + 2, (size_t)(end - m - 2), "@@", 2);
        if (!e) {
            fwrite(m, 1, (size_t)(end - m), f);
            break;
        }
        size_t kl = (size_t)(e - m - 2);
        const char *k = m + 2;
        if (kl == 5 && !memcmp(k, "TITLE", 5))
            put_html_text(f, title);
        else if (kl == 3 && !memcmp(k, "CSS", 3))
            fwrite(lab_css, 1, lab_css_len, f);
        else if (kl == 2 && !memcmp(k, "JS", 2))
            fwrite(lab_js, 1, lab_js_len, f);
        else if (kl == 4 && !memcmp(k, "DATA", 4))
            put_base64(f, z ? z : pk, z ? zn : pn);
        else if (kl == 5 && !memcmp(k, "TEXTS", 5))
            put_texts(f);
        else if (kl == 4 && !memcmp(k, "ARGS", 4))
            jstr(f, args ? args : "");
        else if (kl == 4 && !memcmp(k, "WASM", 4) && args)
            put_base64(f, synfin_lab_wasm, synfin_lab_wasm_len);
        else if (kl == 4 && !memcmp(k, "WASM", 4))
            ; /* a capture: no scenario to run again */
        else
            fwrite(m, 1, (size_t)(e + 2 - m), f);
        p = e + 2;
    }
    free(z);
    free(pk);
    int bad = ferror(f);
    bad |= fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
#endif
}
