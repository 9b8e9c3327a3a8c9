/* test_link: gotrue_link_next, the RFC 8288 Link parser used for GET /admin/users paging. The
 * first header is the one GoTrue v2.69 sent (transcript step 112); the rest are the variants
 * RFC 8288 allows and garbage a broken server or proxy could send. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "http.h"

static void check(const char *header, const char *want, const char *what)
{
	char *got = gotrue_link_next(header);

	is_str(got, want, "%s", what);
	free(got);
}

int main(void)
{
	char *big;
	size_t i;

	check("</admin/users?page=2&per_page=2>; rel=\"next\", </admin/users?page=4&per_page=2>; "
	      "rel=\"last\"",
	      "/admin/users?page=2&per_page=2", "transcript header");
	check("</admin/users?page=4&per_page=2>; rel=\"last\"", NULL, "last page: no next");
	check("</admin/users?page=4&per_page=2>; rel=\"last\", </admin/users?page=3&per_page=2>; "
	      "rel=\"next\"",
	      "/admin/users?page=3&per_page=2", "next after last");
	check("</a?page=2>; rel=next", "/a?page=2", "unquoted rel");
	check("</a?page=2>;rel=\"NEXT\"", "/a?page=2", "rel is case-insensitive, no blanks");
	check("</a?page=2> ; REL = \"next\"", "/a?page=2", "blanks around ; and =");
	check("</a?page=5>; rel=\"next last\"", "/a?page=5", "several relation types");
	check("</a?page=5>; rel=\"prev  next\"", "/a?page=5", "double space between types");
	check("</a?page=1>; rel=\"nextpage\", </a?page=2>; rel=\"next\"", "/a?page=2",
	      "nextpage is not next");
	check("</a?p=1>; title=\"x, rel=next\"; rel=\"prev\", </a?p=2>; rel=next", "/a?p=2",
	      "comma and rel inside a quoted title");
	check("</a?p=1>; title=\"say \\\"rel=next\\\"\"; rel=prev, </a?p=2>; rel=\"next\"",
	      "/a?p=2", "escaped quotes");
	check("</a?p=1>; rel=\"prev\"; rel=\"next\"", NULL,
	      "only the first rel counts (RFC 8288 3.3)");
	check("<https://auth.example.com/admin/users?page=2>; rel=\"next\"",
	      "https://auth.example.com/admin/users?page=2", "absolute target returned as is");
	check("</a?x=1,2>; rel=\"next\"", "/a?x=1,2", "comma inside the target");
	check(" , ,</a?page=2>; rel=\"next\" ,", "/a?page=2", "empty list elements");
	check("</a?page=2>; rel", NULL, "rel without a value");
	check("</a?page=2>; anchor=\"#x\"; rel=\"next\"", "/a?page=2", "other params first");

	/* garbage */
	check(NULL, NULL, "NULL header");
	check("", NULL, "empty header");
	check("rel=\"next\"", NULL, "no target");
	check("/a?page=2; rel=\"next\"", NULL, "target without <>");
	check("</a?page=2; rel=\"next\"", NULL, "unclosed <");
	check("</a?page=2>; rel=\"next", NULL, "unclosed quote");
	check("</a?page=2> rel=\"next\"", NULL, "missing ;");
	check("<>; rel=\"next\"", NULL, "empty target");
	check("</a b>; rel=\"next\"", NULL, "blank inside the target");
	check("</a\r\nX-Evil: 1>; rel=\"next\"", NULL, "CRLF inside the target");
	check("<<<>>>;;;,,,\"\"\";rel=next", NULL, "punctuation soup");
	check("garbage; rel=\"next\", </a?page=3>; rel=\"next\"", "/a?page=3",
	      "a broken value is skipped, the next one parsed");
	check("</a?page=2>; =\"next\", </a?page=3>; rel=next", "/a?page=3", "param without a name");

	/* bounded: a huge header is refused as a whole; a huge target is refused */
	big = malloc(70000);
	memset(big, ' ', 69999);
	big[69999] = '\0';
	memcpy(big + 69980, "<x>;rel=next", 12);
	check(big, NULL, "header over the limit");
	big[0] = '<';
	for (i = 1; i < 5000; i++)
		big[i] = 'a';
	strcpy(big + 5000, ">; rel=\"next\"");
	check(big, NULL, "target over the limit");
	free(big);

	return done_testing();
}
