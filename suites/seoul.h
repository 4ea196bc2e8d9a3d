/* Names of the Seoul commercial fixture (fixtures/) the suites check: tables, columns, the document
 * collection and the cassette questions. One place to change when the fixture's schema changes. */
#ifndef SUITES_SEOUL_H
#define SUITES_SEOUL_H

/* tables */
#define SEOUL_SALES "seoul_sales" /* 추정매출-상권: one row per quarter x area x industry */
#define SEOUL_AREAS "seoul_areas" /* 상권: area code, name, type, district */
#define SEOUL_INDUSTRIES "seoul_industries" /* 서비스 업종: code, name, category */

/* columns */
#define COL_QUARTER "quarter_code"        /* 기준_년분기_코드, e.g. 20241 */
#define COL_AREA_CODE "area_code"         /* 상권_코드 */
#define COL_AREA_NAME "area_name"         /* 상권_코드_명 */
#define COL_DISTRICT "district"           /* 자치구 (25) */
#define COL_INDUSTRY_CODE "industry_code" /* 서비스_업종_코드 */
#define COL_INDUSTRY_NAME "industry_name" /* 서비스_업종_코드_명 */
#define COL_SALES_AMOUNT "sales_amount"   /* 당월_매출_금액 */
#define COL_SALES_COUNT "sales_count"     /* 당월_매출_건수 */
#define COL_WEEKDAY_AMOUNT "weekday_sales_amount"
#define COL_WEEKEND_AMOUNT "weekend_sales_amount"

/* documents in the vector store */
#define SEOUL_DOCS_COLLECTION "seoul_documents"
#define SEOUL_STARTUP_SOURCE "startup_policy" /* the top hit's payload.source contains this */

/* questions of ADR-009 that the cassette answers */
#define Q_GANGNAM_TOP_INDUSTRY "강남구에서 매출이 가장 높은 업종은 무엇인가요?"
#define Q_TOP10_INDUSTRIES "서울시 전체 매출 상위 10개 업종을 보여주세요"
#define Q_STARTUP_POLICY "스타트업 지원 정책은 무엇인가요?"

/* the 25 자치구 of Seoul */
static const char *const SEOUL_DISTRICTS[25] = {
    "종로구",   "중구",   "용산구", "성동구",   "광진구", "동대문구", "중랑구", "성북구", "강북구",
    "도봉구",   "노원구", "은평구", "서대문구", "마포구", "양천구",   "강서구", "구로구", "금천구",
    "영등포구", "동작구", "관악구", "서초구",   "강남구", "송파구",   "강동구",
};

#endif
