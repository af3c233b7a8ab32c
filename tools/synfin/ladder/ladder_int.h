/* What the ladder's model (model.c) and its text (text.c) share. */
#ifndef SF_TOOLS_LADDER_INT_H
#define SF_TOOLS_LADDER_INT_H

#include "ladder/ladder.h"

enum explain_key {
    EX_SYN, EX_SYNACK, EX_HS_ACK, EX_DATA, EX_ACK, EX_FIN, EX_FIN_ACK,
    EX_RST, EX_RST_REFUSED, EX_RST_OLD, EX_LOST, EX_DUP, EX_CORRUPT,
    EX_REORDER, EX_OLD, EX_RETRANSMIT, EX_TW_EXPIRED, EX_DROP,
    EX_NKEYS
};

/* The explanation of a step of kind k; of a state change (NULL: none);
 * the reason written beside a state change. */
const char *ladder_explain_text(enum explain_key k, bool zh);
const char *ladder_state_text(enum sf_state from, enum sf_state to,
                              enum sf_cause cause, bool zh);
const char *ladder_cause_text(enum sf_cause cause);
/* --lang zh: the words of the ladder in Chinese when zh, else English
 * (the core's own texts): a state change's cause, a stack's drop reason,
 * the network's, a timer's name, a core note (unknown notes as given). */
const char *ladder_cause_word(enum sf_cause cause, bool zh);
const char *ladder_drop_word(enum sf_drop d, bool zh);
const char *ladder_timer_word(enum sf_timer_kind k, bool zh);
const char *ladder_note_word(const char *note, bool zh);
/* A message of `synfin sim` or `synfin ladder` about bad input (stderr):
 * its Chinese with zh, when the table has it; else en itself. */
const char *ladder_err_word(const char *en, bool zh);
/* Whether the command line asks for --lang zh (read before the options
 * are, so that a bad option before --lang is reported in Chinese). */
bool ladder_args_zh(int argc, char **argv);
/* Row i of the notes' table (the page translates them too); -1 past it. */
int ladder_note_row(size_t i, const char **en, const char **zh);
/* Row i of the state-change table (from, cause: -1 for any); 0 or -1
 * past the end. For the TCP lab's page. */
int ladder_state_text_row(size_t i, int *to, int *from, int *cause,
                          const char **en, const char **zh);

#endif
