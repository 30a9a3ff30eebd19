package sdnotify

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends sd_notify messages to the service manager named by the
// NOTIFY_SOCKET environment variable at the time New was called.
type Notifier struct {
	socket string
	log    *slog.Logger
}

// New returns a Notifier for the current process. A nil logger discards.
// When NOTIFY_SOCKET is unset (not started by systemd, or NotifyAccess=none)
// every message is silently dropped.
func New(log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{socket: os.Getenv("NOTIFY_SOCKET"), log: log}
}

// Enabled reports whether a service manager listens for notifications.
func (n *Notifier) Enabled() bool { return n.socket != "" }

// Ready tells systemd that start-up or a reload has finished.
func (n *Notifier) Ready() error { return n.send(daemon.SdNotifyReady) }

// Reloading tells systemd that the daemon is re-reading its configuration;
// call Ready when it is done.
func (n *Notifier) Reloading() error { return n.send(daemon.SdNotifyReloading) }

// Stopping tells systemd that the daemon is shutting down.
func (n *Notifier) Stopping() error { return n.send(daemon.SdNotifyStopping) }

// Status sets the one-line status `systemctl status` shows. Line breaks are
// replaced by spaces, because the protocol is line based.
func (n *Notifier) Status(s string) error {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return n.send("STATUS=" + s)
}

// ping sends one watchdog keep-alive.
func (n *Notifier) ping() error { return n.send(daemon.SdNotifyWatchdog) }

func (n *Notifier) send(state string) error {
	if n.socket == "" {
		return nil
	}
	// daemon.SdNotify reads NOTIFY_SOCKET itself; the value is the same
	// unless someone changed the environment after New, which animed does
	// not do.
	if _, err := daemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("sd_notify %q to %s: %w", state, n.socket, err)
	}
	return nil
}
