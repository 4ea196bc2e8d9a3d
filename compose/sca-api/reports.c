/* sca-api: reports: an analysis and a document search combined into sections (요약, 분석, 결론),
 * the table, an SVG bar chart drawn from the rows, citations and a markdown rendering. */
#include <math.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

#define CITATION_MIN_SCORE 0.15

void sca_new_id(const char *prefix, char *out, size_t len);

static void xml_escape(mock_buf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            mock_buf_adds(b, "&lt;");
            break;
        case '>':
            mock_buf_adds(b, "&gt;");
            break;
        case '&':
            mock_buf_adds(b, "&amp;");
            break;
        case '"':
            mock_buf_adds(b, "&quot;");
            break;
        default:
            mock_buf_add(b, s, 1);
        }
    }
}

/* A cell as text (for labels and markdown). */
static char *cell_text(const json_t *v)
{
    char buf[64];
    if (json_is_string(v))
        return mock_xstrdup(json_string_value(v));
    if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof(buf), "%.4g", json_real_value(v));
    else if (json_is_null(v))
        snprintf(buf, sizeof(buf), "NULL");
    else
        snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
    return mock_xstrdup(buf);
}

char *sca_svg_bar_chart(const char *title, const json_t *columns, const json_t *rows)
{
    size_t ncols = json_array_size(columns), nrows = json_array_size(rows);
    /* values: the last numeric column; labels: the first other column */
    int vcol = -1, lcol = -1;
    for (size_t c = ncols; c-- > 0;)
        if (nrows > 0 && json_is_number(json_array_get(json_array_get(rows, 0), c))) {
            vcol = (int)c;
            break;
        }
    for (size_t c = 0; c < ncols; c++)
        if ((int)c != vcol) {
            lcol = (int)c;
            break;
        }
    double max = 0;
    for (size_t r = 0; r < nrows; r++) {
        double v = vcol >= 0
                       ? json_number_value(json_array_get(json_array_get(rows, r), (size_t)vcol))
                       : 0;
        if (fabs(v) > max)
            max = fabs(v);
    }
    const int bar_h = 22, gap = 6, left = 160, width = 640, top = 40;
    int height = top + (int)nrows * (bar_h + gap) + 20;
    mock_buf_t b = MOCK_BUF_INIT;
    mock_buf_addf(&b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                  "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">",
                  width, height, width, height);
    mock_buf_adds(&b, "<title>");
    xml_escape(&b, title);
    mock_buf_adds(&b, "</title><text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">");
    xml_escape(&b, title);
    mock_buf_adds(&b, "</text>");
    for (size_t r = 0; r < nrows; r++) {
        const json_t *row = json_array_get(rows, r);
        double v = vcol >= 0 ? json_number_value(json_array_get(row, (size_t)vcol)) : 0;
        int w = max > 0 ? (int)lround(fabs(v) / max * (width - left - 100)) : 0;
        int y = top + (int)r * (bar_h + gap);
        char *label = lcol >= 0 ? cell_text(json_array_get(row, (size_t)lcol)) : mock_xstrdup("");
        char *value = vcol >= 0 ? cell_text(json_array_get(row, (size_t)vcol)) : mock_xstrdup("");
        mock_buf_addf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6, y + 15);
        xml_escape(&b, label);
        mock_buf_addf(&b,
                      "</text><rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                      "fill=\"#4e79a7\" data-value=\"",
                      left, y, w, bar_h);
        xml_escape(&b, value);
        mock_buf_addf(&b, "\"/><text x=\"%d\" y=\"%d\">", left + w + 4, y + 15);
        xml_escape(&b, value);
        mock_buf_adds(&b, "</text>");
        free(label);
        free(value);
    }
    mock_buf_adds(&b, "</svg>");
    return b.data;
}

static void md_cell(mock_buf_t *b, const json_t *v)
{
    char *t = cell_text(v);
    for (char *p = t; *p; p++)
        if (*p == '|' || *p == '\n')
            *p = ' ';
    mock_buf_adds(b, t);
    free(t);
}

static char *markdown(const json_t *report)
{
    mock_buf_t b = MOCK_BUF_INIT;
    mock_buf_addf(&b, "# %s\n\n", json_string_value(json_object_get(report, "title")));
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(report, "sections"), i, s)
    {
        mock_buf_addf(&b, "## %s\n\n%s\n\n", json_string_value(json_object_get(s, "heading")),
                      json_string_value(json_object_get(s, "text")));
    }
    json_t *table = json_object_get(report, "table");
    json_t *cols = json_object_get(table, "columns"), *rows = json_object_get(table, "rows");
    if (json_array_size(cols) > 0) {
        mock_buf_adds(&b, "|");
        json_array_foreach(cols, i, s)
        {
            mock_buf_adds(&b, " ");
            md_cell(&b, s);
            mock_buf_adds(&b, " |");
        }
        mock_buf_adds(&b, "\n|");
        for (i = 0; i < json_array_size(cols); i++)
            mock_buf_adds(&b, " --- |");
        mock_buf_adds(&b, "\n");
        json_t *row;
        json_array_foreach(rows, i, row)
        {
            mock_buf_adds(&b, "|");
            size_t j;
            json_t *v;
            json_array_foreach(row, j, v)
            {
                mock_buf_adds(&b, " ");
                md_cell(&b, v);
                mock_buf_adds(&b, " |");
            }
            mock_buf_adds(&b, "\n");
        }
        mock_buf_adds(&b, "\n");
    }
    json_t *cits = json_object_get(report, "citations");
    if (json_array_size(cits) > 0) {
        mock_buf_adds(&b, "## 출처\n\n");
        json_array_foreach(cits, i, s)
        {
            mock_buf_addf(&b, "- %s, %lld쪽\n", json_string_value(json_object_get(s, "source")),
                          (long long)json_integer_value(json_object_get(s, "page")));
        }
    }
    return b.data;
}

static json_t *build_report(const char *id, const char *question, json_t *analysis, json_t *search)
{
    json_t *cols = json_object_get(analysis, "columns"), *rows = json_object_get(analysis, "rows");
    size_t nrows = json_array_size(rows);
    bool fallback = json_is_true(json_object_get(analysis, "fallback"));
    char summary[1024], body[1024], conclusion[1024];
    if (fallback) {
        snprintf(summary, sizeof(summary), "분석을 수행하지 못했습니다: %s",
                 json_string_value(json_object_get(analysis, "message")));
        snprintf(body, sizeof(body), "데이터 조회 결과가 없습니다.");
        snprintf(conclusion, sizeof(conclusion), "잠시 후 다시 시도해 주세요.");
    } else if (nrows == 0) {
        snprintf(summary, sizeof(summary), "질문 \"%s\"에 해당하는 데이터가 없습니다.", question);
        snprintf(body, sizeof(body), "조회 결과 0행.");
        snprintf(conclusion, sizeof(conclusion), "조건을 바꾸어 다시 질문해 주세요.");
    } else {
        char *first = NULL, *value = NULL;
        json_t *row0 = json_array_get(rows, 0);
        first = cell_text(json_array_get(row0, 0));
        value = cell_text(json_array_get(row0, json_array_size(row0) - 1));
        snprintf(summary, sizeof(summary), "질문 \"%s\"의 결과는 %zu행이며, 첫 행은 %s (%s)입니다.",
                 question, nrows, first, value);
        snprintf(body, sizeof(body), "조회한 SQL: %s. 열: %zu개, 행: %zu개.",
                 json_string_value(json_object_get(analysis, "sql")), json_array_size(cols), nrows);
        snprintf(conclusion, sizeof(conclusion), "%s이(가) 가장 먼저 나타나는 결과입니다 (%s).",
                 first, value);
        free(first);
        free(value);
    }
    json_t *citations = json_array();
    size_t i;
    json_t *hit;
    json_array_foreach(json_object_get(search, "results"), i, hit)
    {
        if (json_number_value(json_object_get(hit, "score")) < CITATION_MIN_SCORE)
            continue;
        json_t *src = json_object_get(hit, "source"), *page = json_object_get(hit, "page");
        bool dup = false;
        size_t j;
        json_t *c;
        json_array_foreach(citations, j, c)
        {
            dup |= json_equal(json_object_get(c, "source"), src) &&
                   json_equal(json_object_get(c, "page"), page);
        }
        if (!dup)
            json_array_append_new(citations, json_pack("{s:O,s:O}", "source", src, "page", page));
    }
    char title[1200];
    snprintf(title, sizeof(title), "분석 보고서: %s", question);
    json_t *charts = json_array();
    if (nrows > 0) {
        char *svg = sca_svg_bar_chart(title, cols, rows);
        json_array_append_new(charts, json_pack("{s:s,s:s}", "title", title, "svg", svg));
        free(svg);
    }
    json_t *report =
        json_pack("{s:s,s:s,s:s,s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}],s:{s:O,s:O},s:o,s:o,s:O,s:b}",
                  "id", id, "title", title, "question", question, "sections", "heading", "요약",
                  "text", summary, "heading", "분석", "text", body, "heading", "결론", "text",
                  conclusion, "table", "columns", cols, "rows", rows, "charts", charts, "citations",
                  citations, "sql", json_object_get(analysis, "sql"), "fallback", fallback);
    char *md = markdown(report);
    json_object_set_new(report, "markdown", json_string(md));
    free(md);
    return report;
}

void sca_route_reports_create(sca_job_t *job)
{
    const char *question;
    json_t *analysis = sca_job_analysis(job, &question);
    if (!analysis)
        return;
    sca_error_t e = {0}, se = {0};
    json_t *search = sca_search_run(job->app, question, 3, true, &se);
    if (!search) /* citations are evidence, not a condition: a report without them */
        search = json_pack("{s:[]}", "results");
    char id[48];
    sca_new_id("rp", id, sizeof(id));
    json_t *report = build_report(id, question, analysis, search);
    json_decref(analysis);
    json_decref(search);
    char *text = json_dumps(report, JSON_COMPACT);
    MYSQL *m = sca_db_get(job->app->db, &e);
    int rc = -1;
    if (m && text) {
        char *q = sca_db_quote(m, question, strlen(question));
        char *body = sca_db_quote(m, text, strlen(text));
        size_t n = strlen(q) + strlen(body) + 200;
        char *stmt = mock_xmalloc(n);
        snprintf(stmt, n,
                 "INSERT INTO reports (id, time, question, citations, body) VALUES ('%s', "
                 "UTC_TIMESTAMP(3), %s, %zu, %s)",
                 id, q, json_array_size(json_object_get(report, "citations")), body);
        rc = sca_db_exec(m, stmt, &e);
        free(stmt);
        free(q);
        free(body);
    }
    sca_db_put(job->app->db, m, rc < 0);
    free(text);
    if (rc < 0) {
        json_decref(report);
        sca_job_error(job, &e);
        return;
    }
    job->status = 201;
    job->reply = report;
}

void sca_route_reports_get(sca_job_t *job)
{
    sca_error_t e = {0};
    MYSQL *m = sca_job_db(job, &e);
    if (!m)
        return;
    char *id = sca_db_quote(m, job->id, strlen(job->id));
    char q[256];
    snprintf(q, sizeof(q), "SELECT body FROM reports WHERE id = %s", id);
    free(id);
    json_t *r = sca_db_select(m, q, &e);
    sca_db_put(job->app->db, m, !r);
    if (!r) {
        sca_job_error(job, &e);
        return;
    }
    json_t *body = json_array_get(json_array_get(json_object_get(r, "rows"), 0), 0);
    json_t *doc = json_is_string(body) ? json_loads(json_string_value(body), 0, NULL) : NULL;
    json_decref(r);
    if (!doc) {
        sca_fail(&e, 404, "not_found", "no report with id %s", job->id);
        sca_job_error(job, &e);
        return;
    }
    job->status = 200;
    job->reply = doc;
}
