# tools/pam-configs: the pam-auth-update(8) profile. Priority 128 puts pam_gotrue after pam_unix
# (256) in the common-* primary blocks, as sssd and ldap do: local accounts are decided by
# pam_unix first, and pam_gotrue reuses the typed password (use_first_pass), ignores users it
# does not know and a server it cannot reach, so it can never lock a local account out.
# Enabled by the administrator with `pam-auth-update --enable gotrue` (Default: no).
pamconfigsdir = $(datadir)/pam-configs
dist_pamconfigs_DATA = tools/pam-configs/gotrue
