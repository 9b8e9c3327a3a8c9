# man/: the manual pages.
dist_man_MANS += man/gotruectl.8 man/gotrue.conf.5
