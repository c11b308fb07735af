// CShellShim: libedit set-up done from C (its globals and variadic calls do not import
// cleanly into Swift 6).
#ifndef LATHE_SHELLSHIM_H
#define LATHE_SHELLSHIM_H

// The completion callback: given the whole line, and the [start, end) byte range of the word
// being completed, returns a malloc'd string of candidates separated by '\n' (each candidate
// replaces the word), or NULL for none.
typedef char *(*ls_complete_fn)(const char *line, int start, int end);

// Initializes libedit's readline layer: program name, word-break characters, completion
// through `fn`, and history capped at `max_history` entries loaded from `history_path`.
void ls_init(const char *name, ls_complete_fn fn, int max_history, const char *history_path);
// Reads a line with `prompt`. Returns a malloc'd line (without the newline) or NULL at EOF
// or on Ctrl-C (check the interrupt flag to tell them apart).
char *ls_readline(const char *prompt);
void ls_add_history(const char *line);
int ls_write_history(const char *path);
// The number of history entries and entry i (0 = oldest); the pointer is owned by libedit.
int ls_history_length(void);
const char *ls_history_get(int i);
void ls_free(void *p);

#endif
