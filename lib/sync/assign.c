/* assign: the uids a sync chose, written to app_metadata (see assign.h). PUT /admin/users/{id}
 * merges app_metadata one level deep (transcript steps 124-127: top-level keys are replaced, the
 * others kept), so writing "uid" and "uid_auto" leaves everything else an administrator set. */
#include <config.h>

#include <json-c/json.h>

#include "assign.h"
#include "log.h"

/* One account's uid into its app_metadata. 0, or -1 with @err. */
static int write_one(struct gotrue_client *c, const struct gotrue_account *a,
		     struct gotrue_error *err)
{
	json_object *body = json_object_new_object(), *meta = json_object_new_object();
	struct gotrue_user u = {0};
	int rc = -1;

	if (body == NULL || meta == NULL ||
	    json_object_object_add(meta, "uid", json_object_new_int64(a->uid)) != 0 ||
	    /* Says a sync chose it: only such a value gives way when two hosts raced
	     * (gotrue_idmap_resolve); an administrator's never does. */
	    json_object_object_add(meta, "uid_auto", json_object_new_boolean(1)) != 0 ||
	    json_object_object_add(body, "app_metadata", json_object_get(meta)) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	rc = gotrue_admin_update_user(c, a->user_id, body, &u, err);
cleanup:
	gotrue_user_clear(&u);
	json_object_put(meta);
	json_object_put(body);
	return rc;
}

size_t gotrue_assign_write(pam_handle_t *pamh, struct gotrue_client *c,
			   const struct gotrue_idmap *m)
{
	struct gotrue_error err = {0};
	size_t i, n = 0;

	for (i = 0; i < m->n_accounts; i++) {
		const struct gotrue_account *a = &m->accounts[i];

		if (!a->uid_new)
			continue;
		if (write_one(c, a, &err) != 0 && err.http_status == 404) {
			/* Deleted since it was listed: nothing to write, and no reason to stop. */
			gotrue_log(pamh, LOG_INFO,
				   "user deleted before its uid was written; user=%s", a->name);
			gotrue_error_clear(&err);
			continue;
		}
		if (err.kind != GOTRUE_OK) {
			gotrue_log(
				pamh, LOG_ERR,
				"cannot write the uid to app_metadata (%s); it is this host's "
				"until a sync can (assign_uids = no stops trying); user=%s uid=%u",
				err.message, a->name, (unsigned)a->uid);
			break;
		}
		gotrue_log(pamh, LOG_DEBUG, "uid assigned in app_metadata; user=%s uid=%u", a->name,
			   (unsigned)a->uid);
		n++;
	}
	gotrue_error_clear(&err);
	return n;
}
