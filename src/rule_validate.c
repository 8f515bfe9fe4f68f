/*-------------------------------------------------------------------------
 *
 * rule_validate.c
 *	  Evaluates a normalised validation rule against a write payload with
 *	  Directus's payload semantics (spec §5.2): a key absent from the
 *	  payload passes every condition but _submitted, null is a value like
 *	  any other, and every failing condition is reported (spec §5.3).
 *
 * Frontend-safe: shared by the server and the fuzz target.  Impossible
 * rules (a bad regular expression, a _between without two bounds, an
 * ordering against something that is neither number nor date) are
 * reported through acl_rule_error().
 *
 * Deliberate choices, each also noted where it is implemented:
 *  - an empty _or passes (Directus reports the union of its branches'
 *    errors, which is empty);
 *  - _in/_nin use the same equality as _eq (numeric-like lists match
 *    numbers), so comma lists such as "1,2" still match the number 1;
 *  - _nbetween is a real NOT BETWEEN (Directus compiles "< a AND > b");
 *  - ordering against null or a boolean never holds (Directus would
 *    compare against Number(null) = 0 and Number(true) = 1);
 *  - function fields whose argument is absent pass like any absent key
 *    (Directus injects NaN there and fails the condition), their results
 *    are computed in UTC and week is the ISO week, as on the SQL side;
 *    failures name the key as written, e.g. "year(date)";
 *  - a date-time without a zone is read as UTC (JavaScript: local time);
 *  - the failure type is the operator's name (icontains, not Directus's
 *    contains) and a wrongly typed value fails with that type too
 *    (Directus: an unmapped Joi type, i.e. a 500);
 *  - case-insensitive operators fold ASCII (and single-byte server
 *    encodings) only;
 *  - regular expressions are JavaScript syntax translated to POSIX ERE;
 *    backreferences, lookaround, \x/\u escapes and patterns that expand
 *    to more than REGEX_MAX_COST nodes are refused.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <ctype.h>
#include <math.h>

#ifdef FRONTEND
#include <regex.h>
#else
#include "catalog/pg_collation.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#endif

#include "rule.h"

/* A rule whose regular expression expands to more nodes is refused. */
#define REGEX_MAX_COST 1000.0

/* ---- failures ------------------------------------------------------------ */

typedef struct Failures
{
	AclValidationFailure *items;
	int			count;
	int			capacity;
} Failures;

static void
failures_add(Failures *out, AclValidationFailure *failure)
{
	if (out->count == out->capacity)
	{
		out->capacity = out->capacity ? out->capacity * 2 : 8;
		out->items = out->items
			? repalloc(out->items, sizeof(AclValidationFailure) * out->capacity)
			: palloc(sizeof(AclValidationFailure) * out->capacity);
	}
	out->items[out->count++] = *failure;
}

static void
failures_append(Failures *out, const Failures *more)
{
	for (int i = 0; i < more->count; i++)
		failures_add(out, &more->items[i]);
}

/* ---- JSON helpers -------------------------------------------------------- */

static char *
json_text(const AclJson *value)
{
	StringInfoData buf;

	initStringInfo(&buf);
	acl_json_append(&buf, value);
	return buf.data;
}

/* A value as a message shows it: strings bare, everything else as JSON. */
static char *
display(const AclJson *value)
{
	if (value->kind == ACL_JSON_STRING)
		return value->text;
	return json_text(value);
}

static bool
is_string(const AclJson *value)
{
	return value != NULL && value->kind == ACL_JSON_STRING;
}

static bool
is_true(const AclJson *value)
{
	return value->kind == ACL_JSON_BOOL && strcmp(value->text, "true") == 0;
}

/* ---- numbers ------------------------------------------------------------- */

/*
 * JavaScript's Number() on a decimal literal: optional surrounding white
 * space, a sign, digits with an optional fraction and exponent.  Hex,
 * binary, octal, Infinity and the empty string (Number('') is 0) are not
 * numbers here.
 */
static bool
parse_decimal(const char *s, double *out)
{
	const char *p = s;
	const char *start;
	const char *end;
	bool		digits = false;

	while (isspace((unsigned char) *p))
		p++;
	start = p;
	if (*p == '+' || *p == '-')
		p++;
	while (isdigit((unsigned char) *p))
	{
		p++;
		digits = true;
	}
	if (*p == '.')
	{
		p++;
		while (isdigit((unsigned char) *p))
		{
			p++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char) *p))
			return false;
		while (isdigit((unsigned char) *p))
			p++;
	}
	end = p;
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		return false;
	if (out != NULL)
	{
		char	   *copy = pnstrdup(start, end - start);

		*out = strtod(copy, NULL);
		pfree(copy);
	}
	return true;
}

/* A JSON number, or a string that reads as one. */
static bool
numeric_value(const AclJson *value, double *out)
{
	if (value->kind != ACL_JSON_NUMBER && value->kind != ACL_JSON_STRING)
		return false;
	return parse_decimal(value->text, out);
}

/* ---- dates --------------------------------------------------------------- */

#define USECS_PER_SEC	INT64CONST(1000000)
#define USECS_PER_DAY	(INT64CONST(86400) * USECS_PER_SEC)

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64
days_from_civil(int y, int m, int d)
{
	int			era;
	int			yoe;
	int			doy;
	int			doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64) era * 146097 + doe - 719468;
}

static void
civil_from_days(int64 z, int *y, int *m, int *d)
{
	int64		era;
	int64		doe;
	int64		yoe;
	int64		doy;
	int64		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Exactly n digits at *p. */
static bool
read_digits(const char **p, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) (*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* HH:MM[:SS[.fff...]] at *p, as microseconds since midnight; 24:00 only alone. */
static bool
read_time(const char **p, int64 *usec)
{
	int			hour;
	int			minute;
	int			second = 0;
	int64		fraction = 0;

	if (!read_digits(p, 2, &hour) || **p != ':')
		return false;
	(*p)++;
	if (!read_digits(p, 2, &minute))
		return false;
	if (**p == ':' && isdigit((unsigned char) (*p)[1]))
	{
		(*p)++;
		if (!read_digits(p, 2, &second))
			return false;
		if (**p == '.' || **p == ',')
		{
			int64		scale = 100000;

			(*p)++;
			if (!isdigit((unsigned char) **p))
				return false;
			while (isdigit((unsigned char) **p))
			{
				fraction += (**p - '0') * scale;
				scale /= 10;
				(*p)++;
			}
		}
	}
	if (minute > 59 || second > 59)
		return false;
	if (hour > 23 && !(hour == 24 && minute == 0 && second == 0 && fraction == 0))
		return false;
	*usec = ((hour * INT64CONST(60) + minute) * 60 + second) * USECS_PER_SEC + fraction;
	return true;
}

/*
 * An ISO-8601 date or date-time, as microseconds since the epoch in UTC:
 * YYYY-MM-DD[(T|t| )HH:MM[:SS[.fff]][Z|z|±HH[[:]MM]]].  Without a zone the
 * time is read as UTC (JavaScript would use the server's local time).
 */
static bool
parse_timestamp(const char *s, int64 *usec)
{
	const char *p = s;
	int			year;
	int			month;
	int			day;
	int64		result;

	if (!read_digits(&p, 4, &year) || *p++ != '-' ||
		!read_digits(&p, 2, &month) || *p++ != '-' ||
		!read_digits(&p, 2, &day))
		return false;
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
		return false;
	result = days_from_civil(year, month, day) * USECS_PER_DAY;
	if ((*p == 'T' || *p == 't' || *p == ' ') && isdigit((unsigned char) p[1]))
	{
		int64		time;

		p++;
		if (!read_time(&p, &time))
			return false;
		result += time;
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-')
		{
			int			sign = *p == '-' ? -1 : 1;
			int			oh;
			int			om = 0;

			p++;
			if (!read_digits(&p, 2, &oh))
				return false;
			if (*p == ':')
			{
				p++;
				if (!read_digits(&p, 2, &om))
					return false;
			}
			else if (isdigit((unsigned char) *p) && !read_digits(&p, 2, &om))
				return false;
			if (oh > 23 || om > 59)
				return false;
			result -= sign * ((oh * INT64CONST(60) + om) * 60 * USECS_PER_SEC);
		}
	}
	if (*p != '\0')
		return false;
	*usec = result;
	return true;
}

/* A time of day alone, HH:MM[:SS[.fff]]. */
static bool
parse_time_of_day(const char *s, int64 *usec)
{
	const char *p = s;

	return read_time(&p, usec) && *p == '\0';
}

/* ---- function fields (spec §6.5) ----------------------------------------- */

/*
 * year(), month(), ... computed in UTC from a date string; count() is the
 * length of an array.  Anything else (null, an unreadable date) gives
 * null, as extract() of NULL does on the SQL side.
 */
static AclJson *
function_value(const char *function, const AclJson *arg)
{
	int64		usec;
	int64		days;
	int64		of_day;
	int			y;
	int			m;
	int			d;
	int			result;

	if (strcmp(function, "count") == 0)
	{
		if (arg->kind != ACL_JSON_ARRAY)
			return acl_json_new(ACL_JSON_NULL, NULL);
		return acl_json_new(ACL_JSON_NUMBER, psprintf("%d", arg->count));
	}
	if (arg->kind != ACL_JSON_STRING)
		return acl_json_new(ACL_JSON_NULL, NULL);
	if (parse_timestamp(arg->text, &usec))
	{
		days = usec / USECS_PER_DAY;
		of_day = usec % USECS_PER_DAY;
		if (of_day < 0)
		{
			of_day += USECS_PER_DAY;
			days--;
		}
	}
	else if (parse_time_of_day(arg->text, &of_day))
	{
		/* A time column: only the clock functions apply. */
		if (strcmp(function, "hour") != 0 && strcmp(function, "minute") != 0 &&
			strcmp(function, "second") != 0)
			return acl_json_new(ACL_JSON_NULL, NULL);
		days = 0;
		if (of_day == USECS_PER_DAY)
			of_day = 0;
	}
	else
		return acl_json_new(ACL_JSON_NULL, NULL);

	civil_from_days(days, &y, &m, &d);
	if (strcmp(function, "year") == 0)
		result = y;
	else if (strcmp(function, "month") == 0)
		result = m;
	else if (strcmp(function, "day") == 0)
		result = d;
	else if (strcmp(function, "weekday") == 0)
	{
		/* JavaScript getUTCDay(): 0 is Sunday; 1970-01-01 was a Thursday. */
		result = (int) (((days + 4) % 7 + 7) % 7);
	}
	else if (strcmp(function, "week") == 0)
	{
		/* ISO week: the week of the year that holds this week's Thursday. */
		int			isodow = (int) (((days + 3) % 7 + 7) % 7) + 1;	/* Mon=1 */
		int64		thursday = days - isodow + 4;
		int			ty;
		int			tm;
		int			td;

		civil_from_days(thursday, &ty, &tm, &td);
		result = (int) ((thursday - days_from_civil(ty, 1, 1)) / 7 + 1);
	}
	else if (strcmp(function, "hour") == 0)
		result = (int) (of_day / (INT64CONST(3600) * USECS_PER_SEC));
	else if (strcmp(function, "minute") == 0)
		result = (int) (of_day / (INT64CONST(60) * USECS_PER_SEC) % 60);
	else if (strcmp(function, "second") == 0)
		result = (int) (of_day / USECS_PER_SEC % 60);
	else
		return acl_json_new(ACL_JSON_NULL, NULL);
	return acl_json_new(ACL_JSON_NUMBER, psprintf("%d", result));
}

/* ---- equality ------------------------------------------------------------ */

/*
 * Directus's _eq: strict equality, plus Number(v) when the rule's value is
 * numeric-like (spec §5.2), so {_eq: "2"} and {_eq: 2} both accept 2 and
 * "2".  Two strings compare as text ("007" is not "7"); a number and a
 * number-like string compare numerically.
 */
static bool
values_equal(const AclJson *expected, const AclJson *actual)
{
	double		e;
	double		a;

	switch (expected->kind)
	{
		case ACL_JSON_NULL:
			return actual->kind == ACL_JSON_NULL;
		case ACL_JSON_BOOL:
			return actual->kind == ACL_JSON_BOOL && strcmp(expected->text, actual->text) == 0;
		case ACL_JSON_STRING:
			if (actual->kind == ACL_JSON_STRING)
				return strcmp(expected->text, actual->text) == 0;
			if (actual->kind == ACL_JSON_NUMBER && parse_decimal(expected->text, &e) &&
				parse_decimal(actual->text, &a))
				return e == a;
			return false;
		case ACL_JSON_NUMBER:
			if ((actual->kind == ACL_JSON_NUMBER || actual->kind == ACL_JSON_STRING) &&
				parse_decimal(expected->text, &e) && parse_decimal(actual->text, &a))
				return e == a;
			return false;
		default:
			return false;		/* the normaliser admits no lists here */
	}
}

/*
 * The members of an _in/_nin list.  The normaliser makes a JSON array; a
 * dynamic variable resolved to one value (or null) counts as a list of one.
 */
static int
list_items(const AclJson *value, AclJson ***items)
{
	if (value->kind == ACL_JSON_ARRAY)
	{
		*items = value->items;
		return value->count;
	}
	*items = palloc(sizeof(AclJson *));
	(*items)[0] = (AclJson *) value;
	return 1;
}

static bool
in_list(const AclJson *list, const AclJson *actual)
{
	AclJson   **items;
	int			n = list_items(list, &items);

	for (int i = 0; i < n; i++)
		if (values_equal(items[i], actual))
			return true;
	return false;
}

/* ---- ordering ------------------------------------------------------------ */

typedef enum CmpMode
{
	CMP_NEVER,					/* against null or a boolean: never holds */
	CMP_NUMBER,
	CMP_TIMESTAMP,
	CMP_TIME,
	CMP_TEXT					/* an unresolved "$..." value */
} CmpMode;

typedef struct CmpKey
{
	double		number;
	int64		usec;
	const char *text;
} CmpKey;

/*
 * How a rule's bound compares (Directus: Number(v) when that is not NaN,
 * else a date).  A bound that is neither is an impossible rule.
 */
static CmpMode
bound_mode(const AclRule *rule, const AclJson *bound)
{
	int64		usec;

	switch (bound->kind)
	{
		case ACL_JSON_NUMBER:
			return CMP_NUMBER;
		case ACL_JSON_STRING:
			if (parse_decimal(bound->text, NULL))
				return CMP_NUMBER;
			if (parse_timestamp(bound->text, &usec))
				return CMP_TIMESTAMP;
			if (parse_time_of_day(bound->text, &usec))
				return CMP_TIME;
			/* Dynamic variables are resolved by now; if not, plain text. */
			if (bound->text[0] == '$')
				return CMP_TEXT;
			acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
						   psprintf("operator %s compares with \"%s\", which is neither a number nor a date",
									rule->op, bound->text),
						   NULL,
						   "Write a number, an ISO-8601 date or date-time (2024-01-31, 2024-01-31T12:00:00Z) "
						   "or a time of day (12:00:00).");
			break;
		default:
			break;
	}
	/* Deliberate: Directus would order against Number(null) = 0, Number(true) = 1. */
	return CMP_NEVER;
}

/* The key of a value in a mode; false when the value does not convert. */
static bool
to_key(const AclJson *value, CmpMode mode, CmpKey *key)
{
	double		ms;

	switch (mode)
	{
		case CMP_NUMBER:
			return numeric_value(value, &key->number);
		case CMP_TIMESTAMP:
			if (value->kind == ACL_JSON_STRING && parse_timestamp(value->text, &key->usec))
				return true;
			/* Joi's date() reads numbers as milliseconds since the epoch. */
			if (numeric_value(value, &ms) && fabs(ms) <= 8.64e15)
			{
				key->usec = (int64) (ms * 1000.0);
				return true;
			}
			return false;
		case CMP_TIME:
			return value->kind == ACL_JSON_STRING && parse_time_of_day(value->text, &key->usec);
		case CMP_TEXT:
			if (value->kind != ACL_JSON_STRING)
				return false;
			key->text = value->text;
			return true;
		default:
			return false;
	}
}

static int
compare_keys(CmpMode mode, const CmpKey *a, const CmpKey *b)
{
	switch (mode)
	{
		case CMP_NUMBER:
			return a->number < b->number ? -1 : a->number > b->number ? 1 : 0;
		case CMP_TIMESTAMP:
		case CMP_TIME:
			return a->usec < b->usec ? -1 : a->usec > b->usec ? 1 : 0;
		default:
			{
				int			c = strcmp(a->text, b->text);

				return c < 0 ? -1 : c > 0 ? 1 : 0;
			}
	}
}

/* _gt/_gte/_lt/_lte: the sign of payload <=> bound, or false if incomparable. */
static bool
compare_with_bound(const AclRule *rule, const AclJson *actual, int *cmp)
{
	CmpMode		mode = bound_mode(rule, rule->value);
	CmpKey		a = {0};
	CmpKey		b = {0};

	if (mode == CMP_NEVER || !to_key(rule->value, mode, &b) || !to_key(actual, mode, &a))
		return false;
	*cmp = compare_keys(mode, &a, &b);
	return true;
}

/* _between/_nbetween: whether low <= payload <= high; false if incomparable. */
static bool
between(const AclRule *rule, const AclJson *actual, bool *inside)
{
	const AclJson *list = rule->value;
	CmpMode		m0;
	CmpMode		m1;
	CmpMode		mode;
	CmpKey		lo = {0};
	CmpKey		hi = {0};
	CmpKey		a = {0};

	if (list->kind != ACL_JSON_ARRAY || list->count != 2)
		acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
					   psprintf("operator %s takes exactly two values", rule->op), NULL,
					   psprintf("Write {\"%s\": [low, high]}.", rule->op));
	m0 = bound_mode(rule, list->items[0]);
	m1 = bound_mode(rule, list->items[1]);
	if (m0 == CMP_NEVER || m1 == CMP_NEVER)
		return false;
	if (m0 == m1)
		mode = m0;
	else if ((m0 == CMP_NUMBER && m1 == CMP_TIMESTAMP) || (m0 == CMP_TIMESTAMP && m1 == CMP_NUMBER))
		mode = CMP_TIMESTAMP;	/* Joi: a number is a date in milliseconds */
	else
	{
		acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
					   psprintf("the bounds of operator %s are of different kinds", rule->op), NULL,
					   "Give two numbers, two dates or two times of day.");
		mode = CMP_NEVER;		/* keep compiler quiet */
	}
	if (!to_key(list->items[0], mode, &lo) || !to_key(list->items[1], mode, &hi) ||
		!to_key(actual, mode, &a))
		return false;
	*inside = compare_keys(mode, &lo, &a) <= 0 && compare_keys(mode, &a, &hi) <= 0;
	return true;
}

/* ---- strings ------------------------------------------------------------- */

static char *
fold(const char *s)
{
	char	   *copy = pstrdup(s);

	for (char *p = copy; *p; p++)
		*p = (char) pg_tolower((unsigned char) *p);
	return copy;
}

static bool
contains(const char *haystack, const char *needle, bool icase)
{
	if (icase)
		return strstr(fold(haystack), fold(needle)) != NULL;
	return strstr(haystack, needle) != NULL;
}

static bool
starts_with(const char *s, const char *prefix, bool icase)
{
	if (icase)
		return strncmp(fold(s), fold(prefix), strlen(prefix)) == 0;
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
ends_with(const char *s, const char *suffix, bool icase)
{
	size_t		ls = strlen(s);
	size_t		lx = strlen(suffix);

	if (lx > ls)
		return false;
	if (icase)
		return strcmp(fold(s + ls - lx), fold(suffix)) == 0;
	return strcmp(s + ls - lx, suffix) == 0;
}

/* ---- regular expressions ------------------------------------------------- */

/*
 * Directus tests _regex with JavaScript's RegExp; we translate the common
 * subset to POSIX extended syntax for regcomp(): classes \d \w \s (and
 * negations), escapes of punctuation, (?:...) groups, lazy quantifiers
 * (irrelevant to a yes/no match).  Refused, because POSIX has no
 * equivalent or because they make matching exponential: backreferences,
 * lookaround, named groups, \x \u \c \p escapes.  Bounded repetitions are
 * expanded by regcomp, so their total size is limited.
 */
typedef struct RegexFrame
{
	double		sum;			/* cost of the finished atoms of this group */
	double		last;			/* cost of the latest atom (repeatable) */
} RegexFrame;

static void pg_attribute_noreturn()
regex_refuse(const AclRule *rule, const char *what)
{
	acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
				   psprintf("the regular expression of %s uses %s, which acl does not support",
							rule->op, what),
				   "acl matches with POSIX extended regular expressions; JavaScript's "
				   "backreferences, lookaround, named groups and \\x, \\u, \\c, \\p escapes "
				   "have no equivalent.",
				   NULL);
}

static void
frame_atom(RegexFrame *f, double cost)
{
	f->sum += f->last;
	f->last = cost;
	if (f->sum > REGEX_MAX_COST * 2)
		f->sum = REGEX_MAX_COST * 2;
}

/*
 * Length of the UTF-8 (or single-byte) character at p.  Only continuation
 * bytes join a lead byte: a malformed sequence must not swallow a ')' or
 * '{' that the regex engine, reading bytes, will see, or the cost above
 * would be computed for another pattern than the one compiled.
 */
static int
char_len(const char *p)
{
	unsigned char c = (unsigned char) *p;
	int			n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 :
		(c & 0xF8) == 0xF0 ? 4 : 1;

	for (int i = 1; i < n; i++)
		if (((unsigned char) p[i] & 0xC0) != 0x80)
			return i;
	return n;
}

/* A member of a JavaScript character class. */
typedef struct ClassAtom
{
	const char *text;			/* a literal character (possibly multibyte) */
	int			len;
	const char *set;			/* or a set such as "0-9", for \d */
} ClassAtom;

static const char *
read_class_atom(const AclRule *rule, const char *p, ClassAtom *atom)
{
	static const char *const newline = "\n";
	static const char *const tab = "\t";
	static const char *const cr = "\r";
	static const char *const ff = "\f";
	static const char *const vt = "\v";
	static const char *const bs = "\b";

	atom->set = NULL;
	if (*p != '\\')
	{
		atom->text = p;
		atom->len = char_len(p);
		return p + atom->len;
	}
	p++;
	atom->len = 1;
	switch (*p)
	{
		case '\0':
			regex_refuse(rule, "a trailing backslash");
		case 'd':
			atom->set = "0-9";
			break;
		case 'w':
			atom->set = "A-Za-z0-9_";
			break;
		case 's':
			atom->set = " \t\n\r\f\v";
			break;
		case 'D':
		case 'W':
		case 'S':
			regex_refuse(rule, "a negated class escape inside brackets");
		case 'n':
			atom->text = newline;
			break;
		case 't':
			atom->text = tab;
			break;
		case 'r':
			atom->text = cr;
			break;
		case 'f':
			atom->text = ff;
			break;
		case 'v':
			atom->text = vt;
			break;
		case 'b':
			atom->text = bs;
			break;
		default:
			if (isalnum((unsigned char) *p))
				regex_refuse(rule, psprintf("the escape \\%c", *p));
			atom->text = p;
			atom->len = char_len(p);
			return p + atom->len;
	}
	return p + 1;
}

/* [...] starting after the '['; appends a POSIX bracket expression. */
static const char *
translate_class(const AclRule *rule, const char *p, StringInfo out)
{
	bool		negate = false;
	bool		has_rbracket = false;
	bool		has_lbracket = false;
	bool		has_caret = false;
	bool		has_dash = false;
	StringInfoData body;

	initStringInfo(&body);
	if (*p == '^')
	{
		negate = true;
		p++;
	}
	while (*p != ']')
	{
		ClassAtom	a;
		ClassAtom	b;

		if (*p == '\0')
			regex_refuse(rule, "an unterminated character class");
		p = read_class_atom(rule, p, &a);
		if (a.set == NULL && p[0] == '-' && p[1] != ']' && p[1] != '\0')
		{
			const char *after = read_class_atom(rule, p + 1, &b);

			if (b.set == NULL)
			{
				/* a range; endpoints that are special in POSIX brackets are refused */
				if ((a.len == 1 && strchr("[]-^", a.text[0])) ||
					(b.len == 1 && strchr("[]-^", b.text[0])))
					regex_refuse(rule, "a range ending in [, ], - or ^");
				appendBinaryStringInfo(&body, a.text, a.len);
				appendStringInfoChar(&body, '-');
				appendBinaryStringInfo(&body, b.text, b.len);
				p = after;
				continue;
			}
			/* "a-\d": JavaScript reads the dash literally */
		}
		if (a.set != NULL)
			appendStringInfoString(&body, a.set);
		else if (a.len == 1 && a.text[0] == ']')
			has_rbracket = true;
		else if (a.len == 1 && a.text[0] == '[')
			has_lbracket = true;
		else if (a.len == 1 && a.text[0] == '^')
			has_caret = true;
		else if (a.len == 1 && a.text[0] == '-')
			has_dash = true;
		else
			appendBinaryStringInfo(&body, a.text, a.len);
	}
	p++;						/* the closing ']' */

	if (body.len == 0 && !has_rbracket && !has_lbracket && !has_caret && !has_dash)
	{
		/* [] matches nothing, [^] anything */
		if (!negate)
			regex_refuse(rule, "an empty character class");
		appendStringInfoString(out, "(.|\n)");
		return p;
	}
	if (!negate && body.len == 0 && !has_rbracket && !has_lbracket && !has_dash)
	{
		appendStringInfoString(out, "\\^");	/* [\^] alone */
		return p;
	}
	/* ']' first, '[' and '^' late, '-' last: each then stands for itself. */
	appendStringInfoChar(out, '[');
	if (negate)
		appendStringInfoChar(out, '^');
	if (has_rbracket)
		appendStringInfoChar(out, ']');
	appendBinaryStringInfo(out, body.data, body.len);
	if (has_lbracket)
		appendStringInfoChar(out, '[');
	if (has_caret)
		appendStringInfoChar(out, '^');
	if (has_dash)
		appendStringInfoChar(out, '-');
	appendStringInfoChar(out, ']');
	return p;
}

/* {m}, {m,} or {m,n} at p: its length and the count it expands to, or 0. */
static int
read_bound(const char *p, double *count)
{
	const char *q = p + 1;
	double		m = 0;
	double		n;

	if (!isdigit((unsigned char) *q))
		return 0;
	for (; isdigit((unsigned char) *q); q++)
		m = Min(m * 10 + (*q - '0'), 1e9);
	n = m;
	if (*q == ',')
	{
		q++;
		if (isdigit((unsigned char) *q))
		{
			n = 0;
			for (; isdigit((unsigned char) *q); q++)
				n = Min(n * 10 + (*q - '0'), 1e9);
		}
		else
			n = m + 1;
	}
	if (*q != '}')
		return 0;
	*count = Max(Max(m, n), 1);
	return (int) (q + 1 - p);
}

static char *
translate_regex(const AclRule *rule, const char *js)
{
	StringInfoData out;
	RegexFrame *frames = palloc0(sizeof(RegexFrame) * (strlen(js) + 2));
	int			depth = 0;
	const char *p = js;
	double		total;
	bool		quantified = false;

	initStringInfo(&out);
	while (*p)
	{
		RegexFrame *f = &frames[depth];
		char		c = *p;
		int			blen;
		double		count;
		bool		after_quantifier = quantified;

		/* every case but a quantifier ends with a new atom, group or bar */
		quantified = false;
		switch (c)
		{
			case '\\':
				p++;
				switch (*p)
				{
					case '\0':
						regex_refuse(rule, "a trailing backslash");
					case 'd':
						appendStringInfoString(&out, "[0-9]");
						break;
					case 'D':
						appendStringInfoString(&out, "[^0-9]");
						break;
					case 'w':
						appendStringInfoString(&out, "[A-Za-z0-9_]");
						break;
					case 'W':
						appendStringInfoString(&out, "[^A-Za-z0-9_]");
						break;
					case 's':
						appendStringInfoString(&out, "[ \t\n\r\f\v]");
						break;
					case 'S':
						appendStringInfoString(&out, "[^ \t\n\r\f\v]");
						break;
					case 'b':
					case 'B':
						appendStringInfoChar(&out, '\\');
						appendStringInfoChar(&out, *p);
						p++;
						continue;	/* an assertion, not a repeatable atom */
					case 'n':
						appendStringInfoChar(&out, '\n');
						break;
					case 't':
						appendStringInfoChar(&out, '\t');
						break;
					case 'r':
						appendStringInfoChar(&out, '\r');
						break;
					case 'f':
						appendStringInfoChar(&out, '\f');
						break;
					case 'v':
						appendStringInfoChar(&out, '\v');
						break;
					default:
						if (*p >= '1' && *p <= '9')
							regex_refuse(rule, "a backreference");
						if (isalnum((unsigned char) *p))
							regex_refuse(rule, psprintf("the escape \\%c", *p));
						if (strchr(".[]()*+?{}|^$\\", *p))
							appendStringInfoChar(&out, '\\');
						{
							int			len = char_len(p);

							appendBinaryStringInfo(&out, p, len);
							p += len - 1;
						}
						break;
				}
				p++;
				frame_atom(f, 1);
				break;
			case '[':
				p = translate_class(rule, p + 1, &out);
				frame_atom(f, 1);
				break;
			case '(':
				if (p[1] == '?')
				{
					if (p[2] != ':')
						regex_refuse(rule, "lookaround or a named group");
					p += 2;
				}
				appendStringInfoChar(&out, '(');
				p++;
				depth++;
				frames[depth].sum = 0;
				frames[depth].last = 0;
				break;
			case ')':
				{
					double		group = Max(f->sum + f->last, 1);

					/* JavaScript refuses it; POSIX would read a literal ')' */
					if (depth == 0)
						regex_refuse(rule, "an unmatched ')'");
					appendStringInfoChar(&out, ')');
					p++;
					depth--;
					frame_atom(&frames[depth], group);
				}
				break;
			case '|':
				appendStringInfoChar(&out, '|');
				p++;
				frame_atom(f, 0);
				break;
			case '*':
			case '+':
			case '?':
				/* "a**", "a+{2}": JavaScript's "nothing to repeat" */
				if (after_quantifier)
					regex_refuse(rule, "a quantifier after a quantifier");
				appendStringInfoChar(&out, c);
				p++;
				if (*p == '?')
					p++;		/* lazy: the same yes/no answer */
				/* regcomp expands X+ to XX* */
				if (c == '+')
					f->last = Min(f->last * 2, REGEX_MAX_COST * 2);
				quantified = true;
				continue;
			case '{':
				blen = read_bound(p, &count);
				if (blen == 0)
				{
					/* JavaScript reads a brace that is not a bound literally. */
					appendStringInfoString(&out, "\\{");
					p++;
					frame_atom(f, 1);
					break;
				}
				if (after_quantifier)
					regex_refuse(rule, "a quantifier after a quantifier");
				appendBinaryStringInfo(&out, p, blen);
				p += blen;
				if (*p == '?')
					p++;
				/* regcomp copies the atom count times */
				f->last = Min(f->last * count, REGEX_MAX_COST * 2);
				quantified = true;
				continue;
			case '}':
				appendStringInfoString(&out, "\\}");
				p++;
				frame_atom(f, 1);
				break;
			default:
				blen = char_len(p);
				appendBinaryStringInfo(&out, p, blen);
				p += blen;
				frame_atom(f, 1);
				break;
		}
	}
	/* Unclosed groups count too (regcomp will refuse them anyway). */
	total = 0;
	for (int i = depth; i >= 0; i--)
		total = Min(total + frames[i].sum + frames[i].last, REGEX_MAX_COST * 2);
	pfree(frames);
	if (total > REGEX_MAX_COST)
		acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
					   psprintf("the regular expression of %s is too large once its repetitions are expanded",
								rule->op),
					   NULL, "Use fewer or smaller {n,m} repetitions.");
	return out.data;
}

static bool
regex_matches(const AclRule *rule, const char *pattern_js, const char *subject)
{
	size_t		len = strlen(pattern_js);
	char	   *js;
	char	   *posix;
#ifdef FRONTEND
	regex_t		re;
	int			rc;
	bool		result;
#endif

	/* "/.../" and "..." are the same pattern (case 100). */
	if (len >= 1 && pattern_js[0] == '/' && pattern_js[len - 1] == '/')
		js = len >= 2 ? pnstrdup(pattern_js + 1, len - 2) : pstrdup("");
	else
		js = pstrdup(pattern_js);
	posix = translate_regex(rule, js);

#ifndef FRONTEND
	/*
	 * In the server, PostgreSQL's own engine runs the same ERE: it checks
	 * for interrupts and bounds its own work, so no payload can hang a
	 * backend.  glibc's regexec() cannot be cancelled.
	 */
	return RE_compile_and_execute(cstring_to_text(posix), unconstify(char *, subject),
								  strlen(subject), REG_EXTENDED | REG_NOSUB,
								  C_COLLATION_OID, 0, NULL);
#else
	rc = regcomp(&re, posix, REG_EXTENDED | REG_NOSUB);
	if (rc != 0)
	{
		char		buf[256];

		regerror(rc, &re, buf, sizeof(buf));
		acl_rule_error(ACL_RULE_BAD_RULE, rule->path,
					   psprintf("invalid regular expression \"%s\": %s", pattern_js, buf),
					   NULL, NULL);
	}
	/* Nothing between regcomp and regfree may raise an error. */
	result = regexec(&re, subject, 0, NULL, 0) == 0;
	regfree(&re);
	return result;
#endif
}

/* ---- operators ----------------------------------------------------------- */

static bool
op_is(const AclRule *rule, const char *name)
{
	return strcmp(rule->op, name) == 0;
}

/* Operators that take a string and otherwise demand the value true (case 100). */
static bool
is_string_operator(const char *op)
{
	static const char *const ops[] = {
		"_contains", "_icontains", "_ncontains",
		"_starts_with", "_nstarts_with", "_istarts_with", "_nistarts_with",
		"_ends_with", "_nends_with", "_iends_with", "_niends_with", NULL
	};

	for (const char *const *o = ops; *o; o++)
		if (strcmp(*o, op) == 0)
			return true;
	return false;
}

/* Whether the (present) value satisfies the condition. */
static bool
condition_holds(const AclRule *rule, const AclJson *actual)
{
	const AclJson *value = rule->value;
	const char *op = rule->op;
	int			cmp;
	bool		inside;

	if (op_is(rule, "_eq"))
		return values_equal(value, actual);
	if (op_is(rule, "_neq"))
		return !values_equal(value, actual);
	if (op_is(rule, "_in"))
		return in_list(value, actual);
	if (op_is(rule, "_nin"))
		return !in_list(value, actual);
	/* _null and _nnull ignore their argument: _null: false still demands null. */
	if (op_is(rule, "_null"))
		return actual->kind == ACL_JSON_NULL;
	if (op_is(rule, "_nnull"))
		return actual->kind != ACL_JSON_NULL;
	/* Empty means exactly '' here: null is not empty. */
	if (op_is(rule, "_empty"))
		return is_string(actual) && actual->text[0] == '\0';
	if (op_is(rule, "_nempty"))
		return !(is_string(actual) && actual->text[0] == '\0');
	if (op_is(rule, "_gt"))
		return compare_with_bound(rule, actual, &cmp) && cmp > 0;
	if (op_is(rule, "_gte"))
		return compare_with_bound(rule, actual, &cmp) && cmp >= 0;
	if (op_is(rule, "_lt"))
		return compare_with_bound(rule, actual, &cmp) && cmp < 0;
	if (op_is(rule, "_lte"))
		return compare_with_bound(rule, actual, &cmp) && cmp <= 0;
	if (op_is(rule, "_between"))
		return between(rule, actual, &inside) && inside;
	/* Deliberately NOT BETWEEN: Directus's "< a AND > b" never passes, which no rule can want. */
	if (op_is(rule, "_nbetween"))
		return between(rule, actual, &inside) && !inside;
	if (op_is(rule, "_regex"))
	{
		if (value->kind == ACL_JSON_NULL)
			return is_true(actual);
		if (!is_string(actual))
			return false;
		/* new RegExp(5) is /5/: a non-string pattern is its text */
		return regex_matches(rule, value->kind == ACL_JSON_STRING ? value->text : json_text(value),
							 actual->text);
	}
	if (is_string_operator(op))
	{
		bool		icase = strncmp(op, "_i", 2) == 0 || strncmp(op, "_ni", 3) == 0;
		bool		negated = strncmp(op, "_n", 2) == 0;

		if (!is_string(value))
			return is_true(actual);
		if (strstr(op, "contains") != NULL)
		{
			if (is_string(actual))
				return contains(actual->text, value->text, icase) != negated;
			if (actual->kind == ACL_JSON_ARRAY)
			{
				/* an array passes _contains with one string item containing s,
				 * _ncontains with none; other items do not matter (cases 95, 96) */
				bool		any = false;

				for (int i = 0; i < actual->count && !any; i++)
					any = is_string(actual->items[i]) &&
						contains(actual->items[i]->text, value->text, icase);
				return any != negated;
			}
			return false;
		}
		if (!is_string(actual))
			return false;
		if (strstr(op, "starts_with") != NULL)
			return starts_with(actual->text, value->text, icase) != negated;
		return ends_with(actual->text, value->text, icase) != negated;
	}
	/* _nicontains, geometry operators: no payload meaning (spec §5.2). */
	return true;
}

/* ---- messages ------------------------------------------------------------ */

static char *
quoted_list(const AclJson *list)
{
	AclJson   **items;
	int			n = list_items(list, &items);
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s\"%s\"", i > 0 ? ", " : "", display(items[i]));
	return buf.data;
}

static void
describe(const AclRule *rule, AclValidationFailure *failure)
{
	const char *type = rule->op + 1;
	const AclJson *value = rule->value;
	const char *v;
	const char *ignoring;

	failure->type = pstrdup(type);
	failure->expected = json_text(value);

	if (is_string_operator(rule->op) && !is_string(value))
	{
		failure->expected = pstrdup("true");
		failure->message = pstrdup("Value has to be \"true\".");
		return;
	}
	if (op_is(rule, "_regex") && value->kind == ACL_JSON_NULL)
	{
		failure->expected = pstrdup("true");
		failure->message = pstrdup("Value has to be \"true\".");
		return;
	}

	v = display(value);
	ignoring = strncmp(rule->op, "_i", 2) == 0 || strncmp(rule->op, "_ni", 3) == 0
		? ", ignoring case" : "";
	if (op_is(rule, "_eq"))
		failure->message = psprintf("Value has to be \"%s\".", v);
	else if (op_is(rule, "_neq"))
		failure->message = psprintf("Value can't be \"%s\".", v);
	else if (op_is(rule, "_in"))
		failure->message = value->kind == ACL_JSON_ARRAY && value->count == 0
			? pstrdup("No value is allowed: the list of allowed values is empty.")
			: psprintf("Value has to be one of %s.", quoted_list(value));
	else if (op_is(rule, "_nin"))
		failure->message = psprintf("Value can't be one of %s.", quoted_list(value));
	else if (op_is(rule, "_null") || op_is(rule, "_nnull") ||
			 op_is(rule, "_empty") || op_is(rule, "_nempty"))
	{
		/* the argument is ignored, so it is not what is expected */
		failure->expected = NULL;
		failure->message = pstrdup(op_is(rule, "_null") ? "Value has to be null." :
								   op_is(rule, "_nnull") ? "Value can't be null." :
								   op_is(rule, "_empty") ? "Value has to be empty." :
								   "Value can't be empty.");
	}
	else if (op_is(rule, "_gt"))
		failure->message = psprintf("Value has to be greater than \"%s\".", v);
	else if (op_is(rule, "_gte"))
		failure->message = psprintf("Value has to be greater than or equal to \"%s\".", v);
	else if (op_is(rule, "_lt"))
		failure->message = psprintf("Value has to be less than \"%s\".", v);
	else if (op_is(rule, "_lte"))
		failure->message = psprintf("Value has to be less than or equal to \"%s\".", v);
	else if (op_is(rule, "_between") || op_is(rule, "_nbetween"))
		failure->message = psprintf("Value %s between \"%s\" and \"%s\".",
									op_is(rule, "_between") ? "has to be" : "can't be",
									display(value->items[0]), display(value->items[1]));
	else if (op_is(rule, "_contains") || op_is(rule, "_icontains"))
		failure->message = psprintf("Value has to contain \"%s\"%s.", v, ignoring);
	else if (op_is(rule, "_ncontains"))
		failure->message = psprintf("Value can't contain \"%s\".", v);
	else if (op_is(rule, "_starts_with") || op_is(rule, "_istarts_with"))
		failure->message = psprintf("Value has to start with \"%s\"%s.", v, ignoring);
	else if (op_is(rule, "_nstarts_with") || op_is(rule, "_nistarts_with"))
		failure->message = psprintf("Value can't start with \"%s\"%s.", v, ignoring);
	else if (op_is(rule, "_ends_with") || op_is(rule, "_iends_with"))
		failure->message = psprintf("Value has to end with \"%s\"%s.", v, ignoring);
	else if (op_is(rule, "_nends_with") || op_is(rule, "_niends_with"))
		failure->message = psprintf("Value can't end with \"%s\"%s.", v, ignoring);
	else if (op_is(rule, "_regex"))
		failure->message = pstrdup("Value doesn't have the correct format.");
	else
		failure->message = psprintf("Value doesn't satisfy %s.", rule->op);
}

/* ---- the tree ------------------------------------------------------------ */

static void validate_rule(const AclRule *rule, const AclJson *payload, const char *top_field,
						  Failures *out, int depth);

static void
validate_condition(const AclRule *rule, const AclJson *payload, const char *top_field,
				   Failures *out)
{
	const AclJson *actual = acl_json_object_get(payload, rule->field);
	AclValidationFailure failure = {0};

	if (top_field != NULL)
		failure.field = pstrdup(top_field);
	else if (rule->function != NULL)
		failure.field = psprintf("%s(%s)", rule->function, rule->field);
	else
		failure.field = pstrdup(rule->field);
	failure.path = pstrdup(rule->path);

	if (op_is(rule, "_submitted"))
	{
		if (actual == NULL)
		{
			failure.type = pstrdup("required");
			failure.expected = NULL;
			failure.message = pstrdup("Value is required.");
			failures_add(out, &failure);
		}
		return;
	}
	/* Absent keys pass: the field is optional in Directus's Joi schema. */
	if (actual == NULL)
		return;
	if (!acl_operator_known(rule->op))
		acl_rule_error(ACL_RULE_BAD_RULE, rule->path, psprintf("unknown operator %s", rule->op),
					   NULL, NULL);
	if (rule->function != NULL)
		actual = function_value(rule->function, actual);
	if (condition_holds(rule, actual))
		return;
	describe(rule, &failure);
	failures_add(out, &failure);
}

static void
validate_rule(const AclRule *rule, const AclJson *payload, const char *top_field,
			  Failures *out, int depth)
{
	/*
	 * depth counts tree levels.  The normaliser counts JSON nesting, and one
	 * level of nesting can yield two tree levels (an object with several
	 * keys becomes an AND above its _and/_or node), so half the level is
	 * checked: every rule the normaliser accepted is accepted here too.
	 */
	acl_rule_check_depth(depth / 2, rule->path);
	switch (rule->kind)
	{
		case ACL_RULE_AND:
			for (int i = 0; i < rule->nchildren; i++)
				validate_rule(rule->children[i], payload, top_field, out, depth + 1);
			break;
		case ACL_RULE_OR:
			{
				/*
				 * Passes if any branch passes, else reports every branch's
				 * failures.  An empty _or passes: Directus's [].some() is
				 * false, but the failures it then reports are the union of
				 * no branches, i.e. none.  Every branch is evaluated (no
				 * short cut) so that an impossible rule is always reported.
				 */
				Failures	all = {0};
				bool		passed = rule->nchildren == 0;

				for (int i = 0; i < rule->nchildren; i++)
				{
					Failures	branch = {0};

					validate_rule(rule->children[i], payload, top_field, &branch, depth + 1);
					if (branch.count == 0)
						passed = true;
					else
						failures_append(&all, &branch);
				}
				if (!passed)
					failures_append(out, &all);
			}
			break;
		case ACL_RULE_CONDITION:
			validate_condition(rule, payload, top_field, out);
			break;
		case ACL_RULE_RELATION:
			{
				/*
				 * {rel: {field: ...}} applies to a nested object written
				 * with the item; a key, an array (o2m) or an absent value
				 * has no payload meaning here.  _some/_none never apply.
				 */
				const AclJson *nested = acl_json_object_get(payload, rule->field);

				if (rule->quantifier == ACL_SOME_IMPLICIT && nested != NULL &&
					nested->kind == ACL_JSON_OBJECT && rule->inner != NULL)
					validate_rule(rule->inner, nested, top_field ? top_field : rule->field,
								  out, depth + 1);
			}
			break;
	}
}

int
acl_validate(const AclRule *rule, const AclJson *payload, AclValidationFailure **failures)
{
	Failures	out = {0};

	if (rule != NULL)
		validate_rule(rule, payload, NULL, &out, 0);
	*failures = out.items;
	return out.count;
}
