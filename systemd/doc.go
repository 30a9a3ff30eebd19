// Package systemd holds animed's service units and their tests; it has no
// Go API.
//
// Files:
//
//	animed.service      the sandboxed service (Type=notify, watchdog)
//	animed@.service     one instance per /etc/animed/NAME.conf
//	animed.sysusers     the system user and group (sysusers.d)
//	animed.conf         example /etc/animed/animed.conf
//	examples/*.conf     drop-ins: metrics (network), Edge TPU (devices)
//
// The tests run `systemd-analyze verify` and `systemd-analyze security
// --offline=yes` on the units (exposure must stay at 2.0 or below), create
// the user with systemd-sysusers in a scratch root, and reproduce the unit's
// sandbox with bubblewrap around the real daemon: read-only root, only the
// state tree writable, private /tmp, /dev and network, no capabilities, as
// an unprivileged user. Inside it the daemon converts photos, and strace
// checks that it makes no system call the unit's SystemCallFilter= would
// refuse and no writable+executable mapping MemoryDenyWriteExecute= would
// refuse.
package systemd
