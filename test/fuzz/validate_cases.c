/*-------------------------------------------------------------------------
 *
 * validate_cases.c
 *	  The validation evaluator (src/rule_validate.c) against the spec's
 *	  behaviour cases 49-56 and 95-102 and the operator table of §5.2, as a
 *	  frontend program that prints TAP.  Built and run by test/fuzz/cases.sh.
 *
 * Each case gives a rule, a payload, the expected number of failures and,
 * optionally, their types (comma-separated, in order), the first failure's
 * field, message and expected value; or count -1 for a rule that must be
 * refused through acl_rule_error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <setjmp.h>
#include <stdio.h>

#include "rule.h"

static jmp_buf *error_jump;
static char *error_message;

void
acl_rule_error(AclRuleErrorKind kind, const char *path, const char *message,
			   const char *detail, const char *hint)
{
	error_message = psprintf("%s: %s", path, message);
	if (error_jump == NULL)
	{
		fprintf(stderr, "unexpected error: %s\n", error_message);
		exit(2);
	}
	longjmp(*error_jump, 1);
}

void
acl_rule_check_depth(int depth, const char *path)
{
	if (depth > 100)
		acl_rule_error(ACL_RULE_TOO_DEEP, path, "too deep", NULL, NULL);
}

typedef struct Case
{
	const char *name;
	const char *rule;
	const char *payload;
	int			count;			/* -1: the rule must be refused */
	const char *types;			/* "eq,neq", or NULL */
	const char *field;			/* of the first failure, or NULL */
	const char *message;		/* of the first failure, or NULL */
	const char *expected;		/* of the first failure ("NULL" for none), or NULL */
} Case;

#define R97 "{\"_or\": [{\"_and\": [{\"a\": 1}, {\"b\": 1}]}, {\"_and\": [{\"a\": 2}, {\"b\": 2}]}]}"

static const Case cases[] = {
	/* ---- case 95: _contains on strings and arrays ---- */
	{"95 contains: substring passes", "{\"value\": {\"_contains\": \"MATCH-EXACT\"}}", "{\"value\": \"substring-MATCH-EXACT\"}", 0},
	{"95 contains: case matters", "{\"value\": {\"_contains\": \"MATCH-EXACT\"}}", "{\"value\": \"match-exact\"}", 1, "contains", "value", "Value has to contain \"MATCH-EXACT\".", "\"MATCH-EXACT\""},
	{"95 contains: null fails", "{\"value\": {\"_contains\": \"MATCH-EXACT\"}}", "{\"value\": null}", 1, "contains"},
	{"95 contains: number fails", "{\"value\": {\"_contains\": \"MATCH-EXACT\"}}", "{\"value\": 123}", 1, "contains"},
	{"95 contains: array with a matching string passes", "{\"value\": {\"_contains\": \"MATCH-EXACT\"}}", "{\"value\": [123, \"MATCH-EXACT\"]}", 0},
	{"95 contains: empty array fails", "{\"value\": {\"_contains\": \"MATCH-EXACT\"}}", "{\"value\": []}", 1, "contains"},
	{"95 contains: object fails", "{\"value\": {\"_contains\": \"MATCH-EXACT\"}}", "{\"value\": {}}", 1, "contains"},
	{"95 contains: number items are not strings", "{\"value\": {\"_contains\": \"12\"}}", "{\"value\": [123]}", 1, "contains"},
	{"95 contains: any item may match", "{\"value\": {\"_contains\": \"12\"}}", "{\"value\": [\"x\", \"a12\"]}", 0},
	/* ---- case 96: _ncontains ---- */
	{"96 ncontains: other case passes", "{\"value\": {\"_ncontains\": \"match\"}}", "{\"value\": \"MATCH\"}", 0},
	{"96 ncontains: substring fails", "{\"value\": {\"_ncontains\": \"match\"}}", "{\"value\": \"substring-match\"}", 1, "ncontains", "value", "Value can't contain \"match\"."},
	{"96 ncontains: null fails", "{\"value\": {\"_ncontains\": \"match\"}}", "{\"value\": null}", 1, "ncontains"},
	{"96 ncontains: array without match passes", "{\"value\": {\"_ncontains\": \"match\"}}", "{\"value\": [123, \"MATCH\"]}", 0},
	{"96 ncontains: array with match fails", "{\"value\": {\"_ncontains\": \"match\"}}", "{\"value\": [\"foo\", \"match\"]}", 1, "ncontains"},
	{"96 ncontains: number items are not strings", "{\"value\": {\"_ncontains\": \"12\"}}", "{\"value\": [123]}", 0},
	{"96 ncontains: empty array passes", "{\"value\": {\"_ncontains\": \"12\"}}", "{\"value\": []}", 0},
	/* ---- case 97: _or reports every branch ---- */
	{"97 or: a=0 b=0 gives 4", R97, "{\"a\": 0, \"b\": 0}", 4, "eq,eq,eq,eq", "a", "Value has to be \"1\".", "1"},
	{"97 or: a=0 b=1 gives 3", R97, "{\"a\": 0, \"b\": 1}", 3, "eq,eq,eq"},
	{"97 or: a=1 b=2 gives 2", R97, "{\"a\": 1, \"b\": 2}", 2, "eq,eq", "b"},
	{"97 or: a=1 b=1 passes", R97, "{\"a\": 1, \"b\": 1}", 0},
	{"97 or: a=2 b=2 passes", R97, "{\"a\": 2, \"b\": 2}", 0},
	/* ---- case 98: absent keys pass ---- */
	{"98 absent key passes _eq", "{\"field\": {\"_eq\": \"field\"}}", "{}", 0},
	/* ---- case 99: _nbetween (deliberately NOT BETWEEN, not Directus's never-true) ---- */
	{"99 nbetween: below passes", "{\"field\": {\"_nbetween\": [1, 3]}}", "{\"field\": 0}", 0},
	{"99 nbetween: inside fails", "{\"field\": {\"_nbetween\": [1, 3]}}", "{\"field\": 2}", 1, "nbetween", "field", "Value can't be between \"1\" and \"3\".", "[1, 3]"},
	{"99 nbetween: bound is inside", "{\"field\": {\"_nbetween\": [1, 3]}}", "{\"field\": 3}", 1, "nbetween"},
	{"99 nbetween: above passes", "{\"field\": {\"_nbetween\": [1, 3]}}", "{\"field\": 4}", 0},
	{"99 nbetween: null fails", "{\"field\": {\"_nbetween\": [1, 3]}}", "{\"field\": null}", 1, "nbetween"},
	/* ---- case 100: _regex slashes, string operators with null ---- */
	{"100 regex /.../ matches", "{\"field\": {\"_regex\": \"/.*field$/\"}}", "{\"field\": \"myfield\"}", 0},
	{"100 regex /.../ anchored", "{\"field\": {\"_regex\": \"/.*field$/\"}}", "{\"field\": \"fields\"}", 1, "regex", "field", "Value doesn't have the correct format."},
	{"100 regex bare matches", "{\"field\": {\"_regex\": \".*field$\"}}", "{\"field\": \"myfield\"}", 0},
	{"100 regex bare anchored", "{\"field\": {\"_regex\": \".*field$\"}}", "{\"field\": \"fields\"}", 1, "regex"},
	{"100 regex on a number fails", "{\"field\": {\"_regex\": \"1\"}}", "{\"field\": 1}", 1, "regex"},
	{"100 starts_with null demands true", "{\"field\": {\"_starts_with\": null}}", "{\"field\": \"x\"}", 1, "starts_with", "field", "Value has to be \"true\".", "true"},
	{"100 starts_with null accepts true", "{\"field\": {\"_starts_with\": null}}", "{\"field\": true}", 0},
	{"100 contains 5 demands true", "{\"f\": {\"_contains\": 5}}", "{\"f\": 5}", 1, "contains"},
	{"100 contains 'true' is coerced", "{\"f\": {\"_contains\": \"true\"}}", "{\"f\": \"true\"}", 1, "contains"},
	{"100 regex null demands true", "{\"f\": {\"_regex\": null}}", "{\"f\": true}", 0},
	/* ---- case 101: error shape ---- */
	{"101 gt: -1 fails", "{\"price\": {\"_gt\": 0}}", "{\"price\": -1}", 1, "gt", "price", "Value has to be greater than \"0\".", "0"},
	{"101 gt: 1 passes", "{\"price\": {\"_gt\": 0}}", "{\"price\": 1}", 0},
	{"101 gt: numeric string converts", "{\"price\": {\"_gt\": 0}}", "{\"price\": \" 5 \"}", 0},
	{"101 gt: text fails", "{\"price\": {\"_gt\": 0}}", "{\"price\": \"abc\"}", 1, "gt"},
	{"101 gt: null fails", "{\"price\": {\"_gt\": 0}}", "{\"price\": null}", 1, "gt"},
	{"101 lt: boolean fails", "{\"price\": {\"_lt\": 5}}", "{\"price\": true}", 1, "lt", NULL, "Value has to be less than \"5\"."},
	/* ---- case 102: function fields ---- */
	{"102 year(date) passes", "{\"year(date)\": {\"_eq\": 2022}}", "{\"date\": \"2022-03-30T09:36:27Z\"}", 0},
	{"102 year(date) fails", "{\"year(date)\": {\"_eq\": 2022}}", "{\"date\": \"2021-03-30\"}", 1, "eq", "year(date)", "Value has to be \"2022\"."},
	{"102 year(date) absent passes", "{\"year(date)\": {\"_eq\": 2022}}", "{}", 0},
	{"102 year(null) is null", "{\"year(date)\": {\"_null\": true}}", "{\"date\": null}", 0},
	{"102 month", "{\"month(date)\": {\"_eq\": 3}}", "{\"date\": \"2022-03-30T09:36:27Z\"}", 0},
	{"102 week is ISO", "{\"week(date)\": {\"_eq\": 13}}", "{\"date\": \"2022-03-30T09:36:27Z\"}", 0},
	{"102 week 53 of the previous year", "{\"week(date)\": {\"_eq\": 53}}", "{\"date\": \"2021-01-01\"}", 0},
	{"102 week 1 in late December", "{\"week(date)\": {\"_eq\": 1}}", "{\"date\": \"2024-12-30\"}", 0},
	{"102 day", "{\"day(date)\": {\"_eq\": 30}}", "{\"date\": \"2022-03-30T09:36:27Z\"}", 0},
	{"102 weekday Wednesday is 3", "{\"weekday(date)\": {\"_eq\": 3}}", "{\"date\": \"2022-03-30T09:36:27Z\"}", 0},
	{"102 weekday Sunday is 0", "{\"weekday(date)\": {\"_eq\": 0}}", "{\"date\": \"2021-01-03\"}", 0},
	{"102 hour in UTC", "{\"hour(date)\": {\"_eq\": 7}}", "{\"date\": \"2022-03-30T09:36:27+02:00\"}", 0},
	{"102 offset crosses the day", "{\"day(date)\": {\"_eq\": 31}}", "{\"date\": \"2022-04-01T01:00:00+02:00\"}", 0},
	{"102 minute and second", "{\"minute(date)\": {\"_eq\": 36}, \"second(date)\": {\"_eq\": 27}}", "{\"date\": \"2022-03-30T09:36:27Z\"}", 0},
	{"102 hour of a time", "{\"hour(t)\": {\"_gte\": 12}}", "{\"t\": \"09:30:00\"}", 1, "gte"},
	{"102 count of an array", "{\"count(links)\": {\"_lt\": 3}}", "{\"links\": [1, 2, 3]}", 1, "lt", "count(links)"},
	{"102 count of a non-array is null", "{\"count(links)\": {\"_null\": true}}", "{\"links\": \"x\"}", 0},
	/* ---- cases 49-56: create validation ---- */
	{"49 preset-merged payload passes", "{\"a\": {\"_eq\": 2}}", "{\"a\": 2}", 0},
	{"50 neq published", "{\"status\": {\"_neq\": \"published\"}}", "{\"status\": \"published\"}", 1, "neq", "status", "Value can't be \"published\".", "\"published\""},
	{"51 two rules, two errors", "{\"_and\": [{\"f\": {\"_eq\": 1}}, {\"f\": {\"_eq\": 2}}]}", "{\"f\": 3}", 2, "eq,eq"},
	{"53 create without required field", "{\"_and\": [{\"title\": {\"_submitted\": true}}, {\"title\": {\"_nnull\": true}}]}", "{}", 1, "required", "title", "Value is required.", "NULL"},
	{"53 update with null", "{\"_and\": [{\"title\": {\"_submitted\": true}}, {\"title\": {\"_nnull\": true}}]}", "{\"title\": null}", 1, "nnull", "title", "Value can't be null.", "NULL"},
	{"56 user_created absent from payload", "{\"user_created\": {\"_eq\": \"u1\"}}", "{\"title\": \"x\"}", 0},
	{"61 absent price passes", "{\"price\": {\"_gt\": 0}}", "{\"title\": \"x\"}", 0},
	/* ---- §5.2: _eq / _neq ---- */
	{"eq numeric string accepts number", "{\"f\": {\"_eq\": \"2\"}}", "{\"f\": 2}", 0},
	{"eq numeric string accepts string", "{\"f\": {\"_eq\": \"2\"}}", "{\"f\": \"2\"}", 0},
	{"eq number accepts numeric string", "{\"f\": {\"_eq\": 2}}", "{\"f\": \"2\"}", 0},
	{"eq number rejects other", "{\"f\": {\"_eq\": 2}}", "{\"f\": 3}", 1, "eq"},
	{"eq rejects null", "{\"f\": {\"_eq\": 2}}", "{\"f\": null}", 1, "eq"},
	{"eq null accepts null", "{\"f\": {\"_eq\": null}}", "{\"f\": null}", 0},
	{"eq null rejects value", "{\"f\": {\"_eq\": null}}", "{\"f\": 0}", 1, "eq", NULL, "Value has to be \"null\"."},
	{"eq strings are text", "{\"f\": {\"_eq\": \"007\"}}", "{\"f\": \"7\"}", 1, "eq"},
	{"eq boolean is strict", "{\"f\": {\"_eq\": true}}", "{\"f\": \"yes\"}", 1, "eq"},
	{"eq 'true' is coerced to boolean", "{\"f\": {\"_eq\": \"true\"}}", "{\"f\": true}", 0},
	{"eq unresolved $NOW is a string", "{\"f\": {\"_eq\": \"$NOW\"}}", "{\"f\": \"$NOW\"}", 0},
	{"neq null passes", "{\"f\": {\"_neq\": \"x\"}}", "{\"f\": null}", 0},
	{"neq numeric", "{\"f\": {\"_neq\": 5}}", "{\"f\": \"5\"}", 1, "neq"},
	{"neq null rejects null", "{\"f\": {\"_neq\": null}}", "{\"f\": null}", 1, "neq"},
	/* ---- _in / _nin ---- */
	{"in member passes", "{\"f\": {\"_in\": [\"a\", \"b\"]}}", "{\"f\": \"a\"}", 0},
	{"in non-member fails", "{\"f\": {\"_in\": [\"a\", \"b\"]}}", "{\"f\": \"c\"}", 1, "in", "f", "Value has to be one of \"a\", \"b\".", "[\"a\", \"b\"]"},
	{"in null fails", "{\"f\": {\"_in\": [\"a\", \"b\"]}}", "{\"f\": null}", 1, "in"},
	{"in comma list matches numbers", "{\"f\": {\"_in\": \"1,2\"}}", "{\"f\": 1}", 0},
	{"in empty list fails", "{\"f\": {\"_in\": []}}", "{\"f\": 1}", 1, "in"},
	{"nin member fails", "{\"f\": {\"_nin\": [\"a\", \"b\"]}}", "{\"f\": \"a\"}", 1, "nin", NULL, "Value can't be one of \"a\", \"b\"."},
	{"nin null passes", "{\"f\": {\"_nin\": [\"a\", \"b\"]}}", "{\"f\": null}", 0},
	{"nin non-member passes", "{\"f\": {\"_nin\": [\"a\", \"b\"]}}", "{\"f\": \"c\"}", 0},
	/* ---- _null / _nnull / _empty / _nempty ---- */
	{"null:false still demands null", "{\"f\": {\"_null\": false}}", "{\"f\": \"x\"}", 1, "null", "f", "Value has to be null.", "NULL"},
	{"null passes null", "{\"f\": {\"_null\": false}}", "{\"f\": null}", 0},
	{"nnull:false still rejects null", "{\"f\": {\"_nnull\": false}}", "{\"f\": null}", 1, "nnull"},
	{"nnull passes value", "{\"f\": {\"_nnull\": false}}", "{\"f\": 0}", 0},
	{"empty passes ''", "{\"f\": {\"_empty\": true}}", "{\"f\": \"\"}", 0},
	{"empty: null is not empty", "{\"f\": {\"_empty\": true}}", "{\"f\": null}", 1, "empty", NULL, "Value has to be empty."},
	{"empty rejects text", "{\"f\": {\"_empty\": true}}", "{\"f\": \"x\"}", 1, "empty"},
	{"nempty rejects ''", "{\"f\": {\"_nempty\": true}}", "{\"f\": \"\"}", 1, "nempty", NULL, "Value can't be empty."},
	{"nempty passes null", "{\"f\": {\"_nempty\": true}}", "{\"f\": null}", 0},
	/* ---- string operators ---- */
	{"icontains ignores case", "{\"f\": {\"_icontains\": \"AbC\"}}", "{\"f\": \"xxabcxx\"}", 0},
	{"icontains fails", "{\"f\": {\"_icontains\": \"AbC\"}}", "{\"f\": \"xyz\"}", 1, "icontains", NULL, "Value has to contain \"AbC\", ignoring case."},
	{"icontains on array", "{\"f\": {\"_icontains\": \"AbC\"}}", "{\"f\": [\"ABC\"]}", 0},
	{"nicontains has no payload meaning", "{\"f\": {\"_nicontains\": \"x\"}}", "{\"f\": \"x\"}", 0},
	{"starts_with passes", "{\"f\": {\"_starts_with\": \"ab\"}}", "{\"f\": \"abc\"}", 0},
	{"starts_with fails", "{\"f\": {\"_starts_with\": \"ab\"}}", "{\"f\": \"cab\"}", 1, "starts_with", NULL, "Value has to start with \"ab\"."},
	{"starts_with is literal", "{\"f\": {\"_starts_with\": \"a.c\"}}", "{\"f\": \"abc\"}", 1, "starts_with"},
	{"starts_with null fails", "{\"f\": {\"_starts_with\": \"ab\"}}", "{\"f\": null}", 1, "starts_with"},
	{"nstarts_with fails", "{\"f\": {\"_nstarts_with\": \"ab\"}}", "{\"f\": \"abc\"}", 1, "nstarts_with"},
	{"nstarts_with null fails", "{\"f\": {\"_nstarts_with\": \"ab\"}}", "{\"f\": null}", 1, "nstarts_with"},
	{"nstarts_with passes", "{\"f\": {\"_nstarts_with\": \"ab\"}}", "{\"f\": \"cab\"}", 0},
	{"istarts_with ignores case", "{\"f\": {\"_istarts_with\": \"AB\"}}", "{\"f\": \"abc\"}", 0},
	{"nistarts_with ignores case", "{\"f\": {\"_nistarts_with\": \"AB\"}}", "{\"f\": \"abc\"}", 1, "nistarts_with"},
	{"ends_with passes", "{\"f\": {\"_ends_with\": \"yz\"}}", "{\"f\": \"xyz\"}", 0},
	{"ends_with fails", "{\"f\": {\"_ends_with\": \"yz\"}}", "{\"f\": \"yzx\"}", 1, "ends_with", NULL, "Value has to end with \"yz\"."},
	{"nends_with passes", "{\"f\": {\"_nends_with\": \"yz\"}}", "{\"f\": \"abc\"}", 0},
	{"iends_with ignores case", "{\"f\": {\"_iends_with\": \"YZ\"}}", "{\"f\": \"xyz\"}", 0},
	{"niends_with ignores case", "{\"f\": {\"_niends_with\": \"YZ\"}}", "{\"f\": \"xyz\"}", 1, "niends_with", NULL, "Value can't end with \"YZ\", ignoring case."},
	/* ---- ordering ---- */
	{"gte at the bound", "{\"n\": {\"_gte\": 10}}", "{\"n\": 10}", 0},
	{"gte below", "{\"n\": {\"_gte\": 10}}", "{\"n\": 9.99}", 1, "gte", NULL, "Value has to be greater than or equal to \"10\"."},
	{"lte numeric string bound", "{\"n\": {\"_lte\": \"10\"}}", "{\"n\": \"10.0\"}", 0},
	{"lte above", "{\"n\": {\"_lte\": \"10\"}}", "{\"n\": 11}", 1, "lte", NULL, "Value has to be less than or equal to \"10\"."},
	{"gt date", "{\"d\": {\"_gt\": \"2024-01-01\"}}", "{\"d\": \"2024-01-02\"}", 0},
	{"gt date before", "{\"d\": {\"_gt\": \"2024-01-01\"}}", "{\"d\": \"2023-12-31T23:59:59Z\"}", 1, "gt"},
	{"gt date with offset", "{\"d\": {\"_gt\": \"2024-01-01\"}}", "{\"d\": \"2024-01-01T00:30:00+01:00\"}", 1, "gt"},
	{"lt date with offset", "{\"d\": {\"_lt\": \"2024-01-01\"}}", "{\"d\": \"2024-01-01T00:30:00+01:00\"}", 0},
	{"gt unparseable date fails", "{\"d\": {\"_gt\": \"2024-01-01\"}}", "{\"d\": \"yesterday\"}", 1, "gt"},
	{"gt impossible date fails", "{\"d\": {\"_gt\": \"2024-01-01\"}}", "{\"d\": \"2023-02-29\"}", 1, "gt"},
	{"lt leap day", "{\"d\": {\"_lt\": \"2024-03-01\"}}", "{\"d\": \"2024-02-29\"}", 0},
	{"gt time of day", "{\"t\": {\"_gt\": \"09:00\"}}", "{\"t\": \"09:00:01\"}", 0},
	{"gt null bound never holds", "{\"n\": {\"_gt\": null}}", "{\"n\": 5}", 1, "gt"},
	{"gt unresolved $NOW compares as text", "{\"n\": {\"_gt\": \"$NOW\"}}", "{\"n\": \"$O\"}", 0},
	{"gt text bound is refused", "{\"n\": {\"_gt\": \"abc\"}}", "{\"n\": 1}", -1},
	{"refused rule unseen when key absent", "{\"n\": {\"_gt\": \"abc\"}}", "{}", 0},
	/* ---- _between ---- */
	{"between low bound", "{\"n\": {\"_between\": [20, 600]}}", "{\"n\": 20}", 0},
	{"between high bound", "{\"n\": {\"_between\": [20, 600]}}", "{\"n\": 600}", 0},
	{"between above", "{\"n\": {\"_between\": [20, 600]}}", "{\"n\": 601}", 1, "between", "n", "Value has to be between \"20\" and \"600\".", "[20, 600]"},
	{"between numeric string", "{\"n\": {\"_between\": [20, 600]}}", "{\"n\": \"300\"}", 0},
	{"between null fails", "{\"n\": {\"_between\": [20, 600]}}", "{\"n\": null}", 1, "between"},
	{"between comma string", "{\"n\": {\"_between\": \"1,10\"}}", "{\"n\": 5}", 0},
	{"between dates", "{\"d\": {\"_between\": [\"2024-01-01\", \"2024-12-31\"]}}", "{\"d\": \"2024-06-01T12:00:00Z\"}", 0},
	{"between dates after", "{\"d\": {\"_between\": [\"2024-01-01\", \"2024-12-31\"]}}", "{\"d\": \"2025-01-01\"}", 1, "between"},
	{"between one bound is refused", "{\"n\": {\"_between\": [1]}}", "{\"n\": 1}", -1},
	/* ---- _submitted ---- */
	{"submitted missing", "{\"title\": {\"_submitted\": true}}", "{}", 1, "required", "title", "Value is required.", "NULL"},
	{"submitted null counts as present", "{\"title\": {\"_submitted\": true}}", "{\"title\": null}", 0},
	/* ---- _regex translation ---- */
	{"regex \\d", "{\"f\": {\"_regex\": \"^\\\\d{3}-\\\\d{4}$\"}}", "{\"f\": \"555-1234\"}", 0},
	{"regex \\d fails", "{\"f\": {\"_regex\": \"^\\\\d{3}-\\\\d{4}$\"}}", "{\"f\": \"5551234\"}", 1, "regex"},
	{"regex class with \\w", "{\"f\": {\"_regex\": \"^[\\\\w.-]+@example\\\\.com$\"}}", "{\"f\": \"a.b-c@example.com\"}", 0},
	{"regex escaped dot", "{\"f\": {\"_regex\": \"^[\\\\w.-]+@example\\\\.com$\"}}", "{\"f\": \"a@exampleXcom\"}", 1, "regex"},
	{"regex non-capturing and lazy", "{\"f\": {\"_regex\": \"^(?:ab)+?c$\"}}", "{\"f\": \"ababc\"}", 0},
	{"regex backreference refused", "{\"f\": {\"_regex\": \"(a)\\\\1\"}}", "{\"f\": \"aa\"}", -1},
	{"regex lookahead refused", "{\"f\": {\"_regex\": \"a(?=b)\"}}", "{\"f\": \"ab\"}", -1},
	{"regex syntax error refused", "{\"f\": {\"_regex\": \"(a\"}}", "{\"f\": \"a\"}", -1},
	{"regex too large refused", "{\"f\": {\"_regex\": \"((a{100}){100})\"}}", "{\"f\": \"a\"}", -1},
	{"regex repeated quantifier refused", "{\"f\": {\"_regex\": \"a++\"}}", "{\"f\": \"a\"}", -1},
	{"regex nested + too large refused", "{\"f\": {\"_regex\": \"((((((((((a+)+)+)+)+)+)+)+)+)+)\"}}", "{\"f\": \"a\"}", -1},
	{"regex unmatched ) refused", "{\"f\": {\"_regex\": \"a)\"}}", "{\"f\": \"a)\"}", -1},
	{"regex literal brace", "{\"f\": {\"_regex\": \"^a{x}$\"}}", "{\"f\": \"a{x}\"}", 0},
	{"regex [^] matches anything", "{\"f\": {\"_regex\": \"^[^]$\"}}", "{\"f\": \"\\n\"}", 0},
	{"regex ] and - in a class", "{\"f\": {\"_regex\": \"^[\\\\]a-]+$\"}}", "{\"f\": \"]-a\"}", 0},
	/* ---- operators without payload meaning, nesting ---- */
	{"geometry has no payload meaning", "{\"g\": {\"_intersects\": {\"type\": \"Point\", \"coordinates\": [0, 0]}}}", "{\"g\": null}", 0},
	{"_some has no payload meaning", "{\"links\": {\"_some\": {\"name\": {\"_eq\": \"x\"}}}}", "{\"links\": [{\"name\": \"y\"}]}", 0},
	{"nested object is validated", "{\"author\": {\"name\": {\"_eq\": \"x\"}}}", "{\"author\": {\"name\": \"y\"}}", 1, "eq", "author", "Value has to be \"x\"."},
	{"nested object passes", "{\"author\": {\"name\": {\"_eq\": \"x\"}}}", "{\"author\": {\"name\": \"x\"}}", 0},
	{"nested key only passes", "{\"author\": {\"name\": {\"_eq\": \"x\"}}}", "{\"author\": 5}", 0},
	{"nested two levels", "{\"author\": {\"role\": {\"name\": {\"_submitted\": true}}}}", "{\"author\": {\"role\": {}}}", 1, "required", "author"},
	{"empty _or is refused (Directus would match everything)", "{\"_or\": []}", "{\"a\": 1}", -1},
	{"empty _and passes", "{\"_and\": []}", "{\"a\": 1}", 0},
	{"empty rule passes", "{}", "{\"a\": 1}", 0},
	{"null rule passes", "null", "{\"a\": 1}", 0},
	{"two operators on one field", "{\"n\": {\"_gt\": 1, \"_lt\": 5}}", "{\"n\": 7}", 1, "lt"},
	{"two operators both fail", "{\"n\": {\"_gt\": 1, \"_lt\": 5, \"_eq\": 3}}", "{\"n\": \"x\"}", 3, "gt,lt,eq"},
	{"field-level _or", "{\"n\": {\"_or\": [{\"_eq\": 1}, {\"_eq\": 2}]}}", "{\"n\": 3}", 2, "eq,eq", "n"},
	{"field-level _or passes", "{\"n\": {\"_or\": [{\"_eq\": 1}, {\"_eq\": 2}]}}", "{\"n\": 2}", 0},
	{"rule path is reported", "{\"_and\": [{\"a\": {\"_eq\": 1}}]}", "{\"a\": 2}", 1, "eq"},
	{NULL}
};

static int	failed_cases;

static bool
run_case(const Case *c, int number)
{
	const char *error = NULL;
	AclJson    *rule_json = acl_json_parse(c->rule, strlen(c->rule), &error);
	AclJson    *payload = acl_json_parse(c->payload, strlen(c->payload), &error);
	AclValidationFailure *failures = NULL;
	StringInfoData why;
	jmp_buf		jump;
	volatile int count = 0;

	initStringInfo(&why);
	if (rule_json == NULL || payload == NULL)
		appendStringInfo(&why, "bad JSON in the test: %s", error);
	else
	{
		error_message = NULL;
		error_jump = &jump;
		if (setjmp(jump) == 0)
		{
			AclRule    *rule = acl_rule_from_json(rule_json, "validation");

			count = acl_validate(rule, payload, &failures);
		}
		else
			count = -1;
		error_jump = NULL;

		if (count != c->count)
			appendStringInfo(&why, "%d failures, expected %d%s%s", count, c->count,
							 error_message ? "; error: " : "", error_message ? error_message : "");
		else if (count > 0)
		{
			StringInfoData types;

			initStringInfo(&types);
			for (int i = 0; i < count; i++)
				appendStringInfo(&types, "%s%s", i ? "," : "", failures[i].type);
			if (c->types && strcmp(types.data, c->types) != 0)
				appendStringInfo(&why, "types %s, expected %s", types.data, c->types);
			else if (c->field && strcmp(failures[0].field, c->field) != 0)
				appendStringInfo(&why, "field %s, expected %s", failures[0].field, c->field);
			else if (c->message && strcmp(failures[0].message, c->message) != 0)
				appendStringInfo(&why, "message '%s', expected '%s'", failures[0].message, c->message);
			else if (c->expected &&
					 strcmp(failures[0].expected ? failures[0].expected : "NULL", c->expected) != 0)
				appendStringInfo(&why, "expected %s, expected %s",
								 failures[0].expected ? failures[0].expected : "NULL", c->expected);
			else if (strncmp(failures[0].path, "validation", 10) != 0)
				appendStringInfo(&why, "path %s does not start with \"validation\"", failures[0].path);
		}
	}
	printf("%s %d - %s\n", why.len ? "not ok" : "ok", number, c->name);
	if (why.len)
	{
		printf("#   rule:    %s\n#   payload: %s\n#   got:     %s\n", c->rule, c->payload, why.data);
		for (int i = 0; count > 0 && i < count; i++)
			printf("#   failure %d: field=%s type=%s path=%s expected=%s message=%s\n", i,
				   failures[i].field, failures[i].type, failures[i].path,
				   failures[i].expected ? failures[i].expected : "NULL", failures[i].message);
		failed_cases++;
	}
	return why.len == 0;
}

int
main(void)
{
	int			n = 0;

	while (cases[n].name)
		n++;
	printf("1..%d\n", n);
	for (int i = 0; i < n; i++)
		run_case(&cases[i], i + 1);
	if (failed_cases)
		printf("# %d of %d validation cases failed\n", failed_cases, n);
	return failed_cases ? 1 : 0;
}
